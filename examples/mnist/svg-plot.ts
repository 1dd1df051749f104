// A tiny SVG line-plot writer (no plotting dependency): axes with round-number ticks, one
// polyline per series, a legend. Enough for loss-against-step figures.

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]. */
export function ticks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function linePlot(series: readonly Series[], options: PlotOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const margin = { left: 64, right: 170, top: 36, bottom: 48 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sx = (x: number) => margin.left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * plotW : 0);
  const sy = (y: number) => margin.top + plotH - (y1 > y0 ? ((y - y0) / (y1 - y0)) * plotH : 0);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left + plotW / 2}" y="20" text-anchor="middle" font-size="14">${escape(options.title)}</text>`,
  ];
  for (const t of ticks(x0, x1)) {
    parts.push(`<line x1="${sx(t)}" y1="${margin.top}" x2="${sx(t)}" y2="${margin.top + plotH}" stroke="#eee"/>`,
      `<text x="${sx(t)}" y="${margin.top + plotH + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${margin.left}" y1="${sy(t)}" x2="${margin.left + plotW}" y2="${sy(t)}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const path = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const ly = margin.top + 10 + i * 18;
    parts.push(`<line x1="${width - margin.right + 12}" y1="${ly}" x2="${width - margin.right + 34}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${width - margin.right + 40}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
