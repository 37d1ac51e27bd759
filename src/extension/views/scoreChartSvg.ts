/**
 * The score chart as an inline SVG string (no library, no CDN): one point per scored run, the best-so-far step
 * line, failed runs as crosses on the baseline, and runs that followed an idea as diamonds coloured by outcome
 * (improved / not improved / waiting). Every text that reaches the markup is XML-escaped here — idea ACTIONs come
 * from an LLM. Colours are CSS classes (chart.css maps them to theme variables), never inline styles, so the
 * webview's CSP needs no 'unsafe-inline'. Pure: no 'vscode', unit-tested.
 */
import type { RunRow } from '../../core/historyRows';
import { describeOutcome, formatScore } from '../../core/historyRows';
import { runFailed } from '../../core/history';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface ChartOptions {
  width?: number;
  height?: number;
}

/** Up to ~5 round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function tipFor(row: RunRow): string {
  const r = row.run;
  const lines = [`Run #${row.n}${r.primary ? ` · ${r.primary.name} ${formatScore(r.primary.value)}` : ' · no score'}`];
  if (typeof r.exitCode === 'number' && r.exitCode !== 0) lines.push(`failed (exit ${r.exitCode})`);
  else if (r.primary?.diverged) lines.push(`diverged: ${r.primary.name} became NaN/inf after ${formatScore(r.primary.value)}`);
  if (row.bestAfter !== null) lines.push(`best so far ${formatScore(row.bestAfter)}`);
  if (r.command) lines.push(r.command.length > 120 ? r.command.slice(0, 119) + '…' : r.command);
  if (row.idea) {
    const action = row.idea.parsed.action || '(no ACTION)';
    lines.push(`Idea: ${action.length > 400 ? action.slice(0, 399) + '…' : action}`);
    lines.push(row.outcome ? describeOutcome(row.outcome, r.primary?.name) : 'Outcome: waiting for the next run');
  }
  return lines.join('\n');
}

export function renderScoreChart(rows: readonly RunRow[], opts: ChartOptions = {}): string {
  // Sized for a sidebar: the SVG scales to the view's width, so a small viewBox keeps the text readable.
  const W = opts.width ?? 360;
  const H = opts.height ?? 210;
  const pad = { l: 44, r: 10, t: 22, b: 24 };
  const scored = rows.filter((r) => r.run.primary);
  if (scored.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" class="score-chart empty" viewBox="0 0 ${W} 80" role="img" aria-label="No scored runs yet"><text x="${W / 2}" y="34" class="empty-text" text-anchor="middle">No scored runs yet.</text><text x="${W / 2}" y="54" class="empty-text" text-anchor="middle">Run a training script: its score appears here.</text></svg>`;
  }
  const metric = scored[scored.length - 1].run.primary!;
  const values = scored.filter((r) => r.run.primary!.name === metric.name).map((r) => r.run.primary!.value);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const d = Math.abs(lo) * 0.05 || 1;
    lo -= d;
    hi += d;
  }
  const margin = (hi - lo) * 0.08;
  lo -= margin;
  hi += margin;
  const first = rows[0].n;
  const last = rows[rows.length - 1].n;
  const x = (n: number) => pad.l + (last === first ? (W - pad.l - pad.r) / 2 : ((n - first) / (last - first)) * (W - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(`Score per run: ${metric.name}`)}">`);
  parts.push(`<text x="${pad.l}" y="13" class="title">${escapeXml(`${metric.name} (${metric.direction} is better)`)}</text>`);
  // Axes and grid.
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${f(y(t))}" y2="${f(y(t))}" class="grid"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${f(y(t) + 4)}" class="tick" text-anchor="end">${escapeXml(formatScore(t))}</text>`);
  }
  const xTicks = niceTicks(first, last).filter((t) => Number.isInteger(t));
  for (const t of xTicks) parts.push(`<text x="${f(x(t))}" y="${H - pad.b + 14}" class="tick" text-anchor="middle">#${t}</text>`);
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" class="axis"/>`);

  // Best-so-far step line over the runs that have one.
  const steps: string[] = [];
  let prev: number | null = null;
  for (const r of rows) {
    if (r.bestAfter === null) continue;
    if (prev !== null && prev !== r.bestAfter) steps.push(`${f(x(r.n))},${f(y(prev))}`);
    steps.push(`${f(x(r.n))},${f(y(r.bestAfter))}`);
    prev = r.bestAfter;
  }
  if (steps.length > 1) parts.push(`<polyline points="${steps.join(' ')}" class="best-line"/>`);
  // Score line through the scored runs of the current metric.
  const pts = scored.filter((r) => r.run.primary!.name === metric.name && !runFailed(r.run));
  if (pts.length > 1) parts.push(`<polyline points="${pts.map((r) => `${f(x(r.n))},${f(y(r.run.primary!.value))}`).join(' ')}" class="score-line"/>`);

  for (const r of rows) {
    const tip = escapeXml(tipFor(r));
    const cx = f(x(r.n));
    const failed = runFailed(r.run);
    const p = r.run.primary;
    const onAxis = !p || p.name !== metric.name || failed;
    const cy = onAxis ? H - pad.b : y(p!.value);
    const cls = r.idea ? `idea ${r.outcome ? (r.outcome.status === 'improved' ? 'improved' : 'not-improved') : 'pending'}` : failed ? 'failed' : r.trend === 'new-best' ? 'new-best' : 'run';
    parts.push(`<g class="pt ${cls}" data-run="${escapeXml(r.run.id)}" data-tip="${tip}" tabindex="0"><title>${tip}</title>`);
    if (r.idea) {
      const s = 7;
      parts.push(`<path d="M${cx} ${f(cy - s)} L${f(Number(cx) + s)} ${f(cy)} L${cx} ${f(cy + s)} L${f(Number(cx) - s)} ${f(cy)} Z"/>`);
    } else if (onAxis) {
      const s = 4;
      parts.push(`<path d="M${f(Number(cx) - s)} ${f(cy - s)} L${f(Number(cx) + s)} ${f(cy + s)} M${f(Number(cx) - s)} ${f(cy + s)} L${f(Number(cx) + s)} ${f(cy - s)}" class="cross"/>`);
    } else {
      parts.push(`<circle cx="${cx}" cy="${f(cy)}" r="${r.trend === 'new-best' ? 5 : 4}"/>`);
    }
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}

/** The legend as HTML (it wraps in a narrow view, unlike SVG text). */
export const CHART_LEGEND_HTML = [
  ['best-line', 'best so far'],
  ['new-best', 'new best'],
  ['improved', 'idea: improved'],
  ['not-improved', 'idea: not improved'],
  ['pending', 'idea: waiting'],
  ['failed', 'failed run'],
]
  .map(([cls, text]) => `<span class="legend ${cls}"><i></i>${text}</span>`)
  .join(' ');
