// Where a small allreduce's slow calls come from: every rank's per-call times as percentiles and
// a histogram, the share of the loop's time spent in the slow calls, and what each of the
// process's threads did during the timed loop (CPU time and context switches from
// /proc/self/task: the JS thread, V8's GC helpers, libuv's pool, the board's thread), with the
// scavenges V8 ran in it, how many slow calls overlapped one, and the process's page faults (a
// first touch of a heap page costs 10-20 µs on this VM: docs/PERFORMANCE.md, lat13).
// The ranks are bound to CPUs of their own by the launcher where they fit (WEBCCL_BIND=none: not).
//   NP=2 COUNT=2 CALLS=20000 WARMUP=2000 WEBCCL_TRANSPORT=shm node --import ./test/register.mjs bench/allreduce-tails.ts
import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { launchRanks } from '../bin/launch/launch.js';
import { hostRendezvous } from '../bin/launch/rendezvous-env.js';
import { Communicator } from '../lib/index.node.js';

/** A call slower than this lost its core somewhere (the p50 is 1-3 µs). */
const SLOW_US = 10;
const BUCKETS_US = [2, 5, 10, 20, 50, 100, 1000, 10000, Infinity];

interface ThreadSample { name: string; cpuTicks: number; voluntary: number; involuntary: number }

/** Each thread of this process by id: its name, user+system ticks and context switches so far. */
function threads(): Map<string, ThreadSample> {
  const out = new Map<string, ThreadSample>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const field = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      out.set(tid, { name, cpuTicks: Number(fields[11]) + Number(fields[12]), voluntary: field('voluntary_ctxt_switches'), involuntary: field('nonvoluntary_ctxt_switches') });
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return out;
}

async function rank(): Promise<void> {
  const comm = await Communicator.fromEnv();
  const count = Number(process.env['COUNT'] ?? 2);
  const calls = Number(process.env['CALLS'] ?? 20000);
  const warmup = Number(process.env['WARMUP'] ?? 2000);
  const send = new Float32Array(count).fill(comm.rank + 1);
  const recv = new Float32Array(count);
  for (let i = 0; i < warmup; i++) await comm.allReduce(send, recv, count, 'float32', 'sum');
  const gcs: { start: number; end: number; kind: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcs.push({ start: entry.startTime, end: entry.startTime + entry.duration, kind: ((entry as unknown as { detail: { kind: number } }).detail).kind });
  });
  observer.observe({ entryTypes: ['gc'] });
  const starts = new Float64Array(calls);
  const times = new Float64Array(calls);
  await comm.barrier();
  const before = threads();
  const usage0 = process.resourceUsage();
  const loop0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await comm.allReduce(send, recv, count, 'float32', 'sum');
    starts[i] = started;
    times[i] = (performance.now() - started) * 1000;
  }
  const loopUs = (performance.now() - loop0) * 1000;
  const usage1 = process.resourceUsage();
  const after = threads();
  // Bytes allocated per call: the heap's growth over blocks of calls that no GC interrupted.
  let perCall = Infinity;
  for (let block = 0; block < 8; block++) {
    const gcsBefore = gcs.length;
    const heap0 = getHeapStatistics().used_heap_size;
    for (let i = 0; i < 500; i++) await comm.allReduce(send, recv, count, 'float32', 'sum');
    const grown = getHeapStatistics().used_heap_size - heap0;
    await new Promise((resolve) => setImmediate(resolve));
    if (gcs.length === gcsBefore && grown >= 0) perCall = Math.min(perCall, grown / 500);
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  observer.disconnect();
  let slow = 0;
  let slowUs = 0;
  let slowInGc = 0;
  for (let i = 0; i < calls; i++) {
    if (times[i]! <= SLOW_US) continue;
    slow++;
    slowUs += times[i]!;
    const end = starts[i]! + times[i]! / 1000;
    if (gcs.some((gc) => gc.start < end && gc.end > starts[i]!)) slowInGc++;
  }
  const histogram = BUCKETS_US.map(() => 0);
  for (const t of times) histogram[BUCKETS_US.findIndex((edge) => t <= edge)]!++;
  const sorted = Float64Array.from(times).sort();
  const at = (q: number) => sorted[Math.min(calls - 1, Math.floor(calls * q))]!.toFixed(1);
  const lines = [
    `rank ${comm.rank}: ${4 * count} B allreduce on ${comm.transport.description}, ${calls} calls: mean ${(loopUs / calls).toFixed(2)} us; p10 ${at(0.1)} p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} p99.9 ${at(0.999)} max ${sorted[calls - 1]!.toFixed(0)}`,
    `  slow (> ${SLOW_US} us): ${slow} calls (${(100 * slow / calls).toFixed(2)}%), ${(100 * slowUs / loopUs).toFixed(1)}% of the loop's time; ${slowInGc} overlapped a GC; GCs in the loop: ${gcs.length} (kinds ${[...new Set(gcs.map((g) => g.kind))].join(',')}), ${gcs.reduce((s, g) => s + (g.end - g.start) * 1000, 0).toFixed(0)} us`,
    `  heap growth per call (min over 8 blocks of 500 without a GC): ${perCall.toFixed(1)} bytes`,
    `  histogram (<= us: calls): ${BUCKETS_US.map((edge, k) => `${edge}: ${histogram[k]}`).join(', ')}`,
    `  process: minor faults ${usage1.minorPageFault - usage0.minorPageFault}, major ${usage1.majorPageFault - usage0.majorPageFault}, voluntary switches ${usage1.voluntaryContextSwitches - usage0.voluntaryContextSwitches}, involuntary ${usage1.involuntaryContextSwitches - usage0.involuntaryContextSwitches}, cpu ${((usage1.userCPUTime + usage1.systemCPUTime - usage0.userCPUTime - usage0.systemCPUTime) / calls).toFixed(2)} us per call (system ${((usage1.systemCPUTime - usage0.systemCPUTime) / calls).toFixed(2)})`,
  ];
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { name: end.name, cpuTicks: 0, voluntary: 0, involuntary: 0 };
    const ticks = end.cpuTicks - start.cpuTicks;
    const vol = end.voluntary - start.voluntary;
    const inv = end.involuntary - start.involuntary;
    if (ticks + vol + inv > 0) lines.push(`  thread ${tid} ${end.name}: ${ticks} ticks, ${vol} voluntary, ${inv} involuntary${before.has(tid) ? '' : ' (new)'}`);
  }
  console.log(lines.join('\n'));
  await comm.destroy();
}

if (process.env['RANK'] !== undefined) await rank();
else {
  const result = await launchRanks({ np: Number(process.env['NP'] ?? 2), command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], ...await hostRendezvous() });
  process.exitCode = result.exitCode;
}
