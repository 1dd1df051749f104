// A call's signature (what every rank must agree it is doing) and the algorithm it runs.
// Both travel in every message: the signature in the header's own fields, the algorithm in
// the top bits of the header's chunk field (below them, the message's tag within the call),
// so that ranks running different calls, or the same call with different algorithms, are
// caught on the first message instead of exchanging wrong data.
import { algorithmNamed, algorithmWithCode } from '../collectives/algorithms.js';
import { codecWithCode } from '../collectives/codecs.js';
import { internalError } from '../errors.js';
import type { CollectiveKind, Signature } from '../transport/transport.js';

/** The name of a row of the algorithm registry; its wire code is the row's. */
export type Schedule = string;

const TAG_BITS = 27;
export const TAG_LIMIT = 2 ** TAG_BITS;

/** The header's chunk field: the schedule's code above TAG_BITS, the tag below. */
export function encodeChunkField(schedule: Schedule, tag: number): number {
  if (!Number.isInteger(tag) || tag < 0 || tag >= TAG_LIMIT) throw internalError(`message tag ${tag} is outside 0..2^${TAG_BITS}-1`);
  const row = algorithmNamed(schedule);
  if (row === undefined) throw internalError(`schedule '${schedule}' is not in the algorithm registry`);
  return row.wireCode * TAG_LIMIT + tag;
}

export function decodeChunkField(chunk: number): { schedule: Schedule | undefined; tag: number } {
  return { schedule: algorithmWithCode(Math.floor(chunk / TAG_LIMIT))?.name, tag: chunk % TAG_LIMIT };
}

/** `codec` is a codec's wire code (0, none, is left out of the signature). */
export function signature(kind: CollectiveKind, count: number, dtype = 'none', op = 'none', root = -1, codec = 0): Signature {
  return codec === 0 ? { kind, count, dtype, op, root } : { kind, count, dtype, op, root, codec };
}

export function sameSignature(a: Signature, b: Signature): boolean {
  return a.kind === b.kind && a.count === b.count && a.dtype === b.dtype && a.op === b.op && a.root === b.root
    && (a.codec ?? 0) === (b.codec ?? 0);
}

/** e.g. `allReduce(count=1000, float32, sum)`, `broadcast(count=7, int32, root=2)`, `allReduce(count=9, float32, avg, compression=int8)`. */
export function formatSignature(s: Signature): string {
  const parts = [`count=${s.count}`];
  if (s.dtype !== 'none') parts.push(s.dtype);
  if (s.op !== 'none') parts.push(s.op);
  if (s.root >= 0) parts.push(`root=${s.root}`);
  if ((s.codec ?? 0) !== 0) parts.push(`compression=${codecWithCode(s.codec!)?.name ?? `code ${s.codec}`}`);
  return `${s.kind}(${parts.join(', ')})`;
}

export function formatCall(s: Signature, schedule: Schedule | undefined): string {
  return `${formatSignature(s)} [${schedule ?? 'unknown algorithm'}]`;
}
