// Why every collective also passes an empty message around the ring: a rank only checks the
// signatures of messages it reads, and some schedules leave a rank reading nothing from a
// rank that disagrees with it (a broadcast root reads nothing at all; two ranks that disagree
// on the root run differently shaped trees; a count of 0 moves no data). With this check each
// rank reads one message from its ring predecessor, so around the ring, any disagreement
// between any two ranks shows up as a difference between two neighbours, which the later
// one reports (to all). It runs alongside the algorithm, so it costs no extra latency.
import type { Link } from '../collectives/context.js';
import { ringPeer } from '../collectives/partition.js';
import { TAG_LIMIT } from './signature.js';

/** Reserved: above every tag an algorithm uses. */
export const RING_CHECK_TAG = TAG_LIMIT - 1;

const EMPTY = new Uint8Array(0);

export async function ringCheck(link: Link, rank: number, size: number): Promise<void> {
  if (size === 1) return;
  await Promise.all([
    link.send(ringPeer(rank, 1, size), RING_CHECK_TAG, EMPTY),
    link.recv(ringPeer(rank, -1, size), RING_CHECK_TAG),
  ]);
}
