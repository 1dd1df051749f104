// What a message by reference costs (φ): the probe run that measures it, its cost, and the
// samples' times less it.
import { referenceSendsOf } from '../model.js';
import type { ReferenceCostParams } from '../params.js';
import type { CalibrationComm, Sample, Run } from './types.js';
import { trafficOf } from './traffic.js';
import { fitLatencyBandwidth, sharedSamples } from './fit.js';

/**
 * The by-reference probe: the ring at the largest planned size (`sizes`) cut at half the agreed
 * chunk, or else at twice it, whichever sends its messages by reference as the planned run does
 * but a different count of them (shm's 8 MiB chunk: 1 MiB messages against 2 MiB at 4 and 8 ranks,
 * 4 MiB against 2 MiB at 2, where half cuts alike); undefined where neither does (messages below
 * the threshold). One ring call more a round: 14-18 ms at 4 shm ranks, 0.1-0.2 s a calibration.
 * Either chunk also changes how many pipelines overlap, which the term does not price: at 2 shm
 * ranks (twice the chunk: 2 pipelines against 4) φ came out 0.13-0.46 ms, at 4 (half: 4 against
 * 2; twice: 1 against 2) 0-0.55 ms, 0 in 7 of 12 calibrations, where bench/tune-ring-chunks.ts
 * measured 0.3 at 64 MiB (4-8 pipelines in every cut): docs/PERFORMANCE.md, ref20. Most of those
 * 0s were the own-chunk run's fresh buffer (largeSamples); with one buffer a size, 0.09-0.44 ms
 * at 4 ranks, 0 in none of 6 (phi21).
 */
export function referenceProbe(comm: CalibrationComm, threshold: number, sizes: readonly number[]): Run | undefined {
  const bytes = Math.max(...sizes);
  const sends = (chunkBytes: number) => referenceSendsOf(trafficOf(comm, 'ring', bytes, chunkBytes), { bytes: threshold, message: 0 });
  const planned = sends(comm.chunkBytes);
  if (planned === 0) return undefined;
  const chunkBytes = [Math.floor(comm.chunkBytes / 32) * 16, 2 * comm.chunkBytes].find((chunk) => chunk >= 16 && sends(chunk) > 0 && sends(chunk) !== planned);
  return chunkBytes === undefined ? undefined : { algorithm: 'ring', bytes, probe: true, chunkBytes };
}

/**
 * φ, what a message by reference costs (CostParams.reference), from the probe (the ring at its
 * largest planned size cut at another chunk size: referenceProbe) and that size's own ring run:
 * the same bytes, the same working set, r messages by reference in one and r' in the other, so
 * what one took beyond the other, past call + messages·α + sends·o (the fit of the shared runs),
 * is (r − r')·φ. Within [0, what the run's messages could cost] (β ≥ 0 there). Undefined without
 * both runs. (Two sizes at one chunk, 16 and 64 MiB, tried first: 4·b16 − b64 is a small
 * difference of large figures, and β itself falls past 16 MiB; φ came out 1.0-1.7 ms on 4 shm
 * ranks where a probe of chunks at one size measured 0.3.)
 */
export function referenceCost(samples: readonly Sample[], threshold: number): ReferenceCostParams | undefined {
  const probe = samples.find((s) => s.probe);
  const base = probe && samples.find((s) => !s.probe && s.algorithm === probe.algorithm && s.bytes === probe.bytes && !s.lower);
  if (probe === undefined || base === undefined) return undefined;
  const [call, alpha, overhead] = fitLatencyBandwidth(sharedSamples(samples));
  const beyond = (s: Sample) => s.seconds - (call + s.terms[1] * alpha + s.terms[2] * overhead);
  const sends = (s: Sample) => referenceSendsOf(s, { bytes: threshold, message: 0 });
  const [rb, rp] = [sends(base), sends(probe)];
  if (rb === rp) return undefined;
  const phi = (beyond(probe) - beyond(base)) / (rp - rb);
  const most = Math.max(0, Math.min(beyond(base) / Math.max(1, rb), beyond(probe) / Math.max(1, rp)));
  return { bytes: threshold, message: Math.min(Math.max(0, phi), most) };
}

/** `samples` with what their messages by reference cost under `reference` taken off their times. */
export function withoutReference(samples: readonly Sample[], reference: ReferenceCostParams): Sample[] {
  return samples.map((s) => {
    const sends = referenceSendsOf(s, reference);
    return sends === 0 ? s : { ...s, seconds: Math.max(0, s.seconds - sends * reference.message) };
  });
}
