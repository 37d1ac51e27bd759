// The Score Chart's run view (curves SVG), the runs view's subtitle and axes, and the compare page: pure renderers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRunRows } from '../../src/core/historyRows';
import { PendingRun } from '../../src/core/pendingRun';
import type { Run } from '../../src/core/protocol';
import { compareRuns, runCurves } from '../../src/core/runCurves';
import { renderComparison } from '../../src/extension/runs/compareRender';
import { chartLegendHtml, renderRunCurves, renderScoreChart } from '../../src/extension/views/scoreChartSvg';

const EVIL = `<img src=x onerror="alert(1)"> & 'q'`;

async function recorded(id: string, text: string, extra: Partial<Run> = {}): Promise<Run> {
  const p = new PendingRun({ id, source: 'terminal', command: `python train.py --tag "${EVIL}"`, startedAt: new Date('2026-12-06T10:00:00Z') });
  p.push(text);
  return { ...(await p.finish(0, new Date('2026-12-06T10:02:05Z'))), ...extra };
}
function epochs(vals: number[]): string {
  return vals.map((v, i) => `Epoch ${i + 1}/${vals.length} - loss: ${(1 / (i + 2)).toFixed(4)} - val_loss: ${(1.1 / (i + 2)).toFixed(4)} - val_auc: ${v}`).join('\n') + '\n';
}
/** Every tag well-formed: no stray quote or < inside a tag once quoted values are removed. */
function wellFormed(markup: string): void {
  for (const tag of markup.match(/<[^>]+>/g)!) assert.doesNotMatch(tag.replace(/"[^"]*"/g, '').slice(1), /["'<]/, tag);
  assert.ok(!/style=/.test(markup), 'no inline styles (CSP without unsafe-inline)');
}

test('run view: one panel per quantity, validation solid and train dashed by class, axis named, best ringed', async () => {
  const run = await recorded('a', epochs([0.8, 0.9, 0.85]));
  const html = renderRunCurves(runCurves(run), 'val_auc');
  assert.equal((html.match(/<svg /g) ?? []).length, 2, 'val_auc, and loss with val_loss');
  assert.match(html, /<b>val_auc<\/b>/);
  assert.match(html, /val_auc \(score\)/);
  assert.match(html, /class="curve validation c0" data-metric="val_loss"/);
  assert.match(html, /class="curve train c1" data-metric="loss"/);
  assert.match(html, /class="axis-label" text-anchor="end">epoch</);
  assert.equal((html.match(/class="best-mark"/g) ?? []).length, 3);
  assert.match(html, /val_auc \(validation\): last 0\.85, best 0\.9, 3 values printed/);
  wellFormed(html);
  assert.match(renderRunCurves({ axis: 'epoch', panels: [] }), /printed no metrics/);
});

test('runs view: subtitle says which epoch is the score; y labels have room; run numbers on the x axis', () => {
  const mk = (id: string, v: number): Run => ({
    id, source: 'terminal', startedAt: '2026-12-06T10:00:00Z', endedAt: '2026-12-06T10:01:00Z', exitCode: 0, metrics: [],
    primary: { name: 'val_loss', value: v, direction: 'lower' }, outputHead: '', outputTail: '', outputBytes: 0,
  });
  const rows = buildRunRows({ runs: [mk('a', 12345.678), mk('b', 12001.5), mk('c', 12500)], ideas: [], outcomes: [] });
  const last = renderScoreChart(rows);
  assert.match(last, /each run&#39;s score: its last epoch/);
  assert.match(renderScoreChart(rows, { scoreChoice: 'best' }), /each run&#39;s score: its best epoch/);
  for (const n of [1, 2, 3]) assert.match(last, new RegExp(`>#${n}</text>`));
  // The widest y label ("12,400"-like 5 characters and more) starts right of x=0.
  const ticks = [...last.matchAll(/<text x="([\d.]+)" y="[\d.]+" class="tick" text-anchor="end">([^<]+)<\/text>/g)];
  assert.ok(ticks.length >= 3);
  for (const [, x, label] of ticks) assert.ok(Number(x) - label.length * 6 >= 0, `label ${label} at ${x} is cut`);
  wellFormed(last);
  // The legend lists only the marks drawn: no idea or failure entries for runs without any.
  assert.deepEqual([...chartLegendHtml(rows).matchAll(/class="legend ([\w-]+)"/g)].map((m) => m[1]), ['best-line', 'new-best']);
  const failed = buildRunRows({ runs: [mk('a', 1), { ...mk('b', 2), exitCode: 1 }], ideas: [], outcomes: [] });
  assert.deepEqual([...chartLegendHtml(failed).matchAll(/class="legend ([\w-]+)"/g)].map((m) => m[1]), ['best-line', 'new-best', 'failed']);
  assert.equal((chartLegendHtml().match(/class="legend /g) ?? []).length, 6);
});

test('compare page: metrics under the choice with Δ and the better run, facts, code diff link, all escaped', async () => {
  const a = await recorded('a', epochs([0.8, 0.9, 0.85]), { code: { path: 'train.py', hash: 'aaaaaaaa1111' } });
  const b = await recorded('b', epochs([0.8, 0.86, 0.88]), { code: { path: 'train.py', hash: 'bbbbbbbb2222' }, exitCode: 0 });
  const rows = buildRunRows({ runs: [a, b], ideas: [], outcomes: [] });
  const html = renderComparison(rows[0], rows[1], compareRuns(a, b, 'last'), { a: runCurves(a), b: runCurves(b) });
  // Both runs' score metric per epoch in one chart.
  assert.match(html, /<div class="overlay">[\s\S]*<b>val_auc per epoch<\/b>[\s\S]*data-metric="Run #1"[\s\S]*data-metric="Run #2"/);
  assert.match(html, /<h1>Run #1 ↔ Run #2<\/h1>/);
  assert.match(html, /run's <b>last epoch<\/b>/);
  assert.match(html, /score: val_auc<\/th><td class="num"><b>0\.85<\/b><\/td><td class="num better"><b>0\.88<\/b><\/td><td class="num delta up">\+0\.03<\/td>/);
  assert.match(html, /0\.85 <small>best 0\.9<\/small>/);
  assert.match(html, /2m 05s/);
  assert.match(html, /train\.py \(aaaaaaaa\)/);
  assert.match(html, /href="command:ideator\.history\.diffRuns\?%5B%22a%22%2C%22b%22%5D"/);
  assert.match(html, /href="command:ideator\.history\.showCurves\?%5B%22a%22%5D"/);
  assert.ok(!html.includes('<img'), 'the command line is escaped');
  assert.ok(html.includes('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;q&#39;'));
  wellFormed(html);
  const best = renderComparison(rows[0], rows[1], compareRuns(a, b, 'best'));
  assert.match(best, /score: val_auc<\/th><td class="num better"><b>0\.9<\/b><\/td><td class="num"><b>0\.88<\/b><\/td><td class="num delta down">−0\.02<\/td>/);
  // Same code: no diff link, said in words.
  const same = renderComparison(rows[0], rows[1], compareRuns(a, { ...b, code: a.code }, 'last'));
  assert.match(same, /both runs ran the same code/);
  assert.ok(!same.includes('diffRuns'));
});
