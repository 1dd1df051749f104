// The wire format of one message segment, shared by every byte-stream transport (websocket
// mesh, browser relay, tcp mesh). A fixed 56-byte little-endian header followed by the payload bytes:
//
//   off size field
//     0   4  magic 'WCCL'
//     4   1  version
//     5   1  signature kind   (KIND_CODES)
//     6   1  signature dtype  (DTYPE_CODES)
//     7   1  signature op     (OP_CODES) in the low 4 bits, the codec's wire code in the high 4
//                             (0 for none, so uncompressed calls' headers are what they always were)
//     8   4  comm             u32
//    12   4  seq              u32
//    16   4  chunk            u32
//    20   4  root             i32 (-1: none)
//    24   8  count            u64, must be a safe integer
//    32   4  route            u32: the sender's rank (mesh), or the destination on its way to the relay
//    36   4  segment bytes    u32: payload bytes in this frame
//    40   8  message bytes    u64: payload bytes of the whole message
//    48   8  offset           u64: where this segment's payload lies in the message
//
// A message larger than one segment travels as consecutive frames with equal headers, so that
// no single frame can be larger than a small bound (and a receiver never has to accept one).
// decodeFrameHead reads a header before its payload has arrived (the stream readers of the tcp
// and websocket meshes, which then read the payload straight to where it belongs).
import type { CollectiveKind, Header, Signature } from './transport.js';
import type { DataType, ReduceOpName } from '../dtype.js';
import { WebcclError, invalidArgument } from '../errors.js';

export const FRAME_MAGIC = 0x4c434357; // 'WCCL' read as a little-endian u32
export const FRAME_VERSION = 1;
export const HEADER_BYTES = 56;
const U32_LIMIT = 2 ** 32;

// Wire codes are part of the protocol: never renumber, only append.
const KIND_CODES: Record<CollectiveKind, number> = {
  allReduce: 1, broadcast: 2, reduce: 3, allGather: 4, reduceScatter: 5, allToAll: 6, send: 7, barrier: 8, control: 9,
};
const DTYPE_CODES: Record<DataType | 'none', number> = { none: 0, float32: 1, float16: 2, bfloat16: 3, int32: 4, uint32: 5 };
const OP_CODES: Record<ReduceOpName | 'none', number> = { none: 0, sum: 1, prod: 2, min: 3, max: 4, avg: 5, premulSum: 6 };

/** A name <-> code mapping built from one table, so the two directions cannot drift apart. */
class CodeTable<Name extends string> {
  private readonly names = new Map<number, Name>();
  constructor(private readonly field: string, private readonly codes: Record<Name, number>) {
    for (const [name, code] of Object.entries(codes) as [Name, number][]) this.names.set(code, name);
  }
  encode(name: string): number {
    if (!Object.hasOwn(this.codes, name)) throw invalidArgument(`frame: cannot encode ${this.field} '${name}'`);
    return this.codes[name as Name];
  }
  decode(code: number): Name {
    const name = this.names.get(code);
    if (name === undefined) throw frameError(`unknown ${this.field} code ${code}`);
    return name;
  }
}

const KINDS = new CodeTable('signature kind', KIND_CODES);
const DTYPES = new CodeTable('signature dtype', DTYPE_CODES);
const OPS = new CodeTable('signature op', OP_CODES);

/** Where a frame's payload belongs: route (rank) and its place in the whole message. */
export interface FrameRouting {
  readonly route: number;
  readonly messageBytes: number;
  readonly offset: number;
}

export interface Frame extends FrameRouting {
  readonly header: Header;
  /** A view into the decoded bytes (no copy). */
  readonly payload: Uint8Array;
}

export interface FrameLimits {
  /** Largest payload one frame may carry. */
  readonly maxSegmentBytes: number;
  /** Largest whole message a receiver agrees to assemble. */
  readonly maxMessageBytes: number;
}

/** A malformed frame: the connection that delivered it cannot be trusted any further. */
export function frameError(detail: string): WebcclError {
  return new WebcclError('SystemError', `bad frame: ${detail}`);
}

function checkU32(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= U32_LIMIT) throw invalidArgument(`frame: ${field} ${value} is not a u32`);
}

function checkSafeCount(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`frame: ${field} ${value} is not a non-negative safe integer`);
}

function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % U32_LIMIT, true);
  view.setUint32(at + 4, Math.floor(value / U32_LIMIT), true);
}

function readU64(view: DataView, at: number, field: string): number {
  const high = view.getUint32(at + 4, true);
  // 2^53 - 1 is the largest safe integer: its high word is 2^21 - 1.
  if (high >= 2 ** 21) throw frameError(`${field} exceeds 2^53 - 1`);
  return high * U32_LIMIT + view.getUint32(at, true);
}

/**
 * Writes the header of one frame into `target` (at least HEADER_BYTES long). Throws
 * InvalidArgument for a header that cannot be represented, before anything is sent.
 */
export function writeFrameHeader(target: Uint8Array, header: Header, routing: FrameRouting, segmentBytes: number): void {
  const { signature: s } = header;
  checkU32('comm', header.comm);
  checkU32('seq', header.seq);
  checkU32('chunk', header.chunk);
  checkU32('route', routing.route);
  checkU32('segment bytes', segmentBytes);
  checkSafeCount('count', s.count);
  checkSafeCount('message bytes', routing.messageBytes);
  checkSafeCount('offset', routing.offset);
  if (!Number.isInteger(s.root) || s.root < -1 || s.root >= 2 ** 31) throw invalidArgument(`frame: root ${s.root} is not -1 or a rank`);
  const codec = s.codec ?? 0;
  if (!Number.isInteger(codec) || codec < 0 || codec > 15) throw invalidArgument(`frame: codec code ${codec} is not in 0..15`);
  if (routing.offset + segmentBytes > routing.messageBytes) {
    throw invalidArgument(`frame: segment [${routing.offset}, +${segmentBytes}) exceeds the message's ${routing.messageBytes} bytes`);
  }
  const view = new DataView(target.buffer, target.byteOffset, HEADER_BYTES);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint8(4, FRAME_VERSION);
  view.setUint8(5, KINDS.encode(s.kind));
  view.setUint8(6, DTYPES.encode(s.dtype));
  view.setUint8(7, OPS.encode(s.op) | (codec << 4));
  view.setUint32(8, header.comm, true);
  view.setUint32(12, header.seq, true);
  view.setUint32(16, header.chunk, true);
  view.setInt32(20, s.root, true);
  writeU64(view, 24, s.count);
  view.setUint32(32, routing.route, true);
  view.setUint32(36, segmentBytes, true);
  writeU64(view, 40, routing.messageBytes);
  writeU64(view, 48, routing.offset);
}

/** A header on its own, to be followed by the payload as a second buffer (no payload copy). */
export function encodeFrameHeader(header: Header, routing: FrameRouting, segmentBytes: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  writeFrameHeader(bytes, header, routing, segmentBytes);
  return bytes;
}

/** Header and payload in one buffer (one payload copy), for sockets that take a single buffer. */
export function encodeFrame(header: Header, routing: FrameRouting, segment: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + segment.byteLength);
  writeFrameHeader(bytes, header, routing, segment.byteLength);
  bytes.set(segment, HEADER_BYTES);
  return bytes;
}

/** The route field alone (unchecked), for a relay and its clients, which only read or rewrite who a frame is for or from. */
export function readFrameRoute(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(32, true);
}

export function rewriteFrameRoute(bytes: Uint8Array, route: number): void {
  checkU32('route', route);
  new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).setUint32(32, route, true);
}

/** Strictly decodes one frame; any inconsistency throws a SystemError naming what was wrong. */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits): Frame {
  if (bytes.byteLength < HEADER_BYTES) throw frameError(`${bytes.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  return decodeFrameParts(bytes.subarray(0, HEADER_BYTES), bytes.subarray(HEADER_BYTES), limits);
}

/** decodeFrame for a frame whose header and payload lie in separate buffers. */
function decodeFrameParts(head: Uint8Array, payload: Uint8Array, limits: FrameLimits): Frame {
  const { segmentBytes, ...frame } = decodeFrameHead(head, limits);
  const actual = payload.byteLength;
  if (segmentBytes !== actual) throw frameError(`header declares ${segmentBytes} payload bytes but ${actual} arrived`);
  return { ...frame, payload };
}

/** A decoded header whose payload has not arrived yet: how many bytes it has and where they belong. */
export interface FrameHead extends FrameRouting {
  readonly header: Header;
  readonly segmentBytes: number;
}

/**
 * Strictly decodes a header alone, for a stream reader that then reads the payload straight to
 * where it belongs (the tcp transport). Checks everything that can be checked without the payload.
 */
export function decodeFrameHead(head: Uint8Array, limits: FrameLimits): FrameHead {
  if (head.byteLength !== HEADER_BYTES) throw frameError(`a ${head.byteLength}-byte header is not ${HEADER_BYTES} bytes`);
  const view = new DataView(head.buffer, head.byteOffset, HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== FRAME_MAGIC) throw frameError(`wrong magic 0x${magic.toString(16).padStart(8, '0')}`);
  const version = view.getUint8(4);
  if (version !== FRAME_VERSION) throw frameError(`unsupported version ${version} (this build speaks ${FRAME_VERSION})`);
  const opByte = view.getUint8(7);
  const signature: Signature = {
    kind: KINDS.decode(view.getUint8(5)),
    dtype: DTYPES.decode(view.getUint8(6)),
    op: OPS.decode(opByte & 0x0f),
    root: view.getInt32(20, true),
    count: readU64(view, 24, 'count'),
    ...(opByte >>> 4 !== 0 && { codec: opByte >>> 4 }),
  };
  if (signature.root < -1) throw frameError(`root ${signature.root} is neither -1 nor a rank`);
  const segmentBytes = view.getUint32(36, true);
  const messageBytes = readU64(view, 40, 'message bytes');
  const offset = readU64(view, 48, 'offset');
  if (segmentBytes > limits.maxSegmentBytes) throw frameError(`segment of ${segmentBytes} bytes exceeds the ${limits.maxSegmentBytes}-byte limit`);
  if (messageBytes > limits.maxMessageBytes) throw frameError(`message of ${messageBytes} bytes exceeds the ${limits.maxMessageBytes}-byte limit`);
  if (offset + segmentBytes > messageBytes) throw frameError(`segment [${offset}, +${segmentBytes}) lies outside the ${messageBytes}-byte message`);
  const header: Header = { comm: view.getUint32(8, true), seq: view.getUint32(12, true), chunk: view.getUint32(16, true), signature };
  return { header, route: view.getUint32(32, true), messageBytes, offset, segmentBytes };
}
