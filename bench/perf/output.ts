// Rank 0's output: the header and table on stdout as rows complete (or JSON on stdout with
// -J -), the JSON report file, the --plot SVG, and progress on a terminal's stderr.
import { writeFile } from 'node:fs/promises';
import type { PerfOptions } from './args.js';
import type { RankDevice } from './devices.js';
import { writePerfPlot } from './plot-series.js';
import { createProgress, type Progress } from './progress.js';
import { buildReport, headerLines, jitWarmupLine, type RunFacts, type RunStart } from './report.js';
import type { JitWarmup } from './jit-warmup.js';
import type { ResultRow } from './results.js';
import type { SweepHooks } from './sweep.js';
import { versusSummary } from './versus.js';
import { extraColumns, formatRow, tableFooter, tableHeader, type ExtraColumn } from './table.js';

export class PerfOutput {
  private readonly table: boolean;
  private readonly progress: Progress;
  private readonly extras: readonly ExtraColumn[];
  private warmup: JitWarmup = { calls: 0, ms: 0 };

  constructor(
    private readonly options: PerfOptions, private readonly facts: RunFacts, private readonly devices: readonly RankDevice[],
    private readonly start: RunStart, private readonly version: string,
  ) {
    this.table = options.jsonFile !== '-';
    this.progress = createProgress();
    this.extras = extraColumns(options);
  }

  begin(): void {
    if (this.table) this.print([...headerLines(this.options, this.facts, this.devices), ...tableHeader(this.extras)]);
  }

  hooks(): SweepHooks {
    return {
      onRow: (row) => { this.progress.finish(); if (this.table) this.print([formatRow(row, this.extras)]); },
      onProgress: (done, total, label) => this.progress.update(done, total, label),
      onJitWarmup: (warmup) => { this.warmup = warmup; },
    };
  }

  async end(rows: readonly ResultRow[]): Promise<void> {
    this.progress.finish();
    if (this.table) this.print([jitWarmupLine(this.warmup), ...versusSummary(this.facts.algorithm, rows), ...tableFooter(rows, this.options.check)]);
    if (this.options.plotFile !== undefined) await writePerfPlot(this.options.plotFile, this.options, this.facts, rows);
    const file = this.options.jsonFile;
    if (file === undefined) return;
    const json = JSON.stringify(buildReport(this.options, this.facts, this.devices, this.start, rows, this.version, this.warmup), null, 2);
    if (file === '-') this.print([json]);
    else await writeFile(file, json + '\n');
  }

  private print(lines: readonly string[]): void {
    process.stdout.write(lines.join('\n') + '\n');
  }
}
