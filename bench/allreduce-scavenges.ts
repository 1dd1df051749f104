// What the garbage collector takes from a stream of in-place allreduces, rank by rank: the
// scavenges (minor collections) and full collections during CALLS calls of COUNT float32s after
// WARM calls, their total and worst pause, and the time a call. A rank's pause stalls its peers,
// so the ranks' pauses add up; a scavenge that takes milliseconds where a fraction of one is
// usual means objects that should have died survived (docs/PERFORMANCE.md, nepotism47).
// TRACE_GC=1 also sets V8's --trace-gc-nvp in each rank (its lines name the bytes promoted).
//   WEBCCL_TRANSPORT=ntcp COUNT=2 CALLS=3000 node --import ./test/register.mjs bin/webccl-run.ts -np 4 bench/allreduce-scavenges.ts
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { Communicator } from '../lib/index.node.js';

if (process.env['TRACE_GC'] === '1') setFlagsFromString('--trace-gc-nvp');
const count = Number(process.env['COUNT'] ?? 2);
const calls = Number(process.env['CALLS'] ?? 3000);
const warm = Number(process.env['WARM'] ?? 500);

const comm = await Communicator.fromEnv();
const data = new Float32Array(count).fill(1);
for (let i = 0; i < warm; i++) await comm.allReduce(data, data, count, 'float32', 'sum');

// PerformanceEntry's detail.kind: NODE_PERFORMANCE_GC_MINOR (1) is a scavenge, MAJOR (4) a full collection.
const pauses = { minor: [] as number[], major: [] as number[], other: [] as number[] };
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind;
    (kind === 1 ? pauses.minor : kind === 4 ? pauses.major : pauses.other).push(entry.duration);
  }
});
observer.observe({ entryTypes: ['gc'] });
const started = performance.now();
for (let i = 0; i < calls; i++) await comm.allReduce(data, data, count, 'float32', 'sum');
const elapsed = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, 50)); // the observer's last entries
observer.disconnect();

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const line = (name: string, values: number[]) => `${values.length} ${name} ${sum(values).toFixed(1)} ms (worst ${Math.max(0, ...values).toFixed(2)})`;
const all = [...pauses.minor, ...pauses.major, ...pauses.other];
console.log(`rank ${comm.rank}: ${(elapsed * 1000 / calls).toFixed(0)} us a call over ${calls} calls of ${4 * count} B; ${line('scavenges', pauses.minor)}, ${line('full', pauses.major)}; ${(100 * sum(all) / elapsed).toFixed(2)}% of the time in pauses`);
await comm.destroy();
