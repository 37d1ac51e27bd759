// A run's score, last or best epoch (ideator.runScore), defined once in metric.ts and read through HistoryStore by
// every judge (best so far, trends, outcomes, p_t); the one score format; the bounds of a stored run's series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history';
import { buildRunRows } from '../../src/core/historyRows';
import { formatDelta, formatScore } from '../../src/core/format';
import { describeScoreChoice, runScore } from '../../src/core/metric';
import { recordCompletedRun } from '../../src/core/outcome';
import { PendingRun } from '../../src/core/pendingRun';
import type { Metric, Run } from '../../src/core/protocol';

function metric(name: string, series: number[], direction: 'higher' | 'lower' = 'higher'): Metric {
  const best = direction === 'higher' ? Math.max(...series) : Math.min(...series);
  return { name, last: series[series.length - 1], best, series, count: series.length, direction, validation: name.startsWith('val') };
}
let n = 0;
/** A run whose val_auc went through `series` (last value = its printed score). */
function run(series: number[], extra: Partial<Run> = {}): Run {
  n++;
  const t = `2026-12-06T10:${String(n).padStart(2, '0')}:00Z`;
  return {
    id: `r${n}`, source: 'terminal', command: 'python train.py', startedAt: t, endedAt: t.replace(/:00Z$/, ':30Z'), exitCode: 0,
    metrics: [metric('val_auc', series), metric('train_loss', series.map((v) => 1 - v), 'lower')],
    primary: { name: 'val_auc', value: series[series.length - 1], direction: 'higher' },
    outputHead: '', outputTail: '', outputBytes: 0, ...extra,
  };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ideator-runscore-'));

test('runScore: last is the value printed last, best the best epoch in the primary direction, never worse than last', () => {
  const r = run([0.7, 0.9, 0.85]);
  assert.equal(runScore(r.primary!, 'last', r.metrics), 0.85);
  assert.equal(runScore(r.primary!, 'best', r.metrics), 0.9);
  // Lower is better: the smallest loss.
  const loss = { name: 'val_loss', value: 0.4, direction: 'lower' as const };
  assert.equal(runScore(loss, 'best', [metric('val_loss', [0.6, 0.3, 0.4], 'lower')]), 0.3);
  // A configured direction that disagrees with the entry's: the series decides, in the primary's direction.
  assert.equal(runScore({ ...loss, direction: 'higher' }, 'best', [metric('val_loss', [0.6, 0.3, 0.4], 'lower')]), 0.6);
  // No entry for it (an old record): the last value.
  assert.equal(runScore({ name: 'x', value: 2, direction: 'higher' }, 'best', []), 2);
  assert.equal(describeScoreChoice('best'), 'best epoch');
  assert.equal(describeScoreChoice('last'), 'last epoch');
});

test('HistoryStore under "best": best so far, p_t, trends and the idea outcome all use the best epoch; the record keeps the last', () => {
  const dir = tmp();
  const store = HistoryStore.open(dir, { scoreChoice: 'best' });
  // Run 1 peaks at 0.9 and ends at 0.8; run 2 ends at 0.86 with a best of 0.88.
  const a = store.appendRun(run([0.7, 0.9, 0.8]));
  assert.equal(a.primary!.value, 0.9, 'appendRun returns the run as readers see it');
  assert.equal(store.recordedRun(a.id)!.primary!.value, 0.8, 'the record keeps what was printed last');
  store.appendRun(run([0.8, 0.88, 0.86]));
  assert.deepEqual(store.bestScore(), { value: 0.9, direction: 'higher', name: 'val_auc', runId: a.id });
  assert.equal(store.lastScore()!.value, 0.88);
  assert.deepEqual(buildRunRows({ runs: store.runs(), ideas: [], outcomes: [] }).map((r) => r.trend), ['new-best', 'worse']);

  // An idea applied, then a run whose best epoch (0.95) beats p_t (0.88) though its last (0.87) does not.
  store.appendIdea({ id: 'i1', createdAt: '2026-12-06T11:00:00Z', raw: 'x', parsed: { ok: true, analysis: 'a', action: 'b', rationale: 'c', codeBlocks: [], errors: [] } });
  store.appendApplied({ ideaId: 'i1', at: '2026-12-06T11:00:10Z' });
  const judged = run([0.8, 0.95, 0.87], { startedAt: '2026-12-06T11:01:00Z', endedAt: '2026-12-06T11:02:00Z' });
  const { outcome } = recordCompletedRun(store, judged);
  assert.equal(outcome?.status, 'improved');
  assert.deepEqual([outcome?.before, outcome?.after], [0.88, 0.95]);

  // The same journal read with the default choice judges by the last values.
  const last = HistoryStore.open(dir);
  assert.equal(last.scoreChoice(), 'last');
  assert.deepEqual(last.runs().map((r) => r.primary!.value), [0.8, 0.86, 0.87]);
  assert.equal(last.bestScore()!.value, 0.87);
  // Switching the choice re-reads every run; switching to the same choice is no change.
  assert.equal(last.setScoreChoice('best'), true);
  assert.equal(last.setScoreChoice('best'), false);
  assert.deepEqual(last.runs().map((r) => r.primary!.value), [0.9, 0.88, 0.95]);
  assert.equal(last.run(a.id)!.primary!.value, 0.9);
  last.setScoreChoice('last');
  assert.equal(last.bestScore()!.value, 0.87);
  // A diverged run stays a failed run whatever the choice.
  last.setScoreChoice('best');
  const blown = last.appendRun(run([0.5, 0.99, 0.6], { primary: { name: 'val_auc', value: 0.6, direction: 'higher', diverged: true } }));
  assert.equal(blown.primary!.value, 0.99);
  assert.equal(last.bestScore()!.value, 0.95);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('one score format: five significant digits, exponents at the extremes, signed deltas', () => {
  assert.equal(formatScore(0.912346), '0.91235');
  assert.equal(formatScore(0.9), '0.9');
  assert.equal(formatScore(12.5), '12.5');
  assert.equal(formatScore(123456), '1.235e+5');
  assert.equal(formatScore(0.0001234), '1.234e-4');
  assert.equal(formatScore(0), '0');
  assert.equal(formatScore(NaN), 'NaN');
  assert.equal(formatDelta(0.0123), '+0.0123');
  assert.equal(formatDelta(-0.002), '−0.002');
  assert.equal(formatDelta(0), '0');
});

test('a stored run keeps every metric as a bounded per-epoch series: first and last epoch kept, at most 1000 points', async () => {
  const pending = new PendingRun({ source: 'terminal', command: 'python train.py' });
  const epochs = 5000;
  let text = '';
  for (let e = 1; e <= epochs; e++) text += `epoch ${e} train_loss=${(1 / e).toFixed(6)} val_auc=${(1 - 1 / (e + 1)).toFixed(6)}\n`;
  pending.push(text);
  const r = await pending.finish(0);
  const auc = r.metrics.find((m) => m.name === 'val_auc')!;
  const loss = r.metrics.find((m) => m.name === 'train_loss')!;
  assert.equal(auc.count, epochs);
  assert.ok(auc.series.length <= 1001 && auc.series.length >= 500, `series of ${auc.series.length}`);
  assert.equal(auc.series[0], 0.5);
  assert.equal(auc.series[auc.series.length - 1], auc.last);
  assert.equal(loss.direction, 'lower');
  assert.ok(auc.validation && !loss.validation, 'validation vs train is recorded per metric');
  // The run record round-trips through the journal with its series.
  const dir = tmp();
  const store = HistoryStore.open(dir);
  store.appendRun(r);
  assert.deepEqual(HistoryStore.open(dir).run(r.id)!.metrics.find((m) => m.name === 'val_auc')!.series, auc.series);
  fs.rmSync(dir, { recursive: true, force: true });
});
