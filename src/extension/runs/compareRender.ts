/**
 * The compare page's body, without 'vscode' (unit-tested): a metrics table (each value under the score choice, the
 * other beside it, Δ = newer − older, the better value marked), both runs' score metric per epoch in one chart, the
 * runs' facts (command, start, duration, exit,
 * source, code, idea followed) and command links (code diff, curves). Every text is escaped; no script, no inline
 * style.
 */
import { formatDelta, formatScore } from '../../core/format';
import { describeOutcome, formatDuration, type RunRow } from '../../core/historyRows';
import { describeScoreChoice } from '../../core/metric';
import type { Run } from '../../core/protocol';
import { baseName, type CurvePanel, type RunComparison, type RunCurves } from '../../core/runCurves';
import { escapeXml, renderCurvePanel, SHOW_CURVES_COMMAND } from '../views/scoreChartSvg';

export const DIFF_RUNS_COMMAND = 'ideator.history.diffRuns';
/** Metric rows shown at most (the primary first). */
const MAX_ROWS = 40;

function cmdLink(command: string, args: unknown[], text: string, title: string): string {
  return `<a href="command:${command}?${escapeXml(encodeURIComponent(JSON.stringify(args)))}" title="${escapeXml(title)}">${escapeXml(text)}</a>`;
}

/** The comparison page's body (pure apart from the stylesheet URI; exported for tests). */
/** Both runs' score metric per epoch in one chart (#a blue, #b orange), when both printed it on the same axis. */
function overlay(na: string, nb: string, name: string | null, curves?: { a: RunCurves; b: RunCurves }): string {
  if (!name || !curves || curves.a.axis !== curves.b.axis) return '';
  const line = (c: RunCurves) => c.panels.flatMap((p) => p.lines).find((l) => l.metric === name);
  const la = line(curves.a);
  const lb = line(curves.b);
  const dir = curves.b.panels.find((p) => p.lines.some((l) => l.metric === name))?.direction;
  if (!la || !lb || !dir) return '';
  const panel: CurvePanel = { title: `${name} per ${curves.a.axis}`, direction: dir, primary: true, lines: [{ ...la, metric: `Run ${na}`, kind: 'other' }, { ...lb, metric: `Run ${nb}`, kind: 'other' }] };
  return `<div class="overlay">${renderCurvePanel(panel, curves.a.axis, { width: 560, height: 170 })}</div>`;
}

export function renderComparison(rowA: RunRow, rowB: RunRow, c: RunComparison, curves?: { a: RunCurves; b: RunCurves }): string {
  const a = rowA.run;
  const b = rowB.run;
  const na = `#${rowA.n}`;
  const nb = `#${rowB.n}`;
  const cell = (v: { last: number; best: number } | null, better: boolean) => {
    if (!v) return '<td class="none">—</td>';
    const chosen = c.choice === 'best' ? v.best : v.last;
    const other = c.choice === 'best' ? `last ${formatScore(v.last)}` : `best ${formatScore(v.best)}`;
    return `<td class="num${better ? ' better' : ''}">${escapeXml(formatScore(chosen))} <small>${escapeXml(other)}</small></td>`;
  };
  const deltaCell = (d: number | null, better: 'a' | 'b' | null) =>
    d === null ? '<td class="none">—</td>' : `<td class="num delta ${better === 'b' ? 'up' : better === 'a' ? 'down' : ''}">${escapeXml(formatDelta(d))}</td>`;
  const s = c.score;
  const scoreRow = `<tr class="score"><th>score: ${escapeXml(s.name ?? 'none')}</th>${s.a === null ? '<td class="none">no score</td>' : `<td class="num${s.better === 'a' ? ' better' : ''}"><b>${escapeXml(formatScore(s.a))}</b></td>`}${s.b === null ? '<td class="none">no score</td>' : `<td class="num${s.better === 'b' ? ' better' : ''}"><b>${escapeXml(formatScore(s.b))}</b></td>`}${deltaCell(s.delta, s.better)}</tr>`;
  const rows = c.metrics.slice(0, MAX_ROWS).map((m) => {
    const kind = baseName(m.name).kind;
    return `<tr><th>${escapeXml(m.name)} <small>${escapeXml(`${kind === 'other' ? '' : kind + ', '}${m.direction} is better`)}</small></th>${cell(m.a, m.better === 'a')}${cell(m.b, m.better === 'b')}${deltaCell(m.delta, m.better)}</tr>`;
  });
  if (c.metrics.length > MAX_ROWS) rows.push(`<tr><th colspan="4" class="none">… ${c.metrics.length - MAX_ROWS} more metrics</th></tr>`);
  const fact = (label: string, fa: string, fb: string, code = false) =>
    `<tr><th>${escapeXml(label)}</th><td>${code ? `<code>${escapeXml(fa)}</code>` : escapeXml(fa)}</td><td>${code ? `<code>${escapeXml(fb)}</code>` : escapeXml(fb)}</td></tr>`;
  const idea = (row: RunRow) => (row.idea ? `${row.idea.parsed.action || row.idea.raw.slice(0, 300)}${row.outcome ? ` — ${describeOutcome(row.outcome, row.run.primary?.name)}` : ''}` : '—');
  const code = (r: Run) => (r.code ? `${r.code.path ?? 'code'} (${r.code.hash.slice(0, 8)})` : 'not recorded');
  const sameCode = c.sameCode === null ? 'one run has no code recorded' : c.sameCode ? 'both runs ran the same code' : 'the code differs';
  const diffLink = c.sameCode === false ? cmdLink(DIFF_RUNS_COMMAND, [a.id, b.id], 'Show code diff', `Open the diff editor: ${na}'s code ↔ ${nb}'s code`) : '';
  return `<h1>Run ${escapeXml(na)} ↔ Run ${escapeXml(nb)}</h1>
<p class="choice">Each value is the run's <b>${escapeXml(describeScoreChoice(c.choice))}</b> (setting <code>ideator.runScore</code>); the other one is beside it. Δ is ${escapeXml(nb)} − ${escapeXml(na)}; the better value is marked.</p>
<table class="metrics"><thead><tr><th>metric</th><th>Run ${escapeXml(na)}</th><th>Run ${escapeXml(nb)}</th><th>Δ</th></tr></thead><tbody>${scoreRow}${rows.join('')}</tbody></table>
${overlay(na, nb, c.score.name, curves)}
<h2>The runs</h2>
<table class="facts"><thead><tr><th></th><th>Run ${escapeXml(na)}</th><th>Run ${escapeXml(nb)}</th></tr></thead><tbody>
${fact('command', a.command ?? `${a.source} run`, b.command ?? `${b.source} run`, true)}
${fact('started', new Date(a.startedAt).toLocaleString(), new Date(b.startedAt).toLocaleString())}
${fact('duration', formatDuration(c.durationMs.a) || '—', formatDuration(c.durationMs.b) || '—')}
${fact('exit', String(a.exitCode ?? 'unknown'), String(b.exitCode ?? 'unknown'))}
${fact('source', a.source, b.source)}
${fact('code', code(a), code(b))}
${fact('idea followed', idea(rowA), idea(rowB))}
</tbody></table>
<p class="links"><span class="same">${escapeXml(sameCode)}</span>${diffLink ? ` · ${diffLink}` : ''} · ${cmdLink(SHOW_CURVES_COMMAND, [a.id], `Curves of ${na}`, 'Show its curves in the Score Chart')} · ${cmdLink(SHOW_CURVES_COMMAND, [b.id], `Curves of ${nb}`, 'Show its curves in the Score Chart')}</p>`;
}

