// Agreement across ranks: a rank's measured figures as one vector for the maximum over ranks, and back.
import type { CodecRate } from '../params.js';
import type { Measured } from './types.js';

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
