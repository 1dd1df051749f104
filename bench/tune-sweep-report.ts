// Where bench/tune-sweep.ts's prediction error is: each (transport, ranks, algorithm, size)
// point's prediction against the median of its rounds, next to the rounds' own spread, and the
// worst tenth of the points grouped by size band, algorithm, transport and ranks. A point whose
// rounds differ 3x cannot be predicted within 50% by any model, so the report tells such noise
// from model error: a point is "inside its spread" when the prediction lies between its fastest
// and slowest round, and its error "beyond the spread" is the distance from the prediction to
// that range, over the median (0 inside it). Pure functions of the sweep's figures.
import type { CostParams } from '../lib/tune/params.js';

/** One measured point of the sweep: every round's time (µs) of one choice at one size. */
export interface SweepPoint {
  readonly transport: string;
  readonly ranks: number;
  /** The fixed choice timed, or 'auto' (then `ran` is what auto ran). */
  readonly algorithm: string;
  readonly ran?: string;
  readonly bytes: number;
  readonly predictedUs: number;
  /** Every timed round, µs per call. */
  readonly roundsUs: readonly number[];
}

/** One world a sweep measured: what its predictions were priced with. */
export interface SweptWorld {
  readonly transport: string;
  readonly ranks: number;
  readonly chunkBytes: number;
  readonly pipelineDepth: number;
  readonly memory: 'cpu' | 'gpu';
  /** The transport offers a collective board (auto may run it). */
  readonly board: boolean;
  readonly params: CostParams;
}

export interface PointStats extends SweepPoint {
  readonly measuredUs: number;
  /** |predicted − median| / median. */
  readonly error: number;
  /** (predicted − median) / median. */
  readonly signed: number;
  /** Slowest round over fastest. */
  readonly spread: number;
  /** Distance from the prediction to [fastest, slowest] round, over the median (0 inside). */
  readonly beyond: number;
}

function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The middle value (of an even count, the upper middle, as the sweep's medians). */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('medianOf: no values');
  return sortedCopy(values)[Math.floor(values.length / 2)]!;
}

/** The median proper: of an even count, the mean of the two middle values (pooling two runs must not keep each point's worse one). */
export function midpointMedian(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('midpointMedian: no values');
  const sorted = sortedCopy(values);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
}

export function pointStats(point: SweepPoint): PointStats {
  const rounds = sortedCopy(point.roundsUs);
  const measuredUs = medianOf(rounds);
  const [lo, hi] = [rounds[0]!, rounds.at(-1)!];
  const p = point.predictedUs;
  const outside = p < lo ? lo - p : p > hi ? p - hi : 0;
  return {
    ...point, measuredUs, error: Math.abs(p - measuredUs) / measuredUs, signed: (p - measuredUs) / measuredUs,
    spread: lo > 0 ? hi / lo : Infinity, beyond: outside / measuredUs,
  };
}

/** The size bands the report groups by: where fixed costs dominate, the curve's mid sizes, the large calls. */
export function sizeBand(bytes: number): string {
  if (bytes <= 8 << 10) return '8B-8K';
  if (bytes <= 512 << 10) return '32K-512K';
  if (bytes <= 4 << 20) return '1M-4M';
  return '>4M';
}

/** The q-quantile of sorted values (nearest rank below, as the sweep's 90th percentile). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

export interface Summary {
  readonly points: number;
  readonly median: number;
  readonly p90: number;
  readonly worst: PointStats;
  /** The same over the error beyond each point's own round spread. */
  readonly beyondMedian: number;
  readonly beyondP90: number;
  readonly beyondWorst: number;
  /** Points whose prediction lies inside their rounds' range. */
  readonly inside: number;
  /** Median slowest/fastest round over the points. */
  readonly medianSpread: number;
}

export function summarize(stats: readonly PointStats[]): Summary {
  if (stats.length === 0) throw new RangeError('summarize: no points');
  const errors = sortedCopy(stats.map((s) => s.error));
  const beyond = sortedCopy(stats.map((s) => s.beyond));
  return {
    points: stats.length, median: quantile(errors, 0.5), p90: quantile(errors, 0.9),
    worst: stats.reduce((a, b) => (b.error > a.error ? b : a)),
    beyondMedian: quantile(beyond, 0.5), beyondP90: quantile(beyond, 0.9), beyondWorst: beyond.at(-1)!,
    inside: stats.filter((s) => s.beyond === 0).length, medianSpread: medianOf(stats.map((s) => s.spread)),
  };
}

/** A group's share of the worst points against its share of all points. */
export interface GroupRow {
  readonly key: string;
  readonly worst: number;
  readonly all: number;
  /** Median signed error of the group's worst points (over-predicted > 0). */
  readonly signed: number;
}

/** The worst `fraction` of the points by error, counted by `keyOf`, most frequent first. */
export function worstBy(stats: readonly PointStats[], keyOf: (s: PointStats) => string, fraction = 0.1): GroupRow[] {
  const worst = [...stats].sort((a, b) => b.error - a.error).slice(0, Math.max(1, Math.ceil(stats.length * fraction)));
  const keys = new Set(worst.map(keyOf));
  return [...keys].map((key) => {
    const mine = worst.filter((s) => keyOf(s) === key);
    return { key, worst: mine.length, all: stats.filter((s) => keyOf(s) === key).length, signed: medianOf(mine.map((s) => s.signed)) };
  }).sort((a, b) => b.worst - a.worst || a.key.localeCompare(b.key));
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The report's lines: the summary, then the worst tenth grouped four ways and the noise-bound count. */
export function reportLines(stats: readonly PointStats[]): string[] {
  const s = summarize(stats);
  const lines = [
    `# prediction error |pred - median of rounds| / median over ${s.points} points: median ${pct(s.median)}, 90th ${pct(s.p90)}, worst ${pct(s.worst.error)} (${where(s.worst)})`,
    `# the rounds' own spread (slowest / fastest round of a point): median ${s.medianSpread.toFixed(2)}x; prediction inside the rounds' range at ${s.inside} of ${s.points}`,
    `# error beyond the rounds' range (0 inside it): median ${pct(s.beyondMedian)}, 90th ${pct(s.beyondP90)}, worst ${pct(s.beyondWorst)}`,
  ];
  const worst = [...stats].sort((a, b) => b.error - a.error).slice(0, Math.max(1, Math.ceil(stats.length * 0.1)));
  const noisy = worst.filter((p) => p.beyond === 0).length;
  lines.push(`# worst 10% (${worst.length} points, error >= ${pct(worst.at(-1)!.error)}): ${noisy} inside their own rounds' range (noise), ${worst.length - noisy} outside (model)`);
  const groupings: [string, (p: PointStats) => string][] = [
    ['size', (p) => sizeBand(p.bytes)], ['algorithm', (p) => p.ran ?? p.algorithm],
    ['transport', (p) => `${p.transport} np${p.ranks}`], ['sign', (p) => (p.signed > 0 ? 'over' : 'under')],
  ];
  for (const [name, keyOf] of groupings) {
    lines.push(`#   by ${name}: ${worstBy(stats, keyOf).map((g) => `${g.key} ${g.worst}/${g.all} (${g.signed > 0 ? '+' : ''}${pct(g.signed)})`).join(', ')}`);
  }
  return lines;
}

export function where(p: SweepPoint): string {
  return `${p.transport} np${p.ranks} ${p.bytes}B ${p.algorithm}${p.ran ? `=${p.ran}` : ''}`;
}

/** One line per point: predicted, median, fastest-slowest round, error, error beyond the range. */
export function pointLine(p: PointStats): string {
  const rounds = sortedCopy(p.roundsUs);
  return `  ${p.transport.padEnd(6)} np${String(p.ranks).padEnd(2)} ${String(p.bytes).padStart(9)} ${(p.ran ? `auto=${p.ran}` : p.algorithm).padEnd(11)} pred ${p.predictedUs.toFixed(0).padStart(8)} med ${p.measuredUs.toFixed(0).padStart(8)} rounds ${rounds[0]!.toFixed(0)}-${rounds.at(-1)!.toFixed(0)} (${p.spread.toFixed(2)}x) err ${(p.signed > 0 ? '+' : '') + pct(p.signed)} beyond ${pct(p.beyond)}`;
}

/** A group's median signed error in each run, where it has the same sign in all of them and at least `floor` in each. */
export interface Bias {
  readonly key: string;
  readonly perRun: readonly number[];
}

/**
 * Groups (transport, ranks, schedule run, size band) whose median signed error has one sign in
 * every run and is at least `floor` in each: the model's or calibration's bias, where noise would
 * flip the sign between runs. Largest smallest-bias first; groups missing from a run are left out.
 */
export function consistentBiases(runs: readonly (readonly PointStats[])[], floor = 0.3): Bias[] {
  const keyOf = (p: PointStats) => `${p.transport} np${p.ranks} ${p.algorithm === 'auto' ? `auto=${p.ran ?? '?'}` : p.algorithm} ${sizeBand(p.bytes)}`;
  const perRun = runs.map((points) => {
    const groups = new Map<string, number[]>();
    for (const p of points) groups.set(keyOf(p), [...(groups.get(keyOf(p)) ?? []), p.signed]);
    return new Map([...groups].map(([key, signed]) => [key, medianOf(signed)]));
  });
  const keys = [...(perRun[0]?.keys() ?? [])].filter((key) => perRun.every((run) => run.has(key)));
  return keys.map((key) => ({ key, perRun: perRun.map((run) => run.get(key)!) }))
    .filter(({ perRun: r }) => (r.every((x) => x > 0) || r.every((x) => x < 0)) && r.every((x) => Math.abs(x) >= floor))
    .sort((a, b) => Math.min(...b.perRun.map(Math.abs)) - Math.min(...a.perRun.map(Math.abs)));
}

/** Several runs' points pooled: each point's median error over the runs, and the biases of one sign in every run (consistentBiases). */
export function poolLines(runs: readonly (readonly PointStats[])[]): string[] {
  const byPoint = new Map<string, number[]>();
  for (const points of runs) for (const p of points) byPoint.set(where(p), [...(byPoint.get(where(p)) ?? []), p.error]);
  const pooled = [...byPoint.values()].map(midpointMedian).sort((a, b) => a - b);
  return [
    `# pooled, each point's median error over ${runs.length} runs: median ${pct(pooled[Math.floor(pooled.length / 2)]!)}, 90th ${pct(pooled[Math.floor(pooled.length * 0.9)]!)}, worst ${pct(pooled.at(-1)!)}`,
    '# biases of one sign in every run (group: each run\'s median signed error):',
    ...consistentBiases(runs).map((bias) => `  ${bias.key}: ${bias.perRun.map((x) => `${x > 0 ? '+' : ''}${pct(x)}`).join(' ')}`),
  ];
}
