// Fitting call, α, o and β to the samples: non-negative least squares of relative errors, the
// latency-bound and the bandwidth-bound runs apart (fitLatencyBandwidth).
import type { Sample, Fitted } from './types.js';

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
  // Dependent columns leave a pivot at rounding level, relative to the system's own size.
  const tiny = 1e-9 * Math.max(...a.map((row, r) => Math.abs(row[r]!)));
  for (let col = 0; col < k; col++) {
    const pivot = a.slice(col).reduce((best, row, i) => (Math.abs(row[col]!) > Math.abs(a[best]![col]!) ? col + i : best), col);
    if (!(Math.abs(a[pivot]![col]!) > tiny)) return undefined;
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
 * Columns `use` ≥ 0 fitting `samples` best: the least-squares fit (relative errors) of every
 * subset of the columns, the non-negative one with the least residual (exact non-negative least
 * squares: its optimum is the plain least squares of its own support; a few unknowns make 16
 * subsets at most); unused columns are 0. Ties go to the larger subset, then to the one that
 * drops the later columns. Dropping the most negative column and then, where the columns are
 * dependent, the last (as before) took the wrong face: with two ranks every schedule sends
 * 2·hops − 1 messages (sends = 2·messages − call), so call, α and o span two dimensions, and
 * with o dropped no ring could cost over 2x the direct exchange (call ≥ 0), though 2 tcp ranks
 * measured 2.7-3x (185 against 505-550 us at 8 bytes): α came out 226-338 us, the direct
 * exchange predicted 15-40% over, ring and tree 20% under. Call and o fit them exactly.
 */
function nonNegativeFit(samples: readonly Sample[], use: readonly number[]): Fitted {
  let best: { fit: Fitted; residual: number } | undefined;
  for (const subset of subsetsOf(use)) {
    const solved = samples.length === 0 ? undefined : leastSquares(samples, subset);
    if (solved === undefined || solved.some((v) => v < 0)) continue;
    const fit: Fitted = [0, 0, 0, 0];
    subset.forEach((j, i) => { fit[j] = solved[i]!; });
    const residual = relativeResidual(samples, fit);
    if (best === undefined || residual < best.residual * (1 - 1e-9) - 1e-30) best = { fit, residual };
  }
  return best?.fit ?? [0, 0, 0, 0];
}

/** Every non-empty subset of `columns`, larger first; of one size, those that keep the earlier columns first. */
function subsetsOf(columns: readonly number[]): number[][] {
  const subsets: number[][] = [];
  for (let mask = (1 << columns.length) - 1; mask > 0; mask--) subsets.push(columns.filter((_, i) => mask & (1 << (columns.length - 1 - i))));
  return subsets.sort((a, b) => b.length - a.length);
}

/** What `fit` prices sample `s` at: its terms (call, messages, sends, link bytes) times the fit's parameters. */
export function pricedBy(s: Sample, fit: readonly number[]): number {
  return s.terms.reduce((sum, term, j) => sum + term * fit[j]!, 0);
}

/** Σ((predicted − measured) / measured)², the quantity leastSquares minimises. */
function relativeResidual(samples: readonly Sample[], fit: Fitted): number {
  return samples.reduce((sum, s) => {
    const predicted = pricedBy(s, fit);
    const weight = s.seconds > 0 ? 1 / s.seconds : 1;
    return sum + (weight * (predicted - s.seconds)) ** 2;
  }, 0);
}

/** Past this many bytes on the link a run is no longer latency-bound: β·bytes is a visible share of it. */
const LATENCY_LINK_BYTES = 4096;

/**
 * call, α, o, β ≥ 0 fitting the samples, in two parts so that neither regime bends the other:
 * call, α and o from the latency-bound runs (a few bytes on the link: the schedules' different
 * counts of messages in sequence and of messages sent, at about the same bytes, separate them),
 * β from the others given those: least squares of relative errors, which weighs each run's
 * seconds per link byte by (its bytes' share of its time)², so a run that latency dominates,
 * or one a loaded host stalled (its time 10x, its weight 1/100), moves β little. (The median
 * of the runs' seconds per byte, tried instead, gave every run one vote: half-chunk runs,
 * whose per-byte cost is 2x the larger runs', set it, and bench/tune-sweep.ts over 3
 * alternated pairs had a median error of 41% against this fit's 34%.) A joint fit let the large runs, whose errors in the formulas'
 * byte counts are larger than a small call's whole time, pull call and α several times off
 * (bench/tune-sweep.ts measured small calls 2-3x slower than predicted). Each part subtracts the
 * other's current estimate; a few rounds converge (the coupling is a few bytes' β). Without
 * enough runs of one kind, all are fitted jointly. `latency` names the columns the
 * latency-bound runs fit (the GPU fit leaves α to the host's).
 */
export function fitLatencyBandwidth(samples: readonly Sample[], latency: readonly number[] = [0, 1, 2]): Fitted {
  const small = samples.filter((s) => s.terms[3] <= LATENCY_LINK_BYTES);
  const large = samples.filter((s) => s.terms[3] > LATENCY_LINK_BYTES);
  if (small.length < 2 || large.length === 0) return nonNegativeFit(samples, [...latency, 3]);
  let beta = 0;
  let fixed: Fitted = [0, 0, 0, 0];
  const less = (s: Sample, seconds: number): Sample => ({ terms: s.terms, seconds: Math.max(0, s.seconds - seconds) });
  for (let round = 0; round < 4; round++) {
    fixed = nonNegativeFit(small.map((s) => less(s, s.terms[3] * beta)), latency);
    const [call, alpha, overhead] = fixed;
    beta = nonNegativeFit(large.map((s) => less(s, call + s.terms[1] * alpha + s.terms[2] * overhead)), [3])[3];
  }
  return [fixed[0], fixed[1], fixed[2], beta];
}

/**
 * call, α and o of the few-byte allreduces' lower quartiles (the samples marked lower that are not
 * points, nor a rooted collective's), β the fit's: what the mid sizes' points, lower quartiles too, are priced beyond.
 * Their medians' fixed costs, subtracted from lower quartiles, took the quartiles' gap for
 * negative bytes: a 64 KiB point came out 0 in every calibration of 8 for the direct exchange,
 * 0-5.7 ns/B for ring and tree. `fit` itself where there are none.
 */
export function lowerFit(samples: readonly Sample[], fit: Fitted): Fitted {
  // Less their few bytes' β, as fitLatencyBandwidth fits the medians.
  const few = samples.filter((s) => s.lower && !s.point && !s.ownOnly && !s.offsetOnly && s.collective === undefined).map((s) => ({ terms: s.terms, seconds: Math.max(0, s.seconds - s.terms[3] * fit[3]) }));
  if (few.length < 2) return fit;
  const [call, alpha, overhead] = nonNegativeFit(few, [0, 1, 2]);
  return [call, alpha, overhead, fit[3]];
}

/** The samples the fit of call, α, o and β and the pooled curve take: not a schedule's own, nor the few-byte lower quartiles, nor the probe, nor a rooted run, nor one for an offset only. */
export function sharedSamples(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => !s.ownOnly && !s.offsetOnly && !(s.lower && !s.point) && !s.probe && s.collective === undefined);
}
