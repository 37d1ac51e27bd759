import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { syntheticTrajectory } from '../../bench/trajectory';
import { SeekHelpQuerySchema, type Step } from '../../src/core/protocol';
import { draftQuery, errorLine, parseSeekHelp, renderSeekHelp } from '../../src/core/query';

const run = (score: number | null, extra: Partial<Step> = {}): Step => ({ kind: 'execute', action: 'python train.py', observation: score === null ? '' : `valid auc: ${score}`, exitCode: 0, score, ...extra });
const oneSentence = (s: string) => assert.match(s, /^[^\n]+[.]$/, `not one sentence: ${s}`);

test('plateau: best, latest and steps without improvement are stated; goal names the bar to beat', () => {
  const steps: Step[] = [
    run(0.71),
    { kind: 'edit', action: "cat > train.py << 'EOF'\nimport lightgbm\nEOF", observation: '' },
    run(0.84),
    { kind: 'edit', action: 'sed -i s/num_leaves=31/num_leaves=127/ train.py', observation: '' },
    run(0.835),
    run(0.838),
  ];
  const q = draftQuery({ trajectory: steps, score: { value: 0.838, direction: 'higher', metric: 'auc' } });
  assert.equal(q.problemStatement, 'The auc has not improved on its best of 0.84 (higher is better, step 3) for 3 steps; the latest is 0.838.');
  assert.equal(q.goal, 'Bring the auc above 0.84 with the next change, keeping the submission valid.');
  oneSentence(q.problemStatement);
  oneSentence(q.goal);
  assert.deepEqual(q.attemptsSoFar.slice(0, 3), [
    'Step 1: ran `python train.py` → score 0.71',
    "Step 2: edited the code (cat > train.py << 'EOF', 3 lines)",
    'Step 3: ran `python train.py` → score 0.84',
  ]);
  assert.equal(q.attemptsSoFar.at(-1), 'Best auc 0.84 at step 3; 4 scored runs, 0 failed');
  assert.ok(SeekHelpQuerySchema.safeParse(q).success);
});

test('lower-is-better metrics: best is the minimum and the goal says below', () => {
  const q = draftQuery({ trajectory: [run(0.52), run(0.48), run(0.5)], score: { value: 0.5, direction: 'lower', metric: 'rmse' } });
  assert.match(q.problemStatement, /best of 0\.48 \(lower is better, step 2\) for 1 step; the latest is 0\.5\./);
  assert.equal(q.goal, 'Bring the rmse below 0.48 with the next change, keeping the submission valid.');
});

test('a failed latest run: the traceback\'s last line and exit code are reported', () => {
  const tb = 'Traceback (most recent call last):\n  File "train.py", line 40, in <module>\n    model.fit(X, y)\nValueError: Input X contains NaN.\n';
  const steps: Step[] = [run(0.8), { kind: 'execute', action: 'python train.py', observation: tb, exitCode: 1 }];
  const q = draftQuery({ trajectory: steps, score: { value: 0.8, direction: 'higher', metric: 'accuracy' } });
  assert.equal(q.problemStatement, 'The latest run failed (ValueError: Input X contains NaN.); the best accuracy so far is 0.8 (higher is better).');
  assert.equal(q.goal, 'Fix the failure and bring the accuracy above 0.8.');
  assert.equal(q.attemptsSoFar[1], 'Step 2: ran `python train.py` — failed (exit 1): ValueError: Input X contains NaN.');
});

test('no score yet, and no steps at all', () => {
  const q = draftQuery({ trajectory: [{ kind: 'execute', action: 'python solution.py', observation: 'Killed', exitCode: 137 }, { kind: 'execute', action: 'ls data', observation: 'train.csv', exitCode: 0 }], score: { value: null, direction: 'higher' } });
  assert.equal(q.problemStatement, 'No valid score has been produced after 2 steps (1 failed).');
  assert.equal(q.goal, 'Get a run that finishes and reports a valid score.');
  assert.deepEqual(q.attemptsSoFar, ['Step 1: ran `python solution.py` — failed (exit 137): Killed']); // `ls` is not an attempt
  const empty = draftQuery({ trajectory: [], score: { value: null, direction: 'lower', metric: 'logloss' }, taskDescription: '# Spaceship Titanic\nPredict transport.' });
  assert.equal(empty.problemStatement, 'No run has produced a logloss yet for the task "Spaceship Titanic".');
  assert.deepEqual(empty.attemptsSoFar, []);
  assert.ok(SeekHelpQuerySchema.safeParse(empty).success);
});

test('score known only from the state (p_t), and a fresh improvement', () => {
  const q = draftQuery({ trajectory: [{ kind: 'note', action: 'baseline imported', observation: '' }], score: { value: 0.9, direction: 'higher', metric: 'f1' } });
  assert.equal(q.problemStatement, 'The current f1 is 0.9 (higher is better) and no step has improved on it yet.');
  const up = draftQuery({ trajectory: [run(0.7), run(0.75)], score: { value: 0.75, direction: 'higher' } });
  assert.equal(up.problemStatement, 'The score just improved to 0.75 (higher is better) and the next gain is not obvious.');
});

test('seek_help steps list the idea\'s ACTION; repeats collapse; long histories keep the newest', () => {
  const idea = 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep.\n\nACTION:\nAdd user-level aggregates of amount.\n\nRATIONALE:\nHistory.';
  const q = draftQuery({ trajectory: [run(0.8), { kind: 'seek_help', action: '<seek_help>…</seek_help>', observation: idea }, run(0.8), run(0.8)], score: { value: 0.8, direction: 'higher' } });
  assert.equal(q.attemptsSoFar[1], 'Step 2: asked for an idea; suggested: Add user-level aggregates of amount.');
  assert.equal(q.attemptsSoFar[2], 'Steps 3–4 (×2): ran `python train.py` → score 0.8');
  const long = draftQuery({ trajectory: syntheticTrajectory(300, 1), score: { value: 0.8, direction: 'higher', metric: 'auc' } });
  assert.ok(long.attemptsSoFar.length <= 9);
  assert.match(long.attemptsSoFar[0], /^\d+ earlier attempts not listed$/);
  assert.match(long.attemptsSoFar.at(-2) ?? '', /^Step 300:|^Step 29\d:/);
  for (const b of long.attemptsSoFar) assert.ok(b.length <= 160 && !b.includes('\n'));
});

test('errorLine finds the exception, an error-like line, or the last line', () => {
  assert.equal(errorLine('Traceback (most recent call last):\n  File "x.py", line 1\nKeyError: \'id\'\n\n'), "KeyError: 'id'");
  assert.equal(errorLine('step 1\nRuntimeError: CUDA error: out of memory\nsome cleanup line'), 'RuntimeError: CUDA error: out of memory');
  assert.equal(errorLine('a\nb\n'), 'b');
  assert.equal(errorLine(''), '');
});

test('renderSeekHelp writes the paper\'s block; parseSeekHelp reads it back', () => {
  const q = { problemStatement: 'AUC stuck at 0.84.', attemptsSoFar: ['tuned num_leaves', 'added target encoding'], goal: 'AUC above 0.85.' };
  const block = renderSeekHelp(q);
  assert.equal(block, '<seek_help>\nPROBLEM_STATEMENT:\nAUC stuck at 0.84.\n\nATTEMPTS_SO_FAR:\n- tuned num_leaves\n- added target encoding\n\nGOAL:\nAUC above 0.85.\n</seek_help>');
  assert.deepEqual(parseSeekHelp(`I am stuck, so:\n${block}\nThanks.`), q);
  const drafted = draftQuery({ trajectory: syntheticTrajectory(40, 2), score: { value: 0.8, direction: 'higher' } });
  assert.deepEqual(parseSeekHelp(renderSeekHelp(drafted)), drafted);
});

test('parseSeekHelp tolerates decoration, other bullets, wrapped lines and a missing closing tag', () => {
  const msg = 'Thought: I need help.\n<SEEK_HELP>\n**Problem Statement:** Validation loss\n  diverges after epoch 3.\n\n## Attempts so far\n* lowered lr to 1e-4\n  and added warmup\n• froze the backbone\n1. tried AdamW\n\n**GOAL:**\nStable training with val loss under 0.3.';
  assert.deepEqual(parseSeekHelp(msg), {
    problemStatement: 'Validation loss diverges after epoch 3.',
    attemptsSoFar: ['lowered lr to 1e-4 and added warmup', 'froze the backbone', 'tried AdamW'],
    goal: 'Stable training with val loss under 0.3.',
  });
});

test('parseSeekHelp returns null when the block is absent or incomplete', () => {
  assert.equal(parseSeekHelp('just some text'), null);
  assert.equal(parseSeekHelp('<seek_help>\nPROBLEM_STATEMENT:\n\nGOAL:\nx\n</seek_help>'), null);
  assert.equal(parseSeekHelp('<seek_help>\nPROBLEM_STATEMENT:\nstuck\n</seek_help>'), null);
  assert.equal(parseSeekHelp(undefined as unknown as string), null);
  // The last block wins when a message quotes an earlier one.
  const two = `${renderSeekHelp({ problemStatement: 'old', attemptsSoFar: [], goal: 'old goal' })}\n${renderSeekHelp({ problemStatement: 'new', attemptsSoFar: ['x'], goal: 'new goal' })}`;
  assert.equal(parseSeekHelp(two)?.problemStatement, 'new');
  assert.deepEqual(parseSeekHelp(renderSeekHelp({ problemStatement: 'p', attemptsSoFar: [], goal: 'g' }))?.attemptsSoFar, []);
});

test('shortened actions are never cut inside a number or a name', () => {
  const action = 'Switched LogisticRegression to RandomForestClassifier(n_estimators=200, max_depth=12, min_samples_leaf=3)';
  const q = draftQuery({
    trajectory: [
      { kind: 'edit', action, observation: '' },
      { kind: 'execute', action: 'python train.py --learning-rate 0.0125 --num-leaves 255 --feature-fraction 0.85 --bagging 0.7', exitCode: 0, score: 0.8, observation: 'auc 0.8' },
    ],
    score: { value: 0.8, direction: 'higher', metric: 'auc' },
  });
  const edit = q.attemptsSoFar.find((b) => b.includes('edited the code'))!;
  assert.match(edit, /…/);
  assert.doesNotMatch(edit, /n_estimators=20…|=2…|[\w.]…/, edit);
  const ran = q.attemptsSoFar.find((b) => b.includes('ran `python train.py'))!;
  assert.match(ran, /…/);
  assert.doesNotMatch(ran, /[\w.]…/, ran);
  // Every number that survives is one the action really holds.
  for (const n of `${edit} ${ran}`.match(/\d+(\.\d+)?/g) ?? []) assert.ok(`${action} 0.0125 255 0.85 0.7 0.8 1 2`.includes(n), n);
});

test('in the editor the counts are runs and no submission is assumed', () => {
  const steps: Step[] = [run(0.71), run(0.84), { kind: 'seek_help', action: 'ask', observation: 'ACTION: x' }, run(0.83), run(0.838)];
  const q = draftQuery({ trajectory: steps, score: { value: 0.84, direction: 'higher', metric: 'auc' }, unit: 'run', submission: false });
  assert.equal(q.problemStatement, 'The auc has not improved on its best of 0.84 (higher is better) in the last 2 runs; the latest is 0.838.');
  assert.equal(q.goal, 'Bring the auc above 0.84 with the next change.');
  assert.equal(q.attemptsSoFar.at(-1), 'Best auc 0.84; 4 scored runs, 0 failed');
  const one = draftQuery({ trajectory: [run(0.8), run(0.7)], score: { value: 0.8, direction: 'higher', metric: 'auc' }, unit: 'run' });
  assert.match(one.problemStatement, /in the last run; the latest is 0\.7\./);
  assert.match(one.goal, /keeping the submission valid/, 'the default still names the submission');
  const none = draftQuery({ trajectory: [run(null, { exitCode: 1, observation: 'Traceback\nValueError: bad' })], score: { value: null, direction: 'higher' }, unit: 'run' });
  assert.match(none.problemStatement, /after 1 run\./);
});
