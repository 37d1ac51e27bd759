/**
 * Tiny inline-SVG charts for the self-contained report (no scripts, no CDN): a multi-series line chart and a
 * bar chart, with axes, ticks and a legend. Everything is escaped; sizes are fixed so the HTML renders the same
 * in any browser and in a headless screenshot.
 */
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#db2777', '#65a30d'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toFixed(2))));

export interface Series {
  name: string;
  /** y values at x = 1..n. */
  values: number[];
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function axes(f: Frame, yMax: number, xLabels: { x: number; label: string }[], xTitle: string, yTitle: string): string {
  const plotH = f.height - f.top - f.bottom;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = f.top + plotH - (plotH * i) / 4;
    parts.push(`<line x1="${f.left}" y1="${y}" x2="${f.width - f.right}" y2="${y}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${f.left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#374151">${fmt(v)}</text>`);
  }
  for (const t of xLabels) {
    parts.push(`<text x="${t.x}" y="${f.height - f.bottom + 16}" text-anchor="middle" font-size="11" fill="#374151">${esc(t.label)}</text>`);
  }
  parts.push(`<line x1="${f.left}" y1="${f.top + plotH}" x2="${f.width - f.right}" y2="${f.top + plotH}" stroke="#6b7280"/>`);
  parts.push(`<line x1="${f.left}" y1="${f.top}" x2="${f.left}" y2="${f.top + plotH}" stroke="#6b7280"/>`);
  parts.push(`<text x="${(f.left + f.width - f.right) / 2}" y="${f.height - 4}" text-anchor="middle" font-size="12" fill="#111827">${esc(xTitle)}</text>`);
  parts.push(`<text transform="translate(14 ${f.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#111827">${esc(yTitle)}</text>`);
  return parts.join('');
}

export function lineChart(series: Series[], opts: { title: string; xTitle: string; yTitle: string; width?: number; height?: number }): string {
  const f: Frame = { width: opts.width ?? 640, height: opts.height ?? 300, left: 52, right: 150, top: 28, bottom: 40 };
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const x = (i: number) => f.left + (n === 1 ? plotW / 2 : (plotW * i) / (n - 1));
  const y = (v: number) => f.top + plotH - (plotH * v) / yMax;
  const step = Math.max(1, Math.ceil(n / 10));
  const ticks = Array.from({ length: n }, (_, i) => i).filter((i) => i % step === 0 || i === n - 1).map((i) => ({ x: x(i), label: String(i + 1) }));
  const lines = series.map((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const dots = s.values.length === 1 ? `<circle cx="${x(0)}" cy="${y(s.values[0])}" r="3" fill="${color}"/>` : '';
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>${dots}`;
  });
  const legend = series.map((s, k) => {
    const ly = f.top + 8 + k * 18;
    const lx = f.width - f.right + 12;
    return `<rect x="${lx}" y="${ly - 8}" width="12" height="3" fill="${PALETTE[k % PALETTE.length]}"/><text x="${lx + 18}" y="${ly - 3}" font-size="11" fill="#111827">${esc(s.name)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(opts.title)}"><text x="${f.left}" y="16" font-size="13" font-weight="600" fill="#111827">${esc(opts.title)}</text>${axes(f, yMax, ticks, opts.xTitle, opts.yTitle)}${lines.join('')}${legend.join('')}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Shown above the bar instead of the value. */
  note?: string;
}

export function barChart(bars: Bar[], opts: { title: string; xTitle: string; yTitle: string; width?: number; height?: number; yMax?: number; color?: string }): string {
  const f: Frame = { width: opts.width ?? 640, height: opts.height ?? 260, left: 52, right: 20, top: 42, bottom: 40 };
  const yMax = opts.yMax ?? niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const slot = plotW / Math.max(1, bars.length);
  const w = Math.max(2, slot * 0.7);
  const step = Math.max(1, Math.ceil(bars.length / 12));
  const ticks = bars.map((b, i) => ({ x: f.left + slot * (i + 0.5), label: i % step === 0 ? b.label : '' }));
  const rects = bars.map((b, i) => {
    const h = (plotH * Math.max(0, b.value)) / yMax;
    const bx = f.left + slot * (i + 0.5) - w / 2;
    const by = f.top + plotH - h;
    const note = bars.length <= 12 ? `<text x="${bx + w / 2}" y="${by - 4}" text-anchor="middle" font-size="10" fill="#374151">${esc(b.note ?? fmt(b.value))}</text>` : '';
    return `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${opts.color ?? PALETTE[0]}"><title>${esc(`${b.label}: ${b.note ?? fmt(b.value)}`)}</title></rect>${note}`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(opts.title)}"><text x="${f.left}" y="16" font-size="13" font-weight="600" fill="#111827">${esc(opts.title)}</text>${axes(f, yMax, ticks, opts.xTitle, opts.yTitle)}${rects.join('')}</svg>`;
}
