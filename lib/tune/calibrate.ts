// Calibration: a few microbenchmarks on the actual world that give the cost model its
// parameters (params.ts). Every rank measures its own figures, then all take the largest of
// each over the ranks (a ring is as fast as its slowest link, a reduction waits for the slowest
// rank) and fit the same parameters from them, so every rank ends with the same parameters,
// which rank 0 writes to a tuning file.
//   γ: folding one chunk of float32 into another in host memory (the installed CPU reducer).
//   codecs: encoding and decoding a quarter chunk with each hop codec's host implementation.
//   call, α, β: allreduces with the ring and the tree at a few sizes (a few bytes, half a chunk,
//      four and sixteen chunks) and the direct exchange at two small ones, each timed as the median of some repetitions; each run's traffic (the
//      formulas beside the schedules) gives one equation time − reducedBytes·γ = call +
//      messages·α + linkBytes·β, and a non-negative least-squares fit solves them. Measuring
//      the schedules themselves prices what a message costs inside a call (pipelining,
//      the communicator's own work), which a bare ping-pong would not.
// The switch's per-packet cost is not measured here (it needs a switch): the default stays.
import { algorithmNamed } from '../collectives/algorithms.js';
import { CODECS } from '../collectives/codecs.js';
import { cpuReducer } from '../cpu/cpu-reducer.js';
import { hostCodec } from '../cpu/host-codec.js';
import { DEFAULT_COST_PARAMS, type CodecRate, type CostParams } from './params.js';

/** What calibration needs of a communicator (the perf CLI adapts one). */
export interface CalibrationComm {
  readonly rank: number;
  readonly size: number;
  /** The agreed chunk size (bytes per pipelined message). */
  readonly chunkBytes: number;
  /** An in-place float32 sum allreduce of `data` with the named algorithm. */
  allReduce(data: Float32Array, algorithm: string): Promise<void>;
  /** Element-wise maximum of every rank's `values` (the same result on every rank). */
  maxAll(values: Float32Array): Promise<Float32Array>;
}

export interface CalibrationOptions {
  /** Timed repetitions of each allreduce (default 5; the median counts). */
  readonly repeats?: number;
}

export interface Calibration {
  /** The parameters every rank agreed on (the largest over ranks). */
  readonly params: CostParams;
  /** This rank's own figures, before the maximum. */
  readonly own: CostParams;
  /** Wall time the calibration took on this rank, in seconds. */
  readonly seconds: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Seconds per byte of `run` over `bytes` bytes: the fastest of a few runs (local work has no peers to wait for). */
function localRate(bytes: number, run: () => void): number {
  run();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best / bytes;
}

function codecRates(bytes: number): Record<string, CodecRate> {
  const count = bytes / 4;
  const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i));
  const out = new Float32Array(count);
  const rates: Record<string, CodecRate> = {};
  for (const codec of CODECS) {
    // The integer scheme (switchml) quantizes once per call, not per hop: no hop rate to measure.
    if (codec.identity || (codec.format.kind !== 'half' && codec.format.kind !== 'blocks')) continue;
    const host = hostCodec(codec.format);
    const residual = codec.errorFeedback ? new Float32Array(count) : undefined;
    let payload = host.encode(x, residual);
    rates[codec.name] = {
      encode: localRate(bytes, () => { payload = host.encode(x, residual); }),
      decode: localRate(bytes, () => host.decode(payload, count, out)),
    };
  }
  return rates;
}

/** Past this, a four-chunk run is on a link too slow to time sixteen chunks within the budget. */
const SLOW_LINK_SECONDS = 0.05;

/** One timed schedule: its traffic's terms and the time it took (less its reductions' γ). */
interface Sample {
  readonly terms: readonly [number, number, number];
  readonly seconds: number;
}

/**
 * The allreduces timed: ring and tree, each at a few bytes, half a chunk, four chunks and
 * sixteen (past the caches, where large calls live; a few repeats only: they take longest).
 */
function plannedRuns(chunk: number, ranks: number, repeats: number): (readonly [string, number, number])[] {
  const few = Math.max(3, repeats >> 1);
  // The direct exchange's one message per peer, against the ring's and tree's several at the same
  // sizes, is what tells α from the per-call cost (with two ranks ring and tree send as many).
  const direct = Math.max(1024, Math.floor(chunk / 8 / Math.max(1, ranks - 1) / 1024) * 1024);
  return [
    ...['ring', 'tree'].flatMap((algorithm) => [[algorithm, 8, repeats], [algorithm, chunk / 2, repeats], [algorithm, 4 * chunk, few], [algorithm, 16 * chunk, few]] as const),
    ['direct', 8, repeats], ['direct', direct, repeats],
  ];
}

async function sample(comm: CalibrationComm, algorithm: string, bytes: number, gamma: number, repeats: number): Promise<Sample> {
  const data = new Float32Array(Math.max(1, Math.floor(bytes / 4)));
  await comm.allReduce(data, algorithm);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    data.fill(0);
    const started = performance.now();
    await comm.allReduce(data, algorithm);
    times.push((performance.now() - started) / 1000);
  }
  // plannedRuns keeps the direct exchange inside its formula's domain; ring and tree have none.
  const traffic = algorithmNamed(algorithm)!.traffic!.allReduce!({ bytes: data.byteLength, ranks: comm.size, chunkBytes: comm.chunkBytes })!;
  return { terms: [1, traffic.messages, traffic.linkBytes], seconds: Math.max(0, median(times) - traffic.reducedBytes * gamma) };
}

/** Least squares of `samples` (relative errors) over the columns in `use`; undefined when they are singular. */
function leastSquares(samples: readonly Sample[], use: readonly number[]): number[] | undefined {
  const k = use.length;
  // Columns scaled to unit size, so seconds and bytes do not make the system ill-conditioned.
  const scale = use.map((j) => Math.max(...samples.map((s) => Math.abs(s.terms[j]!))) || 1);
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (const s of samples) {
    // Each equation divided by its own time: the fit minimises relative errors, so the small
    // calls (which fix call and α) weigh as much as the large ones (which fix β).
    const weight = s.seconds > 0 ? 1 / s.seconds : 1;
    const x = use.map((j, i) => (weight * s.terms[j]!) / scale[i]!);
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) a[r]![c]! += x[r]! * x[c]!;
      a[r]![k]! += x[r]! * weight * s.seconds;
    }
  }
  for (let col = 0; col < k; col++) {
    const pivot = a.slice(col).reduce((best, row, i) => (Math.abs(row[col]!) > Math.abs(a[best]![col]!) ? col + i : best), col);
    if (Math.abs(a[pivot]![col]!) < 1e-12) return undefined;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= k; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return use.map((_, i) => a[i]![k]! / a[i]![i]! / scale[i]!);
}

/**
 * call, α, β ≥ 0 fitting the samples: least squares, then again without any column that came
 * out negative (Lawson–Hanson's active set, which three unknowns make short).
 */
export function fitLatencyBandwidth(samples: readonly Sample[]): [number, number, number] {
  let use = [0, 1, 2];
  for (;;) {
    const solved = leastSquares(samples, use);
    if (solved === undefined) {
      if (use.length === 1) return [0, 0, 0];
      use = use.slice(1);
      continue;
    }
    const negative = solved.findIndex((v) => v < 0);
    if (negative < 0) {
      const out: [number, number, number] = [0, 0, 0];
      use.forEach((j, i) => { out[j as 0 | 1 | 2] = solved[i]!; });
      return out;
    }
    use = use.filter((_, i) => i !== negative);
  }
}

/** A rank's measurements: γ, encode and decode per codec (in `names` order), then each sample's seconds. */
function flatten(gamma: number, codecs: Record<string, CodecRate>, names: readonly string[], samples: readonly Sample[]): Float32Array {
  return Float32Array.from([gamma, ...names.flatMap((n) => [codecs[n]!.encode, codecs[n]!.decode]), ...samples.map((s) => s.seconds)]);
}

/** Parameters from measurements laid out by flatten (one rank's, or the maximum over ranks). */
function parametersOf(values: Float32Array, names: readonly string[], samples: readonly Sample[]): CostParams {
  const codecs: Record<string, CodecRate> = {};
  names.forEach((name, i) => { codecs[name] = { encode: values[1 + 2 * i]!, decode: values[2 + 2 * i]! }; });
  const first = 1 + 2 * names.length;
  const [call, alpha, beta] = samples.length === 0 ? [0, 0, 0] : fitLatencyBandwidth(samples.map((s, i) => ({ terms: s.terms, seconds: values[first + i]! })));
  return { ...DEFAULT_COST_PARAMS, memory: 'cpu', call, alpha, beta, gamma: values[0]!, codecs };
}

/** Measures this world's parameters (every rank calls it at once) and agrees on the slowest rank's. */
export async function calibrate(comm: CalibrationComm, options: CalibrationOptions = {}): Promise<Calibration> {
  const started = performance.now();
  const repeats = options.repeats ?? 5;
  const chunk = comm.chunkBytes;
  const local = Math.min(chunk, 1 << 20) - (Math.min(chunk, 1 << 20) % 1024);
  const dst = new Uint8Array(local);
  const src = new Uint8Array(new Float32Array(local / 4).fill(1).buffer);
  const gamma = localRate(local, () => cpuReducer().accumulate('float32', 'sum', dst, src, local / 4));
  // A quarter of a chunk: the TypeScript encoders are slow, and a rate per byte needs no more.
  const codecs = codecRates(Math.max(1024, local / 4));
  const samples: Sample[] = [];
  if (comm.size > 1) {
    for (const [algorithm, bytes, times] of plannedRuns(chunk, comm.size, repeats)) {
      // On slow links the largest runs would take seconds: skipped (every rank alike: the
      // slowest rank's time decides) when the run before took over SLOW_LINK_SECONDS.
      if (bytes > 4 * chunk) {
        const [slowest] = await comm.maxAll(Float32Array.of(samples.at(-1)!.seconds));
        if (slowest! > SLOW_LINK_SECONDS) continue;
      }
      samples.push(await sample(comm, algorithm, bytes, gamma, times));
    }
  }
  const names = Object.keys(codecs).sort();
  const mine = flatten(gamma, codecs, names, samples);
  // Every rank fits the same (largest) figures with the same code: the same parameters everywhere.
  const params = parametersOf(await comm.maxAll(mine), names, samples);
  return { params, own: parametersOf(mine, names, samples), seconds: (performance.now() - started) / 1000 };
}
