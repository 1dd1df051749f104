// webccl-perf's JIT warm-up (bench/perf/jit-warmup.ts): untimed calls of the first size before
// the sweep, both placements, on every rank the same number of them, bounded by a time that the
// ranks agree on from the slowest rank's clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { parsePerfArgs, DEFAULT_JIT_WARMUP, type PerfOptions } from '../bench/perf/args.js';
import { callUntil, type JitWarmup } from '../bench/perf/jit-warmup.js';
import { runSweep, type PerfComm } from '../bench/perf/sweep.js';
import { HostStore, type Operand } from '../bench/perf/store.js';

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

test('warm-up: whole untimed rows of the first size, both placements, blocks of 2, 4, ... calls up to the count', async () => {
  const { comm, calls, gathers } = recordingComm();
  let reported: JitWarmup | undefined;
  const rows = await runSweep(comm, options('allreduce', '-b', '8', '-e', '16', '-f', '2', '-n', '3', '-w', '1', '-c', '0', '--jit-warmup', '7'),
    () => hostStores, { onJitWarmup: (warmup) => { reported = warmup; } });
  assert.is(rows.length, 2);
  // Blocks of 2, 4, then the 1 left (rounded up to one per placement): 8 calls of the first size.
  assert.is(reported?.calls, 8);
  const warm = calls.slice(0, 8);
  assert.ok(warm.every((call) => call.count === 2));
  // Each block is a row: out of place, then in place (the very code the sweep times).
  assert.equal(warm.map((call) => call.send === call.recv), [false, true, false, false, true, true, false, true]);
  // Then per size and placement 1 warm-up call and 3 timed ones, as without the JIT warm-up.
  assert.is(calls.length, 8 + 2 * 2 * (1 + 3));
  // Each block ends with the rows' two gathers and the time check's: 3 blocks, 3 gathers each; 2 per measured size.
  assert.is(gathers(), 3 * 3 + 2 * 2);
  const none = recordingComm();
  await runSweep(none.comm, options('allreduce', '-b', '8', '-e', '8', '-n', '1', '-w', '0', '-c', '0', '--jit-warmup', '0'), () => hostStores);
  assert.is(none.calls.length, 2, 'none with --jit-warmup 0');
});

test('warm-up stops on the slowest rank\'s clock, after the same block on every rank', async () => {
  // Another rank reports 5 s: the first check (after the first block) stops every rank there.
  const slowPeer = recordingComm(5000);
  const asked: number[] = [];
  const stopped = await callUntil(slowPeer.comm, 1000, 2000, async (n) => { asked.push(n); return n; });
  assert.equal(stopped, { calls: 2, ms: 5000 });
  assert.equal(asked, [2]);
  // Our own clock: blocks of ~2 ms per call against a 20 ms budget stop well short of 1000 calls,
  // after whole blocks (2, 4, 8, ... calls), and say how long they took.
  const fast = recordingComm(0);
  let made = 0;
  const timed = await callUntil(fast.comm, 1000, 20, async (n) => { made += n; await new Promise((done) => setTimeout(done, 2 * n)); return n; });
  assert.ok(timed.calls < 1000 && timed.calls === made, `${timed.calls} calls`);
  assert.ok(timed.ms >= 20, `${timed.ms} ms`);
  assert.ok([2, 6, 14, 30].includes(timed.calls), `a whole number of blocks: ${timed.calls}`);
  // Without a budget in reach the count rules, blocks capped, one check per block.
  const counted = recordingComm(0);
  const sizes: number[] = [];
  const all = await callUntil(counted.comm, 1500, 60_000, async (n) => { sizes.push(n); return n; });
  assert.is(all.calls, 1500);
  assert.equal(sizes, [2, 4, 8, 16, 32, 64, 128, 256, 512, 478]);
  assert.is(counted.gathers(), sizes.length);
});

test('--warmup-ms: after the -w calls of each size and placement, more until that long has passed on the slowest rank; 0 (the default) is -w alone', async () => {
  assert.is(options('allreduce').warmupMs, 0);
  assert.is(options('allreduce', '--warmup-ms', '250').warmupMs, 250);
  assert.throws(() => options('allreduce', '--warmup-ms=-5'), /--warmup-ms needs an integer >= 0, got "-5"/);
  const argv = ['allreduce', '-b', '8', '-e', '16', '-f', '2', '-n', '3', '-w', '1', '-c', '0', '--jit-warmup', '0'];
  // Another rank reports 5 s at the first check: one block of 2 after the -w call, at each size
  // and placement, on every rank alike (the ranks' calls must match).
  const slowPeer = recordingComm(5000);
  await runSweep(slowPeer.comm, options(...argv, '--warmup-ms', '100'), () => hostStores);
  assert.is(slowPeer.calls.length, 2 * 2 * (1 + 2 + 3));
  // Our own clock: the calls take no time, so blocks of 2, 4, ... go on until 30 ms have passed.
  const own = recordingComm(0);
  own.comm.run = async (shape) => { own.calls.push({ send: undefined!, recv: undefined!, count: shape.layout.callCount }); await new Promise((done) => setTimeout(done, 1)); };
  const started = performance.now();
  await runSweep(own.comm, options(...argv, '-b', '8', '-e', '8', '--warmup-ms', '30'), () => hostStores);
  assert.ok(performance.now() - started >= 2 * 30, 'both placements warmed 30 ms each');
  assert.ok(own.calls.length > 2 * (1 + 3 + 2), `${own.calls.length} calls`);
  const plain = recordingComm(5000);
  await runSweep(plain.comm, options(...argv), () => hostStores);
  assert.is(plain.calls.length, 2 * 2 * (1 + 3), 'without it, -w alone');
});

test('--tune: Communicator.tune() after each size and placement\'s warm-up, which then runs again before its timed calls; never in the JIT warm-up; off by default', async () => {
  assert.is(options('allreduce').tune, false);
  assert.is(options('allreduce', '--tune').tune, true);
  const { comm, calls } = recordingComm();
  const events: string[] = [];
  const run = comm.run;
  comm.run = async (shape, send, recv) => { events.push(`call ${shape.layout.callCount}`); await run(shape, send, recv); };
  comm.tune = async () => { events.push('tune'); };
  await runSweep(comm, options('allreduce', '-b', '8', '-e', '16', '-f', '2', '-n', '3', '-w', '2', '-c', '0', '--jit-warmup', '2', '--tune'), () => hostStores);
  // The -w calls, tune(), the -w calls again (tune's calls of other schedules unsettle the next ones), the timed calls.
  const placement = (count: number) => [...Array(2).fill(`call ${count}`), 'tune', ...Array(2 + 3).fill(`call ${count}`)];
  assert.equal(events, ['call 2', 'call 2', ...placement(2), ...placement(2), ...placement(4), ...placement(4)]);
  assert.is(calls.length, 2 + 2 * 2 * (2 + 2 + 3));
});

test('a rank without hooks (every rank but 0) warms up all the same: the ranks\' calls must match', async () => {
  const withHooks = recordingComm();
  const without = recordingComm();
  const argv = ['allreduce', '-b', '8', '-e', '8', '-n', '1', '-w', '0', '-c', '0', '--jit-warmup', '6'];
  await runSweep(withHooks.comm, options(...argv), () => hostStores, { onJitWarmup: () => {}, onRow: () => {} });
  await runSweep(without.comm, options(...argv), () => hostStores);
  assert.is(without.calls.length, 6 + 2);
  assert.is(withHooks.calls.length, without.calls.length);
  assert.is(withHooks.gathers(), without.gathers());
});

test('a first size too small to hold an element: the warm-up takes the first size that does', async () => {
  const { comm, calls } = recordingComm();
  // allgather over 2 ranks: 4 B gives each rank no whole word, 8 B one float each.
  await runSweep(comm, options('allgather', '-b', '4', '-e', '8', '-f', '2', '-n', '1', '-w', '0', '-c', '0', '--jit-warmup', '3'), () => hostStores);
  assert.ok(calls.slice(0, 3).every((call) => call.count === 1), JSON.stringify(calls.slice(0, 3).map((c) => c.count)));
});

test('the timed rows run the code the warm-up compiled: V8 deoptimizes no function of bench/perf/ (2 inproc ranks, 8 B)', () => {
  // The timed loop used to sit in the function that also checks the row: the first checked row
  // deoptimized it and TurboFan compiled it again during the out-of-place column (calls.ts). V8
  // prints each bailout with where it happened (`;;; deoptimize at <file:line>`) on stdout.
  const run = spawnSync(process.execPath, [
    '--trace-deopt-verbose', '--import', './test/register.mjs', 'bin/webccl-perf.ts',
    'allreduce', '--np', '2', '--transport', 'inproc', '--mem', 'cpu', '-b', '8', '-e', '8', '-n', '2000', '-w', '200',
  ], { encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, run.stderr);
  let traced = 0;
  let bailout = '';
  const ours: string[] = [];
  for (const line of run.stdout.split('\n')) {
    const at = line.indexOf('[bailout (');
    if (at >= 0) bailout = line.slice(at, line.indexOf('>', at) + 1);
    if (!line.includes(';;; deoptimize at')) continue;
    traced++;
    if (line.includes('/bench/perf/')) ours.push(`${bailout} ${line.trim()}`);
  }
  assert.ok(traced > 0, 'V8 traced no deoptimization at all (Node\'s own code has some): is --trace-deopt-verbose still printed?');
  assert.equal(ours, []);
});

test.run();
