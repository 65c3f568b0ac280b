// Line charts on a 2D canvas, no library: shared y range over the series, x from the points' own x values,
// axes with a few tick labels, a legend. Returns the number of points drawn (tests read it).

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

const niceNumber = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

export function drawLines(canvas: HTMLCanvasElement, series: Series[], { xLabel = 'step', fixedY }: { xLabel?: string; fixedY?: [number, number] } = {}): number {
  const ctx = canvas.getContext('2d');
  if (!ctx) return 0;
  const { width, height } = canvas;
  const left = 48, right = 12, top = 22, bottom = 28;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#666';
  if (all.length === 0) {
    ctx.fillText('no points yet', left, top + 20);
    return 0;
  }
  let [y0, y1] = fixedY ?? [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const x0 = Math.min(...all.map((p) => p.x));
  const x1 = Math.max(x0 + 1, Math.max(...all.map((p) => p.x)));
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const py = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);

  ctx.strokeStyle = '#ddd';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, py(y));
    ctx.lineTo(width - right, py(y));
    ctx.stroke();
    ctx.fillText(niceNumber(y), 4, py(y) + 4);
  }
  ctx.fillText(`${xLabel} ${niceNumber(x0)}`, left, height - 8);
  const last = `${niceNumber(x1)}`;
  ctx.fillText(last, width - right - ctx.measureText(last).width, height - 8);

  let drawn = 0;
  let legendX = left;
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    pts.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p.x), py(p.y)) : ctx.lineTo(px(p.x), py(p.y))));
    ctx.stroke();
    if (pts.length === 1) ctx.fillRect(px(pts[0].x) - 2, py(pts[0].y) - 2, 4, 4);
    drawn += pts.length;
    ctx.fillRect(legendX, 7, 10, 10);
    ctx.fillStyle = '#333';
    const label = pts.length ? `${s.name} ${niceNumber(pts[pts.length - 1].y)}` : s.name;
    ctx.fillText(label, legendX + 14, 16);
    legendX += ctx.measureText(label).width + 30;
  }
  canvas.dataset.points = String(drawn);
  return drawn;
}
