// Expected receives of the native tcp provider (postExpect/cancelExpect in native/src/tcp.cc) and
// the ntcp channel's use of them (lib/transport/shm/shm-channel.ts): a message whose first 56
// bytes match an expectation has the rest of its payload copied straight into the expectation's
// region, or folded into it on the I/O thread piece by piece, bit-identical to the oracle for odd
// sizes; nothing is written outside the region; an unmatched or withdrawn expectation leaves the
// message to its receive; a peer that dies mid-frame, or an expectation withdrawn mid-frame,
// fails the receive at once without writing past what arrived; and ring allreduces over ntcp,
// in place and out of place, land messages this way and match the oracle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import '../lib/index.node.js'; // registers the webccl+ntcp:// world
import type { DataType, SimpleOp } from '../lib/dtype.js';
import { reduceAccumulate } from '../lib/cpu/reduce.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { ShmContext, tcpDigest, type ShmCompletion, type ShmEndpoint } from '../lib/native/shm.js';
import { ntcpLandingMode, ShmChannel } from '../lib/transport/shm/shm-channel.js';
import { createWorld, destroyWorld, inputFor, oracleReduce, sameElements, type WorldOptions } from './helpers/comm-world.js';
import { digest, newSecret } from './helpers/native-peer.js';
import { rejects } from './helpers/assert.js';
import { within } from './within.js';

const loaded = loadNative(process.env['SHM_ADDON']);
if (!('addon' in loaded)) throw new Error(`the ntcp expected-receive suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;
const TCP = { kind: 'tcp', host: '127.0.0.1' } as const;
const HEAD = 56;
const GUARD = 4099; // bytes around every landing span that must stay as they were

/** Two connected tcp contexts in this process: messages go from `a` to `b`. */
function connected(secret = newSecret()) {
  const a = new ShmContext(addon, secret, TCP);
  const b = new ShmContext(addon, secret, TCP);
  const [ea, eb] = [a.createEndpoint('0-1'), b.createEndpoint('1-0')];
  ea.connect(eb.address(), 10_000);
  eb.connect(ea.address(), 10_000);
  return { a, b, ea, eb, destroy: () => { a.destroy(); b.destroy(); } };
}

/** Sends head ‖ payload as one message from `a` (the head inline, the payload from a registered copy). */
function sendMessage(a: ShmContext, ea: ShmEndpoint, head: Uint8Array, payload: Uint8Array): Promise<ShmCompletion> {
  const source = payload.slice();
  return ea.send(a.registerMemory(source), 0, source.byteLength, head);
}

/** A region with the landing span at GUARD, random bytes all around. */
function landingRegion(bytes: number): { region: Uint8Array; span: Uint8Array } {
  const region = new Uint8Array(randomBytes(bytes + 2 * GUARD));
  return { region, span: region.subarray(GUARD, GUARD + bytes) };
}

function guardsKept(region: Uint8Array, before: Uint8Array, bytes: number, label: string): void {
  assert.is(digest(region.subarray(0, GUARD)), digest(before.subarray(0, GUARD)), `${label}: bytes before the span`);
  assert.is(digest(region.subarray(GUARD + bytes)), digest(before.subarray(GUARD + bytes)), `${label}: bytes after the span`);
}

test('a matched message is copied straight into its expectation (odd size), the slot keeps the head; a different head is not', async () => {
  const { a, b, ea, eb, destroy } = connected();
  try {
    const bytes = 300_001;
    const slot = new Uint8Array(HEAD + bytes + 10);
    const slotKey = b.registerMemory(slot);
    const { region, span } = landingRegion(bytes);
    const before = region.slice();
    const key = b.registerMemory(region);
    const head = new Uint8Array(randomBytes(HEAD));
    eb.expect(7, head, key, GUARD, bytes);
    const payload = new Uint8Array(randomBytes(bytes));
    const received = eb.recv(slotKey, 0, slot.byteLength);
    await within(sendMessage(a, ea, head, payload), 10_000, 'send');
    assert.equal(await within(received, 10_000, 'matched receive'), { opcode: 'recv', bytes: HEAD + bytes, imm: 7 });
    assert.is(digest(span), digest(payload));
    assert.is(digest(slot.subarray(0, HEAD)), digest(head));
    guardsKept(region, before, bytes, 'copy');
    // Taken: withdrawing it now finds nothing. A message with another head goes to its receive.
    assert.is(eb.cancelExpect(7), false);
    const other = head.slice();
    other[55]! ^= 1;
    eb.expect(8, head, key, GUARD, bytes);
    const plain = eb.recv(slotKey, 0, slot.byteLength);
    const snapshot = region.slice();
    await sendMessage(a, ea, other, payload.map((x) => x ^ 0xff));
    assert.equal(await within(plain, 10_000, 'unmatched receive'), { opcode: 'recv', bytes: HEAD + bytes });
    assert.is(digest(slot.subarray(HEAD, HEAD + bytes)), digest(payload.map((x) => x ^ 0xff)));
    assert.is(digest(region), digest(snapshot), 'the unmatched expectation was not written');
    // Withdrawn before its message: the message goes to its receive.
    assert.is(eb.cancelExpect(8), true);
    const after = eb.recv(slotKey, 0, slot.byteLength);
    await sendMessage(a, ea, head, payload);
    assert.equal(await within(after, 10_000, 'withdrawn'), { opcode: 'recv', bytes: HEAD + bytes });
    assert.is(digest(region), digest(snapshot));
  } finally {
    destroy();
  }
});

const FOLDS: readonly [DataType, SimpleOp, number][] = [
  ['float32', 'sum', 200_003], // several 256 KiB pieces and an odd tail
  ['float32', 'avg', 77_777], // avg folds as sum
  ['bfloat16', 'max', 150_001],
  ['int32', 'prod', 65_537],
  ['float16', 'min', 40_001],
];

test('a matched message is folded into its expectation on arrival, bit-identical to the oracle for odd sizes, nothing outside written', async () => {
  const { a, b, ea, eb, destroy } = connected();
  try {
    let id = 100;
    for (const [dtype, op, count] of FOLDS) {
      const label = `${dtype} ${op} × ${count}`;
      const bytes = count * (dtype === 'bfloat16' || dtype === 'float16' ? 2 : 4);
      const slot = new Uint8Array(HEAD + bytes);
      const slotKey = b.registerMemory(slot);
      const { region, span } = landingRegion(bytes);
      // Finite operands (random bits would make NaN-heavy floats): the suite's inputs of two ranks.
      span.set(new Uint8Array(inputFor(dtype, op, 0, count).buffer));
      const before = region.slice();
      const payload = new Uint8Array(inputFor(dtype, op, 1, count).buffer);
      const expected = before.slice(GUARD, GUARD + bytes);
      reduceAccumulate(expected, [payload], count, dtype, op === 'avg' ? 'sum' : op);
      const key = b.registerMemory(region);
      const head = new Uint8Array(randomBytes(HEAD));
      eb.expect(++id, head, key, GUARD, bytes, { dtype, op });
      const received = eb.recv(slotKey, 0, slot.byteLength);
      await within(sendMessage(a, ea, head, payload), 10_000, `${label}: send`);
      assert.equal(await within(received, 10_000, label), { opcode: 'recv', bytes: HEAD + bytes, imm: id });
      assert.is(digest(span), digest(expected), `${label}: folded like the oracle`);
      guardsKept(region, before, bytes, label);
    }
  } finally {
    destroy();
  }
});

test('bad expectations throw InvalidArgument at the call', () => {
  const { b, eb, destroy } = connected();
  try {
    const key = b.registerMemory(new Uint8Array(1000));
    const head = new Uint8Array(HEAD);
    assert.throws(() => eb.expect(1, new Uint8Array(55), key, 0, 10), /^InvalidArgument: tcp postExpect: postExpect: head holds 55 bytes, not 56/);
    assert.throws(() => eb.expect(0, head, key, 0, 10), /id must be an integer in 1/);
    assert.throws(() => eb.expect(1, head, key, 0, 0), /length must be at least 1/);
    assert.throws(() => eb.expect(1, head, key, 900, 101), /lie outside region/);
    assert.throws(() => eb.expect(1, head, key, 0, 10, { dtype: 'float32', op: 'sum' }), /10 bytes is not a whole number of 4-byte elements/);
    assert.throws(() => eb.expect(1, head, key, 0, 8, { dtype: 'float64', op: 'sum' }), /unknown dtype float64/);
    eb.expect(1, head, key, 0, 8);
    assert.throws(() => eb.expect(1, head, key, 0, 8), /id 1 is listed already/);
    for (let id = 2; id <= 256; id++) eb.expect(id, head, key, 0, 8);
    assert.throws(() => eb.expect(257, head, key, 0, 8), /256 expected receives are listed already/);
    assert.is(eb.cancelExpect(9999), false);
  } finally {
    destroy();
  }
});

/**
 * A raw socket that passes as the peer of `endpoint` (the same secret's digest, the endpoint's
 * token) and is the side that dials: its blob sorts first, so the endpoint accepts.
 */
async function rawPeer(endpoint: ShmEndpoint, secret: string): Promise<Socket> {
  const [, port, token] = /:(\d+) (\w+)$/.exec(endpoint.address())!;
  endpoint.connect(`127.0.0.1:1 ${'0'.repeat(32)}`, 10_000);
  const socket = connect({ host: '127.0.0.1', port: Number(port) });
  socket.on('error', () => {});
  socket.on('data', () => {}); // the endpoint's hello
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(Buffer.concat([Buffer.from('WCCLTCP1'), Buffer.from(tcpDigest(secret)), Buffer.from(token!)]));
  return socket;
}

/** The 40-byte record header of a two-sided send of `length` bytes. */
function sendRecord(length: number): Buffer {
  const record = Buffer.alloc(40);
  record.writeUInt32LE(1, 0);
  record.writeBigUInt64LE(BigInt(length), 16);
  return record;
}

const RAW_BYTES = 1_000_000;

/**
 * An endpoint of a fresh context expecting (id 5, folded as float32 sum when `fold`) a message
 * of RAW_BYTES after its head, its receive posted, and the raw peer that will send it; `run`
 * gets them all, the context is destroyed after.
 */
async function withRawMessage(fold: boolean, run: (setup: {
  context: ShmContext; endpoint: ShmEndpoint; key: number; head: Uint8Array; region: Uint8Array; span: Uint8Array; before: Uint8Array;
  socket: Socket; received: Promise<ShmCompletion>;
}) => Promise<void>): Promise<void> {
  const secret = newSecret();
  const context = new ShmContext(addon, secret, TCP);
  try {
    const endpoint = context.createEndpoint('raw');
    const slotKey = context.registerMemory(new Uint8Array(HEAD + RAW_BYTES));
    const { region, span } = landingRegion(RAW_BYTES);
    const before = region.slice();
    const key = context.registerMemory(region);
    const head = new Uint8Array(randomBytes(HEAD));
    endpoint.expect(5, head, key, GUARD, RAW_BYTES, fold ? { dtype: 'float32', op: 'sum' } : undefined);
    const socket = await rawPeer(endpoint, secret);
    const received = endpoint.recv(slotKey, 0, HEAD + RAW_BYTES);
    try {
      await run({ context, endpoint, key, head, region, span, before, socket, received });
    } finally {
      socket.destroy();
    }
  } finally {
    context.destroy();
  }
}

for (const fold of [false, true]) {
  const mode = fold ? 'folded' : 'copied';
  test(`a peer dying mid-frame (${mode}): the receive rejects at once, nothing is written past what arrived`, () => withRawMessage(fold, async ({ head, region, span, before, socket, received }) => {
    const sent = 300_000; // within the first 256 KiB piece and past it
    socket.write(Buffer.concat([sendRecord(HEAD + RAW_BYTES), head, Buffer.alloc(sent, 0)]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    await within(rejects(received, /^RemoteError: tcp recv: peer 127\.0\.0\.1:1 died/), 10_000, 'the receive rejects');
    // Copied: the bytes that arrived (zeros) and nothing after. Folded: adding zeros changes no finite float.
    assert.is(digest(span.subarray(sent)), digest(before.subarray(GUARD + sent, GUARD + RAW_BYTES)), 'nothing past what arrived');
    if (!fold) assert.ok(span.subarray(0, sent).every((x) => x === 0), 'what arrived was copied');
    guardsKept(region, before, RAW_BYTES, mode);
  }));
}

test('an expectation withdrawn while its message arrives: the rest is not written, the receive fails naming it', () => withRawMessage(false, async ({ context, endpoint, key, head, region, span, before, socket, received }) => {
  const first = 200_000;
  socket.write(Buffer.concat([sendRecord(HEAD + RAW_BYTES), head, Buffer.alloc(first, 0)]));
  // Wait until the first part has landed, then withdraw as the channel does: cancel, deregister.
  await within((async () => { while (!span.subarray(0, first).every((x) => x === 0)) await new Promise((r) => setTimeout(r, 20)); })(), 10_000, 'the first part lands');
  assert.is(endpoint.cancelExpect(5), false, 'a message has taken it');
  context.deregisterMemory(key);
  socket.write(Buffer.alloc(RAW_BYTES - first, 0));
  await within(rejects(received, /^SystemError: tcp recv: expected receive 5 was cancelled: unknown or deregistered memory key/), 10_000, 'the receive fails');
  assert.is(digest(span.subarray(first)), digest(before.subarray(GUARD + first, GUARD + RAW_BYTES)), 'nothing after the withdrawal');
  guardsKept(region, before, RAW_BYTES, 'withdrawn');
}));

/** Counts the frames the I/O thread put into a landing (ShmChannel's receivedExpected) while `body` runs. */
async function countExpected(body: () => Promise<void>): Promise<number> {
  const prototype = ShmChannel.prototype as unknown as Record<string, (...args: unknown[]) => void>;
  const original = prototype['receivedExpected']!;
  let count = 0;
  prototype['receivedExpected'] = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    await body();
  } finally {
    prototype['receivedExpected'] = original;
  }
  return count;
}

/**
 * Ring allreduces of `count` elements over a 3-rank ntcp world, each (dtype, op) in place and out
 * of place, checked against the oracle (and an out-of-place call's input kept); returns the
 * frames the I/O threads landed, the messages sent and the calls made.
 */
async function ringAllReducesLanded(options: WorldOptions, count: number, cases: readonly (readonly [DataType, SimpleOp])[]): Promise<{ landed: number; messages: number; calls: number }> {
  const size = 3;
  const comms = await within(createWorld(size, { timeoutMs: 20_000, ...options }, 'ntcp'), 20_000, 'world');
  try {
    let messages = 0;
    let calls = 0;
    const landed = await countExpected(async () => {
      for (const [dtype, op] of cases) {
        for (const inPlace of [true, false]) {
          const inputs = comms.map((_, rank) => inputFor(dtype, op, rank, count));
          const sends = inputs.map((input) => input.slice());
          const outputs = inPlace ? sends : sends.map((send) => send.slice().fill(0));
          const label = `${dtype} ${op} ${inPlace ? 'in place' : 'out of place'}`;
          await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, outputs[r]!, count, dtype, op, { algorithm: 'ring' }))), 20_000, label);
          const oracle = oracleReduce(inputs, count, dtype, op);
          for (const [rank, output] of outputs.entries()) sameElements(output, oracle, `${label}, rank ${rank}`);
          if (!inPlace) for (const [rank, send] of sends.entries()) sameElements(send, inputs[rank]!, `${label}, rank ${rank}'s input`);
          messages += size * 2 * (size - 1);
          calls++;
        }
      }
    });
    return { landed, messages, calls };
  } finally {
    await destroyWorld(comms); // a failed check must not leave the world's threads running
  }
}

test('3 ranks over ntcp: ring allreduces in place and out of place, odd sizes, land on arrival (all but a first receive\'s worth) and match the oracle', async () => {
  // Pieces of 40_000-40_001 elements: odd, above the 32 KiB threshold.
  const { landed, messages, calls } = await ringAllReducesLanded({}, 3 * 40_001 + 2, [['float32', 'sum'], ['bfloat16', 'max'], ['int32', 'min'], ['float32', 'avg']]);
  // A message whose head arrives before its landing is listed takes the slot. The ring posts
  // each receive while the one before it is awaited (ring-receives.ts), so at least as many
  // land as there are receives after each rank's first of a call (before that: 52-54 of 96).
  const firsts = 3 * calls;
  assert.ok(landed >= messages - firsts && landed <= messages, `${landed} of ${messages} messages landed on arrival (at least ${messages - firsts})`);
});

test('3 ranks over ntcp: messages of several frames (2 MiB each) land frame by frame and match the oracle', async () => {
  // One pipeline a segment: segments of 700_001 elements (2.8 MB, odd) go as messages of two frames.
  const { landed, messages, calls } = await ringAllReducesLanded({ chunkBytes: 6 << 20, pipelineDepth: 1 }, 3 * 700_001 + 2, [['float32', 'sum'], ['int32', 'max']]);
  // Two frames a message; a rank's first receive of a call may come before its landing.
  const frames = 2 * messages;
  const firsts = 2 * 3 * calls;
  assert.ok(landed >= frames - firsts && landed <= frames, `${landed} of ${frames} frames landed on arrival (at least ${frames - firsts})`);
});

test('WEBCCL_NTCP_LANDING: fold by default, off and copy on request, anything else InvalidArgument naming it', () => {
  const saved = process.env['WEBCCL_NTCP_LANDING'];
  try {
    delete process.env['WEBCCL_NTCP_LANDING'];
    assert.is(ntcpLandingMode(), 'fold');
    for (const mode of ['off', 'copy', 'fold'] as const) {
      process.env['WEBCCL_NTCP_LANDING'] = mode;
      assert.is(ntcpLandingMode(), mode);
    }
    process.env['WEBCCL_NTCP_LANDING'] = 'on';
    assert.throws(() => ntcpLandingMode(), /^InvalidArgument: WEBCCL_NTCP_LANDING=on is none of off, copy, fold/);
  } finally {
    if (saved === undefined) delete process.env['WEBCCL_NTCP_LANDING'];
    else process.env['WEBCCL_NTCP_LANDING'] = saved;
  }
});

test.run();
