/**
 * The "N ideas" view's HTML (src/extension/views/ideasCompareRender.ts): hostile model text stays text, the status
 * column says each verification state in words with its numbers, cards are ranked by measured score, and the page
 * holds nothing the CSP would have to allow (no inline styles or handlers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionProse, cardChange, orderCards, renderCompare, type CompareCard, type CompareView } from '../../src/extension/views/ideasCompareRender';

const HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>" data-apply="evil';

function card(over: Partial<CompareCard> = {}): CompareCard {
  return { ideaId: `id-${over.number ?? 1}`, number: 1, action: 'Set `C=0.5`.', verify: { status: 'not-verified' }, ...over };
}

function view(over: Partial<CompareView> = {}): CompareView {
  return { phase: 'ready', target: 'train.py', provider: 'openai-compatible http://127.0.0.1/v1 (ideator)', requested: 4, cards: [card()], notes: [], verifyAvailable: false, ...over };
}

test('model text, notes, file names and errors are escaped: no tag or attribute of theirs survives', () => {
  const html = renderCompare(
    view({
      target: HOSTILE,
      notes: [HOSTILE],
      message: HOSTILE,
      cards: [
        card({
          ideaId: HOSTILE,
          action: HOSTILE,
          analysis: HOSTILE,
          rationale: HOSTILE,
          diff: { text: `--- a/x\n+++ b/x\n@@ -1 +1 @@\n-${HOSTILE}\n+${HOSTILE}`, summary: HOSTILE },
          verify: { status: 'failed', error: HOSTILE },
          parseProblem: HOSTILE,
        }),
      ],
    }),
  );
  assert.doesNotMatch(html, /<img|<script/i);
  // Inside our quoted attribute values their text is inert; outside them no tag of ours carries their handler.
  assert.doesNotMatch(html.replace(/"[^"]*"/g, '""'), /<[^>]*\sonerror=/i, 'no tag carries their handler');
  assert.ok(html.includes('&#60;script&#62;'));
  // The idea id lands in attributes only escaped: the quote cannot end the attribute.
  assert.doesNotMatch(html, /data-apply="evil/);
  assert.ok(html.includes('&#34; data-apply=&#34;evil'));
});

test('nothing the strict CSP would block: no inline style attribute, no inline handler, no inline script', () => {
  const html = renderCompare(view({ cards: [1, 2, 3, 4, 5].map((n) => card({ number: n, ideaId: `i${n}` })) }));
  assert.doesNotMatch(html, /\sstyle=/i);
  assert.doesNotMatch(html, /\son[a-z]+=/i);
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /class="cards cols-4"/);
});

test('the status column: not verified by default; measured score, Δ ± noise, status and time once verified', () => {
  const fresh = renderCompare(view({ metric: 'val_auc' }));
  assert.match(fresh, /status-not-verified">not verified</);
  assert.match(fresh, /<dt>val_auc<\/dt><dd><span class="muted">—<\/span>/);

  const html = renderCompare(
    view({
      metric: 'val_auc',
      phase: 'verified',
      cards: [
        card({ number: 1, ideaId: 'a', verify: { status: 'within_noise', score: 0.9512, delta: 0.0012, noise: 0.004, seconds: 41.2, rank: 2 } }),
        card({ number: 2, ideaId: 'b', verify: { status: 'improved', score: 0.9731, delta: 0.0231, noise: 0.004, seconds: 75, rank: 1 } }),
        card({ number: 3, ideaId: 'c', verify: { status: 'timed_out', seconds: 600 } }),
        card({ number: 4, ideaId: 'd', verify: { status: 'worse', score: 0.91, delta: -0.04, noise: 0.004, seconds: 9.5, rank: 3 } }),
      ],
    }),
  );
  assert.match(html, /status-improved">improved<\/span> <span class="rank">#1/);
  assert.match(html, /within noise/);
  assert.match(html, /timed out/);
  assert.match(html, /\+0\.0231 <span class="muted">± 0\.004/);
  assert.match(html, /−0\.04/);
  assert.match(html, /1 min 15 s/);
  assert.match(html, /10 min 0 s/);
  // Ranked: b (#1), a (#2), d (#3), then c (unranked).
  const order = [...html.matchAll(/<article class="card" data-idea="(\w)"/g)].map((m) => m[1]);
  assert.deepEqual(order, ['b', 'a', 'd', 'c']);
});

test('orderCards keeps answer order when nothing is ranked', () => {
  const cards = [card({ number: 3 }), card({ number: 1 }), card({ number: 2 })];
  assert.deepEqual(orderCards(cards).map((c) => c.number), [1, 2, 3]);
});

test('while asking: pending cards count characters, Cancel is offered, nothing can be applied or verified', () => {
  const html = renderCompare(
    view({
      phase: 'asking',
      verifyAvailable: true,
      cards: [
        { number: 1, action: '', verify: { status: 'not-verified' }, streaming: { chars: 1234 } },
        { number: 2, action: '', verify: { status: 'not-verified' }, streaming: { chars: 10, failed: 'HTTP 500' } },
      ],
    }),
  );
  assert.match(html, /writing… 1,234 characters/);
  assert.match(html, /HTTP 500/);
  assert.match(html, /data-cancel="1"/);
  assert.doesNotMatch(html, /data-apply=/);
  assert.doesNotMatch(html, /data-verify=/);
});

test('ready: Apply per idea; Verify only when the backend is there, else the reason in words', () => {
  const without = renderCompare(view({ verifyNote: 'Verification by real runs is not available here.' }));
  assert.match(without, /<button class="apply" data-apply="id-1">Apply<\/button>/);
  assert.doesNotMatch(without, /data-verify=/);
  assert.match(without, /not available here/);
  const withVerify = renderCompare(view({ verifyAvailable: true }));
  assert.match(withVerify, /data-verify="1"/);
  const applied = renderCompare(view({ cards: [card({ applied: true })] }));
  assert.match(applied, /badge applied/);
  assert.match(applied, />Apply Again</);
});

test('an idea without a diff says why', () => {
  const html = renderCompare(view({ cards: [card({ codeNote: 'No code in this idea: Apply asks the implementer model to write the change, with a preview first.' })] }));
  assert.match(html, /No code in this idea: Apply asks the implementer model/);
});

test('with a diff, the ACTION is shown without its code (the diff shows it); without one, whole', () => {
  const action = 'Standardise the features:\n\n```python\ndef build_model():\n    return make_pipeline(StandardScaler(), LogisticRegression())\n```\n\nKeep C as it is.';
  assert.equal(actionProse(action), 'Standardise the features:\n\nKeep C as it is.');
  assert.equal(actionProse('```python\nx = 1\n```'), '');
  const diff = { text: '--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-a\n+b', summary: 'replaces build_model()' };
  const shown = renderCompare(view({ cards: [card({ action, diff })] }));
  assert.doesNotMatch(shown, /make_pipeline/);
  assert.match(shown, /Its code: the change below/);
  const codeOnly = renderCompare(view({ cards: [card({ action: '```python\nx = 1\n```', diff })] }));
  assert.match(codeOnly, /Code only: the change below/);
  const noDiff = renderCompare(view({ cards: [card({ action })] }));
  assert.match(noDiff, /make_pipeline/);
});

test('cardChange: the diff is against the file as it is now; once its code is in the file, the card says "already applied"', () => {
  const before = 'import numpy as np\n\n\ndef build_model():\n    return LogisticRegression(max_iter=200)\n\n\nprint(build_model())\n';
  const blocks = [{ lang: 'python', code: 'def build_model():\n    return LogisticRegression(C=0.5, max_iter=1000)\n', isDiff: false }];
  const target = { relativePath: 'train.py', code: before, isNotebook: false };
  const asked = cardChange(target, blocks);
  assert.ok(asked.diff, 'a diff against the file as asked');
  assert.match(asked.diff.text, /^-\s+return LogisticRegression\(max_iter=200\)$/m);
  assert.match(asked.diff.text, /^\+\s+return LogisticRegression\(C=0\.5, max_iter=1000\)$/m);
  assert.equal(asked.inFile, undefined);
  // The user edited the line meanwhile: the diff removes what is there now, not what was there when asked.
  const edited = before.replace('max_iter=200', 'max_iter=300');
  const later = cardChange({ ...target, code: edited }, blocks);
  assert.match(later.diff!.text, /^-\s+return LogisticRegression\(max_iter=300\)$/m);
  assert.doesNotMatch(later.diff!.text, /max_iter=200/);
  // Applied (by this card or by hand): no diff, the card says so in its badge and its note.
  const applied = before.replace('LogisticRegression(max_iter=200)', 'LogisticRegression(C=0.5, max_iter=1000)');
  const done = cardChange({ ...target, code: applied }, blocks);
  assert.equal(done.diff, undefined);
  assert.equal(done.inFile, true);
  assert.match(done.codeNote!, /already in train\.py/);
  const html = renderCompare(view({ cards: [card({ action: 'x', ...done })] }));
  assert.match(html, /<span class="badge applied">already applied<\/span>/);
  assert.match(html, /already in train\.py: nothing to apply/);
  assert.doesNotMatch(html, /<pre><code>/);
  // Applied from this card: the badge says "applied", not "already applied".
  assert.match(renderCompare(view({ cards: [card({ applied: true, ...done })] })), /<span class="badge applied">applied<\/span>/);
  // No code at all: no diff, and never "already applied".
  const none = cardChange({ ...target, code: applied }, []);
  assert.equal(none.inFile, undefined);
  assert.match(none.codeNote!, /No code in this idea/);
});
