// The nccl-tests table, column for column and with its number formats, so that scripts written
// for all_reduce_perf output read webccl-perf output too.
import type { PerfOptions } from './args.js';
import { averageBusBandwidth, totalWrong, type Measurement, type ResultRow } from './results.js';
import { versusRatio } from './versus.js';

// Widths of nccl-tests' printf formats: "%12li  %12li  %8s  %6s  %6i" then per column "  %7s  %6.2f  %6.2f  %5s".
const KEY_WIDTHS = [12, 12, 8, 6, 6] as const;
const MEASUREMENT_WIDTHS = [7, 6, 6, 5] as const;

function columns(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
}

/**
 * A column of webccl's own, right of nccl-tests' columns (which scripts read by position, so
 * they stay as they are). The run's options pick the ones shown (`extraColumns`).
 */
export interface ExtraColumn {
  readonly name: string;
  readonly unit: string;
  readonly width: number;
  cell(row: ResultRow): string;
}

/** -Z: the payload bytes one rank sent per call (the communicator's count, max over ranks). */
export const WIRE_COLUMN: ExtraColumn = {
  name: 'wire', unit: '(B)', width: 12, cell: (row) => (row.compression ? String(row.compression.wireBytes) : 'N/A'),
};

/** -Z: the worst |result - exact| / max(1, |exact|) of the row (data.ts's maxRelativeError). */
export const ERROR_COLUMN: ExtraColumn = {
  name: 'maxrelerr', unit: '', width: 9, cell: (row) => (row.compression ? row.compression.maxRelError.toExponential(2) : 'N/A'),
};

/** The cost model's time per call (lib/tune), beside the measured ones. */
export const PREDICTED_COLUMN: ExtraColumn = {
  name: 'predicted', unit: '(us)', width: 9, cell: (row) => (row.predictedUs === undefined ? 'N/A' : formatTime(row.predictedUs)),
};

/** --versus: one named algorithm's median time per call, raced with the out-of-place column. */
function versusColumn(algorithm: string): ExtraColumn {
  return {
    name: algorithm, unit: '(us)', width: Math.max(9, algorithm.length),
    cell: (row) => { const time = row.versus?.find((v) => v.algorithm === algorithm)?.timeUs; return time === undefined ? 'N/A' : formatTime(time); },
  };
}

/** --versus: the algorithm the run's calls ran (auto's choice), to tell a schedule's lead from noise between turns of one schedule. */
export const RUNS_COLUMN: ExtraColumn = {
  name: 'runs', unit: '', width: 9, cell: (row) => row.runs ?? 'N/A',
};

/** --versus: the out-of-place time over the fastest named algorithm's. */
export const RATIO_COLUMN: ExtraColumn = {
  name: 'ratio', unit: '(/best)', width: 7, cell: (row) => { const ratio = versusRatio(row.outOfPlace.timeUs, row.versus ?? []); return ratio === undefined ? 'N/A' : ratio.toFixed(2); },
};

/** The extra columns a run shows, left to right: always the prediction, with -Z the codec's cost, with --versus the race. */
export function extraColumns(options: Pick<PerfOptions, 'compressionColumns' | 'versus'>): ExtraColumn[] {
  return [
    PREDICTED_COLUMN, ...(options.compressionColumns ? [WIRE_COLUMN, ERROR_COLUMN] : []),
    ...(options.versus.length > 0 ? [RUNS_COLUMN, ...options.versus.map(versusColumn), RATIO_COLUMN] : []),
  ];
}

function extraCells(cells: readonly string[], extras: readonly ExtraColumn[]): string {
  return extras.map((column, i) => '  ' + cells[i]!.padStart(column.width)).join('');
}

/**
 * Header cells start with '#', which takes the first character of the first column. "#wrong" is
 * one character wider than its column, so (as in nccl-tests) it eats one space of the gap before it.
 */
function headerLine(key: readonly string[], measurement: readonly string[], extras: readonly ExtraColumn[], extraNames: readonly string[]): string {
  const group = ('  ' + columns(measurement, MEASUREMENT_WIDTHS)).replace('  #wrong', ' #wrong');
  const line = columns(key, KEY_WIDTHS) + group.repeat(2) + extraCells(extraNames, extras);
  return ('#' + line.slice(1)).trimEnd();
}

function centered(text: string, width: number): string {
  return text.padStart(Math.floor((width + text.length) / 2)).padEnd(width);
}

export function tableHeader(extras: readonly ExtraColumn[] = []): string[] {
  const keyWidth = columns(KEY_WIDTHS.map(() => ''), KEY_WIDTHS).length;
  const groupWidth = ('  ' + columns(MEASUREMENT_WIDTHS.map(() => ''), MEASUREMENT_WIDTHS)).length;
  return [
    '#',
    ('#' + ' '.repeat(keyWidth - 1) + centered('out-of-place', groupWidth) + centered('in-place', groupWidth)).trimEnd(),
    headerLine(['size', 'count', 'type', 'redop', 'root'], ['time', 'algbw', 'busbw', '#wrong'], extras, extras.map((c) => c.name)),
    headerLine(['(B)', '(elements)', '', '', ''], ['(us)', '(GB/s)', '(GB/s)', ''], extras, extras.map((c) => c.unit)),
  ];
}

/** nccl-tests prints fewer decimals as times grow: %7.2f, then %7.1f from 100 us, %7.0f from 10 ms. */
export function formatTime(timeUs: number): string {
  if (timeUs >= 10_000) return timeUs.toFixed(0);
  if (timeUs >= 100) return timeUs.toFixed(1);
  return timeUs.toFixed(2);
}

function measurementCells(m: Measurement): string[] {
  return [formatTime(m.timeUs), m.algbw.toFixed(2), m.busbw.toFixed(2), m.wrong === undefined ? 'N/A' : String(m.wrong)];
}

export function formatRow(row: ResultRow, extras: readonly ExtraColumn[] = []): string {
  const key = columns([String(row.bytes), String(row.count), row.type, row.redop, String(row.root)], KEY_WIDTHS);
  return key + ['  ', '  '].map((gap, i) => gap + columns(measurementCells(i === 0 ? row.outOfPlace : row.inPlace), MEASUREMENT_WIDTHS)).join('')
    + extraCells(extras.map((column) => column.cell(row)), extras);
}

/** printf's %g: six significant digits, no trailing zeros. */
function general(value: number): string {
  return String(Number(value.toPrecision(6)));
}

export function tableFooter(rows: readonly ResultRow[], checked: boolean): string[] {
  const wrong = totalWrong(rows);
  return [
    `# Out of bounds values : ${checked ? wrong : 'N/A'} ${!checked ? '' : wrong === 0 ? 'OK' : 'FAILED'}`.trimEnd(),
    `# Avg bus bandwidth    : ${general(averageBusBandwidth(rows))} `,
    '#',
  ];
}
