import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptsOf, checkReview, renderReviewForm } from '../../src/extension/views/reviewQueryRender';

const DRAFT = { problemStatement: 'val_auc stalls at 0.91 in the last 3 runs.', attemptsSoFar: ['deeper forest: 0.91 → 0.90', 'more trees: no change'], goal: 'Raise val_auc.' };
const EVIL = '</textarea><img src=x onerror="alert(1)">';

test('the form shows the three parts at once in multi-line boxes, every string escaped', () => {
  const html = renderReviewForm({ ...DRAFT, goal: EVIL }, `vLLM ${EVIL}`);
  for (const f of ['problemStatement', 'attemptsSoFar', 'goal']) assert.ok(html.includes(`<textarea id="${f}"`), f);
  assert.ok(html.includes('deeper forest: 0.91 → 0.90\nmore trees: no change</textarea>'), 'one attempt a line');
  assert.ok(!html.includes('<img') && !html.includes('</textarea><img'), 'markup in a part stays text');
  assert.ok(html.includes('id="send"') && html.includes('id="cancel"'));
});

test('attempts: one a line, list markers and blank lines dropped', () => {
  assert.deepEqual(attemptsOf('- a\n\n2. b\n  * c  \n'), ['a', 'b', 'c']);
});

test('an edited query comes back trimmed, multi-line parts kept', () => {
  const r = checkReview({ problemStatement: ' line one\nline two ', attemptsSoFar: '- tried A\n- tried B\n- tried C', goal: 'g' }, DRAFT);
  assert.deepEqual(r, { ok: true, query: { problemStatement: 'line one\nline two', attemptsSoFar: ['tried A', 'tried B', 'tried C'], goal: 'g' } });
});

test('an emptied part is an error for that part, never a silent clear', () => {
  const r = checkReview({ problemStatement: '  ', attemptsSoFar: '', goal: '\n' }, DRAFT);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.match(r.errors.problemStatement ?? '', /problem statement is empty/);
  assert.match(r.errors.attemptsSoFar ?? '', /The 2 attempts were removed/);
  assert.match(r.errors.goal ?? '', /goal is empty/);
  // A first ask has no attempts: leaving them empty is fine.
  const first = checkReview({ problemStatement: 'p', attemptsSoFar: '', goal: 'g' }, { ...DRAFT, attemptsSoFar: [] });
  assert.equal(first.ok, true);
});

test('what the page sends is checked: not text or too long is said, not thrown', () => {
  const r = checkReview({ problemStatement: 5, attemptsSoFar: '', goal: 'g' }, DRAFT);
  assert.deepEqual(r, { ok: false, errors: { problemStatement: 'Not text.' } });
  const long = checkReview({ problemStatement: 'p', attemptsSoFar: 'x'.repeat(20_001), goal: 'g' }, DRAFT);
  assert.equal(long.ok, false);
  if (!long.ok) assert.match(long.errors.attemptsSoFar ?? '', /at most 20,000/);
});
