// A message larger than one frame lands whole (FramedTransport.land with a channel that expects
// frames, as ntcp's does): the channel is told every frame's head and span, cut as the sender
// cuts the message; each frame's payload goes to its span of the landing, folded where the
// landing folds; the message is handed out as the landing's own bytes. A message whose first
// frame came before its landing was listed keeps assembling where it started (the channel is
// told nothing, nothing is written into the landing), and a frame that does not take a landing
// still goes to the pool.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import type { ExpectedFrame, FrameChannel } from '../lib/transport/framed/frame-channel.js';
import { withLimits } from '../lib/transport/framed/limits.js';
import { decodeFrameHead, encodeFrameHeader } from '../lib/transport/frame.js';
import type { Header } from '../lib/transport/transport.js';
import type { Landing } from '../lib/memory/landing.js';
import { header } from './transport-conformance.js';
import { rejects } from './helpers/assert.js';

const SEGMENT = 1024;
const MESSAGE = 2 * SEGMENT + 200; // three frames: 1024, 1024, 200 bytes

/** A channel that records what it is asked to expect (reading is the test's job). */
class ExpectingChannel implements FrameChannel {
  readonly expected: { frames: readonly ExpectedFrame[]; landing: Landing }[] = [];
  cancelled = 0;
  write(): Promise<void> {
    return Promise.resolve();
  }
  expect(frames: readonly ExpectedFrame[], landing: Landing): () => void {
    this.expected.push({ frames, landing });
    return () => { this.cancelled++; };
  }
  pauseReading(): void {}
  resumeReading(): void {}
  close(): void {}
}

function setup() {
  const transport = new FramedTransport({ rank: 0, size: 2, description: 'test', limits: withLimits({ maxSegmentBytes: SEGMENT }), routeTo: () => 0 });
  const channel = new ExpectingChannel();
  transport.attach(1, channel);
  return { transport, channel };
}

/** The frames peer 1 writes for a message of `bytes` (FramedTransport.writeSegments' cut). */
function framesOf(h: Header, bytes: Uint8Array): { head: Uint8Array; payload: Uint8Array }[] {
  const frames = [];
  for (let offset = 0; offset < bytes.byteLength; offset += SEGMENT) {
    const payload = bytes.subarray(offset, offset + SEGMENT);
    frames.push({ head: encodeFrameHeader(h, { route: 1, messageBytes: bytes.byteLength, offset }, payload.byteLength), payload });
  }
  return frames;
}

/** Feeds one frame as a channel that writes payloads synchronously does; returns the sink's target. */
function feed(transport: FramedTransport, frame: { head: Uint8Array; payload: Uint8Array }): { target: Uint8Array; folded: boolean } {
  const sink = transport.receiveFrameSink(frame.head, 1);
  if (!sink) throw new Error('the transport refused a frame');
  if (sink.fold) sink.fold(sink.target, frame.payload);
  else sink.target.set(frame.payload);
  transport.receivePayload(1);
  return { target: sink.target, folded: sink.fold !== undefined };
}

const bytesOf = (seed: number) => Uint8Array.from({ length: MESSAGE }, (_, i) => (i * 7 + seed) & 0xff);

test('a three-frame message lands: every frame\'s head and span expected, each folded into its span, handed out as the landing', async () => {
  const { transport, channel } = setup();
  const h = header(0, 3);
  const region = new Uint8Array(MESSAGE + 64).fill(1);
  const target = region.subarray(32, 32 + MESSAGE);
  // A byte-wise sum, so a frame folded into the wrong span or twice shows.
  const fold = (into: Uint8Array, bytes: Uint8Array) => { for (let i = 0; i < into.byteLength; i++) into[i] = (into[i]! + bytes[i]!) & 0xff; };
  const landing: Landing = { target, fold, elementBytes: 1 };
  const cancel = transport.land(1, h, landing);
  assert.is(channel.expected.length, 1);
  const frames = framesOf(h, bytesOf(5));
  const listed = channel.expected[0]!.frames;
  assert.equal(listed.map(({ offset, length }) => [offset, length]), [[0, 1024], [1024, 1024], [2048, 200]]);
  for (const [i, frame] of listed.entries()) {
    assert.equal([...frame.head], [...frames[i]!.head], `frame ${i}'s head is the one the sender writes`);
    assert.is(decodeFrameHead(frame.head, withLimits({ maxSegmentBytes: SEGMENT })).offset, frame.offset);
  }
  const receiving = transport.recv(1, h.comm, h.seq);
  for (const [i, frame] of frames.entries()) {
    const sink = feed(transport, frame);
    assert.ok(sink.folded, `frame ${i} is folded`);
    assert.is(sink.target.buffer, region.buffer);
    assert.is(sink.target.byteOffset, 32 + i * SEGMENT, `frame ${i} goes to its span`);
  }
  const message = await receiving;
  assert.is(message.payload, target, 'handed out as the landing itself');
  assert.is(message.release, undefined);
  const sent = bytesOf(5);
  assert.equal([...target], [...sent].map((b) => (b + 1) & 0xff), 'every byte folded once');
  assert.ok(region.subarray(0, 32).every((b) => b === 1) && region.subarray(32 + MESSAGE).every((b) => b === 1), 'nothing outside the span');
  cancel();
  assert.is(channel.cancelled, 1);
  await transport.close();
});

test('a message whose first frame came before its landing: the channel is told nothing, the message assembles in the pool, the landing is untouched', async () => {
  const { transport, channel } = setup();
  const h = header(0, 4);
  const frames = framesOf(h, bytesOf(9));
  feed(transport, frames[0]!);
  const target = new Uint8Array(MESSAGE).fill(0xee);
  const cancel = transport.land(1, h, { target, elementBytes: 1 });
  assert.is(channel.expected.length, 0, 'no frame expected: the message is being assembled elsewhere');
  const rest = frames.slice(1).map((frame) => feed(transport, frame));
  assert.ok(rest.every(({ target: t, folded }) => t.buffer !== target.buffer && !folded), 'later frames follow the first into the pool');
  const message = await transport.recv(1, h.comm, h.seq);
  assert.is.not(message.payload, target);
  assert.equal([...message.payload], [...bytesOf(9)]);
  assert.ok(target.every((b) => b === 0xee), 'nothing written into the landing');
  cancel();
  message.release?.();
  await transport.close();
});

test('a copy landing of a message the size of one frame is expected as one frame; a landing of another size is not taken', async () => {
  const { transport, channel } = setup();
  const one = header(0, 5);
  const target = new Uint8Array(SEGMENT);
  transport.land(1, one, { target, elementBytes: 1 });
  assert.equal(channel.expected[0]!.frames.map(({ offset, length }) => [offset, length]), [[0, SEGMENT]]);
  const payload = bytesOf(3).subarray(0, SEGMENT);
  const sink = feed(transport, { head: encodeFrameHeader(one, { route: 1, messageBytes: SEGMENT, offset: 0 }, SEGMENT), payload });
  assert.is(sink.target.buffer, target.buffer);
  assert.is((await transport.recv(1, one.comm, one.seq)).payload, target);
  assert.equal([...target], [...payload]);
  // A landing one byte short: the message is not its size, so it takes the pool.
  const other = header(0, 6);
  const short = new Uint8Array(MESSAGE - 1);
  transport.land(1, other, { target: short, elementBytes: 1 });
  for (const frame of framesOf(other, bytesOf(4))) assert.is.not(feed(transport, frame).target.buffer, short.buffer);
  const message = await transport.recv(1, other.comm, other.seq);
  assert.equal([...message.payload], [...bytesOf(4)]);
  await transport.close();
});

test('frames that split elements: a message cut so is not taken (the pool assembles it); a later frame that splits one fails the connection, naming it', async () => {
  const { transport } = setup();
  const h = header(0, 7);
  const target = new Uint8Array(MESSAGE).fill(0xee);
  const fold = () => { throw new Error('no fold expected'); };
  transport.land(1, h, { target, fold, elementBytes: 4 });
  // A sender that cuts at 1022 bytes: no frame lands, the message comes whole from the pool.
  const bytes = bytesOf(6);
  for (let offset = 0; offset < MESSAGE; offset += 1022) {
    const payload = bytes.subarray(offset, offset + 1022);
    const sink = feed(transport, { head: encodeFrameHeader(h, { route: 1, messageBytes: MESSAGE, offset }, payload.byteLength), payload });
    assert.is.not(sink.target.buffer, target.buffer);
    assert.not.ok(sink.folded);
  }
  const message = await transport.recv(1, h.comm, h.seq);
  assert.equal([...message.payload], [...bytes]);
  assert.ok(target.every((b) => b === 0xee));
  // A first frame of whole elements takes the landing; a second of 1022 bytes splits one.
  const next = header(0, 8);
  transport.land(1, next, { target, fold: (into, b) => into.set(b), elementBytes: 4 });
  const receiving = transport.recv(1, next.comm, next.seq);
  receiving.catch(() => undefined);
  feed(transport, { head: encodeFrameHeader(next, { route: 1, messageBytes: MESSAGE, offset: 0 }, SEGMENT), payload: bytes.subarray(0, SEGMENT) });
  assert.is(transport.receiveFrameSink(encodeFrameHeader(next, { route: 1, messageBytes: MESSAGE, offset: SEGMENT }, 1022), 1), undefined, 'the frame is refused');
  await rejects(receiving, /closing the connection to peer 1: .*a segment of 1022 bytes at offset 1024 splits the 4-byte elements of the message it lands in/);
  await transport.close();
});

test.run();
