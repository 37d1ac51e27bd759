// Run History rows, the score chart SVG and code snapshots: the parts of the extension's run views that do not
// need VS Code (they import no 'vscode').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRunRows, formatDuration, ideaTypeSuccessRates } from '../../src/core/historyRows';
import { escapeXml, niceTicks, renderScoreChart } from '../../src/extension/views/scoreChartSvg';
import { makeSnapshot, sha256 } from '../../src/core/codeSnapshot';
import type { IdeaRecord, Outcome, Run } from '../../src/core/protocol';

let n = 0;
function run(value: number | null, extra: Partial<Run> = {}): Run {
  n++;
  return {
    id: `r${n}`, source: 'terminal', command: 'python train.py', startedAt: `2026-11-23T10:${String(n).padStart(2, '0')}:00Z`,
    endedAt: `2026-11-23T10:${String(n).padStart(2, '0')}:42Z`, exitCode: 0, metrics: [],
    primary: value === null ? null : { name: 'val_acc', value, direction: 'higher' },
    outputHead: '', outputTail: '', outputBytes: 0, ...extra,
  };
}
const EVIL = `<script>alert("x")</script> & 'quotes'`;
function idea(id: string, type?: IdeaRecord['type']): IdeaRecord {
  return {
    id, createdAt: '2026-11-23T10:00:30Z', raw: `ANALYSIS: a\nACTION: ${EVIL}\nRATIONALE: r`, type,
    parsed: { ok: true, analysis: 'a', action: EVIL, rationale: 'r', codeBlocks: [], errors: [] },
  };
}
function outcome(ideaId: string, status: Outcome['status']): Outcome {
  return { ideaId, before: 0.8, after: 0.9, direction: 'higher', status, reward: status === 'improved' ? 1 : 0, recordedAt: '2026-11-23T11:00:00Z' };
}

test('rows: trend vs best so far, failed runs worse, best marked, baseline restarts the window', () => {
  const runs = [run(0.8), run(0.85), run(0.83), run(null, { exitCode: 1 }), run(0.85), run(0.9, { ideaId: 'i1' })];
  const rows = buildRunRows({ runs, ideas: [idea('i1')], outcomes: [outcome('i1', 'improved')] });
  assert.deepEqual(rows.map((r) => r.trend), ['new-best', 'new-best', 'worse', 'worse', 'tie', 'new-best']);
  assert.deepEqual(rows.map((r) => r.bestBefore), [null, 0.8, 0.85, 0.85, 0.85, 0.85]);
  assert.deepEqual(rows.map((r) => r.isBest), [false, false, false, false, false, true]);
  assert.equal(rows[5].outcome?.status, 'improved');
  assert.equal(rows[0].durationMs, 42_000);
  const b = buildRunRows({ runs, ideas: [], outcomes: [], baselineId: runs[2].id });
  assert.deepEqual(b.map((r) => r.trend), ['none', 'none', 'new-best', 'worse', 'new-best', 'new-best']);
  assert.equal(formatDuration(42_000), '42s');
  assert.equal(formatDuration(3_723_000), '1h 02m');
});

test('per-type success rates count judged ideas only', () => {
  const untyped = { ...idea('d'), parsed: { ...idea('d').parsed, action: 'Tune the learning rate and the batch size with a grid search' } };
  const ideas = [idea('a', 'Feature Engineering'), idea('b', 'Feature Engineering'), idea('c', 'Feature Engineering'), untyped];
  const rates = ideaTypeSuccessRates(ideas, [outcome('a', 'improved'), outcome('b', 'not_improved'), outcome('d', 'exec_failed')]);
  const fe = rates.find((r) => r.type === 'Feature Engineering')!;
  assert.deepEqual(fe, { type: 'Feature Engineering', count: 3, judged: 2, improved: 1, rate: 0.5 });
  // An idea without a stored type counts under its keyword type.
  assert.deepEqual(rates.find((r) => r.type === 'Hyperparameter Tuning'), { type: 'Hyperparameter Tuning', count: 1, judged: 1, improved: 0, rate: 0 });
  assert.equal(rates.find((r) => r.type === 'Model Training')!.rate, null);
  assert.equal(rates.length, 6);
});

test('chart SVG: a point per run, best-so-far line, idea markers by outcome, every text escaped', () => {
  const runs = [run(0.8), run(0.75), run(null, { exitCode: 2 }), run(0.9, { ideaId: 'i1' }), run(0.7, { ideaId: 'i2', command: `python "${EVIL}".py` })];
  const rows = buildRunRows({ runs, ideas: [idea('i1'), idea('i2')], outcomes: [outcome('i1', 'improved'), outcome('i2', 'not_improved')] });
  const svg = renderScoreChart(rows);
  assert.ok(svg.startsWith('<svg') && svg.endsWith('</svg>'));
  assert.equal((svg.match(/<g class="pt /g) ?? []).length, 5);
  assert.match(svg, /class="pt idea improved"/);
  assert.match(svg, /class="pt idea not-improved"/);
  assert.match(svg, /class="pt failed"/);
  assert.match(svg, /<polyline points="[^"]+" class="best-line"\/>/);
  // The LLM's ACTION appears only escaped: no raw tag, quote or ampersand from it survives.
  assert.ok(!svg.includes('<script>'));
  assert.ok(!svg.includes(`"x"`));
  assert.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;'));
  assert.ok(!/style=/.test(svg), 'no inline styles (CSP without unsafe-inline)');
  // Every attribute value is well-formed: strip quoted values and no stray quote or < remains inside tags.
  for (const tag of svg.match(/<[^>]+>/g)!) assert.doesNotMatch(tag.replace(/"[^"]*"/g, '').slice(1), /["'<]/, tag);
  assert.match(renderScoreChart([]), /No scored runs yet/);
  assert.equal(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
});

test('a diverged run (NaN after its last finite score) is a failed run in the rows and the chart', () => {
  const runs = [run(0.8), run(0.95, { primary: { name: 'val_acc', value: 0.95, direction: 'higher', diverged: true } }), run(0.82)];
  const rows = buildRunRows({ runs, ideas: [], outcomes: [] });
  assert.deepEqual(rows.map((r) => r.trend), ['new-best', 'worse', 'new-best']);
  assert.deepEqual(rows.map((r) => r.bestAfter), [0.8, 0.8, 0.82], 'its last finite 0.95 is never the best');
  const svg = renderScoreChart(rows);
  assert.equal((svg.match(/class="pt failed"/g) ?? []).length, 1);
  assert.match(svg, /diverged: val_acc became NaN\/inf after 0\.95/);
});

test('chart y ticks are round numbers covering the range', () => {
  assert.deepEqual(niceTicks(0.81, 0.9), [0.825, 0.85, 0.875, 0.9]);
  assert.deepEqual(niceTicks(1, 1), [1]);
  assert.deepEqual(niceTicks(0, 100), [0, 25, 50, 75, 100]);
});

test('code snapshot: content and diff only when the code changed', () => {
  const first = makeSnapshot('train.py', 'lr = 0.1\n', undefined);
  assert.deepEqual(first, { path: 'train.py', hash: sha256('lr = 0.1\n'), content: 'lr = 0.1\n' });
  const same = makeSnapshot('train.py', 'lr = 0.1\n', { hash: first.hash, content: first.content });
  assert.deepEqual(same, { path: 'train.py', hash: first.hash });
  const changed = makeSnapshot('train.py', 'lr = 0.05\n', { hash: first.hash, content: first.content });
  assert.equal(changed.content, 'lr = 0.05\n');
  assert.match(changed.diffFromPrevious!, /^--- a\/train\.py/m);
  assert.match(changed.diffFromPrevious!, /^-lr = 0\.1$/m);
  assert.match(changed.diffFromPrevious!, /^\+lr = 0\.05$/m);
});

test('debug watching reads program output and exit code from DAP events only', async () => {
  const { readDapMessage, describeLaunch } = await import('../../src/core/debugMessages');
  assert.deepEqual(readDapMessage({ type: 'event', event: 'output', seq: 4, body: { category: 'stdout', output: 'val_acc: 0.9\n' } }), { output: 'val_acc: 0.9\n' });
  assert.deepEqual(readDapMessage({ type: 'event', event: 'output', body: { category: 'stderr', output: 'warn\n' } }), { output: 'warn\n' });
  assert.deepEqual(readDapMessage({ type: 'event', event: 'output', body: { category: 'console', output: 'debugger says\n' } }), {});
  assert.deepEqual(readDapMessage({ type: 'event', event: 'output', body: { output: 'no category = console\n' } }), {});
  assert.deepEqual(readDapMessage({ type: 'event', event: 'exited', body: { exitCode: 3 } }), { exitCode: 3 });
  assert.deepEqual(readDapMessage({ type: 'response', command: 'threads', body: {} }), {});
  assert.deepEqual(readDapMessage(null), {});
  assert.deepEqual(describeLaunch({ name: 'Train', program: '/w/train.py', args: ['--lr', '0.1'] }), { command: 'python /w/train.py --lr 0.1', script: '/w/train.py' });
  assert.deepEqual(describeLaunch({ name: 'Mod', module: 'pkg.train' }), { command: 'python -m pkg.train', script: 'pkg/train.py' });
  assert.deepEqual(describeLaunch({ name: 'Attach' }), { command: 'Attach' });
});
