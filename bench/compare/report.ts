// The side-by-side table of the comparison: busbw of every contestant per size, then webccl's
// ratio to each peer (above 1: webccl is faster), then the 8-byte latency line.
import { busBandwidth } from '../perf/bandwidth.js';
import { formatBytes } from '../perf/sizes.js';
import { reduces } from '../perf/names.js';
import type { CompareCollective, PeerResult } from './peer.js';

type Measured = Extract<PeerResult, { timesUs: ReadonlyMap<number, number> }>;

function measured(results: readonly PeerResult[]): Measured[] {
  return results.filter((r): r is Measured => 'timesUs' in r);
}

function cell(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

/** busbw (GB/s) of one contestant at one size, or undefined when it has no point there. */
function busbwAt(result: Measured, bytes: number, ranks: number, collective: CompareCollective): number | undefined {
  const timeUs = result.timesUs.get(bytes);
  return timeUs === undefined ? undefined : busBandwidth(collective, ranks, bytes, timeUs);
}

/** The table's title: what every contestant ran. */
export function compareTitle(collective: CompareCollective, ranks: number): string {
  return `${collective} float32${reduces(collective) ? ' sum' : ''}, in place, CPU memory, ${ranks} ranks`;
}

/**
 * `webccl` names the contestants that are webccl (one per transport); the others are peers.
 * Ratios are webccl busbw / peer busbw for every (webccl transport, peer) pair.
 */
export function comparisonTable(
  results: readonly PeerResult[], webccl: readonly string[], sizes: readonly number[], ranks: number, collective: CompareCollective = 'allreduce',
): string[] {
  const all = measured(results);
  const ours = all.filter((r) => webccl.includes(r.name));
  const peers = all.filter((r) => !webccl.includes(r.name));
  const pairs = ours.flatMap((w) => peers.map((p) => [w, p] as const));
  const width = (name: string): number => Math.max(9, name.length);
  const header = ['size'.padStart(9), ...all.map((r) => r.name.padStart(width(r.name))), ...pairs.map(([w, p]) => `${w.name}/${p.name}`.padStart(width(`${w.name}/${p.name}`)))];
  const lines = [`# ${compareTitle(collective, ranks)}: busbw in GB/s and webccl/peer ratios (>1: webccl faster)`, header.join('  ')];
  for (const bytes of sizes) {
    const bw = new Map(all.map((r) => [r.name, busbwAt(r, bytes, ranks, collective)]));
    const ratios = pairs.map(([w, p]) => {
      const ratio = (bw.get(w.name) ?? NaN) / (bw.get(p.name) ?? NaN);
      return cell(ratio, 2).padStart(width(`${w.name}/${p.name}`));
    });
    lines.push([formatBytes(bytes).padStart(9), ...all.map((r) => cell(bw.get(r.name), 3).padStart(width(r.name))), ...ratios].join('  '));
  }
  return lines;
}

/** Latency at the smallest size: time per call and webccl's time as a multiple of each peer's (<1: webccl faster). */
export function latencyLines(results: readonly PeerResult[], webccl: readonly string[], bytes: number, collective: CompareCollective = 'allreduce'): string[] {
  const all = measured(results);
  const lines = [`# ${formatBytes(bytes)} latency (us per ${collective}): ${all.map((r) => `${r.name} ${cell(r.timesUs.get(bytes), 1)}`).join(', ')}`];
  for (const w of all.filter((r) => webccl.includes(r.name))) {
    for (const p of all.filter((r) => !webccl.includes(r.name))) {
      const ratio = (w.timesUs.get(bytes) ?? NaN) / (p.timesUs.get(bytes) ?? NaN);
      lines.push(`#   ${w.name} takes ${cell(ratio, 2)}x the time of ${p.name}`);
    }
  }
  return lines;
}

export function missingLines(results: readonly PeerResult[]): string[] {
  return results.flatMap((r) => ('missing' in r ? [`# ${r.name}: not measured, ${r.missing}`] : []));
}
