// bench:compare's --plot: every contestant that ran (webccl over each transport, Gloo, MPI) as one
// series of allreduce busbw against size, in the same SVG picture as webccl-perf --plot.
import { writeFile } from 'node:fs/promises';
import { busBandwidth } from '../perf/bandwidth.js';
import { renderBusbwSvg, type PlotSeries } from '../perf/plot.js';
import type { PeerResult } from './peer.js';

/** Contestants that were not measured have no line (the table names them as missing). */
export function compareSeries(results: readonly PeerResult[], ranks: number): PlotSeries[] {
  return results.flatMap((result) => ('timesUs' in result ? [{
    name: result.name,
    points: [...result.timesUs].map(([bytes, timeUs]) => ({ bytes, busbw: busBandwidth('allreduce', ranks, bytes, timeUs) })),
  }] : []));
}

export async function writeComparePlot(file: string, results: readonly PeerResult[], ranks: number): Promise<void> {
  const title = `allreduce float32 sum, ${ranks} ranks, CPU memory: webccl and its peers`;
  await writeFile(file, renderBusbwSvg(title, compareSeries(results, ranks)));
}
