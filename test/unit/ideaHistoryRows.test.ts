/**
 * Idea History and the panel's new parts, host-free: what became of an idea (in words, the verdict first), the
 * forest of follow-ups, the sidebar summary and the follow-up bar (every model string escaped), prose answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppliedEdit } from '../../src/core/history';
import type { IdeaRecord, Outcome } from '../../src/core/protocol';
import { ideaForest, ideaStatus } from '../../src/extension/views/ideaHistoryRows';
import { ideaTitle, renderIdea, renderSummary } from '../../src/extension/views/ideaPanelRender';

const EVIL = '<img src=x onerror="alert(1)">';

function idea(id: string, rec: Partial<IdeaRecord> = {}, action = 'Standardise the features inside a pipeline.\nThen raise max_iter.\nThird line.'): IdeaRecord {
  return {
    id,
    createdAt: rec.createdAt ?? '2026-12-06T10:00:00Z',
    raw: `ANALYSIS_ON_CURRENT_PROGRESS: a\nACTION: ${action}\nRATIONALE: r`,
    parsed: { ok: true, analysis: 'a', action, rationale: 'r', codeBlocks: [], errors: [] },
    scoreBefore: { value: 0.91, direction: 'higher', metric: 'val_auc' },
    targetPath: 'train.py',
    ...rec,
  };
}

function store(applied: AppliedEdit[], outcomes: Outcome[]) {
  return { applied: () => applied, outcomeFor: (id: string) => outcomes.find((o) => o.ideaId === id) };
}

test('status: not applied, applied and waiting, judged (verdict first), an explanation', () => {
  const i = idea('a');
  assert.equal(ideaStatus(store([], []), i).text, 'Not applied');
  const applied = [{ ideaId: 'a', path: 'train.py', at: '2026-12-06T10:01:00Z' }];
  assert.equal(ideaStatus(store(applied, []), i).text, 'Applied to train.py; the next run will judge it');
  const outcome: Outcome = { ideaId: 'a', runId: 'r7', before: 0.91, after: 0.93, direction: 'higher', status: 'improved', reward: 1, recordedAt: '2026-12-06T10:05:00Z' };
  const judged = ideaStatus(store(applied, [outcome]), i);
  assert.equal(judged.text, 'Applied to train.py · Improved: val_auc 0.91 → 0.93');
  assert.equal(judged.short, 'Improved: val_auc 0.91 → 0.93');
  assert.equal(judged.outcome?.runId, 'r7');
  const worse = ideaStatus(store(applied, [{ ...outcome, status: 'not_improved', after: 0.9 }]), i);
  assert.ok(worse.text.endsWith('No improvement: val_auc 0.91 → 0.9'));
  const why = idea('w', { followUp: { of: 'a', kind: 'why', question: 'Why?' } });
  assert.equal(ideaStatus(store([], []), why).short, 'explanation');
  assert.equal(ideaStatus(undefined, i).text, 'Not applied');
  // Only part of the change kept (diff preview or the editor's Keep / Undo): the later record of the apply says so.
  const partly = [...applied, { ...applied[0], partial: true }];
  assert.equal(ideaStatus(store(partly, []), i).text, 'Partly applied to train.py; the next run will judge it');
  assert.equal(ideaStatus(store(partly, []), i).short, 'partly applied, waiting for a run');
  assert.equal(ideaStatus(store(partly, [outcome]), i).text, 'Partly applied to train.py · Improved: val_auc 0.91 → 0.93');
  // Every change undone in the editor: not applied after all.
  const undone = [...applied, { ...applied[0], undone: true }];
  assert.equal(ideaStatus(store(undone, []), i).text, 'Not applied: every change was undone in train.py');
  assert.equal(ideaStatus(store(undone, []), i).short, 'undone');
});

test('forest: follow-ups under their idea, newest first, alternatives in their order; an orphan is a root', () => {
  const ideas = [
    idea('old', { createdAt: '2026-12-06T09:00:00Z' }),
    idea('new', { createdAt: '2026-12-06T11:00:00Z' }),
    idea('alt2', { createdAt: '2026-12-06T09:30:00Z', followUp: { of: 'old', kind: 'alternatives', question: 'q', part: 2 } }),
    idea('alt1', { createdAt: '2026-12-06T09:30:00Z', followUp: { of: 'old', kind: 'alternatives', question: 'q', part: 1 } }),
    idea('why', { createdAt: '2026-12-06T09:40:00Z', followUp: { of: 'alt1', kind: 'why', question: 'q' } }),
    idea('orphan', { createdAt: '2026-12-06T08:00:00Z', followUp: { of: 'gone', kind: 'cheaper', question: 'q' } }),
  ];
  const forest = ideaForest(ideas);
  assert.deepEqual(forest.map((n) => n.idea.id), ['new', 'old', 'orphan']);
  assert.deepEqual(forest[1].children.map((n) => n.idea.id), ['alt1', 'alt2']);
  assert.deepEqual(forest[1].children[0].children.map((n) => n.idea.id), ['why']);
});

test('title: the ACTION first two lines without code; a code-only ACTION names its first line; clipped', () => {
  assert.equal(ideaTitle(idea('a')), 'Standardise the features inside a pipeline. Then raise max_iter.');
  const code = idea('c', {}, '```python\nfrom sklearn.pipeline import make_pipeline\n```');
  code.parsed.codeBlocks = [{ lang: 'python', code: 'from sklearn.pipeline import make_pipeline', isDiff: false }];
  assert.equal(ideaTitle(code), 'Code change: from sklearn.pipeline import make_pipeline');
  assert.equal(ideaTitle(idea('l', {}, 'x'.repeat(300)), 50).length, 50);
});

test('summary: title, outcome, Open idea / Apply / Ask again; model text escaped', () => {
  const html = renderSummary({ idea: idea('s', {}, `Use ${EVIL} features`), canApply: true, outcome: `Applied · Improved ${EVIL}` });
  assert.ok(!html.includes('<img'));
  assert.ok(html.includes('&#60;img src=x'));
  assert.ok(html.includes('data-command="open" data-idea="s"') && html.includes('data-command="apply" data-idea="s"'));
  assert.ok(renderSummary({ idea: idea('s'), canApply: true }).includes('Not applied yet'));
});

test('follow-up bar: the three buttons and the box on the idea; an explanation has no Apply and asks about its idea', () => {
  const html = renderIdea({ idea: idea('p'), canApply: true, followUps: true });
  for (const k of ['why', 'alternatives', 'cheaper', 'free']) assert.ok(html.includes(`data-followup="${k}" data-idea="p"`), k);
  assert.ok(html.includes('<textarea id="followup-text"'));
  assert.ok(!renderIdea({ idea: idea('p'), canApply: true }).includes('data-followup'), 'the bar is only where asked for');
  const why = idea('w', { raw: `Because ${EVIL} the solver stops early.`, followUp: { of: 'p', kind: 'why', question: 'Why?' } });
  why.parsed = { ok: false, analysis: '', action: '', rationale: '', codeBlocks: [], errors: ['ACTION missing'] };
  const prose = renderIdea({ idea: why, canApply: true, followUps: true, parentTitle: `Scale ${EVIL}` });
  assert.ok(prose.includes('<h2>ANSWER</h2>') && prose.includes('the solver stops early'));
  assert.ok(!prose.includes('id="apply"'), 'an explanation offers no Apply');
  assert.ok(!prose.includes('not in the expected layout'), 'prose is not a malformed idea');
  assert.ok(prose.includes('data-followup="why" data-idea="p"'), 'follow-ups on an explanation ask about its idea');
  assert.ok(prose.includes('data-command="open" data-idea="p"'));
  assert.ok(!prose.includes('<img'));
  const free = idea('f', { followUp: { of: 'p', kind: 'free', question: `what about ${EVIL}?` } });
  const freeHtml = renderIdea({ idea: free, canApply: true, followUps: true });
  assert.ok(freeHtml.includes('Your question') && freeHtml.includes('what about &#60;img') && freeHtml.includes('id="apply"'));
});

test('the verdict names the metric of the run that judged it when the idea was asked without one', () => {
  const i = idea('m', { scoreBefore: { value: null, direction: 'higher' } });
  const outcome: Outcome = { ideaId: 'm', runId: 'r1', before: 0.5, after: 0.6, direction: 'higher', status: 'improved', reward: 1, recordedAt: 'x' };
  const s = { ...store([], [outcome]), run: (id: string) => (id === 'r1' ? { primary: { name: 'f1', value: 0.6, direction: 'higher' as const } } : undefined) };
  assert.equal(ideaStatus(s, i).short, 'Improved: f1 0.5 → 0.6');
  assert.equal(ideaStatus(store([], [outcome]), i).short, 'Improved: 0.5 → 0.6');
});
