/**
 * The `ideator` CLI contracts: parse-idea, prompt, ask — in-process through main() and once as real processes
 * (the tsx entry and the esbuild bundle dist/cli.js). User errors: exit 2, one line on stderr, no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expandTables } from '../../src/core/compactTable';
import { runCli } from '../cliHarness';
import { startOpenAIServer } from '../servers/openai';

const root = join(__dirname, '..', '..');
const exampleState = join(root, 'server', 'examples', 'state.json');

const GOOD_ANSWER = `ANALYSIS_ON_CURRENT_PROGRESS:
Keep the random forest: it beat the linear baseline, but more trees did not help, so the model is not the bottleneck.

ACTION:
Add ratio features between the usage columns before fitting:
\`\`\`python
for a, b in [("f0", "f1"), ("f2", "f3")]:
    train[f"{a}_per_{b}"] = train[a] / (train[b].abs() + 1e-6)
\`\`\`

RATIONALE:
Tree ensembles struggle to learn ratios from raw columns; explicit interactions usually move AUC more than tuning.`;


let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ideator-cli-'));
});

describe('parse-idea', () => {
  test('well-formed answer from a file: ok with the three fields and the code block', async () => {
    const file = join(dir, 'answer.txt');
    writeFileSync(file, GOOD_ANSWER);
    const r = await runCli(['parse-idea', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const idea = JSON.parse(r.stdout);
    assert.equal(idea.ok, true, JSON.stringify(idea.errors));
    assert.match(idea.analysis, /Keep the random forest/);
    assert.match(idea.action, /ratio features/);
    assert.match(idea.rationale, /explicit interactions/);
    assert.equal(idea.codeBlocks.length, 1);
    assert.equal(idea.codeBlocks[0].lang, 'python');
  });

  test('stdin with a missing field: exit 0, ok false, the error names the field', async () => {
    const r = await runCli(['parse-idea', '-', '--json'], 'ACTION:\nUse XGBoost.\n\nRATIONALE:\nIt is strong.');
    assert.equal(r.code, 0);
    const idea = JSON.parse(r.stdout);
    assert.equal(idea.ok, false);
    assert.ok(idea.errors.some((e: string) => /ANALYSIS_ON_CURRENT_PROGRESS/.test(e)), idea.errors.join('; '));
  });

  test('missing file: exit 2, one line, no stack trace', async () => {
    const r = await runCli(['parse-idea', join(dir, 'nope.txt'), '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no such file/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
  });

  test('unknown flag and unknown command are user errors', async () => {
    assert.equal((await runCli(['parse-idea', '--bogus'])).code, 2);
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });
});

describe('prompt', () => {
  test('the example state renders task, query, trajectory, score and code', async () => {
    const r = await runCli(['prompt', '--state', exampleState, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const built = JSON.parse(r.stdout);
    const text = built.messages.map((m: { content: string }) => m.content).join('\n');
    assert.match(text, /telecom customer churns/);
    assert.match(text, /PROBLEM_STATEMENT/);
    assert.match(text, /cv_auc: 0\.8427/);
    assert.match(text, /0\.8431/);
    assert.match(text, /RandomForestClassifier\(n_estimators=200/);
    assert.match(text, /ANALYSIS_ON_CURRENT_PROGRESS/);
    assert.ok(built.trajectoryTokens > 0);
    assert.ok(built.query.attemptsSoFar.length > 0);
  });

  test('--trajectory compact (default) / full, the cost on stderr and in --json; a bad mode or price is a one-line usage error (#16)', async () => {
    const bars = Array.from({ length: 40 }, (_, i) => `${i * 10}/400 [${'='.repeat(i % 30)}>${'.'.repeat(29 - (i % 30))}] - ETA: ${40 - i}s - loss: 0.${String(7000 - i).padStart(4, '0')}`).join('\n');
    const state = JSON.parse(readFileSync(exampleState, 'utf8'));
    state.trajectory.push({ kind: 'execute', action: 'python train.py', observation: `${bars}\nval_auc: 0.8123`, exitCode: 0 });
    const file = join(dir, 'progress-state.json');
    writeFileSync(file, JSON.stringify(state));
    const compact = await runCli(['prompt', '--state', file, '--json', '--provider', 'anthropic:claude-sonnet-4-5']);
    assert.equal(compact.code, 0, compact.stderr);
    const c = JSON.parse(compact.stdout);
    const full = JSON.parse((await runCli(['prompt', '--state', file, '--json', '--trajectory', 'full'])).stdout);
    assert.equal(c.trajectoryMode, 'compact');
    assert.equal(full.trajectoryMode, 'full');
    const text = (b: { messages: { content: string }[] }) => b.messages.map((m) => m.content).join('\n');
    assert.doesNotMatch(text(c), /ETA:/);
    assert.match(text(full), /ETA: 40s/);
    // Compact writes the 40 progress lines as one table (core/compactTable.ts): read through it.
    for (const t of [expandTables(text(c)), text(full)]) assert.match(t, /loss: 0\.6961[\s\S]*val_auc: 0\.8123/);
    assert.ok(c.tokens < full.tokens && c.cacheableTokens < c.tokens, `${c.tokens} vs ${full.tokens}`);
    assert.equal(c.cost.price.kind, 'rates');
    assert.ok(c.cost.inputDollars > 0 && c.cost.cachedInputDollars < c.cost.inputDollars);
    const plain = await runCli(['prompt', '--state', file, '--price', '3,15']);
    assert.match(plain.stderr, /^ideator prompt: compact trajectory, ~[\d,]+ tokens \([\d,]+ cacheable\), ~\$0\.\d+ input$/m);
    const bad = await runCli(['prompt', '--state', file, '--trajectory', 'tiny']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--trajectory must be full or compact, got 'tiny'/);
    const badPrice = await runCli(['prompt', '--state', file, '--price', '3']);
    assert.equal(badPrice.code, 2);
    assert.match(badPrice.stderr, /--price must be INPUT,OUTPUT\[,CACHED\]/);
  });

  test('a state that violates the schema: exit 2 naming the failing path', async () => {
    const file = join(dir, 'bad-state.json');
    writeFileSync(file, JSON.stringify({ taskDescription: 'x', code: 'print(1)', score: { value: 'high', direction: 'higher' } }));
    const r = await runCli(['prompt', '--state', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /score\.value/);
  });

  test('invalid JSON: exit 2', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"taskDescription": ');
    const r = await runCli(['prompt', '--state', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not valid JSON/);
  });
});

describe('ask', () => {
  let server: Awaited<ReturnType<typeof startOpenAIServer>>;
  before(async () => {
    server = await startOpenAIServer({ responses: () => ({ text: GOOD_ANSWER, reasoning: 'The forest plateaued; try features.' }) });
  });
  after(() => server.close());

  test('template-null answers in the paper format', async () => {
    const r = await runCli(['ask', '--state', exampleState, '--provider', 'template-null', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const idea = JSON.parse(r.stdout);
    assert.equal(idea.ok, true, idea.errors.join('; '));
    assert.equal(idea.model, 'template-null');
  });

  test('the prompt cost before asking and the reported usage after, on stderr; cost in the JSON (#16)', async () => {
    const r = await runCli(['ask', '--state', exampleState, '--provider', `openai:ideator@${server.url}`, '--price', '2,8']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /asking .* \(compact trajectory, ~[\d,]+ tokens \([\d,]+ cacheable\), ~\$0\.\d+ input\) …/);
    assert.match(r.stderr, /reported usage: [\d,]+ prompt tokens · [\d,]+ answer tokens · \$0\.\d+/);
    const out = JSON.parse(r.stdout);
    assert.equal(out.cost.price.kind, 'rates');
    assert.ok(out.usage.inputTokens > 0);
  });

  test('openai-compatible server (vLLM-style, LoRA adapter as model): streams and parses', async () => {
    const r = await runCli(['ask', '--state', exampleState, '--provider', 'openai', '--base-url', server.url, '--model', 'ideator']);
    assert.equal(r.code, 0, r.stderr);
    const idea = JSON.parse(r.stdout);
    assert.equal(idea.ok, true, idea.errors.join('; '));
    assert.match(idea.action, /ratio features/);
    assert.match(idea.thinking ?? '', /plateaued/);
    assert.match(r.stderr, /Add ratio features/, 'tokens are streamed to stderr');
    const req = server.requests.at(-1)!;
    assert.equal(req.model, 'ideator');
    assert.ok(JSON.stringify(req.messages).includes('telecom customer churns'));
  });

  test("a model the server does not serve: vLLM's own words and the flag to change (#15)", async () => {
    const vllm = await startOpenAIServer({ responses: [{ text: 'never' }], models: ['ideator'], errorShape: 'vllm-flat' });
    try {
      const r = await runCli(['ask', '--state', exampleState, '--provider', `openai:ideator-v2@${vllm.url}`, '--quiet']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /The model `ideator-v2` does not exist \(OpenAI-compatible server at .*HTTP 404\): --model \(or MODEL in --provider KIND:MODEL@URL\) is "ideator-v2"/);
    } finally {
      await vllm.close();
    }
  });

  test('unreachable base URL: exit 1 with a message naming the URL', async () => {
    const r = await runCli(['ask', '--state', exampleState, '--provider', 'openai', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /127\.0\.0\.1:9/);
  });

  test('--provider takes the provider spec KIND:MODEL@URL, the same spelling as serve and bench', async () => {
    const r = await runCli(['ask', '--state', exampleState, '--provider', 'openai:m@http://127.0.0.1:9/v1', '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /127\.0\.0\.1:9/);
    const twice = await runCli(['ask', '--state', exampleState, '--provider', 'openai:m@http://127.0.0.1:9/v1', '--model', 'other']);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /model is given twice: in --provider .* and in --model; give it once/);
  });

  test('bad provider name: exit 2', async () => {
    const r = await runCli(['ask', '--state', exampleState, '--provider', 'gpt']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--provider must be one of/);
  });
});

describe('as real processes', () => {
  test('tsx entry and the dist bundle both parse stdin', () => {
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    for (const args of [['--import', 'tsx', join(root, 'server', 'src', 'cli.ts')], [join(root, 'dist', 'cli.js')]]) {
      const r = spawnSync(process.execPath, [...args, 'parse-idea', '-', '--json'], { cwd: root, input: GOOD_ANSWER, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).ok, true);
      const bad = spawnSync(process.execPath, [...args, 'prompt', '--state', join(dir, 'nope.json')], { cwd: root, encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /no such file/);
    }
  });

  test('the dist bundle: extract-scores starts without the heavy commands, which still load on demand', () => {
    // Runs after the build of the test above. dist/cli.js holds the dispatcher and the light tools only (no zod, no
    // server): V8 parses all of a script it loads, so every megabyte in it is start-up time for extract-scores.
    const cli = join(root, 'dist', 'cli.js');
    const source = readFileSync(cli, 'utf8');
    assert.ok(source.length < 256 * 1024, `dist/cli.js is ${source.length} bytes`);
    assert.doesNotMatch(source, /node_modules[\\/]zod/);
    const log = join(dir, 'run.log');
    writeFileSync(log, 'Epoch 1/2\nloss: 0.5 - val_loss: 0.6\nEpoch 2/2\nloss: 0.4 - val_loss: 0.55\n');
    const env = { ...process.env, NODE_DEBUG: 'module' };
    const light = spawnSync(process.execPath, [cli, 'extract-scores', log], { cwd: root, encoding: 'utf8', env });
    assert.equal(light.status, 0, light.stderr);
    assert.equal(light.stdout, runSync(['--import', 'tsx', join(root, 'server', 'src', 'cli.ts'), 'extract-scores', log]));
    assert.doesNotMatch(light.stderr, /cli-commands\.js/);
    const heavy = spawnSync(process.execPath, [cli, 'prompt', '--state', exampleState], { cwd: root, encoding: 'utf8', env });
    assert.equal(heavy.status, 0);
    assert.match(heavy.stdout, /===== system =====/);
    assert.match(heavy.stderr, /cli-commands\.js/);
    // A UsageError thrown in dist/cli-commands.js (its own copy of the class) is still a user error: exit 2.
    const bad = spawnSync(process.execPath, [cli, 'prompt', '--state', exampleState, '--no-such-flag'], { cwd: root, encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });
});

function runSync(args: string[]): string {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
