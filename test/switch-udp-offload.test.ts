// The kernel's UDP offloads on the native switch sockets (native/src/udp-offload.h): a batch of
// equal-size packets leaves in fewer sendmsg messages (GSO) yet arrives as the same separate,
// byte-identical datagrams in order at a plain receiver (node:dgram, no GRO); a GRO receiver
// splits coalesced buffers back into mixed sizes and short last ones; the switch's data plane
// reads its workers' GSO batches as GRO buffers and sends each worker's run of results as one
// GSO message; garbage inside a GRO buffer is counted, never a crash; a path that refuses GSO
// falls back without losing a datagram; WEBCCL_UDP_GSO=0 turns it all off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import type { NativeSwitchWorkerSocket } from '../lib/native/addon.js';
import { decodePacket, encodePacket, MSG_UPDATE, valueAt } from '../lib/switch/packet.js';
import { FaultInjector } from '../lib/switch/faults.js';
import { generator } from './helpers/switch-job.js';
import { until } from './within.js';

// The suite tests the offloads themselves: a WEBCCL_UDP_GSO=0 run of the other suites does not apply here.
delete process.env.WEBCCL_UDP_GSO;
const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the offload suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;
const WorkerSocket = addon.SwitchWorkerSocket;
const DataPlane = addon.SwitchDataPlane;
if (!WorkerSocket || !DataPlane) throw new Error('the addon has no switch sockets (rebuild it: node native/build.mjs)');

/** A native socket whose received datagrams collect in `got` (split as JS sees them). */
function nativeSocket(): { socket: NativeSwitchWorkerSocket; got: Uint8Array[] } {
  const got: Uint8Array[] = [];
  const socket = new WorkerSocket!('127.0.0.1', (bytes, lengths) => {
    let at = 0;
    for (const length of lengths) {
      got.push(Uint8Array.from(bytes.subarray(at, at + length))); // a copy: the socket reuses bytes for its next batch
      at += length;
    }
  });
  return { socket, got };
}

async function plainSocket(): Promise<{ socket: UdpSocket; port: number; got: Uint8Array[] }> {
  const socket = createSocket('udp4');
  const got: Uint8Array[] = [];
  socket.on('message', (message) => got.push(new Uint8Array(message)));
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
  socket.setRecvBufferSize(1 << 20);
  return { socket, port: socket.address().port, got };
}

/** `length` bytes that name their index (first 4 bytes) and are otherwise pseudo-random. */
function datagram(index: number, length: number): Uint8Array {
  const next = generator(index + 1);
  const bytes = Uint8Array.from({ length }, () => next() & 0xff);
  if (length >= 4) new DataView(bytes.buffer).setUint32(0, index);
  return bytes;
}

/** Random bytes whose first says "update of size class 7" (16394 B): malformed at every other length. */
function garbage(seed: number, length: number): Uint8Array {
  const bytes = datagram(seed, length);
  if (length > 0) bytes[0] = 0x17;
  return bytes;
}

function sameDatagrams(got: Uint8Array[], sent: Uint8Array[]): void {
  assert.is(got.length, sent.length, 'datagram count');
  for (let i = 0; i < sent.length; i++) assert.equal(got[i], sent[i], `datagram ${i} (${sent[i]!.length} bytes)`);
}

test('worker send: 100 equal packets go in 2 GSO messages and a plain dgram receiver gets 100 separate identical datagrams in order', async () => {
  const receiver = await plainSocket();
  const { socket } = nativeSocket();
  try {
    socket.connect('127.0.0.1', receiver.port);
    const sent = Array.from({ length: 100 }, (_, i) => datagram(i, 1034));
    socket.send(sent);
    await until(() => receiver.got.length >= sent.length, 5000, '100 datagrams');
    sameDatagrams(receiver.got, sent);
    const c = socket.counters();
    assert.ok(c.gso && c.gro, 'this kernel has UDP GSO and GRO (Linux 5.0+)');
    // 63 x 1034 B is the most under 64 KiB, so 63 + 37.
    assert.equal({ messages: c.sentMessages, datagrams: c.sentDatagrams, gso: c.gsoMessages, errors: c.sendErrors }, { messages: 2, datagrams: 100, gso: 2, errors: 0 });
  } finally {
    socket.close();
    receiver.socket.close();
  }
});

test('GRO receive: mixed sizes with short last ones are split back into the datagrams sent, in order', async () => {
  const a = nativeSocket();
  const b = nativeSocket();
  try {
    a.socket.connect('127.0.0.1', b.socket.port());
    b.socket.connect('127.0.0.1', a.socket.port());
    // Messages: 63 x 1034 | 7 x 1034 and a short 500 that ends it | 3 x 8202 and a short 7 |
    // 5 x 64 and a 1-byte | 2 x 16394 (the largest size class) | a 0-byte datagram alone.
    const lengths = [...Array(70).fill(1034), 500, 8202, 8202, 8202, 7, 64, 64, 64, 64, 64, 1, 16394, 16394, 0] as number[];
    const sent = lengths.map((length, i) => datagram(i, length));
    a.socket.send(sent);
    await until(() => b.got.length >= sent.length, 5000, `${sent.length} datagrams`);
    sameDatagrams(b.got, sent);
    const out = a.socket.counters();
    assert.equal({ messages: out.sentMessages, gso: out.gsoMessages }, { messages: 6, gso: 5 });
    const got = b.socket.counters();
    assert.is(got.receivedDatagrams, sent.length);
    assert.ok(got.groBuffers >= 5 && got.receivedBuffers < sent.length, JSON.stringify(got));
  } finally {
    a.socket.close();
    b.socket.close();
  }
});

test('receive: every batch comes in one reused buffer (read within the call), and a fault-held datagram is delivered from a copy', async () => {
  const views: Uint8Array[] = [];
  const held: Uint8Array[] = [];
  const faults = new FaultInjector({ reorder: 1 }); // every datagram held back 1-4 ms
  const b = new WorkerSocket!('127.0.0.1', (bytes, lengths) => {
    assert.is(lengths.length, 1);
    views.push(bytes);
    faults.passBytes(bytes, (late) => held.push(late));
  });
  const a = nativeSocket();
  try {
    a.socket.connect('127.0.0.1', b.port());
    b.connect('127.0.0.1', a.socket.port());
    const first = datagram(1, 1034);
    const second = datagram(2, 1034);
    a.socket.send([first]);
    await until(() => views.length === 1, 5000, 'the first datagram');
    a.socket.send([second]);
    await until(() => views.length === 2 && held.length === 2, 5000, 'the second datagram and both held ones');
    // The first batch's view now shows the second: the buffer was reused, which is why the
    // fault injector copies what it holds back.
    assert.is(views[0]!.buffer, views[1]!.buffer);
    assert.equal(Uint8Array.from(views[0]!), second);
    assert.equal(held, [first, second]);
  } finally {
    a.socket.close();
    b.close();
    faults.clear();
  }
});

test('a path that refuses GSO: the batch is resent one datagram per message, none lost, and GSO stays off', async () => {
  const receiver = await plainSocket();
  const { socket } = nativeSocket();
  try {
    socket.connect('127.0.0.1', receiver.port);
    socket.testRefuseGso();
    const sent = Array.from({ length: 40 }, (_, i) => datagram(i, i < 30 ? 1034 : 2000));
    socket.send(sent);
    socket.send(sent.slice(0, 10));
    await until(() => receiver.got.length >= 50, 5000, '50 datagrams');
    sameDatagrams(receiver.got, [...sent, ...sent.slice(0, 10)]);
    const c = socket.counters();
    assert.equal({ gso: c.gso, fallbacks: c.gsoFallbacks, messages: c.sentMessages, gsoMessages: c.gsoMessages, errors: c.sendErrors }, { gso: false, fallbacks: 1, messages: 50, gsoMessages: 0, errors: 0 });
  } finally {
    socket.close();
    receiver.socket.close();
  }
});

test('WEBCCL_UDP_GSO=0: no GSO, no GRO, one message per datagram', async () => {
  const before = process.env.WEBCCL_UDP_GSO;
  process.env.WEBCCL_UDP_GSO = '0';
  const a = nativeSocket();
  const b = nativeSocket();
  if (before === undefined) delete process.env.WEBCCL_UDP_GSO;
  else process.env.WEBCCL_UDP_GSO = before;
  try {
    a.socket.connect('127.0.0.1', b.socket.port());
    b.socket.connect('127.0.0.1', a.socket.port());
    const sent = Array.from({ length: 20 }, (_, i) => datagram(i, 1034));
    a.socket.send(sent);
    await until(() => b.got.length >= sent.length, 5000, '20 datagrams');
    sameDatagrams(b.got, sent);
    const out = a.socket.counters();
    const got = b.socket.counters();
    assert.equal({ gso: out.gso, gro: out.gro, messages: out.sentMessages, gsoMessages: out.gsoMessages }, { gso: false, gro: false, messages: 20, gsoMessages: 0 });
    assert.equal({ gro: got.gro, buffers: got.receivedBuffers, groBuffers: got.groBuffers }, { gro: false, buffers: 20, groBuffers: 0 });
  } finally {
    a.socket.close();
    b.socket.close();
  }
});

test('switch plane: a worker GSO batch arrives as GRO buffers, each worker gets its run of results as one GSO message, garbage in a GRO buffer is counted', async () => {
  const plane = new DataPlane!('127.0.0.1', 0, () => {});
  const a = nativeSocket();
  const b = nativeSocket();
  const d = await plainSocket();
  try {
    const sizeClass = 5; // 1024 values, 4106 B: 15 to a GSO message
    const K = 12;
    const job = plane.addJob(3, 3, 0, 64, sizeClass, ['127.0.0.1', '127.0.0.1', '127.0.0.1'], [a.socket.port(), b.socket.port(), d.port]);
    a.socket.connect('127.0.0.1', plane.port());
    b.socket.connect('127.0.0.1', plane.port());
    await new Promise((r) => setTimeout(r, 20));
    const values = (worker: number, slot: number) => Int32Array.from({ length: 1024 }, (_, i) => (worker + 1) * 1_000_003 * (slot + 1) + i * (worker - 1));
    const packet = (worker: number, slot: number) => encodePacket({ type: MSG_UPDATE, sizeClass, job: 3, packetId: slot, slot, copy: 0, e0: 0, e1: 0 }, values(worker, slot));
    // The plain worker's packets first, then a's (absorbed: no result yet), then b's batch with
    // garbage of other lengths laced in: b's K packets complete K slots in one receive batch.
    for (let s = 0; s < K; s++) d.socket.send(packet(2, s), plane.port(), '127.0.0.1');
    await until(() => plane.counters().datagrams >= K, 5000, "the plain worker's packets");
    a.socket.send(Array.from({ length: K }, (_, s) => packet(0, s)));
    await until(() => plane.counters().datagrams >= 2 * K, 5000, "a's packets");
    const junk = [garbage(1, 4105), garbage(2, 7), garbage(3, 1), garbage(4, 10), garbage(5, 4000)];
    b.socket.send([...Array.from({ length: K }, (_, s) => packet(1, s)), ...junk]);
    await until(() => a.got.length >= K && b.got.length >= K && d.got.length >= K, 5000, 'the results');
    const expected = Array.from({ length: K }, (_, s) => {
      const [x, y, z] = [values(0, s), values(1, s), values(2, s)];
      return Array.from({ length: 1024 }, (_, i) => (x[i]! + y[i]! + z[i]!) | 0);
    });
    for (const got of [a.got, b.got, d.got]) {
      assert.is(got.length, K);
      for (let s = 0; s < K; s++) {
        const decoded = decodePacket(got[s]!);
        if (!decoded.ok) throw new Error(`result ${s}: ${decoded.reason}`);
        assert.is(decoded.packet.slot, s);
        assert.equal(Array.from({ length: 1024 }, (_, i) => valueAt(decoded.packet.values, i)), expected[s]);
      }
    }
    assert.equal(d.got, a.got, 'the plain worker got the same datagrams as the GRO one');
    const c = plane.counters();
    assert.ok(c.gso && c.gro, JSON.stringify(c));
    // b's K packets + 5 garbage in one GRO buffer: K results to each of 3 workers, one message each.
    assert.equal({ sent: c.sentDatagrams, messages: c.sentMessages, gso: c.gsoMessages, errors: c.sendErrors }, { sent: 3 * K, messages: 3, gso: 3, errors: 0 });
    assert.ok(c.groBuffers >= 2, `a's and b's batches came coalesced: ${JSON.stringify(c)}`);
    assert.is(c.datagrams, 3 * K + junk.length);
    const jc = plane.jobCounters(job);
    assert.equal({ malformed: jc.malformed, packetsIn: jc.packetsIn }, { malformed: junk.length, packetsIn: 3 * K });
  } finally {
    a.socket.close();
    b.socket.close();
    d.socket.close();
    plane.close();
  }
});

test('fuzz: GSO batches of random lengths and bytes into a switch plane with a running job are counted, never a crash', async () => {
  const plane = new DataPlane!('127.0.0.1', 0, () => {});
  const worker = nativeSocket();
  const stranger = nativeSocket();
  try {
    const sizeClass = 3;
    const job = plane.addJob(4, 2, 0, 32, sizeClass, ['127.0.0.1', '127.0.0.1'], [worker.socket.port(), 1]);
    worker.socket.connect('127.0.0.1', plane.port());
    stranger.socket.connect('127.0.0.1', plane.port());
    const next = generator(99);
    let fromWorker = 0;
    let strangers = 0;
    for (let round = 0; round < 40; round++) {
      // Runs of one random length (GSO messages), each ending in a random shorter one.
      const length = 1 + (next() % 9000);
      const run = 1 + (next() % 20);
      const batch = Array.from({ length: run }, (_, i) => garbage(round * 100 + i, length));
      batch.push(garbage(round, next() % length));
      if (round % 2 === 0) { worker.socket.send(batch); fromWorker += batch.length; } else { stranger.socket.send(batch); strangers += batch.length; }
    }
    await until(() => plane.counters().datagrams >= fromWorker + strangers, 5000, 'the fuzz datagrams');
    const c = plane.counters();
    assert.equal({ datagrams: c.datagrams, strangers: c.strangers }, { datagrams: fromWorker + strangers, strangers });
    assert.is(plane.jobCounters(job).malformed, fromWorker);
    assert.ok(c.groBuffers > 0, JSON.stringify(c));
  } finally {
    worker.socket.close();
    stranger.socket.close();
    plane.close();
  }
});

test.run();
