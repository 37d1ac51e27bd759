/**
 * The agent tool contract (src/core/agentTools.ts) against a real run history written by core's HistoryStore:
 * schemas, argument errors, the seek_help state and prompt, list_runs / get_run, record_outcome's judging.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  AGENT_TOOL_NAMES,
  AGENT_TOOLS,
  AgentToolError,
  agentToolJsonSchemas,
  formatOutcome,
  formatRun,
  formatRunList,
  formatSeekHelp,
  getRun,
  ideaRecordFrom,
  listRuns,
  parseToolInput,
  recordIdea,
  recordOutcome,
  seekHelpMessages,
  seekHelpResult,
  seekHelpState,
  type SeekHelpInput,
} from '../../src/core/agentTools';
import { HistoryStore } from '../../src/core/history';
import { renderSeekHelp } from '../../src/core/query';
import { buildHistory, CODE_V1, CODE_V2, CODE_V3, GOOD_ANSWER, runRecord } from '../agentToolsFixture';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
function history() {
  const h = buildHistory();
  cleanups.push(h.cleanup);
  return h;
}

const ASK: SeekHelpInput = parseToolInput('seek_help', {
  problem_statement: 'val_auc is stuck at 0.80 and the last run crashed',
  attempts_so_far: ['n_estimators 200 -> 500: val_auc 0.80 -> 0.78', 'max_depth=-2: ValueError'],
  goal: 'val_auc above 0.82',
});

function throwsTool(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AgentToolError, `AgentToolError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return true;
  });
}

describe('agent tools: definitions and JSON Schemas', () => {
  test('four tools, each with a title, a description for agents and object schemas that reject unknown keys', () => {
    assert.deepEqual(
      AGENT_TOOLS.map((t) => t.name),
      [...AGENT_TOOL_NAMES],
    );
    const schemas = agentToolJsonSchemas();
    for (const t of AGENT_TOOLS) {
      assert.match(t.name, /^[a-z_]+$/);
      assert.ok(t.title.length > 5 && t.description.length > 100, t.name);
      const { input, output } = schemas[t.name];
      assert.equal(input.type, 'object');
      assert.equal(input.additionalProperties, false, `${t.name} input is strict`);
      assert.equal(output.type, 'object');
    }
    assert.deepEqual(schemas.seek_help.input.required, ['problem_statement', 'goal']);
    assert.deepEqual(schemas.get_run.input.required, ['run_id']);
    assert.deepEqual(schemas.record_outcome.input.required, ['idea_id']);
    assert.equal(schemas.list_runs.input.required, undefined, 'limit has a default');
    const props = schemas.seek_help.input.properties as Record<string, { maxLength?: number; maxItems?: number }>;
    assert.equal(props.problem_statement.maxLength, 4000);
    assert.equal(props.attempts_so_far.maxItems, 30);
    assert.ok(JSON.stringify(schemas.seek_help.output).includes('idea_id'));
    assert.ok(AGENT_TOOLS.find((t) => t.name === 'list_runs')!.readOnly && !AGENT_TOOLS.find((t) => t.name === 'seek_help')!.readOnly);
  });

  test('valid arguments get their defaults; invalid ones one line naming the argument', () => {
    assert.deepEqual(parseToolInput('list_runs', undefined), { limit: 20 });
    assert.deepEqual(parseToolInput('get_run', { run_id: ' latest ' }), { run_id: 'latest', output_chars: 4000, include_code: true, code_chars: 40000 });
    assert.deepEqual(parseToolInput('seek_help', { problem_statement: ' p ', goal: 'g' }), { problem_statement: 'p', goal: 'g', attempts_so_far: [] });
    throwsTool(() => parseToolInput('seek_help', { problem_statement: 'x'.repeat(4001), goal: 'g' }), 'bad_arguments', /^invalid arguments for seek_help: problem_statement: .*4000/);
    throwsTool(() => parseToolInput('seek_help', { problem_statement: 'p', goal: '   ' }), 'bad_arguments', /goal: Too small/);
    throwsTool(() => parseToolInput('seek_help', { problem_statement: 'p', goal: 'g', attempts_so_far: 'tried' }), 'bad_arguments', /attempts_so_far: .*expected array/);
    throwsTool(() => parseToolInput('seek_help', { problem_statement: 'p', goal: 'g', api_key: 'sk-1' }), 'bad_arguments', /Unrecognized key: "api_key"/);
    throwsTool(() => parseToolInput('list_runs', { limit: 0 }), 'bad_arguments', /limit: Too small/);
    throwsTool(() => parseToolInput('list_runs', { limit: 2.5 }), 'bad_arguments', /limit: .*expected int/);
    throwsTool(() => parseToolInput('get_run', {}), 'bad_arguments', /run_id: /);
    throwsTool(() => parseToolInput('record_outcome', []), 'bad_arguments', /\(arguments\): .*expected object/);
    const many = { problem_statement: 1, goal: 2, attempts_so_far: 3, code_path: 4, run_id: 5 };
    throwsTool(() => parseToolInput('seek_help', many), 'bad_arguments', /and 2 more$/);
  });
});

describe('agent tools: seek_help', () => {
  test('the state now: the whole trajectory, the newest valid score, the newest run\'s code, the agent\'s query', () => {
    const { store } = history();
    const state = seekHelpState(store, ASK, { taskDescription: 'Predict churn.', taskId: 'churn' });
    assert.equal(state.trajectory.filter((s) => s.kind === 'execute').length, 3);
    assert.equal(state.trajectory.filter((s) => s.kind === 'edit').length, 2);
    assert.deepEqual(state.score, { value: 0.78, direction: 'higher', metric: 'val_auc' });
    assert.equal(state.code, CODE_V3);
    assert.equal(state.codePath, 'train.py');
    assert.deepEqual(state.query, { problemStatement: ASK.problem_statement, attemptsSoFar: ASK.attempts_so_far, goal: ASK.goal });
    const text = seekHelpMessages(state)
      .map((m) => m.content)
      .join('\n');
    assert.ok(text.includes(renderSeekHelp(state.query!)), 'the query block as core renders it');
    assert.ok(text.includes('max_depth=-2') && text.includes('Predict churn.'), 'code and task in the prompt');
    assert.ok(text.includes('ValueError: max_depth must be >= -1'), "the crash's error from the trajectory");
  });

  test('code the host read wins over the snapshot; run_id asks as of that run (its score and code)', () => {
    const { store } = history();
    const now = seekHelpState(store, { ...ASK, code_path: 'train.py' }, { taskDescription: '', code: '# edited on disk\n', codePath: 'train.py' });
    assert.equal(now.code, '# edited on disk\n');
    const asOf = seekHelpState(store, { ...ASK, run_id: 'run-1' }, { taskDescription: '', code: '# edited on disk\n' });
    assert.equal(asOf.code, CODE_V1);
    assert.deepEqual(asOf.score, { value: 0.8, direction: 'higher', metric: 'val_auc' });
    assert.equal(asOf.trajectory.filter((s) => s.kind === 'execute').length, 1, 'only the steps up to run-1');
    throwsTool(() => seekHelpState(store, { ...ASK, run_id: 'nope' }, { taskDescription: '' }), 'not_found', /no run 'nope'.*3 runs/);
  });

  test('an empty history: no score, no code, still a state', () => {
    const { dir, cleanup } = buildHistory();
    cleanup();
    const store = HistoryStore.open(dir, { onWarning: () => undefined });
    cleanups.push(() => undefined);
    const state = seekHelpState(store, ASK, { taskDescription: '' });
    assert.deepEqual(state.score, { value: null, direction: 'higher', metric: undefined });
    assert.equal(state.code, '');
    assert.equal(state.trajectory.length, 0);
  });

  test('the answer becomes an idea in the history, with the query, p_t and the parsed fields', () => {
    const { dir, store } = history();
    const state = seekHelpState(store, ASK, { taskDescription: '' });
    const idea = ideaRecordFrom({ completion: { text: GOOD_ANSWER, model: 'ideator', usage: { inputTokens: 5, outputTokens: 7 } }, state, provider: 'openai', now: () => new Date('2026-12-06T11:00:00Z') });
    const stored = recordIdea(store, idea);
    const reread = HistoryStore.open(dir, { onWarning: () => undefined });
    assert.deepEqual(reread.idea(idea.id), JSON.parse(JSON.stringify(stored)));
    assert.equal('thinking' in stored.parsed, false, 'no empty thinking key');
    assert.equal(stored.raw, GOOD_ANSWER);
    assert.equal(reread.idea(idea.id)?.origin, 'agent', "an agent's idea is marked so (Idea History)");
    const out = seekHelpResult(idea);
    assert.equal(out.format_ok, true);
    assert.match(out.action, /ratio features/);
    assert.deepEqual(out.score_before, { value: 0.78, metric: 'val_auc', direction: 'higher' });
    assert.equal(out.query.goal, ASK.goal);
    const steps = reread.toTrajectory();
    assert.equal(steps[steps.length - 1].kind, 'seek_help');
    assert.equal(steps[steps.length - 1].action, renderSeekHelp(state.query!));
    const text = formatSeekHelp(out);
    assert.match(text, /^ANALYSIS_ON_CURRENT_PROGRESS:\n/);
    assert.ok(text.includes(`idea_id: ${idea.id}`) && text.includes('record_outcome'));
    const bad = seekHelpResult(ideaRecordFrom({ completion: { text: 'Try ratio features.', model: 'm' }, state, provider: 'openai' }));
    assert.equal(bad.format_ok, false);
    assert.match(formatSeekHelp(bad), /did not follow the expected format/);
  });
});

describe('agent tools: list_runs and get_run', () => {
  test('newest first, limited, each against the best before it', () => {
    const { store } = history();
    const all = listRuns(store, { limit: 20 });
    assert.equal(all.total, 3);
    assert.deepEqual(all.best, { value: 0.8, metric: 'val_auc', direction: 'higher', run_id: 'run-1' });
    assert.deepEqual(
      all.runs.map((r) => [r.id, r.n, r.status, r.score, r.vs_best, r.is_best]),
      [
        ['run-3', 3, 'failed', null, 'worse', false],
        ['run-2', 2, 'finished', 0.78, 'worse', false],
        ['run-1', 1, 'finished', 0.8, 'new-best', true],
      ],
    );
    const two = listRuns(store, { limit: 2 });
    assert.deepEqual(two.runs.map((r) => r.id), ['run-3', 'run-2']);
    const text = formatRunList(two);
    assert.match(text, /^3 runs \(the newest 2 shown\); best val_auc 0\.8 \(higher is better\) in run run-1\./);
    assert.match(text, /#3 run-3 .* failed \(exit 1\) {2}no score \(worse than best\) `python train\.py`/);
    store.appendRun(runRecord('run-4', 30, { endedAt: undefined, exitCode: undefined }));
    assert.equal(listRuns(store, { limit: 1 }).runs[0].status, 'running');
  });

  test('one run: metrics, output, code and diff; latest / best; unknown id', () => {
    const { store } = history();
    const latest = getRun(store, parseToolInput('get_run', { run_id: 'latest' }));
    assert.equal(latest.run.id, 'run-3');
    assert.equal(latest.output.truncated, false);
    assert.match(latest.output.tail, /ValueError: max_depth must be >= -1\n$/);
    assert.equal(latest.code?.content, CODE_V3);
    assert.match(latest.code?.diff_from_previous ?? '', /-model = lgb.LGBMClassifier\(n_estimators=500\)/);
    const best = getRun(store, parseToolInput('get_run', { run_id: 'best', include_code: false }));
    assert.equal(best.run.id, 'run-1');
    assert.equal(best.code, null);
    assert.deepEqual(best.metrics, [{ name: 'val_auc', last: 0.8, best: 0.8, direction: 'higher', validation: true }]);
    assert.match(formatRun(latest), /output:\nloading data\nTraceback/);
    assert.match(formatRun(latest), /code \(train\.py\):\nimport lightgbm/);
    throwsTool(() => getRun(store, parseToolInput('get_run', { run_id: 'run-9' })), 'not_found', /no run 'run-9' in the run history \(3 runs/);
  });

  test('long output: its end and a quarter of its start; long code: head and tail; content found by hash', () => {
    const { store } = history();
    const head = 'H'.repeat(64_000);
    const tail = `${'t'.repeat(100_000)}\nEND val_auc 0.81\n`;
    store.appendRun(runRecord('run-long', 40, { outputHead: head, outputTail: tail, outputBytes: 500_000, code: { path: 'train.py', hash: 'same-as-v2' } }));
    store.appendRun(runRecord('run-v2-again', 50, { code: { path: 'train.py', hash: `${'x'}`, content: 'y'.repeat(5000) } }));
    const long = getRun(store, parseToolInput('get_run', { run_id: 'run-long', output_chars: 1000 }));
    assert.equal(long.output.truncated, true);
    assert.equal(long.output.tail.length, 1000);
    assert.ok(long.output.tail.endsWith('END val_auc 0.81\n'));
    assert.equal(long.output.head, 'H'.repeat(250));
    assert.equal(long.code?.content, null, 'a hash no run stored content for');
    assert.match(formatRun(long), /output \(start\):\nH{250}\n\noutput \(end\):/);
    const cut = getRun(store, parseToolInput('get_run', { run_id: 'run-v2-again', code_chars: 1000 }));
    assert.equal(cut.code?.truncated, true);
    assert.equal(cut.code?.content_chars, 5000);
    assert.match(cut.code?.content ?? '', /^y{500}\n# … \[4000 characters cut\] …\ny{500}$/);
    assert.equal(getRun(store, parseToolInput('get_run', { run_id: 'run-2', output_chars: 0 })).output.tail, '');
    // A run that omitted unchanged content gets it from the run that stored it.
    store.appendRun(runRecord('run-unchanged', 60, { code: { path: 'train.py', hash: store.run('run-2')!.code!.hash } }));
    assert.equal(getRun(store, parseToolInput('get_run', { run_id: 'run-unchanged' })).code?.content, CODE_V2);
  });
});

describe('agent tools: record_outcome', () => {
  function asked(store: HistoryStore, at: string) {
    const state = seekHelpState(store, ASK, { taskDescription: '' });
    return recordIdea(store, ideaRecordFrom({ completion: { text: GOOD_ANSWER, model: 'ideator' }, state, provider: 'openai', now: () => new Date(at) }));
  }

  test('no run since the idea: says what to do; the next finished run judges it against p_t and is tagged', () => {
    const { dir, store } = history();
    const idea = asked(store, '2026-12-06T10:30:00.000Z');
    throwsTool(() => recordOutcome(store, { idea_id: idea.id }), 'not_found', /no run has finished since idea .* run the training with the change/);
    store.appendRun(runRecord('run-5', 31, { endedAt: undefined }));
    throwsTool(() => recordOutcome(store, { idea_id: idea.id }), 'not_found', /no run has finished/);
    store.appendRun(runRecord('run-5', 31, { primary: { name: 'val_auc', value: 0.83, direction: 'higher' } }));
    const out = recordOutcome(store, { idea_id: idea.id }, () => new Date('2026-12-06T10:40:00Z'));
    assert.deepEqual(out, {
      idea_id: idea.id,
      run_id: 'run-5',
      before: 0.78,
      after: 0.83,
      direction: 'higher',
      status: 'improved',
      improved: true,
      reward: 1,
      recorded_at: '2026-12-06T10:40:00.000Z',
      already_recorded: false,
    });
    const reread = HistoryStore.open(dir, { onWarning: () => undefined });
    assert.equal(reread.run('run-5')?.ideaId, idea.id);
    assert.equal(reread.outcomeFor(idea.id)?.status, 'improved');
    assert.equal(recordOutcome(reread, { idea_id: idea.id }).already_recorded, true);
    assert.match(formatOutcome(out), /^Idea .* improved: 0\.78 -> 0\.83 \(higher is better\) in run run-5\.$/);
    assert.equal(getRun(reread, parseToolInput('get_run', { run_id: 'run-5' })).outcome?.status, 'improved');
  });

  test('a named run: worse, failed, before the idea, unfinished, already another idea\'s; unknown idea', () => {
    const { store } = history();
    const idea = asked(store, '2026-12-06T10:30:00.000Z');
    store.appendRun(runRecord('worse', 32, { primary: { name: 'val_auc', value: 0.7, direction: 'higher' } }));
    store.appendRun(runRecord('crash', 34, { exitCode: 1 }));
    store.appendRun(runRecord('open', 36, { endedAt: undefined }));
    assert.equal(recordOutcome(store, { idea_id: idea.id, run_id: 'worse' }).status, 'not_improved');
    const failed = recordOutcome(store, { idea_id: idea.id, run_id: 'crash' });
    assert.equal(failed.status, 'exec_failed');
    assert.equal(failed.improved, false);
    assert.match(formatOutcome(failed), /did not improve \(the run failed or printed no score\)/);
    assert.equal(store.outcomeFor(idea.id)?.runId, 'crash', 'the newest judgement is the one kept');
    throwsTool(() => recordOutcome(store, { idea_id: idea.id, run_id: 'run-2' }), 'conflict', /started .* before idea/);
    throwsTool(() => recordOutcome(store, { idea_id: idea.id, run_id: 'open' }), 'conflict', /has not finished yet/);
    const other = asked(store, '2026-12-06T10:31:00.000Z');
    throwsTool(() => recordOutcome(store, { idea_id: other.id, run_id: 'worse' }), 'conflict', /already tested another idea/);
    throwsTool(() => recordOutcome(store, { idea_id: 'no-such-idea' }), 'not_found', /no idea 'no-such-idea'/);
  });

  test('a lower-is-better metric and a renamed metric are judged as the editor judges them', () => {
    const { store } = history();
    store.appendRun(runRecord('loss-1', 40, { primary: { name: 'val_loss', value: 0.5, direction: 'lower' } }));
    const idea = asked(store, '2026-12-06T10:45:00.000Z');
    assert.deepEqual(idea.scoreBefore, { value: 0.5, direction: 'lower', metric: 'val_loss' });
    store.appendRun(runRecord('loss-2', 46, { primary: { name: 'val_loss', value: 0.4, direction: 'lower' } }));
    assert.equal(recordOutcome(store, { idea_id: idea.id }).status, 'improved');
    const idea2 = asked(store, '2026-12-06T10:50:00.000Z');
    store.appendRun(runRecord('renamed', 51, { primary: { name: 'val_rmse', value: 0.1, direction: 'lower' } }));
    assert.equal(recordOutcome(store, { idea_id: idea2.id }).status, 'not_improved', 'another metric is not comparable');
    void CODE_V1;
  });
});
