import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history';
import { ExportLineSchema, exportStatesJsonl } from '../../src/core/export';
import { recordCompletedRun } from '../../src/core/outcome';
import { IdeatorStateSchema, type IdeaRecord, type Run } from '../../src/core/protocol';

function run(id: string, value: number, startedAt: string, code?: Run['code']): Run {
  return {
    id, source: 'terminal', command: 'python train.py', startedAt, endedAt: startedAt.replace(/:00Z$/, ':40Z'),
    exitCode: 0, metrics: [], primary: { name: 'val_acc', value, direction: 'higher' },
    outputHead: '', outputTail: `epoch 3 val_acc ${value}`, outputBytes: 20, code,
  };
}
function idea(id: string, createdAt: string, runId?: string): IdeaRecord {
  return {
    id, createdAt, runId, raw: `ANALYSIS: a\nACTION: action ${id}\nRATIONALE: r`, type: 'Model Training',
    parsed: { ok: true, analysis: 'a', action: `action ${id}`, rationale: 'r', codeBlocks: [], errors: [] },
    query: { problemStatement: 'acc stuck at 0.8', attemptsSoFar: ['tuned lr'], goal: 'beat 0.8' },
  };
}

test('each judged idea becomes one line in the server state format, with the state at asking time', () => {
  const store = HistoryStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ideator-export-')), { onWarning: () => {} });
  recordCompletedRun(store, run('a', 0.8, '2026-11-23T10:00:00Z', { path: 'train.py', hash: 'h1', content: 'lr = 0.1\n' }));
  recordCompletedRun(store, run('b', 0.79, '2026-11-23T10:01:00Z', { path: 'train.py', hash: 'h1' }));
  store.appendIdea(idea('i1', '2026-11-23T10:02:00Z', 'b'));
  store.appendApplied({ ideaId: 'i1', path: 'train.py', at: '2026-11-23T10:03:00Z' });
  recordCompletedRun(store, run('c', 0.85, '2026-11-23T10:04:00Z', { path: 'train.py', hash: 'h2', content: 'lr = 0.05\n', diffFromPrevious: '-lr = 0.1\n+lr = 0.05\n' }));
  store.appendIdea(idea('i2', '2026-11-23T10:05:00Z')); // never applied: unjudged

  const { text, count } = exportStatesJsonl(store, { taskDescription: 'Predict churn.', taskId: 'my-ws' });
  assert.equal(count, 1);
  const lines = text.trim().split('\n').map((l) => ExportLineSchema.parse(JSON.parse(l)));
  const [line] = lines;
  // The state validates against the server's schema on its own.
  IdeatorStateSchema.parse(line.state);
  assert.equal(line.state.taskDescription, 'Predict churn.');
  assert.equal(line.state.code, 'lr = 0.1\n', 'content recovered by hash for run b');
  assert.equal(line.state.codePath, 'train.py');
  assert.deepEqual(line.state.score, { value: 0.79, direction: 'higher', metric: 'val_acc' });
  assert.deepEqual(line.state.trajectory.map((s) => s.kind), ['execute', 'execute'], 'nothing after the question');
  assert.equal(line.state.query?.goal, 'beat 0.8');
  assert.match(line.idea, /ACTION: action i1/);
  assert.equal(line.outcome?.reward, 1);
  assert.equal(line.ideaType, 'Model Training');

  const all = exportStatesJsonl(store, { taskDescription: 'Predict churn.', includeUnjudged: true });
  assert.equal(all.count, 2);
  const second = ExportLineSchema.parse(JSON.parse(all.text.trim().split('\n')[1]));
  assert.equal(second.outcome, null);
  assert.equal(second.state.code, 'lr = 0.05\n');
  assert.deepEqual(second.state.trajectory.map((s) => s.kind), ['execute', 'execute', 'seek_help', 'edit', 'execute']);
});

test('an empty history exports nothing', () => {
  const store = HistoryStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ideator-export-')), { onWarning: () => {} });
  assert.deepEqual(exportStatesJsonl(store, { taskDescription: 't' }), { text: '', count: 0 });
});
