// The demo's live chart, drawn on a canvas by hand (no chart library): the mean training loss
// (left axis, from 0 to its largest value) and the test accuracy (right axis, 0 to 100%) against
// the step. Redrawn whole on every report; a few thousand points cost nothing.
export interface Point {
  readonly step: number;
  readonly value: number;
}

const LOSS = '#c2410c';
const ACCURACY = '#1d4ed8';
const GRID = '#e5e7eb';
const INK = '#4b5563';
const PAD = { left: 44, right: 48, top: 14, bottom: 26 };
/** Grid intervals: with axis maxima of 1, 2, 2.5 or 5 x 10^k every tick is a round number. */
const TICKS = 5;

export function drawChart(canvas: HTMLCanvasElement, loss: readonly Point[], accuracy: readonly Point[]): void {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  if (!g) return;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = '11px system-ui, sans-serif';

  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const lastStep = Math.max(1, loss.at(-1)?.step ?? 1, accuracy.at(-1)?.step ?? 1);
  const maxLoss = niceCeil(Math.max(0.1, ...loss.map((p) => p.value)));
  const x = (step: number) => PAD.left + (plotW * step) / lastStep;
  const yLoss = (v: number) => PAD.top + plotH * (1 - v / maxLoss);
  const yAcc = (v: number) => PAD.top + plotH * (1 - v);

  // Grid, with loss ticks on the left and accuracy ticks on the right.
  g.strokeStyle = GRID;
  g.lineWidth = 1;
  for (let i = 0; i <= TICKS; i++) {
    const y = PAD.top + (plotH * i) / TICKS;
    g.beginPath(); g.moveTo(PAD.left, y); g.lineTo(PAD.left + plotW, y); g.stroke();
    g.fillStyle = LOSS; g.textAlign = 'right';
    g.fillText(String(Number((maxLoss * (1 - i / TICKS)).toFixed(2))), PAD.left - 6, y + 4);
    g.fillStyle = ACCURACY; g.textAlign = 'left';
    g.fillText(`${100 - (100 / TICKS) * i}%`, PAD.left + plotW + 6, y + 4);
  }
  g.fillStyle = INK;
  g.textAlign = 'center';
  g.fillText(`step ${lastStep}`, PAD.left + plotW - 20, height - 8);
  g.fillText('0', PAD.left, height - 8);

  line(g, loss.map((p) => [x(p.step), yLoss(p.value)]), LOSS);
  line(g, accuracy.map((p) => [x(p.step), yAcc(p.value)]), ACCURACY);
  g.textAlign = 'left';
  // The legend sits under the plot, where no line can cross it.
  const legendX = PAD.left + plotW / 2 - 60;
  g.fillStyle = LOSS; g.fillText('● loss', legendX, height - 8);
  g.fillStyle = ACCURACY; g.fillText('● test accuracy', legendX + 52, height - 8);
}

function line(g: CanvasRenderingContext2D, points: readonly (readonly [number, number])[], color: string): void {
  if (points.length === 0) return;
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 2;
  g.beginPath();
  points.forEach(([px, py], i) => (i === 0 ? g.moveTo(px, py) : g.lineTo(px, py)));
  g.stroke();
  const [lx, ly] = points.at(-1)!;
  g.beginPath(); g.arc(lx, ly, 3, 0, 2 * Math.PI); g.fill();
}

/** 1, 2 or 5 times a power of ten, at least `v`: round axis maxima. */
function niceCeil(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * power >= v) ?? 10) * power;
}
