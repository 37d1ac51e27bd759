import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { applyPatch, createTwoFilesPatch } from 'diff';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentTrajectory, editorTrajectory } from '../../bench/prompt-tokens';
import { syntheticTrajectory } from '../../bench/trajectory';
import { compactOutput, compactSteps, lostInvariants, parseTrajectoryMode, tightenDiff } from '../../src/core/compact';
import { expandTables } from '../../src/core/compactTable';
import { prng } from '../../src/core/prng';
import { buildIdeatorPrompt, cacheablePrefixTokens, parsePriceFlag, priceFor, promptCost, promptCostLine, promptCostShort, usageDollars, usageLine } from '../../src/core/promptCost';
import { seekHelpMessages } from '../../src/core/agentTools';
import { buildIdeatorMessages } from '../../src/core/prompts';
import { mcpSettingsArgs } from '../../src/extension/agentTools/mcpLaunch';
import { IdeaRecordSchema, type Step } from '../../src/core/protocol';
import { renderIdea } from '../../src/extension/views/ideaPanelRender';
import { renderTrajectory } from '../../src/core/trajectory';

const LOGS = join(__dirname, '..', 'fixtures', 'logs');
const realLogs = readdirSync(LOGS)
  .filter((f) => f.endsWith('.log'))
  .map((f) => ({ name: f, text: readFileSync(join(LOGS, f), 'utf8') }));

function assertNothingLost(steps: Step[], label: string): { full: number; compact: number } {
  const c = compactSteps(steps);
  const full = renderTrajectory(steps, { budgetTokens: 1e9 });
  const compact = renderTrajectory(c.steps, { budgetTokens: 1e9 });
  const lost = lostInvariants(steps, c.steps);
  assert.deepEqual(lost, { values: [], errors: [], finalCode: [] }, `${label}: compact lost ${JSON.stringify(lost).slice(0, 400)}`);
  assert.ok(compact.tokens <= full.tokens, `${label}: compact (${compact.tokens}) is longer than full (${full.tokens})`);
  return { full: full.tokens, compact: compact.tokens };
}

// --- random outputs made to break it: progress bars with and without values, repeats, tracebacks, metric lines -----

const pick = <T>(rand: () => number, a: readonly T[]): T => a[Math.floor(rand() * a.length)];

function hostileOutput(rand: () => number): string {
  const out: string[] = [];
  const n = 5 + Math.floor(rand() * 120);
  const num = () => (rand() < 0.2 ? String(Math.floor(rand() * 1000)) : (rand() * 2).toFixed(1 + Math.floor(rand() * 6)));
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.15) out.push(`${i}/${n} [${'='.repeat(i % 30)}>${'.'.repeat(29 - (i % 30))}] - ETA: ${n - i}s - loss: ${num()} - ${pick(rand, ['accuracy', 'auc', 'val_loss'])}: ${num()}`);
    else if (r < 0.25) out.push(`train: ${Math.floor((i / n) * 100)}%|${'█'.repeat(i % 20)}| ${i}/${n} [00:0${i % 10}<00:12, ${num()}it/s${rand() < 0.5 ? `, loss=${num()}` : ''}]`);
    else if (r < 0.35) out.push(pick(rand, ['[LightGBM] [Warning] No further splits with positive gain, best gain: -inf', 'UserWarning: X does not have valid feature names', 'Requirement already satisfied: numpy in /usr/lib/python3/dist-packages (2.1.0)']));
    else if (r < 0.45) out.push(`[${i * 10}]\tvalid_0's auc: ${num()}\tvalid_0's binary_logloss: ${num()}`);
    else if (r < 0.5) out.push(`Epoch ${i}/${n}`, `${n}/${n} [==============================] - 3s 12ms/step - loss: ${num()} - val_accuracy: ${num()}`);
    else if (r < 0.55) {
      out.push('Traceback (most recent call last):', '  File "/workspace/solution.py", line 12, in <module>', '    main()');
      for (let k = 0; k < Math.floor(rand() * 6); k++) out.push(`  File "/opt/venv/lib/python3.11/site-packages/lib${k}/core.py", line ${100 + k}, in f${k}`, `    return g${k}(x)`);
      out.push(`${pick(rand, ['ValueError', 'KeyError', 'RuntimeError', 'torch.OutOfMemoryError'])}: ${pick(rand, ['Input X contains NaN.', "'target'", 'CUDA out of memory. Tried to allocate 2.00 GiB'])}`);
    } else if (r < 0.6) out.push(pick(rand, ['error: could not open file', 'FAILED tests/test_x.py::test_a', 'Killed', 'fatal: not a git repository']));
    else if (r < 0.7) out.push(`${pick(rand, ['accuracy', 'rmse', 'cv auc', 'f1'])}: ${num()}`);
    else if (r < 0.8) out.push(`${pick(rand, ['Loading data', 'Fitting fold', 'Saving submission', 'Building features'])} ${i % 5}`);
    else if (r < 0.9) out.push(`{'loss': ${num()}, 'learning_rate': ${(rand() * 1e-4).toExponential(2)}, 'epoch': ${num()}}`);
    else out.push(`           ${i % 3}       ${num()}      ${num()}      ${num()}       ${Math.floor(rand() * 200)}`);
    if (rand() < 0.1) out.push(out[out.length - 1]);
  }
  return out.join(rand() < 0.2 ? '\r\n' : '\n');
}

/** The last content written to each file, known independently of the parser under test. */
const finalCodeOf = new Map<number, Map<string, string>>();

function hostileTrajectory(seed: number): Step[] {
  const finals = new Map<string, string>();
  finalCodeOf.set(seed, finals);
  const rand = prng(seed);
  const steps: Step[] = [];
  // Blank lines, a docstring and an indented line that starts like the closing tag: the heredoc ends only at EOF.
  let code = ["'''Train.'''", '', ...Array.from({ length: 10 + Math.floor(rand() * 40) }, (_, i) => (i % 7 === 3 ? '' : i % 11 === 5 ? '    EOF_MARK = 1' : `x${i} = ${i} * ${Math.floor(rand() * 9)}`))].join('\n');
  const len = 1 + Math.floor(rand() * 25);
  for (let i = 0; i < len; i++) {
    const r = rand();
    if (r < 0.3) {
      const lines = code.split('\n');
      lines[Math.floor(rand() * lines.length)] = `y = ${rand().toFixed(4)}`;
      if (rand() < 0.3) lines.push(`print("v${i}")`);
      code = lines.join('\n');
      steps.push({ kind: 'execute', action: rand() < 0.8 ? `cat > train.py << 'EOF'\n${code}\nEOF` : `%%writefile train.py\n${code}`, observation: '' });
      finals.set('train.py', code);
    } else if (r < 0.9) {
      steps.push({ kind: 'execute', action: 'python train.py', observation: hostileOutput(rand), exitCode: rand() < 0.3 ? 1 : 0, score: rand() < 0.5 ? rand() : null });
    } else steps.push({ kind: 'seek_help', action: '<seek_help>help</seek_help>', observation: 'ACTION:\nlower the learning rate to 0.01' });
  }
  return steps;
}

test('property: 300 seeded random trajectories (progress, repeats, tracebacks, metric lines, code versions): nothing lost', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const steps = hostileTrajectory(seed);
    assertNothingLost(steps, `hostile seed ${seed}`);
    const compact = renderTrajectory(compactSteps(steps).steps, { budgetTokens: 1e9 }).text;
    for (const [path, code] of finalCodeOf.get(seed)!) assert.ok(compact.includes(code.replace(/\s+$/, '')), `hostile seed ${seed}: the final ${path} is not in the compact text whole`);
  }
});

test('property: every real fixture log, raw and as one step, loses no metric value or error line', () => {
  for (const log of realLogs) {
    assertNothingLost([{ kind: 'execute', action: 'python train.py', observation: log.text, exitCode: 0 }], log.name);
    // Twice in a row with different values, and once with each line repeated (duplicated output).
    const rerun = log.text.replace(/(\d+)\.(\d+)/g, (m, _a, f: string) => (Number(m) * 1.01).toFixed(f.length));
    assertNothingLost(
      [
        { kind: 'execute', action: 'python train.py', observation: log.text, exitCode: 0 },
        { kind: 'execute', action: 'python train.py', observation: rerun, exitCode: 0 },
        { kind: 'execute', action: 'python train.py', observation: log.text.split('\n').flatMap((l) => [l, l]).join('\n'), exitCode: 0 },
      ],
      `${log.name} ×3`,
    );
  }
});

test('property: realistic agent and editor trajectories built from the real logs and scripts: nothing lost, fewer tokens overall', () => {
  let full = 0;
  let compact = 0;
  for (let seed = 1; seed <= 40; seed++) {
    for (const [label, steps] of [[`agent ${seed}`, agentTrajectory(seed)], [`editor ${seed}`, editorTrajectory(seed)]] as const) {
      const r = assertNothingLost(steps, label);
      full += r.full;
      compact += r.compact;
    }
  }
  assert.ok(compact < full * 0.85, `compact ${compact} vs full ${full}`);
});

test('property: the bench generator trajectories (5 seeds × 200 steps): nothing lost', () => {
  for (let seed = 1; seed <= 5; seed++) assertNothingLost(syntheticTrajectory(200, seed), `synthetic ${seed}`);
});

test('progress output: the bar, ETA and rate go, the values stay; value-free runs keep their last line', () => {
  const keras = Array.from({ length: 20 }, (_, i) => `${(i + 1) * 10}/200 [${'='.repeat(i)}>${'.'.repeat(20 - i)}] - ETA: ${20 - i}s - loss: ${(0.7 - i * 0.01).toFixed(4)}`).join('\n');
  const out = compactOutput(keras);
  // The 20 lines of one shape are then written as a table (compactTable.ts): read through it.
  assert.match(out, /^\[… printed 20 times, one row of values each, filling the \{\} in order: "\{\}\/200 - loss: 0\{\}" …\]$/m);
  assert.match(expandTables(out), /^10\/200 - loss: 0\.7000$/m);
  assert.doesNotMatch(out, /ETA|\[=/);
  const bars = Array.from({ length: 30 }, (_, i) => `${Math.round((i / 29) * 100)}%|${'█'.repeat(i)}| ${i}/29`).join('\n');
  const b = compactOutput(`start\n${bars}\ndone`);
  assert.match(b, /\[… 29 progress lines …\]/);
  assert.match(b, /29\/29/);
  assert.ok(b.split('\n').length <= 4, b);
});

test('repeats: a warning printed 50 times is kept once with a count; error lines are never collapsed', () => {
  const spam = Array.from({ length: 50 }, () => '[LightGBM] [Warning] No further splits with positive gain, best gain: -inf').join('\n');
  const errs = Array.from({ length: 5 }, (_, i) => `RuntimeError: worker ${i} died`).join('\n');
  const out = compactOutput(`${spam}\n${errs}\n${spam}`);
  assert.equal(out.split('\n').filter((l) => l.includes('No further splits')).length, 1);
  assert.match(out, /No further splits.*\n\[… repeated 49 more times …\]\n\[… printed 50 more times below, omitted …\]/);
  for (let i = 0; i < 5; i++) assert.match(out, new RegExp(`RuntimeError: worker ${i} died`));
});

test('tracebacks: library frames between the user frame and the error collapse; the last frame and the error stay', () => {
  const tb = [
    'Traceback (most recent call last):',
    '  File "/workspace/solution.py", line 31, in <module>',
    '    booster = lgb.train(',
    ...Array.from({ length: 6 }, (_, k) => [`  File "/opt/conda/lib/python3.11/site-packages/lightgbm/basic.py", line ${100 + k}, in f${k}`, `    g${k}()`]).flat(),
    'lightgbm.basic.LightGBMError: Check failed: (num_data) > (0)',
  ].join('\n');
  const out = compactOutput(tb);
  assert.match(out, /\[… 5 library frames …\]/);
  assert.match(out, /solution\.py", line 31/);
  assert.match(out, /line 105, in f5/);
  assert.match(out, /LightGBMError: Check failed/);
});

test('code versions: earlier whole-file writes become a diff or a note, the last stays whole; other files are independent', () => {
  const v1 = Array.from({ length: 60 }, (_, i) => (i % 9 === 4 ? '' : `line_${i} = ${i}`)).join('\n');
  const v2 = v1.replace('line_30 = 30', 'line_30 = 300');
  const v3 = v2.replace('line_10 = 10', 'line_10 = 100');
  const steps: Step[] = [
    { kind: 'execute', action: `cat > solution.py << 'EOF'\n${v1}\nEOF`, observation: '' },
    { kind: 'execute', action: `cat > features.py << 'EOF'\nimport pandas\nEOF`, observation: '' },
    { kind: 'execute', action: `cat > solution.py << 'EOF'\n${v2}\nEOF`, observation: '' },
    { kind: 'execute', action: `cat <<"EOF" > solution.py\n${v3}\nEOF`, observation: '' },
  ];
  const { steps: c, stats } = compactSteps(steps);
  assert.equal(stats.codeVersionsSuperseded, 2);
  assert.match(c[0].action, /version 1 of solution\.py \(60 lines\), superseded/);
  assert.ok(!c[0].action.includes('line_59'), 'the whole superseded version is replaced, not its first lines');
  assert.match(c[2].action, /-line_30 = 30\n\+line_30 = 300/);
  assert.ok(c[3].action.includes(v3));
  assert.equal(c[1], steps[1]);
  assertNothingLost(steps, 'versions');
});

test('full mode is the rendering before #16, byte for byte; compact drafts the query from the recorded trajectory', () => {
  const state = { taskDescription: 'Predict churn.', trajectory: agentTrajectory(3), score: { value: 0.8, direction: 'higher' as const, metric: 'auc' }, code: 'print(1)\n' };
  const full = buildIdeatorPrompt(state, { trajectoryMode: 'full' });
  const before = buildIdeatorMessages(state);
  assert.deepEqual(full.messages, before.messages);
  assert.deepEqual(full.query, before.query);
  const compact = buildIdeatorPrompt(state, { trajectoryMode: 'compact' });
  assert.deepEqual(compact.query, before.query);
  assert.ok(compact.tokens < full.tokens, `${compact.tokens} < ${full.tokens}`);
  assert.ok(compact.cacheableTokens > 0 && compact.cacheableTokens < compact.tokens);
  assert.equal(cacheablePrefixTokens(compact.messages), compact.cacheableTokens);
});

test('mode parsing: full or compact, a one-line error otherwise', () => {
  assert.equal(parseTrajectoryMode('full'), 'full');
  assert.throws(() => parseTrajectoryMode('short', 'ideator.trajectoryMode'), /^Error: ideator\.trajectoryMode must be full or compact, got 'short'$/);
});

test('prices: Claude families, local servers free, others unknown, an override wins; usage priced per provider convention', () => {
  const sonnet = priceFor('anthropic', 'claude-sonnet-4-5');
  assert.equal(sonnet.kind, 'rates');
  assert.equal(priceFor('openai', 'qwen3-8b', 'http://127.0.0.1:8000/v1').kind, 'free');
  assert.equal(priceFor('template-vague', undefined).kind, 'free');
  assert.equal(priceFor('openai', 'gpt-x', 'https://api.example.com/v1').kind, 'unknown');
  assert.equal(priceFor('server', undefined, 'http://127.0.0.1:8787').kind, 'unknown', 'the companion server may proxy a paid model');
  const own = priceFor('openai', 'gpt-x', 'https://api.example.com/v1', parsePriceFlag('2,8,0.5'));
  assert.deepEqual(own.kind === 'rates' && own.rates, { input: 2, output: 8, cachedInput: 0.5, cacheWrite: 2.5 });
  assert.throws(() => parsePriceFlag('2'), /--price must be INPUT,OUTPUT\[,CACHED\]/);
  assert.throws(() => parsePriceFlag('a,b'), /--price must be/);
  // 1M prompt tokens at $3: $3 with nothing cached; 800k of them cached at $0.30: $0.60 + $0.24.
  const c = promptCost({ tokens: 1_000_000, cacheableTokens: 800_000 }, sonnet);
  assert.equal(c.inputDollars, 3);
  assert.ok(Math.abs(c.cachedInputDollars! - 0.84) < 1e-9);
  assert.equal(promptCostLine(c), '~1,000,000 tokens (800,000 cacheable), ~$3.00 input');
  assert.equal(promptCostShort(promptCost({ tokens: 8400, cacheableTokens: 7000 }, sonnet)), '~8,400 tokens, ~$0.025');
  assert.equal(promptCostShort(promptCost({ tokens: 8400, cacheableTokens: 7000 }, priceFor('openai', 'q', 'http://localhost:8000/v1'))), '~8,400 tokens, free');
  // Anthropic's input_tokens exclude cache reads; OpenAI's prompt_tokens include cached_tokens.
  const anth = usageDollars({ inputTokens: 200_000, outputTokens: 100_000, cacheReadTokens: 800_000 }, sonnet, 'anthropic')!;
  assert.ok(Math.abs(anth - (0.6 + 0.24 + 1.5)) < 1e-9, String(anth));
  const oai = usageDollars({ inputTokens: 1_000_000, outputTokens: 100_000, cacheReadTokens: 800_000 }, sonnet, 'openai')!;
  assert.ok(Math.abs(oai - anth) < 1e-9);
  assert.equal(usageLine({ inputTokens: 1200, outputTokens: 300, cacheReadTokens: 7000 }, sonnet, 'anthropic'), '8,200 prompt tokens (7,000 from cache) · 300 answer tokens · $0.010');
});

test('the agent tools and the MCP server build the same prompt in the chosen mode; the editor hands its mode to ideator mcp', () => {
  const state = { taskDescription: 'Predict churn.', trajectory: agentTrajectory(5), score: { value: 0.8, direction: 'higher' as const }, code: 'print(1)\n', codePath: 'solution.py' };
  for (const mode of ['full', 'compact'] as const) assert.deepEqual(seekHelpMessages(state, { trajectoryMode: mode }), buildIdeatorPrompt(state, { trajectoryMode: mode }).messages);
  assert.deepEqual(seekHelpMessages(state), buildIdeatorPrompt(state, { trajectoryMode: 'compact' }).messages, 'compact by default');
  const base = { provider: { kind: 'template-vague' as const }, trajectoryTokenBudget: 8000, maxOutputTokens: 512, requestTimeoutSeconds: 10 };
  const args = mcpSettingsArgs({ ...base, trajectoryMode: 'full' });
  assert.equal(args[args.indexOf('--trajectory') + 1], 'full');
  assert.ok(!mcpSettingsArgs(base).includes('--trajectory'));
});

test('the idea keeps its reported usage with the cache share and its price; the panel chip says them (#16)', () => {
  const usage = { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 7000, cacheWriteTokens: 0 };
  const sonnet = priceFor('anthropic', 'claude-sonnet-4-5');
  const record = IdeaRecordSchema.parse({
    id: 'i1',
    createdAt: '2026-12-06T00:00:00Z',
    raw: 'x',
    parsed: { ok: true, analysis: 'a', action: 'b', rationale: 'c', codeBlocks: [], errors: [] },
    usage,
    cost: { dollars: usageDollars(usage, sonnet, 'anthropic'), source: sonnet.source },
  });
  assert.deepEqual(record.usage, usage, 'the cache fields survive the schema');
  const html = renderIdea({ idea: record, canApply: true });
  assert.match(html, /1,200 tokens in \(7,000 from cache\) · 300 out · \$0\.010/);
  assert.match(html, /title="tokens used \(price: Claude Sonnet list price\)"/);
  const unknown = renderIdea({ idea: { ...record, cost: { dollars: null, source: 'no price known for x' } }, canApply: true });
  assert.match(unknown, /1,200 tokens in \(7,000 from cache\) · 300 out</);
  const free = renderIdea({ idea: { ...record, cost: { dollars: 0, source: 'local server: free' } }, canApply: true });
  assert.match(free, /300 out · free</);
});

test('a step cut by the budget is never referred to: the later step then shows the lines itself', () => {
  const header = Array.from({ length: 40 }, (_, i) => `[LightGBM] [Info] Dataset column ${i}: 1,204 bins, sparse rate 0.${String(i).padStart(2, '0')}`).join('\n');
  const big = (k: number) => Array.from({ length: 300 }, (_, i) => `fold ${k} row ${i}: feature importance gain ${(((i * 7 + k) % 97) / 10 + 0.05).toFixed(2)}`).join('\n');
  const steps: Step[] = [{ kind: 'execute', action: 'ls', observation: 'data', exitCode: 0 }];
  for (let k = 0; k < 12; k++) steps.push({ kind: 'execute', action: `python train.py --fold ${k}`, observation: `${header}\n${big(k)}\nval_auc: 0.8${k}`, exitCode: 0 });
  const state = { taskDescription: 'x', trajectory: steps, score: { value: 0.8, direction: 'higher' as const }, code: '' };
  const unbudgeted = renderTrajectory(compactSteps(steps).steps, { budgetTokens: 1e9 }).text;
  assert.match(unbudgeted, /lines as printed in step 2 …\]/, 'without a budget the later runs refer to the first');
  const p = buildIdeatorPrompt(state, { trajectoryMode: 'compact', budgetTokens: 9000 });
  const text = p.messages.map((m) => m.content).join('\n');
  assert.doesNotMatch(text, /--- Step 2 \(/, 'the budget cut step 2');
  for (const m of text.matchAll(/lines as printed in step (\d+) …\]/g)) assert.match(text, new RegExp(`--- Step ${m[1]} \\(`), `step ${m[1]} is referred to but not in the prompt`);
  assert.match(expandTables(text), /Dataset column 0: 1,204 bins/, 'the lines are in the prompt (as a table: compactTable.ts)');
  assert.ok(p.compact!.fallbacks >= 1, 'the references were dropped');
});

test('property: an edit step\'s diff, tightened, still turns the old file into the new one and keeps every changed line', () => {
  const rand = prng(16);
  const base = Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? `def f${i}(x):` : `    x = x * ${i} + ${i % 5}  # step ${i}`));
  for (let t = 0; t < 200; t++) {
    const next = [...base];
    for (let e = 0; e < 1 + Math.floor(rand() * 4); e++) {
      const at = Math.floor(rand() * next.length);
      const r = rand();
      if (r < 0.4) next[at] = `${next[at]}  # changed ${t}`;
      else if (r < 0.7) next.splice(at, 0, `    print("added ${t}")`);
      else next.splice(at, 1);
    }
    const before = base.join('\n') + '\n';
    const after = next.join('\n') + '\n';
    const diff = createTwoFilesPatch('a/train.py', 'b/train.py', before, after, undefined, undefined, { context: 3 });
    const tight = tightenDiff(diff);
    assert.ok(tight.length <= diff.length);
    assert.doesNotMatch(tight, /^(---|\+\+\+) [ab]\/train\.py/m, 'the single-file header is left out (the step names the file)');
    assert.equal(applyPatch(before, `--- a/train.py\n+++ b/train.py\n${tight}\n`), after, `seed ${t}: the tightened diff is still a valid patch`);
    const changed = (d: string) => d.split('\n').filter((l) => /^[+-](?![+-]{2} )/.test(l));
    assert.deepEqual(changed(tight), changed(diff).filter((l) => !/^(---|\+\+\+) /.test(l)));
  }
  // A context line that reads as an error stays; not a diff: unchanged.
  const err = createTwoFilesPatch('a/t.py', 'b/t.py', 'a = 1\nlog("RuntimeError: bad")\nb = 2\nc = 3\nd = 4\n', 'a = 1\nlog("RuntimeError: bad")\nb = 2\nc = 3\nd = 5\n', undefined, undefined, { context: 3 });
  assert.match(tightenDiff(err), /log\("RuntimeError: bad"\)/);
  assert.equal(tightenDiff('not a diff\nat all'), 'not a diff\nat all');
});

test('a repeated two-line warning (long lines) is referred to the step that printed it; short pairs stay', () => {
  const warn = '/opt/conda/lib/python3.11/site-packages/lightgbm/sklearn.py:1106: LGBMDeprecationWarning: The argument \'eval_set\' is deprecated, use \'eval_X\' and \'eval_y\' instead.\n  eval_set = _validate_eval_set_Xy(eval_set=eval_set, eval_X=eval_X, eval_y=eval_y)';
  const run = (v: number, extra = '') => ({ kind: 'execute' as const, action: 'python train.py', observation: `${warn}\n${extra}[10]\tvalid's l2: ${v}`, exitCode: 0 });
  const steps: Step[] = [run(5651.37), run(5641.2), run(5602.11)];
  const c = compactSteps(steps);
  assert.match(c.steps[1].observation!, /^\[… 2 lines as printed in step 1 …\]$/m);
  assert.match(c.steps[2].observation!, /^\[… 2 lines as printed in step 1 …\]$/m, 'the step where they are shown');
  assert.deepEqual(lostInvariants(steps, c.steps), { values: [], errors: [], finalCode: [] });
  const short = (v: number) => ({ kind: 'execute' as const, action: 'python x.py', observation: `starting the run now\nloading the data set\nauc: ${v}`, exitCode: 0 });
  const s2 = compactSteps([short(0.81), short(0.82)]);
  assert.match(s2.steps[1].observation!, /starting the run now\nloading the data set/);
});
