// The native tcp provider (native/src/tcp.cc) between two processes and within one: two-sided
// messages and one-sided writes with the right bytes, bad input refused at the call, a peer
// killed with SIGKILL (pending operations reject, the I/O thread and descriptors are given back),
// strangers at an endpoint's listening port (random bytes, truncated and wrong hellos, a silent
// socket, a wrong secret) dropped while the real peer still connects, a fuzz run (expected
// receives included), and the hand-over of reading between the JS thread and the I/O thread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { WebcclError } from '../lib/errors.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { ShmContext, tcpDigest, type ShmEndpoint } from '../lib/native/shm.js';
import { pattern, REGION_BYTES } from './workers/shm-peer.js';
import { rejects } from './helpers/assert.js';
import { digest, exchangeChecks, fdCount, fuzzProvider, newSecret, pair as pairWith, startPeer, threadCount } from './helpers/native-peer.js';
import { within } from './within.js';

const loaded = loadNative(process.env['SHM_ADDON']);
if (!('addon' in loaded)) throw new Error(`the native tcp suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;
const TCP = { kind: 'tcp', host: '127.0.0.1' } as const;
// native/src/tcp.cc's kJsRecordBytes: the most payload bytes a record the JS thread reads, and header + payload it sends with sendNow.
const JS_RECORD_BYTES = 64 << 10;

const portOf = (endpoint: ShmEndpoint) => Number(/:(\d+) /.exec(endpoint.address())![1]);
const pair = (secret: string) => pairWith(addon, secret, TCP);

test('tcp: messages and one-sided writes between two processes carry the right bytes', async () => {
  const secret = newSecret();
  const fds = fdCount();
  const connected = await pair(secret);
  const { peer, context, key, endpoint } = connected;
  // The exchange both providers carry (its last message too long for the posted receive: the stream goes on after it).
  await exchangeChecks('tcp', connected);
  // A write aimed outside our region (the target checks: tcp does not publish regions) fails its immediate's receive.
  const outside = rejects(endpoint.recv(key, 0, 0), /remote write: bytes \[8388600, 8388616\) lie outside region/);
  await peer.ask({ cmd: 'write', offset: 0, length: 16, rkey: key, roffset: REGION_BYTES - 8, imm: 1, fill: 6 });
  await outside;
  const after = endpoint.recv(key, 0, 100);
  await peer.ask({ cmd: 'send', offset: 0, length: 50, fill: 7 });
  assert.equal(await after, { opcode: 'recv', bytes: 50 });
  // The peer destroys: a clean close, reported as such.
  const closed = rejects(endpoint.recv(key, 0, 1), /^RemoteError: tcp recv: peer 127\.0\.0\.1:\d+ closed the endpoint/);
  await peer.ask({ cmd: 'destroy' });
  await closed;
  await new Promise((resolve) => peer.child.once('exit', resolve));
  context.destroy();
  assert.is(fdCount(), fds, 'no file descriptor left open');
});

test('tcp: bad keys, bounds, addresses and use after destroy throw InvalidArgument', () => {
  const context = new ShmContext(addon, newSecret(), TCP);
  const key = context.registerMemory(new Uint8Array(4096));
  const endpoint = context.createEndpoint('x');
  assert.throws(() => endpoint.send(key, 0, 1), /not connected/);
  const cases: Array<[() => unknown, RegExp]> = [
    [() => context.createEndpoint('a').connect('/etc/passwd 1'), /malformed address/],
    [() => context.createEndpoint('b').connect(`127.0.0.1:99999 ${'a'.repeat(32)}`), /malformed address/],
    [() => context.createEndpoint('c').connect(`127.0.0.1:80 ${'g'.repeat(32)}`), /malformed address/],
    [() => context.createEndpoint('d').connect(`127.0.0.1:80 ${'a'.repeat(32)}`, 0), /timeoutMs must be an integer/],
    [() => context.registerMemory(new Uint8Array(0)), /holds no bytes/],
    [() => new ShmContext(addon, newSecret(), { kind: 'tcp', host: 'example.com' }), /host must be an IPv4 address/],
  ];
  assert.throws(() => endpoint.connect(endpoint.address()), /cannot connect to itself/);
  endpoint.connect(`127.0.0.1:9 ${'a'.repeat(32)}`, 1);
  cases.push(
    [() => endpoint.send(key + 1, 0, 1), /unknown or deregistered memory key/],
    [() => endpoint.recv(key, 4000, 100), /bytes \[4000, 4100\) lie outside region/],
    [() => endpoint.write(key, 0, 1, 0, 0), /unknown or deregistered remote key/],
    [() => endpoint.write(key, 0, 1, key, 0, 2 ** 32), /imm must be a 32-bit unsigned integer/],
    [() => endpoint.connect(`127.0.0.1:9 ${'a'.repeat(32)}`), /already connected/],
    [() => endpoint.send(key, 0, 1, new Uint8Array(65)), /inline holds 65 bytes, at most 64/],
  );
  for (const [call, message] of cases) {
    try {
      call();
      assert.unreachable(`expected ${message}`);
    } catch (error) {
      assert.ok(error instanceof WebcclError && error.code === 'InvalidArgument', String(error));
      assert.match((error as Error).message, message);
    }
  }
  endpoint.destroy();
  assert.throws(() => endpoint.send(key, 0, 1), /the endpoint was destroyed/);
  context.destroy();
  assert.throws(() => context.registerMemory(new Uint8Array(8)), /the context was destroyed/);
});

test('tcp: a send with inline bytes arrives as one message, the inline bytes first; shm refuses inline', async () => {
  const secret = newSecret();
  const [a, b] = [new ShmContext(addon, secret, TCP), new ShmContext(addon, secret, TCP)];
  try {
    const payload = randomBytes(300_000);
    const inline = randomBytes(56);
    const source = new Uint8Array(payload.length + 7);
    source.set(payload, 7);
    const target = new Uint8Array(payload.length + inline.length + 100);
    const [sourceKey, targetKey] = [a.registerMemory(source), b.registerMemory(target)];
    const [ea, eb] = [a.createEndpoint('0-1'), b.createEndpoint('1-0')];
    ea.connect(eb.address(), 10_000);
    eb.connect(ea.address(), 10_000);
    const received = eb.recv(targetKey, 0, target.length);
    const sent = ea.send(sourceKey, 7, payload.length, inline);
    const expectedInline = Buffer.from(inline);
    inline.fill(0); // copied at the post: changing it afterwards changes nothing
    const [done, got] = await within(Promise.all([sent, received]), 10_000, 'inline send');
    assert.is(done.bytes, payload.length + 56);
    assert.is(got.bytes, payload.length + 56);
    assert.is(digest(target.subarray(56, 56 + payload.length)), digest(payload));
    assert.ok(expectedInline.equals(target.subarray(0, 56)));
  } finally {
    a.destroy();
    b.destroy();
  }
  const shm = new ShmContext(addon, secret);
  try {
    const key = shm.registerMemory(new Uint8Array(64));
    assert.throws(() => shm.createEndpoint('inline').send(key, 0, 8, new Uint8Array(8)), /inline bytes need the tcp provider/);
  } finally {
    shm.destroy();
  }
});

test('tcp: the JS thread reads the small records (delivering their completions as it reads), the I/O thread the larger ones and those that wait for a receive; each arrives whole and in order', async () => {
  const counters = addon.tcpCounters!;
  const slot = 640 << 10;
  // Small (payloads of at most JS_RECORD_BYTES, the JS thread's) and larger records, mixed.
  const sizes = [100, 300_000, 40, 20_000, 8, JS_RECORD_BYTES, JS_RECORD_BYTES + 1, 1, 600_000, 77];
  const larger = sizes.filter((length) => length > JS_RECORD_BYTES).length;
  const sends = (fill: number) => sizes.map((length, i) => ({ offset: i * slot, length, fill: fill + i }));
  const check = (region: Uint8Array, got: Array<{ bytes: number }>, fill: number, what: string) => {
    assert.equal(got.map(({ bytes }) => bytes), sizes, `${what}: lengths in order`);
    sizes.forEach((length, i) => assert.is(digest(region.subarray(i * slot, i * slot + length)), digest(pattern(length, fill + i)), `${what}: record ${i}`));
  };
  for (const jsReads of [true, false]) {
    if (jsReads) delete process.env['WEBCCL_NTCP_JS_READS'];
    else process.env['WEBCCL_NTCP_JS_READS'] = '0';
    const before = counters();
    const { peer, context, region, key, endpoint } = await pair(newSecret());
    try {
      // One small record at a time, its receive posted ahead: the socket was drained before each.
      for (let i = 0; i < 5; i++) {
        const received = endpoint.recv(key, 0, slot);
        await peer.ask({ cmd: 'send', offset: 0, length: 64, fill: 50 + i });
        assert.is((await within(received, 10_000, 'one small record')).bytes, 64);
        assert.is(digest(region.subarray(0, 64)), digest(pattern(64, 50 + i)));
      }
      // All the records at once, their receives posted ahead.
      const ahead = sizes.map((_, i) => endpoint.recv(key, i * slot, slot));
      await peer.ask({ cmd: 'sends', sends: sends(1) });
      check(region, await within(Promise.all(ahead), 10_000, 'receives posted ahead'), 1, 'posted ahead');
      // The records first, their receives after: the first waits for its receive.
      const sent = peer.ask({ cmd: 'sends', sends: sends(20) });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const late = sizes.map((_, i) => endpoint.recv(key, i * slot, slot));
      check(region, await within(Promise.all(late), 10_000, 'receives posted late'), 20, 'posted late');
      await sent;
    } finally {
      delete process.env['WEBCCL_NTCP_JS_READS'];
      const exited = new Promise((resolve) => peer.child.once('exit', resolve));
      await peer.ask({ cmd: 'destroy' });
      await exited; // its IPC channel's descriptor with it, before the next test counts them
      context.destroy();
    }
    const after = counters();
    const [js, io] = [after.jsRecords - before.jsRecords, after.ioRecords - before.ioRecords];
    const delivered = after.jsDelivered - before.jsDelivered;
    assert.is(js + io, 5 + 2 * sizes.length, 'every record read once');
    assert.ok(delivered <= js, `only records the JS thread read are delivered by it (${delivered} of ${js})`);
    if (jsReads) {
      assert.ok(js >= 5, `the JS thread read the lone small records (${js} records)`);
      assert.ok(delivered >= 1, `the JS thread delivered completions as it read (${delivered} of ${js})`);
      assert.ok(io >= 2 * larger, `the I/O thread read the larger records (${io} records)`);
      assert.ok(after.handOvers > before.handOvers && after.handBacks > before.handBacks, 'reading changed hands both ways');
    } else {
      assert.is(js, 0, 'WEBCCL_NTCP_JS_READS=0: the I/O thread reads every record');
      assert.is(after.handBacks, before.handBacks);
    }
  }
});

test('tcp: sendNow writes a small message from the calling thread; a full socket takes the rest later, in order; larger messages and unformed endpoints say false', async () => {
  const secret = newSecret();
  const [a, b] = [new ShmContext(addon, secret, TCP), new ShmContext(addon, secret, TCP)];
  try {
    const slot = 16 << 10;
    const target = new Uint8Array(2048 * slot);
    const [sourceKey, targetKey] = [a.registerMemory(new Uint8Array(64)), b.registerMemory(target)];
    const [ea, eb] = [a.createEndpoint('0-1'), b.createEndpoint('1-0')];
    assert.is(ea.sendNow(new Uint8Array(8), new Uint8Array(8)), false, 'not connected');
    ea.connect(eb.address(), 10_000);
    eb.connect(ea.address(), 10_000);
    const formed = eb.recv(targetKey, 0, slot);
    await within(Promise.all([ea.send(sourceKey, 0, 8), formed]), 10_000, 'the connection forms');
    assert.is(ea.sendNow(new Uint8Array(8), new Uint8Array(JS_RECORD_BYTES - 7)), false, 'over JS_RECORD_BYTES with its header: post it');
    // Exactly JS_RECORD_BYTES with its header goes now, whole.
    const largest = randomBytes(JS_RECORD_BYTES);
    assert.ok(ea.sendNow(largest.subarray(0, 8), largest.subarray(8)), 'JS_RECORD_BYTES with its header: sent now');
    assert.is((await within(eb.recv(targetKey, 0, JS_RECORD_BYTES), 10_000, 'the largest message sent now')).bytes, JS_RECORD_BYTES);
    assert.is(digest(target.subarray(0, JS_RECORD_BYTES)), digest(largest));
    // No receive posted: the receiver stops reading, and the socket fills.
    const splitBefore = addon.tcpCounters!().splitSends;
    const sent: Uint8Array[] = [];
    while (sent.length < 2000) {
      const header = new Uint8Array(8);
      new DataView(header.buffer).setUint32(0, sent.length, true);
      const payload = randomBytes(slot - 8);
      if (!ea.sendNow(header, payload)) break;
      sent.push(Buffer.concat([header, payload]));
    }
    assert.ok(sent.length > 0 && sent.length < 2000, `the socket filled after ${sent.length} messages`);
    // A message the socket took only part of has its rest queued (the next says false until the
    // I/O thread has written it). More than one may split: the receiver's window can grow while
    // the loop runs (TCP autotuning), the queued rest goes, and a later message splits again (CI,
    // stop 62). Whatever split, every message must arrive whole and in order, below.
    const split = addon.tcpCounters!().splitSends - splitBefore;
    assert.ok(split <= sent.length, `no more messages split (${split}) than went (${sent.length})`);
    const got = await within(Promise.all(sent.map((_, i) => eb.recv(targetKey, i * slot, slot))), 20_000, 'the messages sent now');
    assert.ok(got.every(({ bytes }) => bytes === slot), 'each message whole');
    sent.forEach((message, i) => assert.is(digest(target.subarray(i * slot, (i + 1) * slot)), digest(message), `message ${i}`));
    // A post after them still comes after them.
    const after = eb.recv(targetKey, 0, slot);
    await ea.send(sourceKey, 0, 8);
    assert.is((await within(after, 10_000, 'a post after')).bytes, 8);
    ea.destroy();
    assert.throws(() => ea.sendNow(new Uint8Array(8), new Uint8Array(8)), /not a live object|destroyed/);
  } finally {
    a.destroy();
    b.destroy();
  }
});

test('tcp: a peer killed with SIGKILL fails pending operations with RemoteError; thread and descriptors are given back', async () => {
  const fds = fdCount();
  const threads = threadCount();
  const { peer, context, key, endpoint } = await pair(newSecret());
  // One message first, so that the connection is formed (a peer dead before its hello is a
  // peer that never connected: that waits for the connect deadline instead).
  const first = endpoint.recv(key, 0, 100);
  await peer.ask({ cmd: 'send', offset: 0, length: 10, fill: 1 });
  await first;
  const pendingRecv = endpoint.recv(key, 0, 100);
  peer.child.kill('SIGKILL');
  const error = await within(pendingRecv.then(() => new Error("resolved"), (e: Error) => e), 10_000, "the receive rejects");
  assert.match(error.message, /^RemoteError: tcp recv: peer 127\.0\.0\.1:\d+ died/);
  assert.ok(error instanceof WebcclError);
  assert.throws(() => endpoint.send(key, 0, 1), /died/);
  if (peer.child.exitCode === null && peer.child.signalCode === null) await new Promise((resolve) => peer.child.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 100)); // the IPC channel's descriptor closes after 'exit'
  context.destroy();
  assert.is(fdCount(), fds);
  assert.ok(threadCount() <= threads, 'the I/O thread is joined');
});

/** Connects a raw socket to `port`, runs `act` on it, and resolves with the ms until the listener drops it. */
function stranger(port: number, act: (socket: Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let at = 0;
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('connect', () => { at = Date.now(); act(socket); });
    // Half-open on our side: the listener's FIN ('end') is the drop, whether or not we ended.
    const dropped = () => resolve(Date.now() - at);
    socket.once('end', dropped);
    socket.once('close', dropped);
  });
}

test('tcp: strangers at the listening port (random bytes, truncated or wrong hellos, silence, another secret) are dropped; the real peer then connects', async () => {
  const secret = newSecret();
  const a = new ShmContext(addon, secret, TCP);
  const b = new ShmContext(addon, secret, TCP);
  const ea = a.createEndpoint('a');
  const eb = b.createEndpoint('b');
  // The acceptor is the endpoint whose address sorts last (the other dials).
  const [acceptor, dialer] = ea.address() > eb.address() ? [ea, eb] : [eb, ea];
  const port = portOf(acceptor);
  acceptor.connect(dialer.address(), 30_000); // its I/O thread now accepts, and meets the strangers first
  const magic = Buffer.from('WCCLTCP1');
  const strangers = [
    stranger(port, (s) => s.end(randomBytes(1 + Math.floor(Math.random() * 4096)))),
    stranger(port, (s) => s.end(randomBytes(88))),
    // Another job's hello (a wrong secret, the right token): refused.
    stranger(port, (s) => s.end(Buffer.concat([magic, Buffer.from(tcpDigest(newSecret())), Buffer.from(/ (\w+)$/.exec(acceptor.address())![1]!)]))),
    stranger(port, (s) => s.end(Buffer.concat([magic, Buffer.from(tcpDigest(secret).slice(0, 20))]))),
    stranger(port, (s) => s.end(Buffer.concat([magic, Buffer.from(tcpDigest(secret)), Buffer.from('0'.repeat(32))]))),
    stranger(port, (s) => { s.write(magic); }), // then silence: dropped after a few seconds
  ];
  const dropped = await within(Promise.all(strangers), 30_000, 'every stranger is dropped');
  assert.ok(dropped[5]! >= 1000 && dropped[5]! < 15_000, `the silent stranger was dropped after ${dropped[5]} ms`);
  // Garbage that exceeds the hello's bytes is never read past them: the process is fine, and the job forms.
  const ka = a.registerMemory(new Uint8Array(1 << 20));
  const kb = b.registerMemory(new Uint8Array(1 << 20));
  dialer.connect(acceptor.address(), 20_000);
  const got = eb.recv(kb, 0, 1 << 20);
  assert.equal(await within(ea.send(ka, 0, 1 << 20), 20_000, 'send after strangers'), { opcode: 'send', bytes: 1 << 20 });
  assert.equal(await within(got, 20_000, 'recv after strangers'), { opcode: 'recv', bytes: 1 << 20 });
  a.destroy();
  b.destroy();
});

test('tcp: thousands of calls with random arguments never crash the process', () => {
  const context = new ShmContext(addon, newSecret(), TCP);
  const key = context.registerMemory(new Uint8Array(4096));
  const endpoint = context.createEndpoint('fuzz');
  fuzzProvider(context, endpoint, key, ['127.0.0.1:1 x', `127.0.0.1:1 ${'f'.repeat(32)}`], [
    (a, b) => new ShmContext(addon, a as string, { kind: 'tcp', host: b as string }).destroy(),
    (a, b, c, d, e, f) => endpoint.expect(a as number, b as Uint8Array, c as number, d as number, e as number, f as { dtype: string; op: string }),
    (a, b, c, d, e) => endpoint.expect(a as number, new Uint8Array(56), b as number, c as number, d as number, { dtype: e as string, op: 'sum' }),
    (a) => endpoint.cancelExpect(a as number),
  ]);
  context.destroy();
});

test.run();
