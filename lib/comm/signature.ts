// A call's signature (what every rank must agree it is doing) and the algorithm it runs.
// Both travel in every message: the signature in the header's own fields, the algorithm in
// the top bits of the header's chunk field (below them, the message's tag within the call),
// so that ranks running different calls, or the same call with different algorithms, are
// caught on the first message instead of exchanging wrong data.
import { internalError } from '../errors.js';
import type { CollectiveKind, Signature } from '../transport/transport.js';

/** Schedules a call may run; each has a wire code. Never renumber, only append. */
export type Schedule = 'bootstrap' | 'ring' | 'tree' | 'pairwise' | 'p2p' | 'dissemination' | 'direct';

const SCHEDULE_CODES: Record<Schedule, number> = { bootstrap: 1, ring: 2, tree: 3, pairwise: 4, p2p: 5, dissemination: 6, direct: 7 };
const SCHEDULES = Object.fromEntries(Object.entries(SCHEDULE_CODES).map(([name, code]) => [code, name])) as Record<number, Schedule>;

const TAG_BITS = 27;
export const TAG_LIMIT = 2 ** TAG_BITS;

/** The header's chunk field: the schedule's code above TAG_BITS, the tag below. */
export function encodeChunkField(schedule: Schedule, tag: number): number {
  if (!Number.isInteger(tag) || tag < 0 || tag >= TAG_LIMIT) throw internalError(`message tag ${tag} is outside 0..2^${TAG_BITS}-1`);
  return SCHEDULE_CODES[schedule] * TAG_LIMIT + tag;
}

export function decodeChunkField(chunk: number): { schedule: Schedule | undefined; tag: number } {
  return { schedule: SCHEDULES[Math.floor(chunk / TAG_LIMIT)], tag: chunk % TAG_LIMIT };
}

export function signature(kind: CollectiveKind, count: number, dtype = 'none', op = 'none', root = -1): Signature {
  return { kind, count, dtype, op, root };
}

export function sameSignature(a: Signature, b: Signature): boolean {
  return a.kind === b.kind && a.count === b.count && a.dtype === b.dtype && a.op === b.op && a.root === b.root;
}

/** e.g. `allReduce(count=1000, float32, sum)`, `broadcast(count=7, int32, root=2)`. */
export function formatSignature(s: Signature): string {
  const parts = [`count=${s.count}`];
  if (s.dtype !== 'none') parts.push(s.dtype);
  if (s.op !== 'none') parts.push(s.op);
  if (s.root >= 0) parts.push(`root=${s.root}`);
  return `${s.kind}(${parts.join(', ')})`;
}

export function formatCall(s: Signature, schedule: Schedule | undefined): string {
  return `${formatSignature(s)} [${schedule ?? 'unknown algorithm'}]`;
}
