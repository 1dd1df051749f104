// How the websocket mesh lays frames onto messages: small frames whole, large payloads apart
// from their header, and the reader that puts them back together (or lets the decoder reject).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HEADER_BYTES, decodeFrameParts, encodeFrame, encodeFrameHeader } from '../lib/transport/frame.js';
import { SPLIT_PAYLOAD_BYTES, SplitFrameReader, frameMessages } from '../lib/transport/websocket/split-frames.js';
import type { Header } from '../lib/transport/transport.js';

const limits = { maxSegmentBytes: 1 << 20, maxMessageBytes: 1 << 30 };
const header: Header = { comm: 0, seq: 3, chunk: 1, signature: { kind: 'allReduce', count: 9, dtype: 'float32', op: 'sum', root: -1 } };

function framed(bytes: number): { head: Uint8Array; segment: Uint8Array } {
  const segment = Uint8Array.from({ length: bytes }, (_, i) => i * 7);
  return { head: encodeFrameHeader(header, { route: 1, messageBytes: bytes, offset: 0 }, bytes), segment };
}

test('small frames travel as one message holding header and payload', () => {
  const { head, segment } = framed(SPLIT_PAYLOAD_BYTES - 1);
  const messages = frameMessages(head, segment);
  assert.is(messages.length, 1);
  assert.equal(messages[0], encodeFrame(header, { route: 1, messageBytes: segment.byteLength, offset: 0 }, segment));
  assert.equal(new SplitFrameReader().accept(messages[0]!), { bytes: messages[0] });
});

test('large payloads travel apart from their header, uncopied, and are put back together', () => {
  const { head, segment } = framed(SPLIT_PAYLOAD_BYTES);
  const messages = frameMessages(head, segment);
  assert.is(messages.length, 2);
  assert.is(messages[0], head);
  assert.is(messages[1], segment);
  const reader = new SplitFrameReader();
  assert.is(reader.accept(messages[0]!), undefined);
  const arrived = reader.accept(messages[1]!)!;
  const frame = decodeFrameParts(arrived.bytes, arrived.payload!, limits);
  assert.equal(frame.header, header);
  assert.is(frame.payload, segment);
  // The reader is back to whole frames afterwards.
  const small = encodeFrame(header, { route: 1, messageBytes: 2, offset: 0 }, Uint8Array.of(1, 2));
  assert.equal(reader.accept(small), { bytes: small });
});

test('a header alone that declares no payload is a whole (empty) frame', () => {
  const { head } = framed(0);
  assert.is(head.byteLength, HEADER_BYTES);
  assert.equal(new SplitFrameReader().accept(head), { bytes: head });
});

test('a payload message of the wrong length is rejected by the decoder', () => {
  const { head } = framed(SPLIT_PAYLOAD_BYTES);
  const reader = new SplitFrameReader();
  reader.accept(head);
  const arrived = reader.accept(new Uint8Array(10))!;
  assert.throws(() => decodeFrameParts(arrived.bytes, arrived.payload!, limits), /declares 32768 payload bytes but 10 arrived/);
});

test.run();
