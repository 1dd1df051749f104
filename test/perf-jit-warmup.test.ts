// webccl-perf's JIT warm-up (bench/perf/jit-warmup.ts): untimed calls of the first size before
// the sweep, both placements, on every rank the same number of them, bounded by a time that the
// ranks agree on from the slowest rank's clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfArgs, DEFAULT_JIT_WARMUP, type PerfOptions } from '../bench/perf/args.js';
import { callUntil, warmUpJit, type JitWarmup } from '../bench/perf/jit-warmup.js';
import { runSweep, type PerfComm } from '../bench/perf/sweep.js';
import { HostStore, type Operand } from '../bench/perf/store.js';
import { bufferLayout } from '../bench/perf/layout.js';
import type { CallShape } from '../bench/perf/expected.js';

function options(...argv: string[]): PerfOptions {
  const parsed = parsePerfArgs(argv);
  if (parsed === 'help' || parsed === 'version') throw new Error(parsed);
  return parsed;
}

/** One rank whose collective records its operands; `peerMs` is what another rank reports as its elapsed time. */
function recordingComm(peerMs = 0) {
  const calls: Array<{ send: Operand; recv: Operand; count: number }> = [];
  let gathers = 0;
  const comm: PerfComm = {
    rank: 0, size: 2,
    run: async (shape, send, recv) => { calls.push({ send, recv, count: shape.layout.callCount }); },
    allGather: (async (values: Float32Array | Uint32Array) => {
      gathers++;
      const out = new (values.constructor as Float32ArrayConstructor)(values.length * 2);
      out.set(values);
      out.fill(peerMs, values.length);
      return out;
    }) as PerfComm['allGather'],
    barrier: async () => {},
    bytesSent: () => 0,
  };
  return { comm, calls, gathers: () => gathers };
}

const hostStores = (n: number) => new HostStore('float32', n);

test('--jit-warmup: a count of calls, 0 turns it off; the default is on', () => {
  assert.is(options('allreduce').jitWarmup, DEFAULT_JIT_WARMUP);
  assert.ok(DEFAULT_JIT_WARMUP > 0);
  assert.is(options('allreduce', '--jit-warmup', '0').jitWarmup, 0);
  assert.is(options('allreduce', '--jit-warmup=123').jitWarmup, 123);
  assert.throws(() => options('allreduce', '--jit-warmup=-1'), /--jit-warmup needs an integer >= 0, got "-1"/);
  assert.throws(() => options('allreduce', '--jit-warmup', 'lots'), /--jit-warmup needs an integer >= 0, got "lots"/);
});

test('warm-up: the count of calls, out of place and in place alternately, on buffers of its own', async () => {
  const { comm, calls } = recordingComm();
  const shape: CallShape = { collective: 'allreduce', dtype: 'float32', op: 'sum', root: 0, ranks: 2, layout: bufferLayout('allreduce', 8, 'float32', 2) };
  const done = await warmUpJit(comm, options('allreduce', '--jit-warmup', '7'), shape, hostStores);
  assert.is(done.calls, 7);
  assert.is(calls.length, 7);
  calls.forEach((call, i) => {
    assert.is(call.count, 2);
    assert.is(call.send === call.recv, i % 2 === 1, `call ${i}: ${i % 2 === 1 ? 'in' : 'out of'} place`);
  });
  assert.equal(await warmUpJit(comm, options('allreduce', '--jit-warmup', '0'), shape, hostStores), { calls: 0, ms: 0 });
  assert.is(calls.length, 7, 'none with --jit-warmup 0');
});

test('warm-up stops on the slowest rank\'s clock, at the same call on every rank', async () => {
  // Another rank reports 5 s: the first check (after 1 call) stops every rank there.
  const slowPeer = recordingComm(5000);
  let slowCalls = 0;
  const stopped = await callUntil(slowPeer.comm, 1000, 2000, async () => { slowCalls++; });
  assert.equal(stopped, { calls: 1, ms: 5000 });
  assert.is(slowCalls, 1);
  // Our own clock: calls of ~2 ms against a 20 ms budget stop well short of 1000 calls, after a
  // whole block (blocks of 1, 2, 4, ... calls), and say how long they took.
  const fast = recordingComm(0);
  let made = 0;
  const timed = await callUntil(fast.comm, 1000, 20, async () => { made++; await new Promise((done) => setTimeout(done, 2)); });
  assert.ok(timed.calls < 1000 && timed.calls === made, `${timed.calls} calls`);
  assert.ok(timed.ms >= 20, `${timed.ms} ms`);
  assert.ok([1, 3, 7, 15, 31].includes(timed.calls), `a whole number of blocks: ${timed.calls}`);
  // Without a budget in reach the count rules, blocks capped, one check per block.
  const counted = recordingComm(0);
  const all = await callUntil(counted.comm, 1500, 60_000, async () => {});
  assert.is(all.calls, 1500);
  assert.ok(counted.gathers() < 20, `${counted.gathers()} checks`);
});

test('the sweep warms up before its first measurement, untimed, and says how many calls it made', async () => {
  const { comm, calls } = recordingComm();
  let reported: JitWarmup | undefined;
  const rows = await runSweep(comm, options('allreduce', '-b', '8', '-e', '16', '-f', '2', '-n', '3', '-w', '1', '-c', '0', '--jit-warmup', '10'),
    () => hostStores, { onJitWarmup: (warmup) => { reported = warmup; } });
  assert.is(rows.length, 2);
  assert.is(reported?.calls, 10);
  // 10 warm-up calls of the first size (2 elements), then per size and placement 1 warm-up + 3 timed.
  assert.is(calls.length, 10 + 2 * 2 * (1 + 3));
  assert.ok(calls.slice(0, 10).every((call) => call.count === 2));
  // A rank without hooks (every rank but 0) warms up all the same: the ranks' calls must match.
  const other = recordingComm();
  await runSweep(other.comm, options('allreduce', '-b', '8', '-e', '8', '-n', '1', '-w', '0', '-c', '0', '--jit-warmup', '4'), () => hostStores);
  assert.is(other.calls.length, 4 + 2);
});

test('a first size too small to hold an element: the warm-up takes the first size that does', async () => {
  const { comm, calls } = recordingComm();
  // allgather over 2 ranks: 4 B gives each rank no whole word, 8 B one float each.
  await runSweep(comm, options('allgather', '-b', '4', '-e', '8', '-f', '2', '-n', '1', '-w', '0', '-c', '0', '--jit-warmup', '3'), () => hostStores);
  assert.ok(calls.slice(0, 3).every((call) => call.count === 1), JSON.stringify(calls.slice(0, 3).map((c) => c.count)));
});

test.run();
