/**
 * The report as one self-contained HTML page: inline CSS and inline SVG only (no scripts, no fonts, no CDN),
 * so it can be mailed, archived next to the run, or screenshotted headless.
 */
import type { ReportData } from './data';
import { barChart, esc, lineChart } from './svg';

const CSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#111827;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#4b5563;font-size:13px}table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right}th{background:#f9fafb}td.l,th.l{text-align:left}
tr.all td{font-weight:600;background:#f3f4f6}.charts{display:flex;flex-wrap:wrap;gap:16px}.bad{color:#b91c1c}
.note{font-size:12px;color:#6b7280;max-width:900px}`;

const n2 = (v: number) => v.toFixed(2);

// The agent limits in words (the plan stores AgentLimits); a key this list does not know is shown as key=value.
const LIMIT_WORDS: Record<string, (v: string) => string> = {
  maxSteps: (v) => `${v} steps`,
  timeLimitSec: (v) => `${v} s per run`,
  actionTimeoutSec: (v) => `${v} s per action`,
  observationChars: (v) => `observations cut at ${v} chars`,
  oldObservationChars: (v) => `older ones at ${v}`,
  keepRecentSteps: (v) => `the last ${v} steps kept whole`,
};

export function limitsText(limits: Record<string, unknown>): string {
  return Object.entries(limits)
    .map(([k, v]) => (LIMIT_WORDS[k] ? LIMIT_WORDS[k](String(v)) : `${k}=${JSON.stringify(v)}`))
    .join(', ');
}

function tableSection(d: ReportData): string {
  const k = d.table.k;
  const head = `<tr><th class="l">task</th><th class="l">config</th><th>runs</th><th>Avg@${k}</th><th>Best@${k}</th><th>valid %</th><th>steps</th><th>seek_help</th><th>tokens</th><th>cost $</th></tr>`;
  const row = (r: ReportData['table']['perTask'][number], cls = '') =>
    `<tr class="${cls}"><td class="l">${esc(r.task)}</td><td class="l">${esc(r.config)}</td><td>${r.runs}</td><td>${n2(r.avgAtK)}</td><td>${n2(r.bestAtK)}</td><td>${(r.validRate * 100).toFixed(0)}</td><td>${r.meanSteps.toFixed(1)}</td><td>${r.meanSeekHelps.toFixed(1)}</td><td>${r.tokens.toLocaleString('en-US')}</td><td>${r.costUsd.toFixed(4)}</td></tr>`;
  return `<table>${head}${d.table.perTask.map((r) => row(r)).join('')}${d.table.overall.map((r) => row(r, 'all')).join('')}</table>
<p class="note">Normalized score per task: max(0, 100·(s − worst)/(best − worst)) against the task's leaderboard. Avg@${k}: mean over the
valid runs of ${k} (0 when all failed); Best@${k}: the best run. Overall rows: means over tasks; tokens and cost: sums.</p>`;
}

function runsSection(d: ReportData): string {
  const rows = d.runs.map((r) => {
    const res = r.result;
    const score = !res ? `<td colspan="2">${esc(r.status)}</td>` : res.valid ? `<td>${res.score}</td><td>${n2(res.normalized ?? 0)}</td>` : `<td colspan="2" class="bad">invalid: ${esc((res.reason ?? res.error ?? '').slice(0, 120))}</td>`;
    return `<tr><td class="l">${esc(r.task)}</td><td class="l">${esc(r.config)}</td><td>${r.runIndex + 1}</td>${score}<td>${res?.steps ?? ''}</td><td>${res?.seekHelps ?? ''}</td><td class="l">${esc(res?.endReason ?? '')}</td><td class="l"><a href="${esc(r.log)}">log</a></td></tr>`;
  });
  return `<table><tr><th class="l">task</th><th class="l">config</th><th>run</th><th>score</th><th>normalized</th><th>steps</th><th>seek_help</th><th class="l">ended by</th><th class="l"></th></tr>${rows.join('')}</table>`;
}

export function reportHtml(d: ReportData, title: string): string {
  const plan = d.plan;
  const meta = plan
    ? `implementer ${esc(plan.implementer)} · tasks ${plan.tasks.map((t) => esc(t.id)).join(', ')} · ${plan.runs} run(s) per task and configuration · limits: ${esc(limitsText(plan.limits))}${plan.isolation ? ` · sandbox ${esc(plan.isolation)}` : ''}`
    : 'no plan recorded';
  const curve = lineChart(d.curves, { title: 'Best-so-far normalized score vs step (mean over tasks and runs)', xTitle: 'step', yTitle: 'normalized score' , width: 700 });
  const seek = barChart(
    d.seekHelpRate.map((v, i) => ({ label: String(i + 1), value: v, note: `${Math.round(v * 100)}%` })),
    { title: 'seek_help frequency per step (runs with an Ideator)', xTitle: 'step', yTitle: 'share of runs', yMax: 1, color: '#ea580c', width: 700, height: 220 },
  );
  const types = d.ideaTypes.length
    ? `<div class="charts">${barChart(
        d.ideaTypes.map((t) => ({ label: t.type.replace(/ /g, '\u00a0'), value: t.count })),
        { title: 'Idea types (count)', xTitle: 'type', yTitle: 'ideas', width: 540, color: '#2563eb' },
      )}${barChart(
        d.ideaTypes.map((t) => ({ label: t.type.replace(/ /g, '\u00a0'), value: t.rate, note: `${Math.round(t.rate * 100)}% of ${t.judged}` })),
        { title: 'Effectiveness: share followed by a better submission', xTitle: 'type', yTitle: 'improved', yMax: 1, width: 540, color: '#16a34a' },
      )}</div>
<table><tr><th class="l">idea type</th><th>ideas</th><th>judged</th><th>improved</th><th>rate</th><th>mean gain (normalized)</th></tr>${d.ideaTypes
        .map((t) => `<tr><td class="l">${esc(t.type)}</td><td>${t.count}</td><td>${t.judged}</td><td>${t.improved}</td><td>${(t.rate * 100).toFixed(0)}%</td><td>${t.meanGain === null ? '–' : n2(t.meanGain)}</td></tr>`)
        .join('')}</table>`
    : '<p class="note">No seek_help states were recorded.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<div class="meta">${meta}</div>
<h2>Results (paper Table 1 layout)</h2>
${tableSection(d)}
<h2>Progress over steps (paper Fig. 2)</h2>
<div class="charts">${curve}${seek}</div>
<h2>Ideas: types and effectiveness (paper Fig. 3/4)</h2>
<p class="note">${d.poolSize} seek_help state(s) in the pool. Types by keyword rules on each idea's ACTION; an idea is judged by the
next valid submission after it (improved when its normalized score beats the best before the question).</p>
${types}
<h2>Runs</h2>
${runsSection(d)}
</body></html>
`;
}
