// webccl-perf's --plot: the run's rows as plot series, one per (algorithm, transport, op/type),
// drawing the out-of-place busbw (the column nccl-tests users usually quote), each beside the
// busbw the cost model's predicted time would give ("... predicted"), and with --versus one
// series per algorithm raced with the run's own.
import { writeFile } from 'node:fs/promises';
import type { PerfOptions } from './args.js';
import { renderBusbwSvg, type PlotSeries } from './plot.js';
import type { RunFacts } from './report.js';
import type { ResultRow } from './results.js';
import { busBandwidth } from './bandwidth.js';
import type { PerfCollective } from './names.js';

/** "ring tcp sum/float"; collectives that do not reduce name the type alone. */
export function seriesName(facts: RunFacts, row: ResultRow): string {
  // The transport's description may carry details after its name ("websocket (...)").
  const transport = facts.transport.split(/\s/)[0]!;
  return `${facts.algorithm} ${transport} ${row.redop === 'none' ? row.type : `${row.redop}/${row.type}`}`;
}

export function perfSeries(facts: RunFacts, rows: readonly ResultRow[], collective?: PerfCollective): PlotSeries[] {
  const byName = new Map<string, { bytes: number; busbw: number }[]>();
  const add = (name: string, bytes: number, busbw: number) => {
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name)!.push({ bytes, busbw });
  };
  for (const row of rows) add(seriesName(facts, row), row.bytes, row.outOfPlace.busbw);
  if (collective !== undefined) {
    for (const row of rows) {
      if (row.predictedUs !== undefined) add(`${seriesName(facts, row)} predicted`, row.bytes, busBandwidth(collective, facts.ranks, row.bytes, row.predictedUs));
    }
    // --versus: each named algorithm's line, raced with the run's own.
    for (const row of rows) {
      for (const rival of row.versus ?? []) add(seriesName({ ...facts, algorithm: rival.algorithm }, row), row.bytes, busBandwidth(collective, facts.ranks, row.bytes, rival.timeUs));
    }
  }
  return [...byName].map(([name, points]) => ({ name, points }));
}

export async function writePerfPlot(file: string, options: PerfOptions, facts: RunFacts, rows: readonly ResultRow[]): Promise<void> {
  const title = `webccl-perf ${options.collective}, ${facts.ranks} ranks, ${facts.mem} memory (${facts.device}), out-of-place busbw`;
  await writeFile(file, renderBusbwSvg(title, perfSeries(facts, rows, options.collective)));
}
