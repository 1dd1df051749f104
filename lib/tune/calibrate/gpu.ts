// GPU memory's runs and terms: γ_gpu from the device's fold, the GPU runs' plan, and what the GPU
// call costs beyond the host's (gpuCosts).
import type { BoardCostParams, GpuCostParams } from '../params.js';
import type { CalibrationComm, GpuCalibration, Timed, HostFit } from './types.js';
import { trafficOf, termsOf } from './traffic.js';
import { FEW_BYTES, plannedRuns } from './plan.js';
import { fitLatencyBandwidth } from './fit.js';

/**
 * The GPU warm-up's time budget (WARM_CALLS calls at most): 2 inproc ranks' 8-byte GPU calls ran
 * 470-830 µs a call right after the host runs, 340-420 after 1024 more (0.7 s; the first few
 * hundred take 1-1.5 ms each, so 0.5 s ran about 380), as the sweep's warm worlds' did. Timed
 * cold, they priced the few-byte GPU calls 35-62% over (the sweeps' signed medians, gpu19).
 */
export const GPU_WARM_SECONDS = 1;

/** Bytes of the larger fold timed for γ_gpu: a few milliseconds on a software adapter, past the submission's fixed cost. */
const GPU_FOLD_BYTES = 4 << 20;

/**
 * γ_gpu: the slope of the device's fold time between a sixteenth of GPU_FOLD_BYTES and all of
 * it (the submission's fixed cost cancels), each the fastest of five; where noise makes the
 * slope vanish, the large fold's whole time per byte (an upper bound, never zero).
 */
export async function gpuFoldRate(gpu: GpuCalibration): Promise<number> {
  const small = GPU_FOLD_BYTES / 16;
  const fastest = async (n: number) => { let best = Infinity; for (let i = 0; i < 5; i++) best = Math.min(best, await gpu.fold(n)); return best; };
  await gpu.fold(GPU_FOLD_BYTES);
  const [t0, t1] = [await fastest(small), await fastest(GPU_FOLD_BYTES)];
  const slope = (t1 - t0) / (GPU_FOLD_BYTES - small);
  return slope > 0 ? slope : t1 / GPU_FOLD_BYTES;
}

/**
 * The larger GPU runs: ring and tree at half a chunk and four chunks, the direct exchange at its
 * small size, timed after the few-byte GPU runs (fewBytePass, as on host memory): right after the
 * tree's four-chunk GPU run the direct exchange's 8-byte GPU calls took 618-964 µs (2 inproc, 2 tcp
 * ranks) where the sweep's, and the same calibration's ring's timed before any larger run, took
 * 290-650 (gpu19; measured before the GPU warm-up, not apart from it).
 */
export function plannedGpuRuns(chunk: number, ranks: number, repeats: number): (readonly [string, number, number])[] {
  return plannedRuns(chunk, ranks, repeats).filter(([, bytes]) => bytes > FEW_BYTES && bytes <= 4 * chunk);
}

/**
 * GPU terms: the GPU runs fitted like the host samples (γ_gpu and the host's α, the link's
 * latency, subtracted: the memory changes each message's work, not its flight), so call, o and
 * β only; what exceeds the host's figures is the GPU's.
 */
export function gpuCosts(comm: CalibrationComm, runs: readonly Timed[], gpuGamma: number, host: HostFit, board: BoardCostParams | undefined, offsets: Readonly<Record<string, number>>): GpuCostParams {
  // The host schedules' own offsets too (fixedOffsetsOf): the model adds them to GPU calls' host part as well.
  const fitted = fitLatencyBandwidth(runs.filter((r) => r.algorithm !== 'board').map((r) => {
    const traffic = trafficOf(comm, r.algorithm, r.bytes);
    return { terms: termsOf(comm, traffic), seconds: Math.max(0, r.seconds - traffic.reducedBytes * gpuGamma - traffic.messages * host.alpha - (offsets[r.algorithm] ?? 0)) };
  }), [0, 2]);
  const gpu: GpuCostParams = { call: Math.max(0, fitted[0] - host.call), message: Math.max(0, fitted[2] - host.overhead), stage: Math.max(0, fitted[3] - host.beta), gamma: gpuGamma };
  // The board's few-byte GPU call beyond its host fixed cost: its read-back and write (it sends no message, so the fit says nothing of it).
  const few = runs.find((r) => r.algorithm === 'board');
  return few && board ? { ...gpu, board: Math.max(0, few.seconds - board.call - few.bytes * gpu.stage) } : gpu;
}
