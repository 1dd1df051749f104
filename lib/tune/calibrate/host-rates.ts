// Host work timed on this rank alone: γ (the CPU reducer's fold) and the hop codecs' rates,
// one rank at a time while its peers wait (inTurn).
import { CODECS } from '../../collectives/codecs.js';
import type { Codec } from '../../memory/codec.js';
import { cpuReducer } from '../../cpu/cpu-reducer.js';
import { hostCodec } from '../../cpu/host-codec.js';
import type { CodecRate } from '../params.js';
import type { CalibrationComm } from './types.js';

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

/** The hop codecs with a host rate to time: not the identity, nor the integer scheme (switchml), which quantizes once per call, not per hop. */
function hopCodecs(): readonly Codec[] {
  return CODECS.filter((codec) => !codec.identity && (codec.format.kind === 'half' || codec.format.kind === 'blocks'));
}

function codecRates(bytes: number): Record<string, CodecRate> {
  const count = bytes / 4;
  const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i));
  const out = new Float32Array(count);
  const rates: Record<string, CodecRate> = {};
  for (const codec of hopCodecs()) {
    const host = hostCodec(codec.format);
    const residual = codec.errorFeedback ? new Float32Array(count) : undefined;
    const payload = host.encode(x, residual);
    // Into the same array every time, as a call's encodes reuse pooled ones (lib/cpu/cpu-memory.ts):
    // a new array's page faults are no part of the codec's rate.
    const reused = () => payload;
    rates[codec.name] = {
      encode: localRate(bytes, () => host.encode(x, residual, reused)),
      decode: localRate(bytes, () => host.decode(payload, count, out)),
    };
  }
  return rates;
}

/** γ and the codec rates: host work of this rank alone, timed on up to a chunk (at most 1 MiB) of float32. */
export interface HostRates {
  readonly gamma: number;
  readonly codecs: Record<string, CodecRate>;
}

/** What a rank that timed no host work counts (inTurn): 0 for γ and for every rate, so the maximum over ranks is the timing rank's. */
export function untimedRates(): HostRates {
  return { gamma: 0, codecs: Object.fromEntries(hopCodecs().map((codec) => [codec.name, { encode: 0, decode: 0 }])) };
}

/** γ (the installed CPU reducer's fold) and every hop codec's rates (codecRates), on this rank. */
export function hostRates(chunk: number): HostRates {
  const local = Math.min(chunk, 1 << 20) - (Math.min(chunk, 1 << 20) % 1024);
  const dst = new Uint8Array(local);
  const src = new Uint8Array(new Float32Array(local / 4).fill(1).buffer);
  const gamma = localRate(local, () => cpuReducer().accumulate('float32', 'sum', dst, src, local / 4));
  // A quarter of a chunk: the TypeScript encoders are slow, and a rate per byte needs no more.
  return { gamma, codecs: codecRates(Math.max(1024, local / 4)) };
}

/**
 * `measure` (host work timed on this rank alone: γ, the codecs) timed while no peer runs.
 * Where every rank is on one host (`oneHost`: agreed, so alike on every rank), rank 0 alone runs
 * it, once untimed (the compiler's first pass: 200-400 ms cold against 40-90 warm) and once
 * timed, between two barriers its peers wait in (maxAll: on a board or a socket a waiting rank
 * sleeps); the peers return undefined and take rank 0's figures through the maximum over ranks
 * that calibrate takes of every figure. Its peers' timings would have been of the same cores and
 * code: at 8 shm ranks on 2 cores the turns took 1.1-1.4 s of a calibration's 8-10.
 * Otherwise (ranks on hosts this rank cannot tell apart) every rank runs it once untimed at once,
 * then each times it in turn, rank 0 first, while the others wait in a barrier, so that no rank's
 * timing shares the CPU with its peers' work. Timed all at once, as before the turns, 8 shm ranks
 * on 2 cores measured the int8 encoder at 167-272 ns/B against 9.8 at 2 ranks and 8-12 in one
 * process (docs/PERFORMANCE.md, the tenth session's re-run): every timed run was preempted by
 * peers timing theirs or already polling in the first collective. A barrier before the first turn
 * too, so rank 0 does not time while its peers are still warming up. A rank's turn starts
 * TURN_PAUSE_MS after the barrier, by which its peers have left it and entered the next one: the
 * board's JS thread spins 200 µs there before it sleeps (lib/native/board.ts), on the cores the
 * turn times on; on one host rank 0's pass starts as late.
 */
/** A turn's pause after the barrier before its rank times (see inTurn). */
const TURN_PAUSE_MS = 2;

export async function inTurn<T>(comm: Pick<CalibrationComm, 'rank' | 'size' | 'maxAll' | 'oneHost'>, measure: () => T): Promise<T | undefined> {
  if (comm.size === 1) return (measure(), measure());
  const barrier = () => comm.maxAll(new Float32Array(1));
  const pause = () => new Promise((resolve) => setTimeout(resolve, TURN_PAUSE_MS));
  if (comm.oneHost === true) {
    await barrier();
    const result = comm.rank === 0 ? (await pause(), measure(), measure()) : undefined;
    await barrier();
    return result;
  }
  let result = measure();
  await barrier();
  for (let turn = 0; turn < comm.size; turn++) {
    if (turn === comm.rank) {
      await pause();
      result = measure();
    }
    await barrier();
  }
  return result;
}
