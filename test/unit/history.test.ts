import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore, type HistoryRecord } from '../../src/core/history';
import { buildTrajectory } from '../../src/core/historyTrajectory';
import { bestOf } from '../../src/core/runResults';
import { parseSeekHelp } from '../../src/core/query';
import type { IdeaRecord, Run } from '../../src/core/protocol';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ideator-history-'));
}

function run(id: string, value: number | null, extra: Partial<Run> = {}): Run {
  return {
    id,
    source: 'terminal',
    command: `python train.py --seed ${id}`,
    startedAt: `2026-11-23T10:00:0${id.length}Z`,
    endedAt: `2026-11-23T10:01:00Z`,
    exitCode: 0,
    metrics: [],
    primary: value === null ? null : { name: 'val_acc', value, direction: 'higher' },
    outputHead: '',
    outputTail: `val_acc: ${value}`,
    outputBytes: 12,
    ...extra,
  };
}

function idea(id: string, createdAt: string, extra: Partial<IdeaRecord> = {}): IdeaRecord {
  return {
    id,
    createdAt,
    raw: 'ANALYSIS: a\nACTION: use more trees\nRATIONALE: c',
    parsed: { ok: true, analysis: 'a', action: 'use more trees', rationale: 'c', codeBlocks: [], errors: [] },
    ...extra,
  };
}

test('records survive a reload, in order, with deletions and updates applied', () => {
  const dir = tmpDir();
  const s = HistoryStore.open(dir, { onWarning: () => {} });
  s.appendRun(run('a', 0.8));
  s.appendRun(run('b', 0.85));
  s.appendRun(run('c', 0.7));
  s.appendRun({ ...run('b', 0.86), note: 'updated' });
  s.deleteRun('c');
  s.appendIdea(idea('i1', '2026-11-23T10:05:00Z'));
  s.appendIdea({ ...idea('i1', '2026-11-23T10:05:00Z'), type: 'Model Architecture' });

  const r = HistoryStore.open(dir, { onWarning: () => {} });
  assert.deepEqual(r.runs().map((x) => x.id), ['a', 'b']);
  assert.equal(r.run('b')?.note, 'updated');
  assert.equal(r.run('b')?.primary?.value, 0.86);
  assert.equal(r.run('c'), undefined);
  assert.equal(r.ideas().length, 1);
  assert.equal(r.ideas()[0].type, 'Model Architecture');
  assert.deepEqual(r.bestScore(), { value: 0.86, direction: 'higher', name: 'val_acc', runId: 'b' });
  assert.equal(r.skipped.length, 0);
});

test('a corrupted line and a torn last line are skipped with a warning; the rest loads and appends continue', () => {
  const dir = tmpDir();
  const s = HistoryStore.open(dir, { onWarning: () => {} });
  s.appendRun(run('a', 0.5));
  s.appendRun(run('b', 0.6));
  const file = path.join(dir, 'history.jsonl');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  // Corrupt the first record in the middle, add an invalid-but-JSON record, and tear the end.
  lines[0] = lines[0].slice(0, 20) + '#garbage' + lines[0].slice(20);
  fs.writeFileSync(file, lines.join('\n') + '{"kind":"run","run":{"id":""}}\n{"kind":"run","run":{"id":"tor');

  const warnings: string[] = [];
  const r = HistoryStore.open(dir, { onWarning: (m) => warnings.push(m) });
  assert.deepEqual(r.runs().map((x) => x.id), ['b']);
  assert.equal(warnings.length, 3);
  assert.match(warnings[0], /history\.jsonl:1: not JSON/);
  assert.match(warnings[1], /invalid record/);
  assert.match(warnings[2], /not JSON/);

  // Appending after a torn line must start on a new line, so the new record is readable.
  r.appendRun(run('c', 0.9));
  const again = HistoryStore.open(dir, { onWarning: () => {} });
  assert.deepEqual(again.runs().map((x) => x.id), ['b', 'c']);
  assert.equal(again.skipped.length, 3); // the same three bad lines, nothing new
});

test('rotation caps disk use and keeps reading across segments', () => {
  const dir = tmpDir();
  const s = HistoryStore.open(dir, { maxSegmentBytes: 2000, maxSegments: 2, onWarning: () => {} });
  const big = 'x'.repeat(700);
  for (let i = 0; i < 20; i++) s.appendRun(run(`r${i}`, i, { outputTail: big }));
  const files = fs.readdirSync(dir).sort();
  assert.ok(files.includes('history.jsonl'));
  assert.ok(files.length <= 3, `segments kept: ${files.join(',')}`);
  let total = 0;
  for (const f of files) total += fs.statSync(path.join(dir, f)).size;
  assert.ok(total <= 2000 * 3 + 1000, `bytes on disk ${total}`);
  // In memory the session still sees every run; after a reload only the kept segments, newest last.
  assert.equal(s.runs().length, 20);
  const r = HistoryStore.open(dir, { maxSegmentBytes: 2000, maxSegments: 2, onWarning: () => {} });
  const ids = r.runs().map((x) => x.id);
  assert.ok(ids.length >= 4 && ids.length < 20, `reloaded ${ids.length}`);
  assert.equal(ids[ids.length - 1], 'r19');
  // Consecutive: nothing lost in the middle.
  const nums = ids.map((x) => Number(x.slice(1)));
  nums.forEach((n, i) => i > 0 && assert.equal(n, nums[i - 1] + 1));
});

test('invalid records are refused on write', () => {
  const s = HistoryStore.open(tmpDir(), { onWarning: () => {} });
  assert.throws(() => s.appendRun({ ...run('a', 1), id: '' }));
  assert.equal(s.runs().length, 0);
});

test('best score is direction-aware, ignores failed runs, follows the newest metric and the baseline', () => {
  const s = HistoryStore.open(tmpDir(), { onWarning: () => {} });
  s.appendRun(run('a', 0.9));
  s.appendRun(run('b', 0.95, { exitCode: 1 }));
  s.appendRun(run('c', 0.8, { exitCode: null }));
  assert.equal(s.bestScore()?.runId, 'a');
  s.markBaseline('c');
  assert.equal(s.baselineId(), 'c');
  assert.equal(s.bestScore()?.runId, 'c');
  s.markBaseline(null);
  assert.equal(s.bestScore()?.runId, 'a');

  const loss = [
    run('x', null, { primary: { name: 'val_loss', value: 0.5, direction: 'lower' } }),
    run('y', null, { primary: { name: 'val_loss', value: 0.3, direction: 'lower' } }),
    run('z', null, { primary: { name: 'val_loss', value: 0.4, direction: 'lower' } }),
  ];
  assert.equal(bestOf(loss)?.runId, 'y');
  // A run scored by another metric before the newest metric appeared does not compete.
  assert.equal(bestOf([run('a', 99), ...loss])?.runId, 'y');
  assert.equal(bestOf([]), null);
});

test('pendingIdea is the newest applied idea without an outcome', () => {
  const s = HistoryStore.open(tmpDir(), { onWarning: () => {} });
  assert.equal(s.pendingIdea(), null);
  s.appendIdea(idea('i1', '2026-11-23T10:05:00Z'));
  s.appendApplied({ ideaId: 'i1', path: 'train.py', beforeHash: 'h0', afterHash: 'h1', at: '2026-11-23T10:06:00Z' });
  assert.equal(s.pendingIdea()?.idea?.id, 'i1');
  s.appendOutcome({
    ideaId: 'i1', runId: 'r', before: 0.8, after: 0.9, direction: 'higher', status: 'improved', reward: 1,
    recordedAt: '2026-11-23T10:07:00Z',
  });
  assert.equal(s.pendingIdea(), null);
  assert.equal(s.outcomeFor('i1')?.reward, 1);
  // Applied, then every change undone in the editor's review (the same apply recorded again): no run judges it.
  s.appendIdea(idea('i2', '2026-11-23T10:08:00Z'));
  const apply2 = { ideaId: 'i2', path: 'train.py', beforeHash: 'h1', afterHash: 'h2', at: '2026-11-23T10:09:00Z' };
  s.appendApplied(apply2);
  assert.equal(s.pendingIdea()?.idea?.id, 'i2');
  s.appendApplied({ ...apply2, afterHash: 'h1', undone: true });
  assert.equal(s.pendingIdea(), null);
  // Partly kept: still judged.
  s.appendApplied({ ...apply2, afterHash: 'h3', partial: true });
  assert.equal(s.pendingIdea()?.applied.partial, true);
});

test('a review outcome recorded after a later apply updates its own apply; the later one stays pending', () => {
  // Apply A to a.py (its inline review still open), apply B to b.py, then Undo All in a.py: A's apply is recorded
  // again with its own `at`, after B's record.
  const dir = tmpDir();
  const s = HistoryStore.open(dir, { onWarning: () => {} });
  s.appendIdea(idea('A', '2026-11-23T10:00:00Z'));
  s.appendIdea(idea('B', '2026-11-23T10:00:30Z'));
  const a = { ideaId: 'A', path: 'a.py', beforeHash: 'a0', afterHash: 'a1', at: '2026-11-23T10:01:00.000Z' };
  s.appendApplied(a);
  s.appendApplied({ ideaId: 'B', path: 'b.py', beforeHash: 'b0', afterHash: 'b1', at: '2026-11-23T10:02:00.000Z' });
  s.appendApplied({ ...a, afterHash: 'a0', undone: true });
  assert.equal(s.pendingIdea()?.applied.ideaId, 'B');
  assert.deepEqual(s.applied().map((x) => [x.ideaId, x.undone ?? false]), [['A', true], ['B', false]]);
  // A only partly undone: B's run is still B's, not A's.
  s.appendApplied({ ...a, afterHash: 'a2', partial: true });
  assert.equal(s.pendingIdea()?.applied.ideaId, 'B');
  assert.deepEqual(s.applied().map((x) => [x.ideaId, x.partial ?? false, x.undone ?? false]), [['A', true, false], ['B', false, false]]);
  // The same on reading the file back.
  const r = HistoryStore.open(dir, { onWarning: () => {} });
  assert.equal(r.pendingIdea()?.applied.ideaId, 'B');
  assert.deepEqual(r.applied().map((x) => [x.ideaId, x.afterHash]), [['A', 'a2'], ['B', 'b1']]);
});

test('onChange fires for each append and can be removed', () => {
  const s = HistoryStore.open(tmpDir(), { onWarning: () => {} });
  const seen: HistoryRecord['kind'][] = [];
  const off = s.onChange((r) => seen.push(r.kind));
  s.appendRun(run('a', 1));
  s.deleteRun('a');
  off();
  s.appendRun(run('b', 1));
  assert.deepEqual(seen, ['run', 'delete']);
});

test('codeContent finds unchanged code stored by an earlier run', () => {
  const s = HistoryStore.open(tmpDir(), { onWarning: () => {} });
  s.appendRun(run('a', 1, { code: { path: 'train.py', hash: 'h1', content: 'print(1)' } }));
  s.appendRun(run('b', 1, { code: { path: 'train.py', hash: 'h1' } }));
  assert.equal(s.codeContent('h1'), 'print(1)');
  assert.equal(s.codeContent('nope'), undefined);
});

test('trajectory interleaves edits, executions and seek-help steps by time, and cuts long output', () => {
  const runs = [
    run('a', 0.8, { startedAt: '2026-11-23T10:00:00Z', outputTail: 'y'.repeat(5000) }),
    run('b', 0.9, {
      startedAt: '2026-11-23T10:10:00Z',
      code: { path: 'train.py', hash: 'h2', diffFromPrevious: '--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n' },
    }),
  ];
  const ideas = [idea('i1', '2026-11-23T10:05:00Z', { query: { problemStatement: 'stuck', attemptsSoFar: ['lr'], goal: 'beat 0.8' } })];
  const steps = buildTrajectory(runs, ideas, { maxObservationChars: 100 });
  assert.deepEqual(steps.map((s) => s.kind), ['execute', 'seek_help', 'edit', 'execute']);
  assert.equal(steps[0].score, 0.8);
  assert.ok(steps[0].observation.length < 200);
  assert.match(steps[0].observation, /characters cut/);
  // The query is written by query.ts's renderSeekHelp (the one <seek_help> renderer), so it parses back.
  assert.match(steps[1].action, /PROBLEM_STATEMENT:\nstuck/);
  assert.deepEqual(parseSeekHelp(steps[1].action), ideas[0].query);
  assert.match(steps[1].observation, /ACTION: use more trees/);
  assert.equal(steps[2].action, 'edit train.py');
  // `until` gives the state at the moment the idea was asked for.
  assert.deepEqual(buildTrajectory(runs, ideas, { until: '2026-11-23T10:05:00Z' }).map((s) => s.kind), ['execute']);
});

test('appendApplied accepts appliedAt and lastScore is the newest valid run', () => {
  const s = HistoryStore.open(tmpDir(), { onWarning: () => {} });
  assert.equal(s.lastScore(), undefined);
  s.appendRun(run('a', 0.9));
  s.appendRun(run('b', 0.7));
  s.appendRun(run('c', 0.99, { exitCode: 2 }));
  assert.deepEqual(s.lastScore(), { value: 0.7, direction: 'higher', metric: 'val_acc' });
  s.appendApplied({ ideaId: 'i9', diff: '--- a\n+++ b\n', appliedAt: '2026-11-23T11:00:00Z', via: 'preview' });
  assert.equal(s.applied()[0].at, '2026-11-23T11:00:00Z');
  assert.equal(s.pendingIdea()?.applied.ideaId, 'i9');
  assert.equal(s.pendingIdea()?.idea, undefined);
});
