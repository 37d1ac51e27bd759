// The run view's curves and the compare view's rows (core/runCurves.ts), from real extracted runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingRun } from '../../src/core/pendingRun';
import { baseName, compareRuns, runCounter, runCurves, seriesOrdinals } from '../../src/core/runCurves';
import type { Run } from '../../src/core/protocol';

async function recorded(text: string, opts: { maxSeries?: number; id?: string; started?: string; ended?: string } = {}): Promise<Run> {
  const p = new PendingRun({ id: opts.id, source: 'terminal', command: 'python train.py', startedAt: new Date(opts.started ?? '2026-12-06T10:00:00Z'), scoreOptions: { maxSeries: opts.maxSeries } });
  p.push(text);
  return p.finish(0, new Date(opts.ended ?? '2026-12-06T10:01:30Z'));
}
function epochs(n: number, auc: (e: number) => number, start = 1): string {
  let s = '';
  for (let e = start; e < start + n; e++) s += `epoch ${e}: train_loss=${(1 / (e + 1)).toFixed(4)} val_loss=${(1.2 / (e + 1)).toFixed(4)} val_auc=${auc(e).toFixed(4)}\n`;
  return s;
}

test('curves: train and validation of one quantity share a panel, primary first, x axis named after the counter', async () => {
  const run = await recorded(epochs(10, (e) => 0.7 + e / 100));
  const c = runCurves(run);
  assert.equal(c.axis, 'epoch');
  assert.equal(c.panels[0].title, 'val_auc');
  assert.equal(c.panels[0].primary, true);
  assert.deepEqual(c.panels[0].lines[0].points.map((p) => p[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const loss = c.panels.find((p) => p.title === 'loss')!;
  assert.deepEqual(loss.lines.map((l) => [l.metric, l.kind]), [['val_loss', 'validation'], ['train_loss', 'train']]);
  assert.equal(loss.direction, 'lower');
  assert.equal(loss.lines[1].points[9][1], 0.0909);
});

test('curves: a 0-based epoch loop, per-step train loss spread over the epochs, and no counter at all', async () => {
  const zero = runCurves(await recorded(epochs(5, () => 0.8, 0)));
  assert.deepEqual(zero.panels[0].lines[0].points.map((p) => p[0]), [0, 1, 2, 3, 4]);
  let text = '';
  for (let e = 1; e <= 3; e++) {
    for (let s = 0; s < 4; s++) text += `loss: ${(1 / (e * 4 + s)).toFixed(3)}\n`;
    text += `Epoch ${e} val_acc=${0.5 + e / 10}\n`;
  }
  const steps = runCurves(await recorded(text));
  assert.equal(steps.axis, 'epoch');
  const trainX = steps.panels.find((p) => p.title === 'loss')!.lines[0].points.map((p) => p[0]);
  assert.equal(trainX.length, 12);
  assert.equal(trainX[0], 1);
  assert.equal(trainX[11], 3);
  const none = runCurves(await recorded('acc=0.5\nacc=0.6\nacc=0.7\n'));
  assert.equal(none.axis, 'value printed');
  assert.deepEqual(none.panels[0].lines[0].points, [[1, 0.5], [2, 0.6], [3, 0.7]]);
  assert.equal(runCounter({ outputHead: 'nothing here\n', outputTail: '' }), null);
});

test('seriesOrdinals undoes the series thinning: a 5000-epoch run plotted at its true epochs', async () => {
  const run = await recorded(epochs(5000, (e) => 1 - 1 / (e + 1)), { maxSeries: 64 });
  const auc = run.metrics.find((m) => m.name === 'val_auc')!;
  assert.ok(auc.series.length <= 65);
  const ords = seriesOrdinals(auc);
  assert.equal(ords[0], 1);
  assert.equal(ords[ords.length - 1], 5000);
  // Each stored value is the one printed at that ordinal: val_auc at epoch e is 1 - 1/(e+1), to 4 decimals.
  for (let i = 0; i < ords.length; i++) assert.equal(auc.series[i], Number((1 - 1 / (ords[i] + 1)).toFixed(4)));
  const c = runCurves(run);
  assert.equal(c.panels[0].lines[0].points.at(-1)![0], 5000);
  assert.deepEqual(seriesOrdinals({ series: [1, 2, 3], count: 3 }), [1, 2, 3]);
});

test('baseName: prefixes and suffixes for train and validation', () => {
  assert.deepEqual(baseName('train_loss'), { base: 'loss', kind: 'train' });
  assert.deepEqual(baseName('val_loss'), { base: 'loss', kind: 'validation' });
  assert.deepEqual(baseName('eval_accuracy'), { base: 'accuracy', kind: 'validation' });
  assert.deepEqual(baseName('loss_train'), { base: 'loss', kind: 'train' });
  assert.deepEqual(baseName('valid_0 auc'), { base: 'auc', kind: 'validation' });
  assert.deepEqual(baseName('training auc'), { base: 'auc', kind: 'train' });
  assert.deepEqual(baseName('loss'), { base: 'loss', kind: 'other' });
});

test('compareRuns: metrics side by side under the choice, the score with its Δ and the better run, durations, same code', async () => {
  const a = await recorded(epochs(4, (e) => [0.7, 0.9, 0.8, 0.8][e - 1]), { id: 'a', ended: '2026-12-06T10:00:42Z' });
  const b = await recorded(epochs(4, (e) => [0.7, 0.82, 0.84, 0.85][e - 1]), { id: 'b' });
  const last = compareRuns(a, b, 'last');
  assert.equal(last.metrics[0].name, 'val_auc');
  assert.equal(last.score.name, 'val_auc');
  assert.deepEqual([last.score.a, last.score.b, last.score.better], [0.8, 0.85, 'b']);
  assert.ok(Math.abs(last.score.delta! - 0.05) < 1e-12);
  const best = compareRuns(a, b, 'best');
  assert.deepEqual([best.score.a, best.score.b, best.score.better], [0.9, 0.85, 'a']);
  assert.deepEqual(best.metrics[0].a, { last: 0.8, best: 0.9 });
  assert.equal(best.metrics.find((m) => m.name === 'val_loss')!.better, null);
  assert.deepEqual(last.durationMs, { a: 42_000, b: 90_000 });
  assert.equal(last.sameCode, null);
  // A failed run has no score to compare.
  const failed = compareRuns(a, { ...b, exitCode: 1 }, 'last');
  assert.deepEqual([failed.score.b, failed.score.delta, failed.score.better], [null, null, null]);
});
