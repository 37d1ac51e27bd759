import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IdeaRecord } from '../../src/core/protocol';
import { escapeHtml, highlight } from '../../src/extension/views/ideaPanelHighlight';
import { renderError, renderIdea, renderMarkdown, renderStreaming } from '../../src/extension/views/ideaPanelRender';

const EVIL = `<img src=x onerror="alert(1)"><script>alert('x')</script>\`\${1}\``;

function idea(over: Partial<IdeaRecord['parsed']> = {}, rec: Partial<IdeaRecord> = {}): IdeaRecord {
  return {
    id: 'i1',
    createdAt: '2026-11-23T00:00:00Z',
    raw: 'raw',
    parsed: {
      ok: true,
      analysis: 'The model **underfits**; see `max_iter`.',
      action: 'Scale the features:\n\n```python\ndef build_model():\n    return make_pipeline(StandardScaler(), LogisticRegression())  # scaled\n```',
      rationale: '- lbfgs converges\n- AUC should rise',
      codeBlocks: [],
      errors: [],
      ...over,
    },
    model: 'ideator-qwen3',
    provider: 'openai',
    usage: { inputTokens: 1234, outputTokens: 56 },
    targetPath: 'train.py',
    ...rec,
  };
}

/** No raw tag from the input survives: the only tags are the renderer's own. */
function assertNoInjectedMarkup(html: string): void {
  assert.ok(!html.includes('<img'), 'img tag leaked');
  assert.ok(!html.includes('<script'), 'script tag leaked');
  assert.ok(!/onerror="/.test(html), 'event handler attribute leaked');
}

test('the three sections, highlighted code, model and tokens are rendered', () => {
  const html = renderIdea({ idea: idea(), canApply: true });
  for (const h of ['ANALYSIS', 'ACTION', 'RATIONALE']) assert.match(html, new RegExp(`<h2>${h}</h2>`));
  assert.match(html, /<strong>underfits<\/strong>/);
  assert.match(html, /<code>max_iter<\/code>/);
  assert.match(html, /<span class="tok-keyword">def<\/span> <span class="tok-function">build_model<\/span>/);
  assert.match(html, /<span class="tok-comment"># scaled<\/span>/);
  assert.match(html, /<ul><li>lbfgs converges<\/li><li>AUC should rise<\/li><\/ul>/);
  assert.match(html, /ideator-qwen3/);
  assert.match(html, /1,234 tokens in · 56 out/);
  assert.doesNotMatch(html, /format ok|format check/, 'a well-formed answer needs no badge');
  assert.match(html, /data-command="apply"/);
});

test('every model string is escaped, in prose, code, thinking, errors and metadata', () => {
  const html = renderIdea({
    idea: idea(
      { ok: false, analysis: EVIL, action: '```python\n' + EVIL + '\n```', rationale: `**${EVIL}**`, thinking: EVIL, errors: [EVIL] },
      { model: EVIL, targetPath: EVIL, id: '"><script>' },
    ),
    canApply: true,
  });
  assertNoInjectedMarkup(html);
  assert.match(html, /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62;/);
  assert.match(html, /answer not in the expected layout/);
  assert.match(html, /<details class="thinking">/);
  assertNoInjectedMarkup(renderStreaming(EVIL, EVIL));
  assertNoInjectedMarkup(renderError({ message: EVIL, hint: EVIL, fixLabels: [EVIL] }));
  assertNoInjectedMarkup(renderIdea({ idea: idea(), canApply: true, problem: { message: EVIL, hint: EVIL, fixLabels: [EVIL] } }));
  assertNoInjectedMarkup(renderMarkdown('~~~' + EVIL + '\n' + EVIL + '\n~~~'));
});

test('an answer with no readable field falls back to the raw text', () => {
  const html = renderIdea({ idea: idea({ ok: false, analysis: '', action: '', rationale: '', errors: ['missing ANALYSIS'] }, { raw: 'just prose' }), canApply: false });
  assert.match(html, /Raw answer/);
  assert.match(html, /just prose/);
  assert.doesNotMatch(html, /data-command="apply"/);
});

test('highlighter: strings hide keywords and comments; diffs get line classes; escaping is total', () => {
  assert.equal(highlight('s = "def # x"', 'python'), 's = <span class="tok-string">&#34;def # x&#34;</span>');
  assert.match(highlight('@@ -1 +1 @@\n-a\n+b', 'diff'), /<span class="tok-diff-del">-a<\/span>\n<span class="tok-diff-add">\+b<\/span>/);
  assert.equal(escapeHtml(`<>&"'\``), '&#60;&#62;&#38;&#34;&#39;&#96;');
  assert.equal(highlight('<b>', 'text'), '&#60;b&#62;');
});

test('a failed request keeps the last idea, its Apply button and says so; fixes become indexed buttons', () => {
  const html = renderIdea({ idea: idea(), canApply: true, problem: { message: 'The model `v2` does not exist', hint: 'Pick one.', fixLabels: ['Pick a model…', 'Open ideator.model'] } });
  assert.match(html, /The last request failed/);
  assert.match(html, /The model <code>|The model &#96;v2&#96; does not exist/);
  assert.match(html, /<button data-fix="0">Pick a model…<\/button><button data-fix="1" class="secondary">Open ideator.model<\/button>/);
  assert.match(html, /Apply still uses it/);
  assert.match(html, /data-command="apply"/, 'the idea and its Apply stay together');
  assert.ok(html.indexOf('role="alert"') < html.indexOf('id="analysis"'), 'the failure is shown above the idea');
  const alone = renderError({ message: 'no key', fixLabels: ['Choose provider…'] });
  assert.match(alone, /Ask Ideator failed/);
  assert.match(alone, /data-fix="0"/);
  assert.doesNotMatch(alone, /data-command="apply"/);
});
