// Why a collective may pass an empty message around the ring: a rank only checks the
// signatures of messages it reads, and some schedules leave a rank reading nothing from a
// rank that disagrees with it (a broadcast root reads nothing at all; two ranks that disagree
// on the root run differently shaped trees; a count of 0 moves no data). With this check each
// rank reads one message from its ring predecessor, so around the ring, any disagreement
// between any two ranks shows up as a difference between two neighbours, which the later
// one reports (to all). It runs alongside the algorithm, so it costs no extra latency, but
// it is one more message (a post, a wakeup) per call on every rank.
//
// So it runs only where the schedule's own messages do not already do the same
// (needsAgreementCheck, lib/collectives/algorithms.ts): the direct exchange reads from every
// rank, the dissemination barrier's first round is this very exchange, and the ring's
// allreduce, reduce-scatter and all-gather and the pairwise all-to-all, with at least one
// element, start their first pipeline (ring-steps.ts, alltoall-pairwise.ts) with a send to the
// ring successor, then await the predecessor's message.
// Why every rank still finds out: in every collective call on two or more ranks, each rank
// then sends at least one message of the call (its sequence number and signature in the
// header, lib/comm/call-link.ts) to its successor, and awaits at least one from its
// predecessor before its call can end, whether that message is this check's or the
// schedule's own. The first message the successor takes from its predecessor for that
// sequence number is compared with its own call before any byte of it is used (a transport
// lands a payload in place only under exactly the awaited header), so the neighbours that
// differ are found as before, by the later one, which tells every rank. A rank that calls
// nothing, or one call fewer, is still the timeout's: its successor waits and times out.
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
