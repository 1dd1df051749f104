// Calibration: a few microbenchmarks on the actual world that give the cost model its
// parameters (params.ts). Every rank measures its own figures, then all take the largest of
// each over the ranks (a ring is as fast as its slowest link, a reduction waits for the slowest
// rank), so every rank ends with the same parameters, which rank 0 writes to a tuning file.
//   α: the median time of a ring exchange of a few bytes (send to the next rank, receive from
//      the previous, at once): one message hop with the communicator's own per-call work.
//   β: the same exchange of one chunk, less α, per byte.
//   γ: folding one chunk of float32 into another in host memory (the installed CPU reducer).
//   codecs: encoding and decoding one chunk with each hop codec's host implementation.
// The switch's per-packet cost is not measured here (it needs a switch): the default stays.
import { CODECS } from '../collectives/codecs.js';
import { cpuReducer } from '../cpu/cpu-reducer.js';
import { hostCodec } from '../cpu/host-codec.js';
import { DEFAULT_COST_PARAMS, type CodecRate, type CostParams } from './params.js';

/** What calibration needs of a communicator (the perf CLI adapts one). */
export interface CalibrationComm {
  readonly rank: number;
  readonly size: number;
  /** Sends `send` to the next rank of the ring and receives as many bytes from the previous one, at once. */
  exchange(send: Uint8Array, recv: Uint8Array): Promise<void>;
  /** Element-wise maximum of every rank's `values` (the same result on every rank). */
  maxAll(values: Float32Array): Promise<Float32Array>;
}

export interface CalibrationOptions {
  /** Bytes of the large exchange and of the reductions (the agreed chunk size; default 1 MiB). */
  readonly bytes?: number;
  /** Timed repetitions of each exchange (default 9; the median counts). */
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

async function exchangeSeconds(comm: CalibrationComm, bytes: number, repeats: number): Promise<number> {
  const send = new Uint8Array(bytes).fill(1);
  const recv = new Uint8Array(bytes);
  await comm.exchange(send, recv);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await comm.exchange(send, recv);
    times.push((performance.now() - started) / 1000);
  }
  return median(times);
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

/** Layout of the figures in the max-allreduce: α, β, γ, then encode and decode per codec. */
function flatten(p: CostParams, names: readonly string[]): Float32Array {
  return Float32Array.from([p.alpha, p.beta, p.gamma, ...names.flatMap((n) => [p.codecs[n]!.encode, p.codecs[n]!.decode])]);
}

function unflatten(values: Float32Array, names: readonly string[]): CostParams {
  const codecs: Record<string, CodecRate> = {};
  names.forEach((name, i) => { codecs[name] = { encode: values[3 + 2 * i]!, decode: values[4 + 2 * i]! }; });
  return { ...DEFAULT_COST_PARAMS, memory: 'cpu', alpha: values[0]!, beta: values[1]!, gamma: values[2]!, codecs };
}

/** Measures this world's parameters (every rank calls it at once) and agrees on the slowest rank's. */
export async function calibrate(comm: CalibrationComm, options: CalibrationOptions = {}): Promise<Calibration> {
  const started = performance.now();
  const bytes = options.bytes ?? 1 << 20;
  const repeats = options.repeats ?? 9;
  let alpha = 0;
  let beta = 0;
  if (comm.size > 1) {
    alpha = await exchangeSeconds(comm, 8, repeats);
    // Less α, per byte; never below zero when noise makes the large exchange look as fast.
    beta = Math.max(0, (await exchangeSeconds(comm, bytes, repeats)) - alpha) / bytes;
  }
  const dst = new Uint8Array(bytes);
  const src = new Uint8Array(new Float32Array(bytes / 4).fill(1).buffer);
  const gamma = localRate(bytes, () => cpuReducer().accumulate('float32', 'sum', dst, src, bytes / 4));
  const codecs = codecRates(bytes);
  const own: CostParams = { ...DEFAULT_COST_PARAMS, memory: 'cpu', alpha, beta, gamma, codecs };
  const names = Object.keys(codecs).sort();
  const params = unflatten(await comm.maxAll(flatten(own, names)), names);
  return { params, own, seconds: (performance.now() - started) / 1000 };
}
