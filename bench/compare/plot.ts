// bench:compare's --plot: every contestant that ran (webccl over each transport, Gloo, MPI) as one
// series of the collective's busbw against size, in the same SVG picture as webccl-perf --plot.
import { writeFile } from 'node:fs/promises';
import { busBandwidth } from '../perf/bandwidth.js';
import { renderBusbwSvg, type PlotSeries } from '../perf/plot.js';
import { compareTitle } from './report.js';
import type { CompareCollective, PeerResult } from './peer.js';

/** Contestants that were not measured have no line (the table names them as missing). */
export function compareSeries(results: readonly PeerResult[], ranks: number, collective: CompareCollective = 'allreduce'): PlotSeries[] {
  return results.flatMap((result) => ('timesUs' in result ? [{
    name: result.name,
    points: [...result.timesUs].map(([bytes, timeUs]) => ({ bytes, busbw: busBandwidth(collective, ranks, bytes, timeUs) })),
  }] : []));
}

export async function writeComparePlot(file: string, results: readonly PeerResult[], ranks: number, collective: CompareCollective): Promise<void> {
  await writeFile(file, renderBusbwSvg(`${compareTitle(collective, ranks)}: webccl and its peers`, compareSeries(results, ranks, collective)));
}
