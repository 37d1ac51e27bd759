import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history';
import { judgeOutcome, recordCompletedRun, scoreBeforeIdea } from '../../src/core/outcome';
import type { IdeaRecord, Run } from '../../src/core/protocol';

function run(id: string, value: number | null, startedAt: string, extra: Partial<Run> = {}): Run {
  return {
    id, source: 'terminal', startedAt, endedAt: startedAt.replace(/:00Z$/, ':30Z'), exitCode: 0, metrics: [],
    primary: value === null ? null : { name: 'val_auc', value, direction: 'higher' },
    outputHead: '', outputTail: '', outputBytes: 0, ...extra,
  };
}
const idea: IdeaRecord = {
  id: 'i1', createdAt: '2026-11-23T10:02:00Z', raw: 'ANALYSIS: x\nACTION: y\nRATIONALE: z',
  parsed: { ok: true, analysis: 'x', action: 'y', rationale: 'z', codeBlocks: [], errors: [] },
};
const fixed = () => new Date('2026-11-23T12:00:00Z');

test('judgeOutcome: +1 only for a direction-aware improvement; ties, worse and failures give 0', () => {
  const before = { value: 0.8, direction: 'higher' as const, metric: 'val_auc' };
  const t = '2026-11-23T10:00:00Z';
  assert.deepEqual(judgeOutcome({ ideaId: 'i', run: run('a', 0.81, t), before, now: fixed }), {
    ideaId: 'i', runId: 'a', before: 0.8, after: 0.81, direction: 'higher', status: 'improved', reward: 1,
    recordedAt: '2026-11-23T12:00:00.000Z',
  });
  assert.equal(judgeOutcome({ ideaId: 'i', run: run('a', 0.8, t), before }).reward, 0);
  assert.equal(judgeOutcome({ ideaId: 'i', run: run('a', 0.7, t), before }).status, 'not_improved');
  const crashed = judgeOutcome({ ideaId: 'i', run: run('a', 0.99, t, { exitCode: 1 }), before });
  assert.equal(crashed.status, 'exec_failed');
  assert.equal(crashed.reward, 0);
  assert.equal(judgeOutcome({ ideaId: 'i', run: run('a', null, t), before }).status, 'exec_failed');
  // Lower is better.
  const loss = { value: 0.3, direction: 'lower' as const, metric: 'val_loss' };
  const lossRun = (v: number) => run('b', null, t, { primary: { name: 'val_loss', value: v, direction: 'lower' } });
  assert.equal(judgeOutcome({ ideaId: 'i', run: lossRun(0.25), before: loss }).reward, 1);
  assert.equal(judgeOutcome({ ideaId: 'i', run: lossRun(0.35), before: loss }).reward, 0);
  // No score before: any valid score is an improvement. Another metric: not comparable.
  assert.equal(judgeOutcome({ ideaId: 'i', run: run('a', 0.1, t), before: null }).reward, 1);
  assert.equal(judgeOutcome({ ideaId: 'i', run: lossRun(0.01), before }).status, 'not_improved');
});

test('scoreBeforeIdea prefers the idea-time score, else the newest valid run before the edit', () => {
  const applied = { ideaId: 'i1', at: '2026-11-23T10:03:00Z' };
  const runs = [
    run('a', 0.7, '2026-11-23T10:00:00Z'),
    run('b', 0.9, '2026-11-23T10:01:00Z', { exitCode: 1 }),
    run('c', 0.95, '2026-11-23T10:04:00Z'),
  ];
  assert.deepEqual(scoreBeforeIdea(idea, applied, runs), { value: 0.7, direction: 'higher', metric: 'val_auc' });
  const withScore = { ...idea, scoreBefore: { value: 0.75, direction: 'higher' as const } };
  assert.equal(scoreBeforeIdea(withScore, applied, runs)?.value, 0.75);
  assert.equal(scoreBeforeIdea(idea, applied, []), null);
});

test('recordCompletedRun tags the first run after the applied edit and records its outcome once', () => {
  const store = HistoryStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ideator-outcome-')), { onWarning: () => {} });
  recordCompletedRun(store, run('a', 0.7, '2026-11-23T10:00:00Z'));
  store.appendIdea(idea);
  store.appendApplied({ ideaId: 'i1', path: 'train.py', at: '2026-11-23T10:03:00Z' });
  // A run that started before the edit does not judge it.
  const early = recordCompletedRun(store, run('b', 0.72, '2026-11-23T10:02:30Z'));
  assert.equal(early.outcome, undefined);
  const r = recordCompletedRun(store, run('c', 0.74, '2026-11-23T10:05:00Z'), fixed);
  assert.equal(r.run.ideaId, 'i1');
  // p_t is the newest valid run before the edit (b, 0.72).
  assert.equal(r.outcome?.before, 0.72);
  assert.equal(r.outcome?.reward, 1);
  assert.equal(store.outcomeFor('i1')?.runId, 'c');
  const next = recordCompletedRun(store, run('d', 0.9, '2026-11-23T10:06:00Z'));
  assert.equal(next.outcome, undefined);
  assert.equal(next.run.ideaId, undefined);
  assert.equal(store.outcomes().length, 1);
});

test('a run whose primary metric diverged (NaN/inf after its last finite value) is a failed run, not a score', () => {
  const before = { value: 0.35, direction: 'lower' as const, metric: 'val_loss' };
  const t = '2026-11-23T10:00:00Z';
  // The last finite val_loss (0.30) would beat p_t, but the run ended in NaN: reward 0, status exec_failed.
  const diverged = run('d', null, t, { primary: { name: 'val_loss', value: 0.3, direction: 'lower', diverged: true } });
  const outcome = judgeOutcome({ ideaId: 'i', run: diverged, before });
  assert.equal(outcome.status, 'exec_failed');
  assert.equal(outcome.reward, 0);
  const store = HistoryStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ideator-diverged-')), { onWarning: () => {} });
  store.appendRun(run('ok', null, '2026-11-23T09:00:00Z', { primary: { name: 'val_loss', value: 0.4, direction: 'lower' }, endedAt: '2026-11-23T09:01:00Z' }));
  store.appendRun({ ...diverged, endedAt: '2026-11-23T10:01:00Z' });
  assert.equal(store.bestScore()?.value, 0.4, 'the diverged run is not the best run');
  assert.equal(store.lastScore()?.value, 0.4, 'nor the current score');
});
