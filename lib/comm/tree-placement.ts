// Which of a communicator's ranks the trees place (tree-topology.ts's placedLabels for the double
// binary tree, rootedLabels for broadcast's and reduce's): the world rank behind the slowest link,
// as calibration found it (its probe, lib/tune/placement.ts). Every rank knows the same slow rank
// (the agreed tuning's, or calibration's decision from figures every rank holds), so every rank
// builds the same trees. A split child places the slow world rank where it is a member.
import type { AgreedConfig } from './config.js';

export class TreePlacement {
  /** Calibration's finding (place), which holds over the agreed tuning's: null, none was found. */
  private found: number | null | undefined;

  /** `members`: the communicator's ranks as world (transport) ranks, in communicator order. */
  constructor(private readonly members: readonly number[]) {}

  /** The world rank calibration found behind the slowest link (undefined: none); every rank must place alike. */
  place(slowWorldRank: number | undefined): void {
    this.found = slowWorldRank ?? null;
  }

  /** The communicator rank the trees place under `config`; undefined: none (not found, or not a member). */
  slowRank(config: AgreedConfig): number | undefined {
    const world = this.found === undefined ? config.tuning?.params.slowRank : this.found ?? undefined;
    const slow = world === undefined ? -1 : this.members.indexOf(world);
    return slow < 0 ? undefined : slow;
  }
}
