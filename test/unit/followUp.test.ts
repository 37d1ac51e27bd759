import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFollowUpMessages, FOLLOW_UPS, followUpQuestion, isProse, readFollowUpAnswer, splitAlternatives } from '../../src/core/followUp';
import { loadPrompt } from '../../src/core/prompts';

const state = {
  taskId: 't',
  taskDescription: 'Predict churn; metric AUC.',
  trajectory: [{ action: 'python train.py', observation: 'val_auc=0.81' }],
  score: { value: 0.81, direction: 'higher' as const, metric: 'val_auc' },
  code: 'print(1)\n',
  codePath: 'train.py',
  query: { problemStatement: 'Stuck at 0.81.', attemptsSoFar: ['a deeper forest'], goal: 'Raise AUC.' },
};
const EARLIER = '<think>hidden reasoning</think>ANALYSIS_ON_CURRENT_PROGRESS: a\n\nACTION: Use gradient boosting.\n\nRATIONALE: b';

test('the follow-up is the same Ideator prompt, the earlier answer without its reasoning, then the question', () => {
  const msgs = buildFollowUpMessages(state, EARLIER, FOLLOW_UPS.why.question);
  assert.equal(msgs[0].role, 'system');
  const prompt = msgs.slice(0, -2).map((m) => m.content).join('\n');
  for (const part of ['Predict churn', 'python train.py', 'val_auc = 0.81', 'print(1)', 'Stuck at 0.81.']) assert.ok(prompt.includes(part), `state lacks ${part}`);
  const assistant = msgs[msgs.length - 2];
  assert.equal(assistant.role, 'assistant');
  assert.ok(assistant.content.startsWith('ANALYSIS_ON_CURRENT_PROGRESS: a') && !assistant.content.includes('hidden reasoning'));
  const last = msgs[msgs.length - 1];
  assert.equal(last.role, 'user');
  assert.ok(last.content.includes(FOLLOW_UPS.why.question));
  assert.ok(last.content.includes('ALTERNATIVE n:'));
});

test('followup.md loads with its one required placeholder', () => {
  assert.deepEqual(loadPrompt('followup').placeholders, ['question']);
});

test('free text: empty and too long are errors in words; the text is sent trimmed', () => {
  assert.throws(() => followUpQuestion('free', '   '), /Type a question/);
  assert.throws(() => followUpQuestion('free', 'x'.repeat(2001)), /at most 2000/);
  assert.equal(followUpQuestion('free', '  what about lr?  '), 'what about lr?');
  assert.equal(followUpQuestion('cheaper'), FOLLOW_UPS.cheaper.question);
});

const ALTS = `Here are three.

ALTERNATIVE 1:
ANALYSIS_ON_CURRENT_PROGRESS: x
ACTION: Add target encoding of plan_type.
RATIONALE: y

### ALTERNATIVE 2: a smaller model
ANALYSIS_ON_CURRENT_PROGRESS: x
ACTION: Replace the forest with logistic regression on scaled features.
RATIONALE: y

**ALTERNATIVE 3:**
ANALYSIS_ON_CURRENT_PROGRESS: x
ACTION: Tune max_depth in 3..8 with 5-fold CV.
RATIONALE: y`;

test('three alternatives become three ideas, each with its own ACTION', () => {
  const parts = splitAlternatives(ALTS)!;
  assert.equal(parts.length, 3);
  assert.deepEqual(
    parts.map((p) => p.parsed.action),
    ['Add target encoding of plan_type.', 'Replace the forest with logistic regression on scaled features.', 'Tune max_depth in 3..8 with 5-fold CV.'],
  );
  assert.ok(parts.every((p) => p.parsed.ok));
  const read = readFollowUpAnswer('alternatives', ALTS);
  assert.equal(read.shape, 'alternatives');
  assert.equal(readFollowUpAnswer('free', ALTS).shape, 'alternatives');
});

test('one alternative only, a cheaper variant, prose: their shapes', () => {
  assert.equal(splitAlternatives('ALTERNATIVE 1:\nACTION: a'), undefined);
  assert.equal(readFollowUpAnswer('alternatives', EARLIER).shape, 'idea');
  assert.equal(readFollowUpAnswer('cheaper', EARLIER).shape, 'idea');
  const why = readFollowUpAnswer('why', 'Because the log shows a ConvergenceWarning.');
  assert.equal(why.shape, 'prose');
  assert.equal(readFollowUpAnswer('free', 'It depends on the data size.').shape, 'prose');
  assert.equal(readFollowUpAnswer('free', EARLIER).shape, 'idea');
  assert.ok(isProse({ parsed: why.parts[0].parsed, followUp: { kind: 'why' } }));
  assert.ok(!isProse({ parsed: readFollowUpAnswer('cheaper', EARLIER).parts[0].parsed, followUp: { kind: 'cheaper' } }));
  assert.ok(!isProse({ parsed: why.parts[0].parsed }), 'an asked idea is never prose');
});

test("the state part is Ask's own prompt in either trajectory mode", async () => {
  const { buildIdeatorPrompt } = await import('../../src/core/promptCost');
  for (const trajectoryMode of ['full', 'compact'] as const) {
    const msgs = buildFollowUpMessages(state, EARLIER, 'q?', { trajectoryMode });
    assert.deepEqual(msgs.slice(0, -2), buildIdeatorPrompt(state, { trajectoryMode }).messages, trajectoryMode);
  }
});
