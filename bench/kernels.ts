// `npm run bench:kernels [-- --json] [--short] [--mib N] [--runs N] [--reps R] [--target-ms T]
//  [--filter REGEX] [--dispatches N]`: every kernel case in bench/kernel-cases/*.ts as GB/s of
// bytes read plus written, next to two references measured in the same run on the same payload:
// a WGSL vec4<f32> copy kernel and a vec4 add kernel (a + b -> c), and the ratios to them (the
// figures to compare across machines; DESIGN.md: never a bare number). What makes it honest on
// a fast GPU (issue 12):
// - the device is created with Dawn's timestamp quantization off (else every time is a
//   multiple of 65.536 us);
// - the references are kernels, not copyBufferToBuffer (which an H200 runs at a fifth of its
//   bandwidth; it is still shown, for information);
// - each timed submission records R repetitions of the work (R chosen so that a submission
//   lasts --target-ms, 5 ms by default), after a warm-up submission, because a GPU idles at a
//   low clock and ramps up over tens of ms; the median of --runs submissions is reported;
// - the payload fills the device: 1 GiB (or the largest power of two a storage binding allows)
//   on a hardware adapter, 32 MiB on a software one (lavapipe, SwiftShader), --mib to choose.
// The kernel and both references are timed in turn within every case, and each ratio uses that
// case's own reference figures, so load that comes and goes on a shared machine skews both sides
// alike; on a software adapter each case also gets cpuRatioToCopy, the same ratio over this
// process's CPU time (its worker threads are ours), which load from other jobs inflates far less.
// The per-dispatch host cost of small messages is reported too (kernel-cases/
// dispatch-overhead.ts; --dispatches N dispatches a round). --short is the CI mode: 256 KiB,
// R = 2, 2 runs, 20 dispatches; its figures mean nothing, its JSON shape is what CI checks.
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeDevice, PRECISE_TIMESTAMPS_FLAG } from '../lib/gpu/node-device.js';
import { GpuContext } from '../lib/gpu/context.js';
import type { KernelCase, KernelCaseList, PreparedCase } from './kernel-cases/case.js';
import { KernelTimer } from './kernel-timer.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    short: { type: 'boolean', default: false },
    mib: { type: 'string' },
    runs: { type: 'string' },
    reps: { type: 'string' },
    'target-ms': { type: 'string', default: '5' },
    filter: { type: 'string' },
    dispatches: { type: 'string' },
  },
});
const runs = Number(args.runs ?? (args.short ? 2 : 5));
const fixedReps = args.reps !== undefined ? Number(args.reps) : args.short ? 2 : undefined;
const targetMs = Number(args['target-ms']);
const dispatches = Number(args.dispatches ?? (args.short ? 20 : 1000));
const filter = args.filter ? new RegExp(args.filter) : undefined;
/** Most repetitions one submission records (a slow kernel needs 1, a tiny fast one many). */
const MAX_REPS = 1000;

const device = await createNodeDevice({ dawnFlags: [PRECISE_TIMESTAMPS_FLAG] });
const ctx = GpuContext.for(device);
// Imported once the device exists: case modules read the WebGPU globals when they load.
const { bufferCopyCase, referenceCase } = await import('./kernel-cases/reference.js');
const { measureDispatchOverhead } = await import('./kernel-cases/dispatch-overhead.js');

/** --mib, else 256 KiB (--short), 32 MiB on software adapters, 1 GiB capped by the binding and buffer limits. */
function defaultPayloadBytes(): number {
  if (args.mib !== undefined) return Math.floor(Number(args.mib) * 1024 * 1024 / 1024) * 1024;
  if (args.short) return 256 * 1024;
  if (ctx.isSoftwareAdapter) return 32 * 1024 * 1024;
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  return Math.min(2 ** 30, 2 ** Math.floor(Math.log2(limit)));
}
const payloadBytes = defaultPayloadBytes();

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

const gbps = (bytes: number, ms: number) => bytes / (ms / 1e3) / 1e9;

interface Measured {
  readonly name: string;
  readonly bytesMoved: number;
  /** Repetitions per timed submission. */
  readonly reps: number;
  /** Median milliseconds per repetition. */
  readonly ms: number;
  readonly gbps: number;
  /** Median milliseconds of this process's CPU time per repetition (a software adapter's threads are ours). */
  readonly cpuMs: number;
}

/** A prepared case with its repetition count fixed: times one submission of `reps` runs. */
class Timed {
  reps = 1;
  readonly msPerRep: number[] = [];
  readonly cpuMsPerRep: number[] = [];
  private lastCpuMs = 0;

  constructor(readonly kernelCase: KernelCase, readonly prepared: PreparedCase, private readonly timer: KernelTimer) {}

  /** Milliseconds per repetition of one submission of `reps` repetitions. */
  async submit(reps = this.reps): Promise<number> {
    const cpu = process.cpuUsage();
    const ms = await this.timer.time((encoder) => { for (let r = 0; r < reps; r++) this.prepared.record(encoder); });
    const used = process.cpuUsage(cpu);
    this.lastCpuMs = (used.user + used.system) / 1e3 / reps;
    return ms / reps;
  }

  /** Compiles and calibrates (two single runs, the second timed), then one warm-up submission of `reps`. */
  async warmUp(): Promise<void> {
    await this.submit(1);
    const single = await this.submit(1);
    this.reps = fixedReps ?? Math.max(1, Math.min(MAX_REPS, Math.ceil(targetMs / Math.max(single, 1e-6))));
    await this.submit();
  }

  async sample(): Promise<void> {
    this.msPerRep.push(await this.submit());
    this.cpuMsPerRep.push(this.lastCpuMs);
  }

  get result(): Measured {
    const ms = median(this.msPerRep);
    return {
      name: this.kernelCase.name, bytesMoved: this.kernelCase.bytesMoved, reps: this.reps, ms, gbps: gbps(this.kernelCase.bytesMoved, ms), cpuMs: median(this.cpuMsPerRep),
    };
  }
}

/** Times the cases' runs in turn (kernel, copy, add, kernel, ...), each warmed up first. */
async function timeTogether(timed: Timed[]): Promise<void> {
  for (const t of timed) await t.warmUp();
  for (let i = 0; i < runs; i++) for (const t of timed) await t.sample();
}

const timer = new KernelTimer(ctx);
const references = { copy: referenceCase('copy', payloadBytes), add: referenceCase('add', payloadBytes) };
const copyRef = references.copy.setup(ctx);
const addRef = references.add.setup(ctx);
const bufferCopy = bufferCopyCase(payloadBytes);

/**
 * cpuRatioToCopy (software adapters only, where the kernels run on this process's threads):
 * the ratio of bytes per CPU-millisecond to the copy kernel's. Wall-clock time on a shared
 * machine grows with other jobs' load; CPU time much less, so this ratio is the steadier one
 * there (the adapter's worker threads must not spin while idle for it to mean anything:
 * lavapipe's wait on a condition variable).
 */
type Row = Measured & { copyGbps: number; addGbps: number; ratioToCopy: number; ratioToAdd: number; cpuRatioToCopy?: number | null };
const rows: Row[] = [];
for (const kernelCase of await loadCases()) {
  const prepared = kernelCase.setup(ctx);
  const kernel = new Timed(kernelCase, prepared, timer);
  const copy = new Timed(references.copy, copyRef, timer);
  const add = new Timed(references.add, addRef, timer);
  await timeTogether([kernel, copy, add]);
  prepared.dispose();
  const k = kernel.result;
  const copyGbps = copy.result.gbps;
  const addGbps = add.result.gbps;
  // null where a side used no measurable CPU time (tiny --short payloads).
  const copyCpuMs = copy.result.cpuMs;
  const cpuRatio = ctx.isSoftwareAdapter
    ? { cpuRatioToCopy: k.cpuMs > 0 && copyCpuMs > 0 ? (k.bytesMoved / k.cpuMs) / (references.copy.bytesMoved / copyCpuMs) : null }
    : {};
  rows.push({ ...k, copyGbps, addGbps, ratioToCopy: k.gbps / copyGbps, ratioToAdd: k.gbps / addGbps, ...cpuRatio });
  if (!args.json) process.stderr.write('.');
}
// copyBufferToBuffer once, beside one more copy-kernel measurement, for the header.
const bufferCopyPrepared = bufferCopy.setup(ctx);
const bufferCopyTimed = new Timed(bufferCopy, bufferCopyPrepared, timer);
const copyAlone = new Timed(references.copy, copyRef, timer);
await timeTogether([bufferCopyTimed, copyAlone]);
bufferCopyPrepared.dispose();
copyRef.dispose();
addRef.dispose();
timer.dispose();
const overhead = await measureDispatchOverhead(ctx, dispatches, runs);

// The header's reference figures: the medians over every case's (the lone copy's without cases).
const referenceFigure = (pick: (r: Row) => number, alone: number) => (rows.length > 0 ? median(rows.map(pick)) : alone);
const summary = {
  copy: { gbps: referenceFigure((r) => r.copyGbps, copyAlone.result.gbps) },
  add: { gbps: referenceFigure((r) => r.addGbps, copyAlone.result.gbps * 1.5) },
  copyBufferToBuffer: { gbps: bufferCopyTimed.result.gbps, ratioToCopy: bufferCopyTimed.result.gbps / copyAlone.result.gbps },
};

if (args.json) {
  console.log(JSON.stringify({
    adapter: ctx.adapterName, software: ctx.isSoftwareAdapter, unitLayout: ctx.unitLayout, timing: timer.method,
    dawnFlags: [PRECISE_TIMESTAMPS_FLAG], payloadBytes, runs, targetMs, references: summary, kernels: rows, dispatchOverhead: overhead,
  }, null, 2));
} else {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;
  process.stderr.write('\n');
  console.log(`adapter: ${ctx.adapterName} (unit layout ${ctx.unitLayout})`);
  console.log(`timing: ${timer.method}, median of ${runs} submissions of R repetitions each (${fixedReps !== undefined ? `R = ${fixedReps}` : `R for >= ${targetMs} ms`}), payload ${mib(payloadBytes)}`);
  console.log(`references (median over the cases; each ratio uses its own): WGSL copy ${summary.copy.gbps.toFixed(2)} GB/s, WGSL add ${summary.add.gbps.toFixed(2)} GB/s, copyBufferToBuffer ${summary.copyBufferToBuffer.gbps.toFixed(2)} GB/s\n`);
  const width = Math.max(...rows.map((r) => r.name.length), 6);
  const cpuColumn = (r?: Row) => (!ctx.isSoftwareAdapter ? '' : r ? `  ${(r.cpuRatioToCopy ? `${(100 * r.cpuRatioToCopy).toFixed(0)}%` : '-').padStart(11)}` : `  ${'cpu vs copy'.padStart(11)}`);
  console.log(`${'kernel'.padEnd(width)}  ${'moved'.padStart(9)}  ${'R'.padStart(4)}  ${'ms/rep'.padStart(8)}  ${'GB/s'.padStart(8)}  ${'vs copy'.padStart(7)}  ${'vs add'.padStart(6)}${cpuColumn()}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(width)}  ${mib(r.bytesMoved).padStart(9)}  ${String(r.reps).padStart(4)}  ${r.ms.toFixed(3).padStart(8)}  ${r.gbps.toFixed(2).padStart(8)}  ${(100 * r.ratioToCopy).toFixed(0).padStart(6)}%  ${(100 * r.ratioToAdd).toFixed(0).padStart(5)}%${cpuColumn(r)}`);
  }
  console.log(`\ndispatch overhead: ${overhead.dispatches} tiny float32 sum dispatches, median of ${runs} rounds: recording ${overhead.recordUs.toFixed(1)} us/dispatch, through completion ${overhead.totalUs.toFixed(1)} us/dispatch`);
}
device.destroy();
