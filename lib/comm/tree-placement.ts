// Which labels a communicator's ranks take in the double binary tree (tree-topology.ts's
// placedLabels): the world rank behind the slowest link, as calibration found it (its probe,
// lib/tune/placement.ts), placed at a root/leaf label. Every rank knows the same slow rank (the
// agreed tuning's, or calibration's decision from figures every rank holds), so every rank
// builds the same trees. A split child places the slow world rank where it is a member.
import { placedLabels } from '../collectives/tree-topology.js';
import type { AgreedConfig } from './config.js';

export class TreePlacement {
  /** Calibration's finding (place), which holds over the agreed tuning's: null, none was found. */
  private found: number | null | undefined;
  private memo: { readonly world: number | undefined; readonly labels: readonly number[] | undefined } | undefined;

  /** `members`: the communicator's ranks as world (transport) ranks, in communicator order. */
  constructor(private readonly members: readonly number[]) {}

  /** The world rank calibration found behind the slowest link (undefined: none); every rank must place alike. */
  place(slowWorldRank: number | undefined): void {
    this.found = slowWorldRank ?? null;
  }

  /** Each rank's label for a tree call under `config`; undefined: the identity. */
  labels(config: AgreedConfig): readonly number[] | undefined {
    const world = this.found === undefined ? config.tuning?.params.slowRank : this.found ?? undefined;
    // Every call asks: the labels are worked out once per slow rank.
    if (this.memo === undefined || this.memo.world !== world) {
      const slow = world === undefined ? -1 : this.members.indexOf(world);
      this.memo = { world, labels: slow < 0 ? undefined : placedLabels(this.members.length, slow) };
    }
    return this.memo.labels;
  }
}
