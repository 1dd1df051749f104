// `npm run bench:kernels [-- --json] [--mib N] [--runs N] [--filter REGEX] [--dispatches N]`: every kernel case in
// bench/kernel-cases/*.ts at a 64 MiB payload, as GB/s of bytes read plus written, next to the
// same device's copyBufferToBuffer GB/s measured in the same run, and their ratio (the figure
// to compare across machines; DESIGN.md: never a bare number). Median of the timed runs. The
// copy is timed again between the runs of every kernel and each ratio uses that case's own
// copy figure, so load that comes and goes on a shared machine skews both sides alike.
// --dispatches N measures the per-dispatch host cost instead (see kernel-cases/dispatch-overhead.ts).
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeDevice } from '../lib/gpu/node-device.js';
import { GpuContext } from '../lib/gpu/context.js';
import type { KernelCase, KernelCaseList } from './kernel-cases/case.js';
import { KernelTimer } from './kernel-timer.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    mib: { type: 'string', default: '64' },
    runs: { type: 'string', default: '5' },
    filter: { type: 'string' },
    dispatches: { type: 'string' },
  },
});
const payloadBytes = Number(args.mib) * 1024 * 1024;
const runs = Number(args.runs);
const filter = args.filter ? new RegExp(args.filter) : undefined;

async function loadCases(): Promise<KernelCase[]> {
  const cases: KernelCase[] = [];
  for (const file of readdirSync(new URL('./kernel-cases/', import.meta.url)).filter((f) => f.endsWith('.ts')).sort()) {
    // A relative './x.js' specifier, like every source import, so the .ts loader finds it.
    const module = (await import(`./kernel-cases/${file.replace(/\.ts$/, '.js')}`)) as { kernelCases?: KernelCaseList };
    if (module.kernelCases) cases.push(...module.kernelCases(payloadBytes));
  }
  return cases.filter((c) => !filter || filter.test(c.name));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One warm-up run of each, then the medians of `runs` timed runs of the kernel and of the copy, alternated. */
async function measure(timer: KernelTimer, record: (encoder: GPUCommandEncoder) => void): Promise<{ ms: number; copyMs: number }> {
  await timer.time(record);
  await timer.time(copy);
  const times: number[] = [];
  const copyTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push(await timer.time(record));
    copyTimes.push(await timer.time(copy));
  }
  return { ms: median(times), copyMs: median(copyTimes) };
}

const gbps = (bytes: number, ms: number) => bytes / (ms / 1e3) / 1e9;

const device = await createNodeDevice();
const ctx = GpuContext.for(device);

if (args.dispatches !== undefined) {
  // Imported once the device exists: case modules read the WebGPU globals when they load.
  const { measureDispatchOverhead } = await import('./kernel-cases/dispatch-overhead.js');
  const result = await measureDispatchOverhead(ctx, Number(args.dispatches), runs);
  if (args.json) console.log(JSON.stringify({ adapter: ctx.adapterName, runs, ...result }, null, 2));
  else console.log(`adapter: ${ctx.adapterName}\n${result.dispatches} tiny float32 sum dispatches, median of ${runs} rounds: recording ${result.recordUs.toFixed(1)} us/dispatch, through completion ${result.totalUs.toFixed(1)} us/dispatch`);
  device.destroy();
  process.exit(0);
}
const timer = new KernelTimer(ctx);

// The reference: copyBufferToBuffer reads and writes the payload once.
const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const from = device.createBuffer({ size: payloadBytes, usage });
const to = device.createBuffer({ size: payloadBytes, usage });
const copy = (encoder: GPUCommandEncoder) => encoder.copyBufferToBuffer(from, 0, to, 0, payloadBytes);

const rows: { name: string; bytesMoved: number; ms: number; gbps: number; copyGbps: number; ratioToCopy: number }[] = [];
for (const kernelCase of await loadCases()) {
  const prepared = kernelCase.setup(ctx);
  const { ms, copyMs } = await measure(timer, (encoder) => prepared.record(encoder));
  prepared.dispose();
  const rate = gbps(kernelCase.bytesMoved, ms);
  const copyRate = gbps(2 * payloadBytes, copyMs);
  rows.push({ name: kernelCase.name, bytesMoved: kernelCase.bytesMoved, ms, gbps: rate, copyGbps: copyRate, ratioToCopy: rate / copyRate });
  if (!args.json) process.stderr.write('.');
}
timer.dispose();
from.destroy();
to.destroy();
// The header's copy figure: the median over every case's.
const copyGbps = rows.length > 0 ? median(rows.map((r) => r.copyGbps)) : 0;
const copyMs = copyGbps > 0 ? (2 * payloadBytes) / (copyGbps * 1e9) * 1e3 : 0;

if (args.json) {
  console.log(JSON.stringify({ adapter: ctx.adapterName, timing: timer.method, payloadBytes, runs, copy: { ms: copyMs, gbps: copyGbps }, kernels: rows }, null, 2));
} else {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  process.stderr.write('\n');
  console.log(`adapter: ${ctx.adapterName}`);
  console.log(`timing: ${timer.method}, median of ${runs} runs, payload ${mib(payloadBytes)}`);
  console.log(`copyBufferToBuffer: ${mib(2 * payloadBytes)} moved in ${copyMs.toFixed(2)} ms = ${copyGbps.toFixed(2)} GB/s (median over the cases; each ratio uses its own)\n`);
  const width = Math.max(...rows.map((r) => r.name.length), 6);
  console.log(`${'kernel'.padEnd(width)}  ${'moved'.padStart(8)}  ${'ms'.padStart(8)}  ${'GB/s'.padStart(7)}  ${'copy'.padStart(7)}  ${'vs copy'.padStart(7)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(width)}  ${mib(r.bytesMoved).padStart(8)}  ${r.ms.toFixed(2).padStart(8)}  ${r.gbps.toFixed(2).padStart(7)}  ${r.copyGbps.toFixed(2).padStart(7)}  ${(100 * r.ratioToCopy).toFixed(0).padStart(6)}%`);
  }
}
device.destroy();
