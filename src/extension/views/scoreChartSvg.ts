/**
 * The score chart as inline SVG strings (no library, no CDN). The runs view: one point per scored run, the
 * best-so-far step line, failed runs as crosses on the baseline, and runs that followed an idea as diamonds coloured
 * by outcome (improved / not improved / waiting); its subtitle says which value is each run's score (last or best
 * epoch). The run view (renderRunCurves): one small chart per quantity with the run's per-epoch curves, validation
 * solid, train dashed. Every text that reaches the markup is XML-escaped here — idea ACTIONs come from an LLM.
 * Colours are CSS classes (chart.css maps them to theme variables), never inline styles, so the webview's CSP needs
 * no 'unsafe-inline'. Pure: no 'vscode', unit-tested.
 */
import type { RunRow } from '../../core/historyRows';
import { describeOutcome, formatScore } from '../../core/historyRows';
import { runFailed } from '../../core/runResults';
import { describeScoreChoice, type ScoreChoice } from '../../core/metric';
import type { CurvePanel, RunCurves } from '../../core/runCurves';

/** The command that shows a run's curves in the Score Chart (registered in scoreChart.ts). */
export const SHOW_CURVES_COMMAND = 'ideator.history.showCurves';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Which value is each run's score (said in the subtitle; default 'last'). */
  scoreChoice?: ScoreChoice;
}

/** Approximate width of a tick label at the chart's 10 px font (SVG text cannot be measured here). */
function textWidth(text: string): number {
  return text.length * 6;
}

/** About `count` (at least 3) round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  // A range that falls between round steps (0.23..0.56 with steps of 0.2) would get one label: use finer steps.
  if (ticks.length < 3 && count < 40) return niceTicks(lo, hi, count * 2);
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
  const H = opts.height ?? 190;
  const pad = { l: 44, r: 12, t: 34, b: 30 };
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
  const yTicks = niceTicks(lo, hi);
  // Room for the longest y tick label, so none is cut at the left edge.
  pad.l = Math.max(30, Math.max(...yTicks.map((t) => textWidth(formatScore(t)))) + 10);
  const first = rows[0].n;
  const last = rows[rows.length - 1].n;
  const x = (n: number) => pad.l + (last === first ? (W - pad.l - pad.r) / 2 : ((n - first) / (last - first)) * (W - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(`Score per run: ${metric.name}`)}">`);
  const choice = opts.scoreChoice ?? 'last';
  parts.push(`<text x="4" y="13" class="title">${escapeXml(`${metric.name} (${metric.direction} is better)`)}</text>`);
  parts.push(`<text x="4" y="26" class="subtitle">${escapeXml(`each run's score: its ${describeScoreChoice(choice)}`)}</text>`);
  // Axes and grid.
  for (const t of yTicks) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${f(y(t))}" y2="${f(y(t))}" class="grid"/>`);
    parts.push(`<text x="${pad.l - 5}" y="${f(y(t) + 3.5)}" class="tick" text-anchor="end">${escapeXml(formatScore(t))}</text>`);
  }
  // Run numbers: every run when few, else round steps; the first and last labels kept inside the view.
  const xTicks = last - first <= 8 ? Array.from({ length: last - first + 1 }, (_, i) => first + i) : niceTicks(first, last, 6).filter((t) => Number.isInteger(t));
  for (const t of xTicks) {
    const tx = x(t);
    const label = `#${t}`;
    const anchor = tx - textWidth(label) / 2 < 0 ? 'start' : tx + textWidth(label) / 2 > W ? 'end' : 'middle';
    parts.push(`<text x="${f(tx)}" y="${H - pad.b + 13}" class="tick" text-anchor="${anchor}">${label}</text>`);
  }
  parts.push(`<text x="${W - pad.r}" y="${H - 3}" class="axis-label" text-anchor="end">run</text>`);
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" class="axis"/>`);
  parts.push(`<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t - 4}" y2="${H - pad.b}" class="axis"/>`);

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

const LEGEND_ITEMS: [string, string][] = [
  ['best-line', 'best so far'],
  ['new-best', 'new best'],
  ['improved', 'idea: improved'],
  ['not-improved', 'idea: not improved'],
  ['pending', 'idea: waiting'],
  ['failed', 'failed run'],
];

/**
 * The legend as HTML (it wraps in a narrow view, unlike SVG text): only the marks the chart shows (given `rows`),
 * so a short view is not filled with entries for ideas or failures there are none of.
 */
export function chartLegendHtml(rows?: readonly RunRow[]): string {
  const shown = new Set<string>();
  if (!rows) for (const [cls] of LEGEND_ITEMS) shown.add(cls);
  else {
    if (rows.some((r) => r.bestAfter !== null)) shown.add('best-line');
    for (const r of rows) {
      if (r.idea) shown.add(r.outcome ? (r.outcome.status === 'improved' ? 'improved' : 'not-improved') : 'pending');
      else if (runFailed(r.run)) shown.add('failed');
      else if (r.trend === 'new-best') shown.add('new-best');
    }
  }
  return LEGEND_ITEMS.filter(([cls]) => shown.has(cls))
    .map(([cls, text]) => `<span class="legend ${cls}"><i></i>${text}</span>`)
    .join(' ');
}

/** Colour classes of a panel's lines, in order (chart.css: theme chart colours). */
const LINE_COLOURS = ['c0', 'c1', 'c2', 'c3'];

/**
 * One panel of the run view: the lines of one quantity (val_loss and train_loss) against the run's counter. The
 * legend is HTML above the SVG (it wraps); each line carries its own <title> (name, last, best) for hover.
 */
export function renderCurvePanel(panel: CurvePanel, axis: string, opts: { width?: number; height?: number; primaryMetric?: string } = {}): string {
  const W = opts.width ?? 360;
  const H = opts.height ?? 150;
  const pad = { l: 40, r: 12, t: 8, b: 30 };
  const xs = panel.lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = panel.lines.flatMap((l) => l.points.map((p) => p[1]));
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (lo === hi) {
    const d = Math.abs(lo) * 0.05 || 1;
    lo -= d;
    hi += d;
  }
  const m = (hi - lo) * 0.06;
  lo -= m;
  hi += m;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const yTicks = niceTicks(lo, hi, 4);
  pad.l = Math.max(30, Math.max(...yTicks.map((t) => textWidth(formatScore(t)))) + 10);
  const x = (v: number) => pad.l + (x1 === x0 ? (W - pad.l - pad.r) / 2 : ((v - x0) / (x1 - x0)) * (W - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const f = (v: number) => v.toFixed(1);
  const legend = panel.lines
    .map((l, i) => `<span class="key ${l.kind} ${LINE_COLOURS[i % LINE_COLOURS.length]}"><i></i>${escapeXml(l.metric)}${l.metric === opts.primaryMetric ? ' (score)' : ''} <small>${escapeXml(l.kind === 'train' ? 'train, dashed' : l.kind === 'validation' ? 'validation, solid' : '')}</small></span>`)
    .join(' ');
  const parts: string[] = [];
  parts.push(`<div class="panel${panel.primary ? ' primary' : ''}"><div class="panel-head"><b>${escapeXml(panel.title)}</b> <span class="dir">${panel.direction} is better</span><br>${legend}</div>`);
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="curve-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(`${panel.title} per ${axis}`)}">`);
  for (const t of yTicks) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${f(y(t))}" y2="${f(y(t))}" class="grid"/>`);
    parts.push(`<text x="${pad.l - 5}" y="${f(y(t) + 3.5)}" class="tick" text-anchor="end">${escapeXml(formatScore(t))}</text>`);
  }
  const xTicks = x1 - x0 <= 10 && Number.isInteger(x0) && Number.isInteger(x1) ? Array.from({ length: x1 - x0 + 1 }, (_, i) => x0 + i) : niceTicks(x0, x1, 6);
  for (const t of xTicks) {
    const tx = x(t);
    const label = formatScore(t);
    const anchor = tx - textWidth(label) / 2 < 0 ? 'start' : tx + textWidth(label) / 2 > W ? 'end' : 'middle';
    parts.push(`<text x="${f(tx)}" y="${H - pad.b + 13}" class="tick" text-anchor="${anchor}">${escapeXml(label)}</text>`);
  }
  parts.push(`<text x="${W - pad.r}" y="${H - 3}" class="axis-label" text-anchor="end">${escapeXml(axis)}</text>`);
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" class="axis"/>`);
  parts.push(`<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${H - pad.b}" class="axis"/>`);
  // Train lines first, so validation lines are drawn on top.
  const order = panel.lines.map((l, i) => ({ l, i })).sort((a, b) => Number(a.l.kind === 'validation') - Number(b.l.kind === 'validation'));
  for (const { l, i } of order) {
    const tip = escapeXml(`${l.metric} (${l.kind === 'other' ? 'metric' : l.kind}): last ${formatScore(l.last)}, best ${formatScore(l.best)}, ${l.count} value${l.count === 1 ? '' : 's'} printed`);
    const cls = `curve ${l.kind} ${LINE_COLOURS[i % LINE_COLOURS.length]}`;
    parts.push(`<g class="${cls}" data-metric="${escapeXml(l.metric)}"><title>${tip}</title>`);
    if (l.points.length > 1) parts.push(`<polyline points="${l.points.map((p) => `${f(x(p[0]))},${f(y(p[1]))}`).join(' ')}"/>`);
    if (l.points.length <= 40) for (const p of l.points) parts.push(`<circle cx="${f(x(p[0]))}" cy="${f(y(p[1]))}" r="2.2"/>`);
    // The best value, ringed.
    const bestAt = l.points.find((p) => p[1] === l.best);
    if (bestAt) parts.push(`<circle class="best-mark" cx="${f(x(bestAt[0]))}" cy="${f(y(bestAt[1]))}" r="4.5"/>`);
    parts.push('</g>');
  }
  parts.push('</svg></div>');
  return parts.join('');
}

/** The run view's panels (primary first); a run with no per-epoch values says so. */
export function renderRunCurves(curves: RunCurves, primaryMetric?: string): string {
  if (curves.panels.length === 0) return '<p class="empty-text">This run printed no metrics to plot.</p>';
  return curves.panels.map((p) => renderCurvePanel(p, curves.axis, { primaryMetric })).join('');
}

