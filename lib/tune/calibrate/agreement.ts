// Agreement across ranks: a rank's measured figures as one vector for the maximum over ranks, and back.
import type { CodecRate } from '../params.js';
import type { CalibrationComm, Measured, Sample } from './types.js';

/** A rank's measurements as one vector, for the maximum over ranks: γ, the copy's rate, encode and decode per codec (in `names` order), each sample's, switch run's and GPU run's seconds, γ_gpu. */
export function flatten(m: Measured, names: readonly string[]): Float32Array {
  return Float32Array.from([
    m.gamma, m.copy, ...names.flatMap((n) => [m.codecs[n]!.encode, m.codecs[n]!.decode]), ...m.samples.map((s) => s.seconds), ...m.boardCollectives,
    ...m.switchRuns.map((r) => r.seconds), ...m.gpuRuns.map((r) => r.seconds), ...(m.gpuGamma === undefined ? [] : [m.gpuGamma]),
  ]);
}

/** `shape` with its figures replaced by `values` (laid out by flatten). */
export function unflatten(values: Float32Array, shape: Measured, names: readonly string[]): Measured {
  let at = 0;
  const next = () => values[at++]!;
  const gamma = next();
  const copy = next();
  const codecs: Record<string, CodecRate> = {};
  for (const name of names) codecs[name] = { encode: next(), decode: next() };
  const samples = shape.samples.map((s) => ({ ...s, seconds: next() }));
  const boardCollectives = shape.boardCollectives.map(() => next());
  const switchRuns = shape.switchRuns.map((r) => ({ ...r, seconds: next() }));
  const gpuRuns = shape.gpuRuns.map((r) => ({ ...r, seconds: next() }));
  return { gamma, copy, codecs, samples, boardCollectives, switchRuns, gpuRuns, ...(shape.gpuGamma !== undefined && { gpuGamma: next() }) };
}

/**
 * The larger runs' figures (and the rooted schedules' few-byte ones: rootedFewSamples) as every
 * rank takes them: an allreduce's the fastest rank's, as for the few-byte runs (fewBytePass): a
 * rank that left the previous call early counts its wait for the last peer to join, and
 * alternating schedules leave the ranks further apart (the tree's root leaves last). The last to join waited for no one, and still for the slowest link: its call
 * cannot end before that link's bytes arrive. A rooted run's (the broadcast) halfway between its
 * fastest rank's and its slowest's: its root and inner ranks end once the kernel has taken their
 * sends and run ahead of its leaves by what the sockets hold, and webccl-perf (as nccl-tests)
 * reports a call's mean over the ranks, which lies between the two. On the quarter-rate rack (4
 * tcp ranks, bench/switch-rack.sh -s 4 -S 2) the fastest rank's figure priced the tree's 1-16 MiB
 * broadcasts 43-61% under and its reduces 32-46%, the slowest rank's 18-60% and 15-35% over; on
 * the even rack the slowest rank's broadcasts 18-26% over (docs/PERFORMANCE.md, rooted40). The
 * halves' few-byte runs too (halfFewSamples): 4 ntcp ranks' all-gathers, the fastest rank's
 * figure, were priced 352-562 µs at 64 B-4 KiB where the sweeps ran them at 479-886 (halves46).
 */
export async function agreedSeconds<S extends Pick<Sample, 'seconds' | 'collective'>>(samples: readonly S[], maxAll: CalibrationComm['maxAll']): Promise<S[]> {
  // Every figure negated (the fastest rank's), then each other collective's (rooted or a half) as it is (the slowest rank's): one maximum gives both.
  const others = samples.flatMap((s, i) => (s.collective === undefined ? [] : [i]));
  const agreed = await maxAll(Float32Array.from([...samples.map((s) => -s.seconds), ...others.map((i) => samples[i]!.seconds)]));
  const slowest = new Map(others.map((i, k) => [i, agreed[samples.length + k]!]));
  return samples.map((s, i) => {
    const fastest = -agreed[i]!;
    const slow = slowest.get(i);
    return { ...s, seconds: slow === undefined ? fastest : (fastest + slow) / 2 };
  });
}
