// The nccl-tests table, column for column and with its number formats, so that scripts written
// for all_reduce_perf output read webccl-perf output too.
import { averageBusBandwidth, totalWrong, type Measurement, type ResultRow } from './results.js';

// Widths of nccl-tests' printf formats: "%12li  %12li  %8s  %6s  %6i" then per column "  %7s  %6.2f  %6.2f  %5s".
const KEY_WIDTHS = [12, 12, 8, 6, 6] as const;
const MEASUREMENT_WIDTHS = [7, 6, 6, 5] as const;

function columns(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
}

/**
 * Header cells start with '#', which takes the first character of the first column. "#wrong" is
 * one character wider than its column, so (as in nccl-tests) it eats one space of the gap before it.
 */
function headerLine(key: readonly string[], measurement: readonly string[], extra: readonly string[]): string {
  const group = ('  ' + columns(measurement, MEASUREMENT_WIDTHS)).replace('  #wrong', ' #wrong');
  const line = columns(key, KEY_WIDTHS) + group.repeat(2) + extraCells(extra);
  return ('#' + line.slice(1)).trimEnd();
}

/**
 * Columns after nccl-tests' two groups, one entry each (name, unit, width, cell), so scripts that
 * read nccl-tests' columns by position still find them where they were.
 */
interface ExtraColumn {
  readonly name: string;
  readonly unit: string;
  readonly width: number;
  cell(row: ResultRow): string;
}

const EXTRA_COLUMNS: readonly ExtraColumn[] = [
  // The cost model's time per call (lib/tune), beside the measured ones.
  { name: 'predicted', unit: '(us)', width: 9, cell: (row) => (row.predictedUs === undefined ? 'N/A' : formatTime(row.predictedUs)) },
];

function extraCells(cells: readonly string[]): string {
  return cells.map((cell, i) => '  ' + cell.padStart(EXTRA_COLUMNS[i]!.width)).join('');
}

function centered(text: string, width: number): string {
  return text.padStart(Math.floor((width + text.length) / 2)).padEnd(width);
}

export function tableHeader(): string[] {
  const keyWidth = columns(KEY_WIDTHS.map(() => ''), KEY_WIDTHS).length;
  const groupWidth = ('  ' + columns(MEASUREMENT_WIDTHS.map(() => ''), MEASUREMENT_WIDTHS)).length;
  return [
    '#',
    ('#' + ' '.repeat(keyWidth - 1) + centered('out-of-place', groupWidth) + centered('in-place', groupWidth)).trimEnd(),
    headerLine(['size', 'count', 'type', 'redop', 'root'], ['time', 'algbw', 'busbw', '#wrong'], EXTRA_COLUMNS.map((c) => c.name)),
    headerLine(['(B)', '(elements)', '', '', ''], ['(us)', '(GB/s)', '(GB/s)', ''], EXTRA_COLUMNS.map((c) => c.unit)),
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

export function formatRow(row: ResultRow): string {
  const key = columns([String(row.bytes), String(row.count), row.type, row.redop, String(row.root)], KEY_WIDTHS);
  return key + ['  ', '  '].map((gap, i) => gap + columns(measurementCells(i === 0 ? row.outOfPlace : row.inPlace), MEASUREMENT_WIDTHS)).join('')
    + extraCells(EXTRA_COLUMNS.map((column) => column.cell(row)));
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
