import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { build } from 'esbuild';
import { syntheticTrajectory } from '../../bench/trajectory';
import { formatIdea, parseIdea } from '../../src/core/idea';
import type { IdeatorStateInput } from '../../src/core/protocol';
import {
  checkPromptOverrides,
  PromptTemplateError,
  buildClassifyMessages,
  buildIdeatorMessages,
  buildImplementerMessages,
  defaultPromptsDir,
  fenceCode,
  loadPrompt,
  PROMPT_SPECS,
  scoreText,
} from '../../src/core/prompts';
import { parseSeekHelp } from '../../src/core/query';
import { estimateTokens } from '../../src/core/tokens';

const root = join(__dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'ideator-prompts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function overrideDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmp, 'override-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const idea = parseIdea(readFileSync(join(root, 'test', 'fixtures', 'ideas', 'with-diff.txt'), 'utf8'));
const state: IdeatorStateInput = {
  taskDescription: '# Churn\nPredict which customers leave. Metric: ROC AUC.',
  trajectory: syntheticTrajectory(800, 4),
  score: { value: 0.8123, direction: 'higher', metric: 'auc' },
  code: 'import pandas as pd\ntrain = pd.read_csv("data/train.csv")\n',
  codePath: 'train.py',
};

test('defaultPromptsDir finds the package prompts folder', () => {
  assert.equal(defaultPromptsDir(), join(root, 'prompts'));
});

test('every shipped template loads, uses all its required placeholders and only known ones', () => {
  for (const name of Object.keys(PROMPT_SPECS) as (keyof typeof PROMPT_SPECS)[]) {
    const t = loadPrompt(name);
    assert.equal(t.file, join(root, 'prompts', `${name}.md`));
    for (const p of PROMPT_SPECS[name].required) assert.ok(t.placeholders.includes(p), `${name} lacks {${p}}`);
    const text = t.fill(Object.fromEntries(t.placeholders.map((p) => [p, `<<${p}>>`])));
    assert.ok(!text.includes('<!--'), `${name}: editor comments must be removed`);
    assert.ok(!/\{[a-z][a-z0-9_]*\}/.test(text), `${name}: an unfilled placeholder remains`);
  }
});

test('shipped templates keep the paper\'s field names and categories exactly', () => {
  const ideator = readFileSync(join(root, 'prompts', 'ideator.md'), 'utf8');
  for (const f of ['ANALYSIS_ON_CURRENT_PROGRESS:', 'ACTION:', 'RATIONALE:']) assert.ok(ideator.includes(`\n${f}\n`), f);
  const codeact = readFileSync(join(root, 'prompts', 'codeact-system.md'), 'utf8');
  for (const f of ['<execute_bash>', '<execute_ipython>', '<seek_help>', '</seek_help>', '<submit>', 'PROBLEM_STATEMENT:', 'ATTEMPTS_SO_FAR:', 'GOAL:']) assert.ok(codeact.includes(f), f);
  const classify = readFileSync(join(root, 'prompts', 'classify.md'), 'utf8');
  for (const f of ['TYPE:', 'RATIONALE:', 'Data Preparation', 'Feature Engineering', 'Model Architecture', 'Hyperparameter Tuning', 'Model Training', 'Others']) assert.ok(classify.includes(f), f);
});

test('role markers split messages; a file without them is one user message', () => {
  const t = loadPrompt('ideator');
  const msgs = t.fillMessages(Object.fromEntries(t.placeholders.map((p) => [p, p.toUpperCase()])));
  assert.deepEqual(msgs.map((m) => m.role), ['system', 'user']);
  const dir = overrideDir({ 'classify.md': 'Classify this:\n{idea}\n' });
  const c = loadPrompt('classify', { overrideDir: dir });
  assert.deepEqual(c.fillMessages({ idea: 'X' }), [{ role: 'user', content: 'Classify this:\nX' }]);
});

test('the override folder wins per file, the package provides the rest', () => {
  const dir = overrideDir({ 'implementer.md': '<!-- role: system -->\nMine.\n<!-- role: user -->\n{idea}\n{code}\n{code_path}\n' });
  const impl = loadPrompt('implementer', { overrideDir: dir });
  assert.equal(impl.file, join(dir, 'implementer.md'));
  assert.deepEqual(impl.placeholders, ['idea', 'code', 'code_path']);
  assert.equal(loadPrompt('ideator', { overrideDir: dir }).file, join(root, 'prompts', 'ideator.md'));
  const msgs = buildImplementerMessages(state, idea, { overrideDir: dir });
  assert.equal(msgs[0].content, 'Mine.');
  assert.ok(msgs[1].content.startsWith(formatIdea(idea)));
});

test('load-time errors name the file and the placeholder', () => {
  const missing = overrideDir({ 'ideator.md': 'Task {task_description}\n{query}\n{score}\n{code}\n' });
  assert.throws(() => loadPrompt('ideator', { overrideDir: missing }), (e: Error) => e.message.includes(join(missing, 'ideator.md')) && e.message.includes('required placeholder {trajectory} is missing'));
  const unknown = overrideDir({ 'classify.md': '{idea} and {trace}' });
  assert.throws(() => loadPrompt('classify', { overrideDir: unknown }), /classify\.md: unknown placeholder \{trace\} \(allowed: \{idea\} \{trajectory\} \{task_description\}/);
  assert.throws(() => loadPrompt('nope'), /unknown prompt "nope"/);
  assert.throws(() => loadPrompt('ideator', { overrideDir: join(tmp, 'does-not-exist') }), /prompt override folder not found/);
  assert.throws(() => loadPrompt('ideator', { promptsDir: join(tmp, 'empty') }), /cannot read prompt template/);
});

test('checkPromptOverrides checks every template of a folder up front, as PromptTemplateError', () => {
  checkPromptOverrides(overrideDir({}));
  const brokenClassify = overrideDir({ 'classify.md': 'no placeholder at all' });
  // Not the prompt being built first (ideator): a command that will use classify later fails at its start.
  assert.throws(() => checkPromptOverrides(brokenClassify), (e: Error) => e instanceof PromptTemplateError && /classify\.md: required placeholder \{idea\}/.test(e.message));
  assert.throws(() => checkPromptOverrides(join(tmp, 'does-not-exist')), PromptTemplateError);
});

test('escapes: {{ }} are literal braces; other braces stay; values are not re-expanded', () => {
  const dir = overrideDir({ 'classify.md': 'Use {{idea}} literally, JSON {"a": 1} and { x } stay.\nIdea: {idea}\n<!-- a note -->\n' });
  const t = loadPrompt('classify', { overrideDir: dir });
  assert.deepEqual(t.placeholders, ['idea']);
  assert.equal(t.fill({ idea: 'value with {trajectory} and {{x}}' }), 'Use {idea} literally, JSON {"a": 1} and { x } stay.\nIdea: value with {trajectory} and {{x}}');
});

test('fill throws when a used placeholder has no value', () => {
  const t = loadPrompt('ideator');
  assert.throws(() => t.fill({ task_description: 'x' }), /no value given for placeholder \{query\}/);
  const c = loadPrompt('codeact-system');
  assert.throws(() => c.fillMessages({ max_steps: '50', time_limit_minutes: '60' }), /\{workdir\}/);
});

test('buildIdeatorMessages: whole prompt within the budget, drafted query, score with direction, fenced code', () => {
  const { messages, query, trajectoryTokens } = buildIdeatorMessages(state);
  const total = messages.reduce((a, m) => a + estimateTokens(m.content), 0);
  assert.ok(total <= 32_000 + 50 && total > 30_000, `total ${total}`);
  assert.ok(trajectoryTokens > 25_000);
  const user = messages[1].content;
  // The query comes before the trajectory (which holds seek-help steps of its own).
  assert.deepEqual(parseSeekHelp(user.slice(0, user.indexOf('# What the agent has done'))), query);
  assert.ok(user.includes('auc = 0.8123 (higher is better)'));
  assert.ok(user.includes('```python\nimport pandas as pd\ntrain = pd.read_csv("data/train.csv")\n```'));
  assert.ok(user.includes('Predict which customers leave.'));
  assert.match(user, /--- Step 1 \(/);
  assert.match(user, /--- Step 800 \(/);
  assert.match(user, /\[… steps [\d,]+–[\d,]+ omitted/);
  assert.ok(!/\{(task_description|query|trajectory|score|code|code_path)\}/.test(user));
});

test('buildIdeatorMessages: a given query is used as is; a smaller budget shrinks only the trajectory', () => {
  const q = { problemStatement: 'Stuck at 0.81.', attemptsSoFar: ['tuned'], goal: 'Beat 0.81.' };
  const small = buildIdeatorMessages({ ...state, query: q }, { budgetTokens: 6000 });
  assert.deepEqual(small.query, q);
  const total = small.messages.reduce((a, m) => a + estimateTokens(m.content), 0);
  assert.ok(total <= 6050, `total ${total}`);
  assert.ok(small.trajectoryTokens < 6000);
  // Huge code: the trajectory still gets its minimum.
  const huge = buildIdeatorMessages({ ...state, code: 'x = 1\n'.repeat(20_000) }, { budgetTokens: 8000 });
  assert.ok(huge.trajectoryTokens >= 700 && huge.trajectoryTokens <= 1000, `${huge.trajectoryTokens}`);
  // Another counter is honoured.
  const quarter = (s: string) => Math.ceil(s.length / 4);
  const byChars = buildIdeatorMessages(state, { budgetTokens: 10_000, countTokens: quarter });
  assert.ok(byChars.messages.reduce((a, m) => a + quarter(m.content), 0) <= 10_050);
});

test('no score yet and lower-is-better are stated', () => {
  assert.equal(scoreText({ value: null, direction: 'lower', metric: 'rmse' }), 'no valid rmse yet (lower is better)');
  assert.equal(scoreText({ value: 0.123456789, direction: 'lower' }), 'score = 0.123457 (lower is better)');
  const { messages } = buildIdeatorMessages({ taskDescription: '', trajectory: [], score: { value: null, direction: 'higher' }, code: '' });
  assert.ok(messages[1].content.includes('(no steps yet)'));
  assert.ok(messages[1].content.includes('(no code yet)'));
});

test('fenceCode picks a fence longer than any backtick run inside the code', () => {
  assert.equal(fenceCode('a = 1\n', 'x.py'), '```python\na = 1\n```');
  const md = 'doc = """\n```\ncode\n```\n"""';
  assert.equal(fenceCode(md, 'notes.txt'), '````\n' + md + '\n````');
  const p = parseIdea(`ANALYSIS_ON_CURRENT_PROGRESS:\na\n\nACTION:\n${fenceCode(md, 'a.py')}\n\nRATIONALE:\nr`);
  assert.equal(p.codeBlocks[0].code, md);
});

test('implementer and classify builders fill every placeholder', () => {
  const impl = buildImplementerMessages(state, idea);
  assert.deepEqual(impl.map((m) => m.role), ['system', 'user']);
  assert.ok(impl[1].content.includes(formatIdea(idea)));
  assert.ok(impl[1].content.includes('# Current file: train.py'));
  assert.ok(impl[1].content.includes('auc = 0.8123'));
  const withState = buildClassifyMessages(state, idea, { budgetTokens: 2000 });
  assert.ok(withState[1].content.includes('--- Step 800'));
  assert.ok(estimateTokens(withState[1].content) < 3500);
  const without = buildClassifyMessages(null, idea);
  assert.ok(without[1].content.includes('(no trajectory available)'));
  for (const m of [...impl, ...withState, ...without]) assert.ok(!/\{(idea|code|code_path|task_description|score|trajectory)\}/.test(m.content), m.content.slice(0, 200));
});

test('defaultPromptsDir works from a bundle one folder below the package root (like dist/cli.js)', async () => {
  const outDir = join(root, 'test-results', 'prompts-bundle');
  mkdirSync(outDir, { recursive: true });
  const entry = join(outDir, 'entry.ts');
  writeFileSync(entry, `import { defaultPromptsDir, loadPrompt } from '${join(root, 'src', 'core', 'prompts').replace(/\\/g, '/')}';\nconsole.log(defaultPromptsDir() + '|' + loadPrompt('ideator').placeholders.length);\n`);
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: join(outDir, 'bundle.js'), logLevel: 'silent' });
  try {
    const out = execFileSync(process.execPath, [join(outDir, 'bundle.js')], { encoding: 'utf8' }).trim();
    assert.equal(out, `${join(root, 'prompts')}|6`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
