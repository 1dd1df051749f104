// The machine-readable form of one webccl-perf run (-J/--json): the header facts and every row.
import type { PerfOptions } from './args.js';
import { averageBusBandwidth, totalWrong, type ResultRow } from './results.js';

/** What the header states: how the run was set up, as resolved (not as requested). */
export interface RunFacts {
  readonly ranks: number;
  readonly transport: string;
  readonly algorithm: string;
  readonly mem: 'gpu' | 'cpu';
  readonly device: string;
  readonly bufferutil: boolean;
}

export interface PerfReport extends RunFacts {
  readonly tool: 'webccl-perf';
  readonly collective: string;
  readonly iters: number;
  readonly warmup: number;
  readonly check: boolean;
  readonly average: number;
  readonly rows: readonly ResultRow[];
  readonly avgBusBw: number;
  readonly wrong: number | null;
}

export function buildReport(options: PerfOptions, facts: RunFacts, rows: readonly ResultRow[]): PerfReport {
  return {
    tool: 'webccl-perf', collective: options.collective, ...facts,
    iters: options.iters, warmup: options.warmup, check: options.check, average: options.average,
    rows, avgBusBw: averageBusBandwidth(rows), wrong: options.check ? totalWrong(rows) : null,
  };
}

/** The header lines above the table (nccl-tests' "# nThread ..." line, then webccl's facts). */
export function headerLines(options: PerfOptions, facts: RunFacts): string[] {
  const step = options.stepFactor > 1 ? `${options.stepFactor}(factor)` : `${options.stepBytes}(bytes)`;
  const compression = options.compression === 'none' ? [] : [
    `# compression: ${options.compression} (float32 sum/avg allreduce; algbw and busbw from the uncompressed bytes${options.check ? '' : '; lossy, so no validation'})`,
  ];
  return [
    `# webccl-perf ${options.collective}: minBytes ${options.minBytes} maxBytes ${options.maxBytes} step: ${step} warmup iters: ${options.warmup} iters: ${options.iters} validation: ${options.check ? 1 : 0} average: ${options.average}`,
    `# ranks: ${facts.ranks}  transport: ${facts.transport}  algorithm: ${facts.algorithm}  memory: ${facts.mem}  device: ${facts.device}  bufferutil: ${facts.bufferutil ? 'loaded' : 'not loaded'}`,
    ...compression,
  ];
}
