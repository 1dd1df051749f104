// The β curves (pooled and each schedule's own) from the runs that are points, and the fixed parts
// they are priced beyond: each schedule's offset and the board's own fixed cost.
import { fixedSeconds } from '../model.js';
import { median } from '../median.js';
import { BOARD_JS_THREAD_BYTES, type BetaPoint, type BoardCostParams, type RootedCollective, type TimedCollective } from '../params.js';
import type { Sample, Fitted } from './types.js';
import { FEW_BYTES } from './plan.js';
import { pricedBy } from './fit.js';

/**
 * The β curve: for each call size whose runs are points (calibrate marks them), what its runs (ring and tree)
 * took beyond call + messages·α + sends·o, per byte on their link, pooled (their sum over their
 * link bytes' sum) at their mean link bytes. No least squares across sizes: each size is
 * priced by its own runs, which is the point of the curve. A size whose runs took no longer
 * than their fixed costs gets β = 0 (its bytes cost nothing measurable); points keep
 * ascending where the two schedules' mean link bytes of neighbouring sizes would cross.
 * With `algorithm`, that schedule's runs alone: its own curve (params.betaCurves). A run whose
 * figure is a lower quartile is priced beyond `lower`'s fixed costs (lowerFit). With `offsets`,
 * each schedule's fixed part is its own few-byte figure's (fixedOffsetsOf: the fit's plus its
 * offset), as the model prices it. The allreduce's runs, or with `collective` the rooted runs of
 * it (Sample.collective).
 */
export function curveOf(samples: readonly Sample[], fit: Fitted, algorithm?: string, lower: Fitted = fit, board?: BoardFixed, offsets?: FixedOffsets, collective?: RootedCollective): BetaPoint[] {
  const bySize = new Map<number, Sample[]>();
  for (const s of samples) if (s.point && s.bytes !== undefined && (algorithm === undefined || s.algorithm === algorithm) && s.collective === collective) bySize.set(s.bytes, [...(bySize.get(s.bytes) ?? []), s]);
  const curve: BetaPoint[] = [];
  for (const [, runs] of [...bySize].sort((x, y) => x[0] - y[0])) {
    const link = runs.reduce((sum, s) => sum + s.terms[3], 0);
    // Each run beyond the fixed costs of its own figure (a lower quartile's: the few-byte runs' lower quartiles').
    // What the model prices besides the bytes (fixedSeconds: the board's own where it has one).
    const fixed = (s: Sample) => {
      const [call, alpha, overhead] = s.lower ? lower : fit;
      const own = s.lower ? board?.lower : board?.median;
      const fixedOffsets = s.lower ? offsets?.lower : offsets?.median;
      // A rooted run's offsets are its schedule's broadcasts' (rootedOffsets), as the model prices it.
      const priced = fixedOffsets && (s.collective === undefined ? { fixedOffsets } : { rootedOffsets: fixedOffsets });
      return fixedSeconds(s.algorithm ?? '', { messages: s.terms[1], sends: s.terms[2] }, { call, alpha, overhead, ...(own && { board: own }), ...priced }, s.collective, s.bytes);
    };
    const beyond = runs.reduce((sum, s) => sum + Math.max(0, s.seconds - fixed(s)), 0);
    const linkBytes = link / runs.length;
    if (curve.length > 0 && !(linkBytes > curve.at(-1)!.linkBytes)) continue;
    curve.push({ linkBytes, beta: beyond / link });
  }
  return curve;
}

/** Each schedule's own curve (curveOf of its runs alone), for every schedule with runs that are points (an allreduce's, or with `collective`, that collective's). */
export function curvesByAlgorithm(samples: readonly Sample[], fit: Fitted, lower: Fitted = fit, board?: BoardFixed, offsets?: FixedOffsets, collective?: RootedCollective): Record<string, BetaPoint[]> {
  const names = [...new Set(samples.filter((s) => s.point && s.algorithm !== undefined && s.collective === collective).map((s) => s.algorithm!))].sort();
  return Object.fromEntries(names.map((name) => [name, curveOf(samples, fit, name, lower, board, offsets, collective)]));
}

/** Each schedule's offset (fixedOffsetsOf) beyond the fit of the few-byte medians and beyond lowerFit's, which curveOf prices median and lower-quartile points beyond. */
export interface FixedOffsets {
  readonly median: Readonly<Record<string, number>>;
  readonly lower: Readonly<Record<string, number>>;
}

/**
 * CostParams.fixedOffsets (`median`) and the offsets the curves' lower-quartile points are priced
 * beyond (`lower`): what each schedule's own few-byte run (fewByteSamples: ring, tree, direct)
 * took beyond what the fit prices it at, call + messages·α + sends·o + linkBytes·β, its medians
 * beyond `fit`, its lower quartiles beyond `lower` (lowerFit). Three schedules, three unknowns,
 * but each ≥ 0 and one α for every schedule's hops: on 4 tcp processes sharing 2 cores o came out
 * 0 in 5 of 5 calibrations and the tree's fixed part 1.1-1.6x its own few-byte figure
 * (docs/PERFORMANCE.md, reach23 (b)); there the direct exchange's came out under its own
 * (8-byte medians ring / tree / direct 1162 / 1006 / 398 µs, the fit's direct 253: day34).
 * Where the fit over-prices a schedule the offset is negative. Where it under-prices one, the
 * offset is positive only where its median and its lower quartile both lie over their fits, and
 * then the smaller of the two: a stall slows some calls, which moves a median (4 tcp processes: a
 * tree median 488 µs over the fit, its 64 KiB calls priced 2.1x, auto on the ring at 64 KiB-1
 * MiB; fixed24) but not the quartile of the fastest calls, where a schedule dearer than the fit
 * is dearer in every call. The board's runs (ownOnly) have fixed costs of their own (boardFixed).
 * With `collective`, the same of that collective's few-byte runs (rootedFewSamples:
 * CostParams.rootedOffsets; halfFewSamples: CostParams.halfOffsets), beyond the allreduces' fit.
 */
export function fixedOffsetsOf(samples: readonly Sample[], fit: Fitted, lower: Fitted, collective?: TimedCollective): FixedOffsets {
  const medians = residualsOf(samples, fit, false, collective);
  const quartiles = residualsOf(samples, lower, true, collective);
  const kept = (own: Record<string, number>, other: Record<string, number>) =>
    Object.fromEntries(Object.entries(own).map(([name, r]) => [name, r <= 0 ? r : Math.max(0, Math.min(r, other[name] ?? 0))]));
  return { median: kept(medians, quartiles), lower: kept(quartiles, medians) };
}

/** Each schedule's few-byte figures (its lower quartiles with `lower`, else its medians) less what `fit` prices them at: their median, by schedule name in order (an allreduce's, or with `collective`, that collective's). */
function residualsOf(samples: readonly Sample[], fit: Fitted, lower: boolean, collective?: TimedCollective): Record<string, number> {
  const few = samples.filter((s) => s.bytes === FEW_BYTES && !s.point && !s.probe && !s.ownOnly && s.algorithm !== undefined && (s.lower === true) === lower && s.collective === collective);
  const byAlgorithm = new Map<string, number[]>();
  for (const s of few) byAlgorithm.set(s.algorithm!, [...(byAlgorithm.get(s.algorithm!) ?? []), s.seconds - pricedBy(s, fit)]);
  return Object.fromEntries([...byAlgorithm].sort((x, y) => x[0].localeCompare(y[0])).map(([name, residuals]) => [name, median(residuals)]));
}

/** The board's own fixed cost (boardFixed) as its median few-byte figure and as its lower quartile, which its curve's lower-quartile points are priced beyond. */
export interface BoardFixed {
  readonly median: BoardCostParams;
  readonly lower: BoardCostParams;
}

/**
 * The board's fixed cost from its few-byte runs (calibrate times them beside the other
 * schedules', ownOnly): each figure's time is the whole call (its bytes' cost is a few ns).
 * Undefined where the board was not timed.
 */
export function boardFixed(samples: readonly Sample[]): BoardFixed | undefined {
  const few = samples.filter((s) => s.algorithm === 'board' && !s.point);
  const median = few.find((s) => !s.lower);
  const lower = few.find((s) => s.lower) ?? median;
  if (!median || !lower) return undefined;
  const handed = handedOverSeconds(samples);
  const over = handed === undefined ? {} : { handedOver: handed };
  return { median: { call: median.seconds, ...over }, lower: { call: lower.seconds, ...over } };
}

/**
 * What a board allreduce past BOARD_JS_THREAD_BYTES costs besides its bytes (BoardCostParams.
 * handedOver): the intercept at no link bytes of the line through its two smallest curve points
 * past that size (256 KiB and 1 MiB, lower quartiles both), within [0, the smaller one's time].
 * Its few-byte calls' cost is not it (they spin on the JS thread first), and priced beyond that,
 * the points past it came out 0 wherever those calls were cheaper than the few-byte ones.
 * Undefined with fewer than two such points.
 */
export function handedOverSeconds(samples: readonly Sample[]): number | undefined {
  const points = samples.filter((s) => s.algorithm === 'board' && s.point && (s.bytes ?? 0) > BOARD_JS_THREAD_BYTES).sort((a, b) => a.terms[3] - b.terms[3]);
  if (points.length < 2) return undefined;
  const [p1, p2] = [points[0]!, points[1]!];
  const slope = (p2.seconds - p1.seconds) / (p2.terms[3] - p1.terms[3]);
  return Math.min(p1.seconds, Math.max(0, p1.seconds - slope * p1.terms[3]));
}
