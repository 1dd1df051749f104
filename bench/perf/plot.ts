// busbw against message size on log-log axes, as an SVG written here (no plotting dependency):
// the picture nccl-tests users draw by hand from the table. One polyline per series, a legend
// naming each series, sizes in binary units on x and GB/s on y. Points with busbw 0 (one rank)
// cannot sit on a log axis: they are left out, and the series still appears in the legend.
import { formatBytes } from './sizes.js';

export interface PlotPoint {
  readonly bytes: number;
  /** GB/s (1e9 bytes per second), nccl-tests' unit. */
  readonly busbw: number;
}

export interface PlotSeries {
  readonly name: string;
  readonly points: readonly PlotPoint[];
}

const PLOT_WIDTH = 570; // the axes and their labels, without the legend
const HEIGHT = 480;
const MARGIN = { left: 70, top: 40, bottom: 50 };
// Colour-blind-safe (Okabe–Ito), repeated with dashes past eight series.
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Round to 2 decimals: SVG coordinates need no more, and the file stays small. */
function n(value: number): string {
  return String(Math.round(value * 100) / 100);
}

interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
}

/** A log axis over [min, max] with ticks at powers of `base` (stepping so that at most ~10 show). */
function logAxis(min: number, max: number, base: number): Axis {
  let lo = Math.floor(Math.log(min) / Math.log(base));
  let hi = Math.ceil(Math.log(max) / Math.log(base));
  if (hi === lo) { lo -= 1; hi += 1; }
  const step = Math.max(1, Math.ceil((hi - lo) / 10));
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k += step) ticks.push(base ** k);
  return { lo: base ** lo, hi: base ** hi, ticks };
}

function scale(axis: Axis, value: number, from: number, to: number): number {
  const t = (Math.log(value) - Math.log(axis.lo)) / (Math.log(axis.hi) - Math.log(axis.lo));
  return from + t * (to - from);
}

function bandwidthLabel(gbps: number): string {
  return gbps >= 1 ? String(Number(gbps.toPrecision(3))) : String(Number(gbps.toPrecision(2)));
}

/** The whole SVG document. */
export function renderBusbwSvg(title: string, series: readonly PlotSeries[]): string {
  const drawn = series.flatMap((s) => s.points).filter((p) => p.bytes > 0 && p.busbw > 0);
  const x = logAxis(Math.min(...drawn.map((p) => p.bytes), 1024), Math.max(...drawn.map((p) => p.bytes), 1024), 2);
  const y = logAxis(Math.min(...drawn.map((p) => p.busbw), 1), Math.max(...drawn.map((p) => p.busbw), 1), 10);
  // The legend's column is as wide as its longest name needs (about 7 px a character at 12 px).
  const legendWidth = 60 + 7 * Math.max(10, ...series.map((s) => s.name.length + 10));
  const WIDTH = PLOT_WIDTH + legendWidth;
  // A long legend (-d all -o all: 30 series) runs below the axes rather than off the picture.
  const height = Math.max(HEIGHT, MARGIN.top + 20 + 18 * series.length);
  const left = MARGIN.left;
  const right = PLOT_WIDTH;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const px = (bytes: number) => scale(x, bytes, left, right);
  const py = (busbw: number) => scale(y, busbw, bottom, top);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${n((left + right) / 2)}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  // Grid and tick labels.
  const xTicks = x.ticks.length > 12 ? x.ticks.filter((_, i) => i % 2 === 0) : x.ticks;
  for (const tick of xTicks) {
    const at = n(px(tick));
    out.push(`<line x1="${at}" y1="${top}" x2="${at}" y2="${bottom}" stroke="#ddd"/>`);
    out.push(`<text x="${at}" y="${bottom + 16}" text-anchor="middle">${escapeXml(formatBytes(tick))}</text>`);
  }
  for (const tick of y.ticks) {
    const at = n(py(tick));
    out.push(`<line x1="${left}" y1="${at}" x2="${right}" y2="${at}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${at}" text-anchor="end" dominant-baseline="middle">${bandwidthLabel(tick)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${n((left + right) / 2)}" y="${HEIGHT - 12}" text-anchor="middle">message size (bytes, log scale)</text>`);
  out.push(`<text transform="translate(18 ${n((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">busbw (GB/s, log scale)</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const dash = i >= COLOURS.length ? ' stroke-dasharray="6 3"' : '';
    const points = s.points.filter((p) => p.bytes > 0 && p.busbw > 0).sort((a, b) => a.bytes - b.bytes);
    const coords = points.map((p) => `${n(px(p.bytes))},${n(py(p.busbw))}`);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (coords.length > 0) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${coords.join(' ')}"/>`);
    for (const c of coords) { const [cx, cy] = c.split(','); out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${colour}"/>`); }
    const ly = top + 8 + i * 18;
    out.push(`<line x1="${right + 14}" y1="${ly}" x2="${right + 38}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`);
    const note = coords.length === 0 ? ' (busbw 0)' : '';
    out.push(`<text class="legend" x="${right + 44}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name + note)}</text>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

