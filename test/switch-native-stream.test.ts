// The native stream (native/src/switch-stream.h, run by lib/switch/worker.ts on the addon's
// socket): bit for bit the TypeScript stream's results for int32, float32 with agreed
// exponents and float32 that agrees them in the stream (SwitchML's lead, with exponents-only
// packets or full ones, run on the socket's thread while JS is blocked); loss repaired by retransmission; wrong-job, stale, duplicated, malformed and
// reordered results dropped or taken as they should be (a fake switch that sends them); a close
// mid-call that rejects and writes nothing after; a dead switch that times out with the
// TypeScript path's error. Fails, never skips, without the addon.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { SwitchWorker } from '../lib/switch/worker.js';
import { switchmlBlockExponents, switchmlMergeExponents } from '../lib/cpu/switchml.js';
import { valuesOf } from '../lib/switch/packet.js';
import { nativeAddon } from '../lib/native/load.js';
import { joinJob, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { fakeSwitch, resultOf } from './helpers/fake-switch.js';
import { rejection, until, within } from './within.js';

const test = suite('switch native stream');
const WINDOW = 8;
const SIZE_CLASS = 1; // 64 values a packet: the sizes below span several windows
const SIZES = [0, 1, 1001, 64 * WINDOW * 3 + 17];

function bits(array: Int32Array | Float32Array): Uint32Array {
  return new Uint32Array(array.buffer, array.byteOffset, array.length);
}

/** The agreed exponents of the workers' inputs (one per half packet), as the communicator agrees them. */
function agreedExponents(inputs: Float32Array[], values: number): Int32Array {
  const agreed = switchmlBlockExponents(inputs[0]!, inputs[0]!.length, values / 2);
  for (const input of inputs.slice(1)) switchmlMergeExponents(agreed, switchmlBlockExponents(input, input.length, values / 2));
  return agreed;
}

/** float32 agrees its exponents before the call ('float32', the communicator's scheme) or in the stream ('lead', SwitchML's). */
type Call = { kind: 'int32' | 'float32' | 'lead'; op: 'sum' | 'avg'; size: number; inPlace: boolean };

function calls(): Call[] {
  const list: Call[] = [];
  for (const kind of ['int32', 'float32', 'lead'] as const) for (const op of ['sum', 'avg'] as const) for (const size of SIZES) for (const inPlace of [false, true]) list.push({ kind, op, size, inPlace });
  return list;
}

/** Every call of `calls()` on a job of n workers, one after another (the sequence continues across calls). */
async function runAll(workers: SwitchWorker[], seed: number): Promise<Uint32Array[][]> {
  const values = valuesOf(SIZE_CLASS);
  const results: Uint32Array[][] = [];
  for (const [index, call] of calls().entries()) {
    const inputs = workers.map((_, r) => (call.kind === 'int32' ? randomInt32(call.size, seed + 97 * index + r) : randomFloat32(call.size, seed + 97 * index + r)));
    const exponents = call.kind === 'float32' ? agreedExponents(inputs as Float32Array[], values) : undefined;
    const outs = await within(Promise.all(workers.map((w, r) => {
      const data = inputs[r]!;
      if (call.inPlace) return w.allReduce(data, call.op, { inPlace: true, ...(exponents ? { exponents } : {}) });
      const into = (data instanceof Float32Array ? new Float32Array(data.length) : new Int32Array(data.length)) as typeof data;
      return w.allReduce(data, call.op, { into, ...(exponents ? { exponents } : {}) });
    })), 20_000, `${JSON.stringify(call)} on ${workers.length} workers`);
    for (const [r, out] of outs.entries()) {
      if (call.inPlace) assert.ok(out === inputs[r], 'in place resolves with the input');
      assert.equal(out.length, call.size);
    }
    results.push(outs.map((out) => bits(out).slice()));
  }
  return results;
}

test('bit-identical to the TypeScript stream: int32, float32 with agreed exponents and float32 agreeing in the stream, sum and avg, sizes 0/1/odd/several windows, in and out of place, 2-4 workers', async () => {
  const server = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  try {
    for (const n of [2, 3, 4]) {
      const options = { window: WINDOW, sizeClass: SIZE_CLASS, udpSocket: 'native' as const, retransmitMs: 50 };
      const native = await joinJob(server, n, { ...options, stream: 'native' });
      const typescript = await joinJob(server, n, { ...options, stream: 'typescript' });
      try {
        assert.ok(native.every((w) => w.nativeStream) && typescript.every((w) => !w.nativeStream));
        const want = await runAll(typescript, 1000 * n);
        // The addon's AVX2 loops (where the CPU has them) and, for 2 workers, its baseline ones too.
        for (const variant of n === 2 ? ['auto', 'baseline'] as const : ['auto'] as const) {
          const addon = nativeAddon()!;
          addon.switchmlSelectVariant!(variant);
          try {
            const got = await runAll(native, 1000 * n);
            for (const [index, call] of calls().entries()) {
              for (let r = 0; r < n; r++) assert.equal(got[index]![r], want[index]![0], `${JSON.stringify(call)}, rank ${r} of ${n}, ${variant} loops`);
            }
          } finally {
            addon.switchmlSelectVariant!('auto');
          }
        }
        // Each packet is sent once (first sends) and answered once, whatever was retransmitted.
        for (const w of native) assert.ok(w.counters.results > 0 && w.counters.sent === w.counters.results, JSON.stringify(w.counters));
      } finally {
        for (const w of [...native, ...typescript]) w.close();
      }
    }
  } finally {
    await server.close();
  }
});

test('float32 agreeing in the stream runs on the socket\'s thread: the results land while JS is blocked, the same bits as the TypeScript stream, with exponents-only packets and without', async () => {
  for (const exponentsOnly of [true, false]) {
    const server = await SwitchServer.start({ dataPlane: 'native', port: 0, exponentsOnly });
    try {
      const options = { window: WINDOW, sizeClass: SIZE_CLASS, udpSocket: 'native' as const, retransmitMs: 50 };
      const native = await joinJob(server, 3, { ...options, stream: 'native' });
      const typescript = await joinJob(server, 3, { ...options, stream: 'typescript' });
      try {
        const size = 64 * WINDOW * 2 + 40; // a lead of a whole window, then more chunks than it
        const inputs = native.map((_, r) => randomFloat32(size, 500 + r));
        const want = await within(Promise.all(typescript.map((w, r) => w.allReduce(inputs[r]!))), 20_000, 'the TypeScript stream');
        const outs = inputs.map(() => new Float32Array(size));
        const calls = Promise.all(native.map((w, r) => w.allReduce(inputs[r]!, 'sum', { into: outs[r]! })));
        calls.catch(() => undefined); // awaited below; a failed check closes the workers first
        // One turn for the calls to reach the addon, then JS spins without yielding: only the
        // sockets' threads (and the switch's) can fill the outputs (the TypeScript stream, which
        // an addon without the lead runs, needs the event loop for every result).
        await new Promise((resolve) => setTimeout(resolve, 0));
        const last = size - 1;
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && !outs.every((out) => bits(out)[last] === bits(want[0]!)[last])) { /* spin */ }
        assert.ok(outs.every((out) => bits(out)[last] === bits(want[0]!)[last]), 'every result landed while JS was blocked');
        await within(calls, 10_000, 'the native calls settle');
        for (const [r, out] of outs.entries()) assert.equal(bits(out), bits(want[0]!), `rank ${r}, exponentsOnly ${exponentsOnly}`);
        for (const w of native) assert.is(w.counters.sent, Math.ceil(size / 64) + WINDOW, 'chunks + a lead of one window');
      } finally {
        for (const w of [...native, ...typescript]) w.close();
      }
    } finally {
      await server.close();
    }
  }
});

/**
 * A native worker socket streaming three windows of int32 (window 4, size class 0) to a sink
 * that never answers: `before` is its sent-datagram counter before the call; close() ends both
 * (and rejects the call, whose rejection is handled here).
 */
async function silentStream(seed: number, retransmitMs: number) {
  const Socket = nativeAddon()!.SwitchWorkerSocket!;
  const sink = createSocket('udp4');
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const socket = new Socket('127.0.0.1', () => {});
  const close = () => { socket.close(); sink.close(); };
  try {
    socket.connect('127.0.0.1', sink.address().port);
    const window = 4;
    const input = randomInt32(32 * window * 3, seed);
    const params = { job: 1, slotBase: 0, window, sizeClass: 0, workers: 1, divisor: 1, baseSeq: 0, retransmitMs, timeoutMs: 10_000 };
    const before = socket.counters().streamSentDatagrams;
    socket.stream!(input, new Int32Array(input.length), null, params).catch(() => undefined);
    return { socket, before, window, close };
  } catch (error) {
    close();
    throw error;
  }
}

test('stream() sends the first window before it returns (from the JS thread, not after the receive thread wakes)', async () => {
  const { socket, before, window, close } = await silentStream(3, 1000);
  try {
    assert.is(socket.counters().streamSentDatagrams - before, window, 'the first window left within the call');
  } finally {
    close();
  }
});

test('stream() sends a first window larger than 64 KiB in growing pieces as it encodes it (64 KiB first), every datagram once, in order, with its values', async () => {
  const Socket = nativeAddon()!.SwitchWorkerSocket!;
  // Room for a whole window while JS is inside stream() (the kernel doubles the size asked for, up to twice rmem_max).
  const sink = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const got: Buffer[] = [];
  sink.on('message', (bytes) => got.push(bytes));
  const socket = new Socket('127.0.0.1', () => {});
  try {
    socket.connect('127.0.0.1', sink.address().port);
    for (const [window, flushes] of [[16, 2], [4, 0]] as const) {
      got.length = 0;
      const sizeClass = 6; // 2048 values: 8,202-byte datagrams, 16 of them 128 KiB
      const values = valuesOf(sizeClass);
      const input = randomInt32(values * window, 40 + window);
      const params = { job: 1, slotBase: 0, window, sizeClass, workers: 1, divisor: 1, baseSeq: 0, retransmitMs: 5_000, timeoutMs: 150 };
      // No answer comes: the stream ends by its timeout, with its counters.
      const end = await within(socket.stream!(input, new Int32Array(input.length), null, params), 10_000, 'the stream\'s timeout');
      assert.is(end.end, 'timeout');
      assert.is(end.earlyFlushes, flushes, `window ${window}: 64 KiB, then 64 KiB more (twice what left before); none for a window under 64 KiB`);
      // Its phase times (lib/switch/call-trace.ts): the monotonic clock, nothing answered.
      const times = end.times!;
      assert.ok(times.started > 0 && times.lastFirstSend >= times.started && times.firstDataSend === times.started, 'sent from the start on');
      // cwnd: the socket's first stream set it to its window (16), and the socket keeps it across calls.
      assert.equal([times.firstResult, times.lastResult, times.leadDone, times.ended, times.cwnd], [-1, -1, -1, -1, 16], 'no result, no lead');
      await until(() => got.length >= window, 5_000, 'the window at the sink');
      assert.is(got.length, window, 'each datagram once (no resend within the timeout)');
      for (const [q, bytes] of got.entries()) {
        assert.is(bytes.readUInt32BE(2), q, 'packet ids in order');
        const first = bytes.readInt32BE(10);
        const last = bytes.readInt32BE(10 + 4 * (values - 1));
        assert.equal([first, last], [input[q * values], input[(q + 1) * values - 1]], `packet ${q}'s values`);
      }
    }
  } finally {
    socket.close();
    sink.close();
  }
});

/** Whether a thread of this process runs under SCHED_BATCH (policy 3, field 41 of /proc's stat). */
function batchThreads(): number {
  let count = 0;
  for (const task of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the third on
    if (fields[41 - 3] === '3') count++;
  }
  return count;
}

test('WEBCCL_SWITCH_BATCH_SCHED=1: the receive thread runs a stream longer than its window under SCHED_BATCH and returns to the normal policy when it ends; a stream of one window keeps it; unset, none does', async () => {
  const Socket = nativeAddon()!.SwitchWorkerSocket!;
  // Unset (the default): a long stream's thread keeps the normal policy.
  const silent = await silentStream(4, 20);
  try {
    // A resend comes from the receive thread: it has taken the stream (and chosen its policy).
    await until(() => silent.socket.counters().streamSentDatagrams - silent.before > silent.window, 5_000, 'a resend by the receive thread');
    assert.is(batchThreads(), 0, 'no SCHED_BATCH thread without the variable');
  } finally {
    silent.close();
  }
  const previous = process.env.WEBCCL_SWITCH_BATCH_SCHED;
  process.env.WEBCCL_SWITCH_BATCH_SCHED = '1'; // read when the socket connects
  // A one-worker switch once answering: each UPDATE comes back as its RESULT (one worker's sum is its values).
  const fake = createSocket('udp4');
  let answering = false;
  fake.on('message', (message: Buffer, from: RemoteInfo) => {
    if (!answering) return;
    message[0] = (2 << 4) | (message[0]! & 0x0f);
    fake.send(message, from.port, from.address);
  });
  await new Promise<void>((resolve) => fake.bind(0, '127.0.0.1', resolve));
  const socket = new Socket('127.0.0.1', () => {});
  try {
    try {
      socket.connect('127.0.0.1', fake.address().port);
    } finally {
      if (previous === undefined) delete process.env.WEBCCL_SWITCH_BATCH_SCHED;
      else process.env.WEBCCL_SWITCH_BATCH_SCHED = previous;
    }
    assert.is(batchThreads(), 0, 'no thread is SCHED_BATCH before a stream');
    const window = 4;
    const params = { job: 1, slotBase: 0, window, sizeClass: 0, workers: 1, divisor: 1, baseSeq: 0, retransmitMs: 20, timeoutMs: 10_000 };
    const input = randomInt32(32 * window * 3, 5);
    const output = new Int32Array(input.length);
    const call = socket.stream!(input, output, null, params);
    call.catch(() => undefined); // a failure below closes the socket, which rejects it
    await until(() => batchThreads() === 1, 5_000, 'the receive thread taking SCHED_BATCH');
    answering = true; // the stream's retransmissions now get their results
    await within(call, 10_000, 'the long stream');
    assert.equal(output, input);
    assert.is(batchThreads(), 0, 'back to the normal policy when the stream ended');
    const short = randomInt32(32 * window, 6);
    const shortCall = socket.stream!(short, new Int32Array(short.length), null, { ...params, baseSeq: 3 * window });
    let seen = 0;
    const watch = setInterval(() => { seen = Math.max(seen, batchThreads()); }, 1);
    try {
      await within(shortCall, 10_000, 'the one-window stream');
    } finally {
      clearInterval(watch);
    }
    assert.is(seen, 0, 'a stream within one window keeps the normal policy');
  } finally {
    socket.close();
    fake.close();
  }
});

test('loss, duplication and reordering at the switch (10%): repaired natively, bit-identical to the loss-free TypeScript run', async () => {
  const COUNT = 20_000;
  const faults = { drop: 0.1, dup: 0.1, reorder: 0.1, seed: 5 };
  const lossy = await SwitchServer.start({ dataPlane: 'js', port: 0, faults });
  const clean = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  try {
    const base = { window: 32, sizeClass: 2, udpSocket: 'native' as const, retransmitMs: 5, timeoutMs: 30_000 };
    const native = await joinJob(lossy, 3, { ...base, stream: 'native' });
    const oracle = await joinJob(clean, 3, { ...base, stream: 'typescript' });
    try {
      const ints = native.map((_, r) => randomInt32(COUNT, r + 3));
      const floats = native.map((_, r) => randomFloat32(COUNT, r + 13));
      const exponents = agreedExponents(floats, valuesOf(2));
      for (const workers of [native, oracle]) {
        const int = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!))), 60_000, 'int32 under loss');
        const float = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!, 'avg', { exponents }))), 60_000, 'float32 under loss');
        const lead = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!, 'sum'))), 60_000, 'float32 agreeing in the stream under loss');
        (workers as unknown as { got: unknown }).got = { int: int.map(bits), float: float.map(bits), lead: lead.map(bits) };
      }
      const got = (native as unknown as { got: { int: Uint32Array[]; float: Uint32Array[]; lead: Uint32Array[] } }).got;
      const want = (oracle as unknown as { got: { int: Uint32Array[]; float: Uint32Array[]; lead: Uint32Array[] } }).got;
      for (let r = 0; r < 3; r++) {
        assert.equal(got.int[r], want.int[0], `int32, rank ${r}`);
        assert.equal(got.float[r], want.float[0], `float32, rank ${r}`);
        assert.equal(got.lead[r], want.lead[0], `float32 agreeing in the stream, rank ${r}`);
      }
      const retransmitted = native.reduce((sum, w) => sum + w.counters.retransmitted, 0);
      const duplicates = native.reduce((sum, w) => sum + w.counters.duplicates, 0);
      assert.ok(retransmitted > 0, 'loss was repaired by retransmission');
      assert.ok(duplicates > 0, 'duplicated results were dropped');
      assert.ok(lossy.counters().faults.dropped > 0);
    } finally {
      for (const w of [...native, ...oracle]) w.close();
    }
  } finally {
    await Promise.all([lossy.close(), clean.close()]);
  }
});

const JOB = { job: 7, worker: 0, workers: 1, slotBase: 3, window: 4, sizeClass: 0 };

async function connectFake(address: string, extra: { timeoutMs?: number } = {}): Promise<SwitchWorker> {
  return within(SwitchWorker.connect({ switch: address, secret: 's', world: 'fake', rank: 0, size: 1, window: JOB.window, sizeClass: JOB.sizeClass, udpSocket: 'native', stream: 'native', retransmitMs: 2000, timeoutMs: 10_000, ...extra }), 5000, 'joining the fake switch');
}

test('wrong-job, stale, duplicated and malformed results are counted and dropped; results in reverse order are taken', async () => {
  const held: Array<() => void> = [];
  const fake = await fakeSwitch(JOB, (update, reply) => {
    const result = resultOf(update);
    const wrongJob = Buffer.from(result);
    wrongJob[1] = JOB.job + 1;
    const staleCopy = Buffer.from(result);
    staleCopy[6]! ^= 0x80; // the slot's other copy
    // Held and answered in reverse order once the window is in (or, for the last packets, 5 ms later).
    held.push(() => {
      reply(wrongJob);
      reply(staleCopy);
      reply(result.subarray(0, 9)); // malformed
      reply(result);
      reply(result); // a duplicate
    });
    if (held.length === JOB.window) for (const send of held.splice(0).reverse()) send();
    else setTimeout(() => { for (const send of held.splice(0).reverse()) send(); }, 5);
  });
  const worker = await connectFake(fake.address);
  try {
    const input = randomInt32(32 * JOB.window * 3 + 5, 77);
    const packets = Math.ceil(input.length / 32);
    const out = await within(worker.allReduce(input), 10_000, 'int32 through the fake switch');
    assert.equal(out, input);
    const { counters } = worker;
    assert.is(counters.results, packets);
    assert.is(counters.wrongJob, packets);
    assert.is(counters.malformed, packets);
    // The last packet's duplicate may come after the call ended: the TypeScript side counts it then.
    assert.ok(counters.duplicates >= 2 * packets - 1 && counters.duplicates <= 2 * packets, JSON.stringify(counters));
    assert.is(counters.retransmitted, 0);
    // A second call continues the sequence: its packet ids and copies follow the first call's.
    const again = await within(worker.allReduce(input, 'sum', { inPlace: true }), 10_000, 'a second call');
    assert.equal(Array.from(again), Array.from(out));
  } finally {
    worker.close();
    await fake.close();
  }
});

test('close mid-call: the call rejects naming the close, and nothing is written into the output after it', async () => {
  let replies = 0;
  const fake = await fakeSwitch(JOB, (update, reply) => {
    // Slow results: the call is mid-way when the worker closes, and results keep arriving after.
    setTimeout(() => { replies++; reply(resultOf(update)); }, 30);
  });
  const worker = await connectFake(fake.address);
  try {
    const input = randomFloat32(32 * 40, 9);
    const exponents = agreedExponents([input], 32);
    const out = new Float32Array(input.length);
    const call = worker.allReduce(input, 'sum', { into: out, exponents });
    const error = rejection(call, 5000, 'the call closed mid-way');
    // Close once the first results are in (a window of 4 a round of 30 ms: 40 packets take 10 rounds).
    for (let i = 0; i < 1000 && !bits(out).some((b) => b !== 0); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    worker.close();
    assert.match((await error).message, /the worker was closed/);
    const snapshot = bits(out).slice();
    assert.ok(snapshot.some((b) => b !== 0), 'some results were in before the close');
    assert.ok(snapshot.some((b, i) => b === 0 && input[i] !== 0), 'the close came before the end');
    const before = replies;
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.ok(replies > before, 'results kept arriving after the close');
    assert.equal(bits(out), snapshot);
    const later = await rejection(worker.allReduce(new Int32Array(4)), 2000, 'a call after the close');
    assert.match(later.message, /the worker was closed/);
  } finally {
    worker.close();
    await fake.close();
  }
});

test('a dead switch: the call rejects with the TypeScript path\'s Timeout naming the switch, not a hang', async () => {
  const fake = await fakeSwitch(JOB, () => {});
  const worker = await connectFake(fake.address, { timeoutMs: 600 });
  try {
    const started = Date.now();
    const error = await rejection(worker.allReduce(new Int32Array(1000)), 10_000, 'a dead switch');
    assert.match(error.message, new RegExp(`Timeout: switch ${fake.address} sent no result for 600 ms \\(job 7, worker 0, 4 packets outstanding\\)`));
    assert.is((error as { code?: string }).code, 'Timeout');
    assert.ok(Date.now() - started < 5000);
  } finally {
    worker.close();
    await fake.close();
  }
});

test('the choice: WEBCCL_SWITCH_NATIVE_STREAM=0 keeps the TypeScript stream, a forced native stream with the fault hook is refused', async () => {
  const server = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  const saved = process.env['WEBCCL_SWITCH_NATIVE_STREAM'];
  try {
    process.env['WEBCCL_SWITCH_NATIVE_STREAM'] = '0';
    const [off] = await joinJob(server, 1, { udpSocket: 'native' });
    assert.is(off!.nativeStream, false);
    off!.close();
    delete process.env['WEBCCL_SWITCH_NATIVE_STREAM'];
    const [on] = await joinJob(server, 1, { udpSocket: 'native' });
    assert.is(on!.nativeStream, true);
    on!.close();
    const [dgram] = await joinJob(server, 1, { udpSocket: 'dgram' });
    assert.is(dgram!.nativeStream, false);
    dgram!.close();
    const refused = await rejection(joinJob(server, 1, { udpSocket: 'native', stream: 'native', faults: { drop: 0.1 } }), 15_000, 'a forced native stream with faults');
    assert.match(refused.message, /no native stream: the worker's fault hook/);
  } finally {
    if (saved === undefined) delete process.env['WEBCCL_SWITCH_NATIVE_STREAM'];
    else process.env['WEBCCL_SWITCH_NATIVE_STREAM'] = saved;
    await server.close();
  }
});

test.run();
