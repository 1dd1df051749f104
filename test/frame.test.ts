import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HEADER_BYTES, decodeFrame, encodeFrame, encodeFrameHeader, readFrameRoute, rewriteFrameRoute } from '../lib/transport/frame.js';
import type { Header } from '../lib/transport/transport.js';
import { WebcclError } from '../lib/errors.js';

const limits = { maxSegmentBytes: 1024, maxMessageBytes: 1 << 20 };
const header: Header = {
  comm: 7, seq: 4_000_000_000, chunk: 3,
  signature: { kind: 'reduceScatter', count: 2 ** 53 - 1, dtype: 'bfloat16', op: 'premulSum', root: -1 },
};
const routing = { route: 5, messageBytes: 100, offset: 60 };

function frame(): Uint8Array {
  return encodeFrame(header, routing, Uint8Array.from({ length: 40 }, (_, i) => i));
}

function rejects(bytes: Uint8Array, pattern: RegExp, custom = limits): void {
  try {
    decodeFrame(bytes, custom);
  } catch (error) {
    assert.instance(error, WebcclError);
    assert.is((error as WebcclError).code, 'SystemError');
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`accepted a frame that should fail with ${pattern}`);
}

function patched(edit: (view: DataView) => void): Uint8Array {
  const bytes = frame();
  edit(new DataView(bytes.buffer));
  return bytes;
}

test('round trip keeps every field, payload is a view', () => {
  const bytes = frame();
  assert.is(bytes.byteLength, HEADER_BYTES + 40);
  const decoded = decodeFrame(bytes, limits);
  assert.equal(decoded.header, header);
  assert.is(decoded.route, 5);
  assert.is(decoded.messageBytes, 100);
  assert.is(decoded.offset, 60);
  assert.equal([...decoded.payload], Array.from({ length: 40 }, (_, i) => i));
  assert.is(decoded.payload.buffer, bytes.buffer);
});

test('every kind, dtype and op survives', () => {
  const kinds = ['allReduce', 'broadcast', 'reduce', 'allGather', 'reduceScatter', 'allToAll', 'send', 'barrier', 'control'] as const;
  const dtypes = ['none', 'float32', 'float16', 'bfloat16', 'int32', 'uint32'];
  const ops = ['none', 'sum', 'prod', 'min', 'max', 'avg', 'premulSum'];
  for (const kind of kinds) for (const dtype of dtypes) for (const op of ops) {
    const h: Header = { comm: 0, seq: 0, chunk: 0, signature: { kind, count: 0, dtype, op, root: 2 } };
    const d = decodeFrame(encodeFrame(h, { route: 0, messageBytes: 0, offset: 0 }, new Uint8Array(0)), limits);
    assert.equal(d.header, h);
  }
});

test('the codec code shares the op byte and survives; none leaves the byte as it was', () => {
  for (const codec of [1, 5, 15]) {
    const h: Header = { comm: 1, seq: 2, chunk: 3, signature: { kind: 'allReduce', count: 9, dtype: 'float32', op: 'avg', root: -1, codec } };
    const bytes = encodeFrame(h, { route: 0, messageBytes: 0, offset: 0 }, new Uint8Array(0));
    assert.is(bytes[7], 5 | (codec << 4));
    assert.equal(decodeFrame(bytes, limits).header, h);
  }
  const plain = encodeFrame({ ...header, signature: { ...header.signature, codec: 0 } }, routing, new Uint8Array(40));
  assert.equal(plain.subarray(0, HEADER_BYTES), frame().subarray(0, HEADER_BYTES));
  assert.throws(() => encodeFrame({ ...header, signature: { ...header.signature, codec: 16 } }, routing, new Uint8Array(40)), /codec code 16/);
});

test('header-only encoding matches the single-buffer encoding', () => {
  const bytes = frame();
  assert.equal(encodeFrameHeader(header, routing, 40), bytes.subarray(0, HEADER_BYTES));
});

test('route can be read and rewritten in place', () => {
  const bytes = frame();
  assert.is(readFrameRoute(bytes), 5);
  rewriteFrameRoute(bytes, 2);
  assert.is(decodeFrame(bytes, limits).route, 2);
});

test('encoding rejects what the header cannot carry', () => {
  const bad = (h: Partial<Header>, sig: Partial<Header['signature']> = {}) => () =>
    encodeFrame({ ...header, ...h, signature: { ...header.signature, ...sig } }, routing, new Uint8Array(40));
  assert.throws(bad({ comm: -1 }), /InvalidArgument: frame: comm -1/);
  assert.throws(bad({ seq: 2 ** 32 }), /seq/);
  assert.throws(bad({}, { count: 2 ** 53 }), /count/);
  assert.throws(bad({}, { dtype: 'float64' }), /dtype 'float64'/);
  assert.throws(bad({}, { op: 'xor' }), /op 'xor'/);
  assert.throws(bad({}, { root: -2 }), /root -2/);
  assert.throws(() => encodeFrame(header, { ...routing, offset: 70 }, new Uint8Array(40)), /exceeds the message/);
});

test('decoding rejects truncated frames', () => {
  rejects(new Uint8Array(10), /10 bytes is shorter than the 56-byte header/);
});

test('decoding rejects wrong magic and version', () => {
  rejects(patched((v) => v.setUint32(0, 0xdeadbeef, true)), /wrong magic 0xdeadbeef/);
  rejects(patched((v) => v.setUint8(4, 9)), /unsupported version 9/);
});

test('decoding rejects unknown codes', () => {
  rejects(patched((v) => v.setUint8(5, 200)), /unknown signature kind code 200/);
  rejects(patched((v) => v.setUint8(6, 77)), /unknown signature dtype code 77/);
  rejects(patched((v) => v.setUint8(7, 0x3c)), /unknown signature op code 12/); // low 4 bits: op, high 4: codec
  rejects(patched((v) => v.setInt32(20, -5, true)), /root -5/);
});

test('decoding rejects unsafe 64-bit integers', () => {
  rejects(patched((v) => v.setUint32(28, 2 ** 21, true)), /count exceeds 2\^53 - 1/);
});

test('decoding rejects length mismatches and oversized frames', () => {
  rejects(frame().subarray(0, HEADER_BYTES + 39), /declares 40 payload bytes but 39 arrived/);
  rejects(patched((v) => v.setUint32(40, 50, true)), /segment \[60, \+40\) lies outside the 50-byte message/);
  rejects(frame(), /segment of 40 bytes exceeds the 16-byte limit/, { maxSegmentBytes: 16, maxMessageBytes: 1000 });
  rejects(frame(), /message of 100 bytes exceeds the 64-byte limit/, { maxSegmentBytes: 1000, maxMessageBytes: 64 });
});

test.run();
