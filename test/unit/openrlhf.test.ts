/**
 * OpenRLHF's side, without a server: the answer cut out of OpenRLHF's query, scores in 0–1, extra_logs keys, the
 * content-addressed state reference and the registry behind labels, and export --format openrlhf's rows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildIdeatorMessages } from '../../src/core/prompts';
import { IdeatorStateSchema, type RewardResult } from '../../src/core/protocol';
import { BenchStore } from '../../server/src/dualAgent/benchStore';
import { STORE_FILE } from '../../server/src/dualAgent/benchRun';
import { EXTRA_LOG_KEYS, extraLogs, responseFromQuery, score01 } from '../../server/src/rewards/openrlhf';
import { chatTemplateText } from '../../server/src/statePool/lengths';
import { registerStates, type OpenRlhfRow } from '../../server/src/statePool/openrlhf';
import { CorruptStateError, STATE_REF_RE, stateRef, StateRegistry } from '../../server/src/statePool/registry';
import { isOneLineUserError, runCli } from '../cliHarness';

const REPO = join(__dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'ideator-openrlhf-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));

const demoState = IdeatorStateSchema.parse(JSON.parse(readFileSync(join(REPO, 'server', 'demo', 'state.json'), 'utf8')));
const demoIdea = readFileSync(join(REPO, 'server', 'demo', 'ideas', '01-one-hot-categoricals.md'), 'utf8');

function result(over: Partial<RewardResult> = {}): RewardResult {
  return {
    index: 0, reward: 0, status: 'not_improved', scoreBefore: 0.7, scoreAfter: 0.69, durationMs: 1234, outputTail: '', codeDiff: '',
    formatErrors: [], selfReported: false, guardFlags: [], guard: [], ...over,
  };
}

describe('the answer inside OpenRLHF\'s query', () => {
  const prompt = chatTemplateText(buildIdeatorMessages(demoState).messages);

  it('query = prompt + answer + end of turn (decoded with special tokens)', () => {
    assert.equal(responseFromQuery(prompt + demoIdea + '<|im_end|>', prompt), demoIdea);
    assert.equal(responseFromQuery(prompt + demoIdea + '<|im_end|>\n<|endoftext|><|endoftext|>', prompt), demoIdea);
    // Cut off by the length limit: no end token, the text as it is.
    assert.equal(responseFromQuery(prompt + 'ANALYSIS_ON_CURRENT_PROGRESS:\nThe mo', prompt), 'ANALYSIS_ON_CURRENT_PROGRESS:\nThe mo');
    // Qwen3's thinking stays in: the idea parser sets it aside.
    assert.equal(responseFromQuery(`${prompt}<think>\nhmm\n</think>\n\n${demoIdea}<|im_end|>`, prompt), `<think>\nhmm\n</think>\n\n${demoIdea}`);
  });

  it('a prompt OpenRLHF cut from the left: the query starts inside the prompt', () => {
    for (const cut of [1, 100, Math.floor(prompt.length / 2), prompt.length - 30]) {
      assert.equal(responseFromQuery(prompt.slice(cut) + demoIdea + '<|im_end|>', prompt), demoIdea, `cut at ${cut}`);
    }
  });

  it('a query that does not match the prompt at all: after the last assistant header, else all of it', () => {
    assert.equal(responseFromQuery(`\uFFFD garbled<|im_start|>assistant\n${demoIdea}<|im_end|>`, prompt), demoIdea);
    assert.equal(responseFromQuery(`x<|start_header_id|>assistant<|end_header_id|>\n\nANSWER<|eot_id|>`, 'another prompt'), 'ANSWER');
    assert.equal(responseFromQuery('just text', ''), 'just text');
  });
});

describe('scores (0–1) and extra_logs', () => {
  it('improved → 1, everything else → 0 (dynamic filtering keeps groups with some but not all improving)', () => {
    assert.equal(score01(result({ status: 'improved', reward: 1 })), 1);
    for (const [status, reward] of [['not_improved', 0], ['exec_failed', 0], ['timeout', 0], ['format_error', -1]] as const) {
      assert.equal(score01(result({ status, reward })), 0, status);
    }
  });

  it('linear: (reward + 1) / 2, clamped', () => {
    assert.deepEqual([-1, 0, 1, -0.25].map((reward) => score01(result({ reward }), 'linear')), [0, 0.5, 1, 0.375]);
    assert.equal(score01(result({ reward: 3 }), 'linear'), 1);
  });

  it('the same keys for every sample, a bridge error included', () => {
    const ok = extraLogs(result({ status: 'improved', reward: 1, guardFlags: ['prints_metric'], selfReported: true }), { cached: true });
    const failed = extraLogs(null);
    assert.deepEqual(Object.keys(ok), [...EXTRA_LOG_KEYS]);
    assert.deepEqual(Object.keys(failed), [...EXTRA_LOG_KEYS]);
    assert.deepEqual([ok.improved, ok.guard_flagged, ok.guard_prints_metric, ok.self_reported, ok.cached, ok.duration_s, ok.bridge_error], [1, 1, 1, 1, 1, 1.234, 0]);
    assert.equal(failed.bridge_error, 1);
    assert.equal(Object.values(failed).reduce((a, b) => a + b, 0), 1);
  });

  it('the noise-aware reward: k, the std of the k scores and the threshold; 0 when p_t was not measured', () => {
    const baseline = { k: 3, scores: [0.8, 0.82, 0.84], mean: 0.82, std: 0.02, z: 1, threshold: 0.02 * Math.sqrt(4 / 3) };
    const noisy = extraLogs(result({ baseline }));
    assert.deepEqual([noisy.baseline_seeds, noisy.baseline_noise, noisy.baseline_threshold], [3, 0.02, baseline.threshold]);
    const plain = extraLogs(result());
    assert.deepEqual(Object.keys(noisy), Object.keys(plain));
    assert.deepEqual([plain.baseline_seeds, plain.baseline_noise, plain.baseline_threshold], [0, 0, 0]);
    const once = extraLogs(result({ baseline: { k: 1, scores: [0.8], mean: 0.8, std: 0, z: 1, threshold: 0 } }));
    assert.deepEqual([once.baseline_seeds, once.baseline_noise, once.baseline_threshold], [1, 0, 0], 'measured once: k = 1, no noise estimate');
  });
});

describe('state references and the registry', () => {
  it('content-addressed: the same state and task give the same reference, whatever the key order or defaults', () => {
    const ref = stateRef(demoState, 'churn-binary');
    assert.match(ref, STATE_REF_RE);
    const shuffled = Object.fromEntries(Object.entries(demoState).reverse()) as typeof demoState;
    assert.equal(stateRef(shuffled, 'churn-binary'), ref);
    const { codePath: _omitted, ...withoutDefault } = { ...demoState, codePath: 'solution.py' };
    assert.equal(stateRef(withoutDefault, 'churn-binary'), stateRef({ ...demoState, codePath: 'solution.py' }, 'churn-binary'));
    assert.notEqual(stateRef(demoState, undefined), ref, 'the task is part of it');
    assert.notEqual(stateRef({ ...demoState, code: demoState.code + '\n' }, 'churn-binary'), ref);
  });

  it('registers durably and idempotently; a file that does not hash to its name is refused', () => {
    const reg = StateRegistry.forDataDir(join(root, 'data'));
    const first = reg.register(demoState, 'churn-binary');
    assert.deepEqual(first, { ref: stateRef(demoState, 'churn-binary'), created: true });
    assert.deepEqual(reg.register(JSON.parse(JSON.stringify(demoState)), 'churn-binary'), { ref: first.ref, created: false });
    const again = StateRegistry.forDataDir(join(root, 'data')).get(first.ref)!;
    assert.deepEqual([again.task, again.state], ['churn-binary', demoState]);
    assert.equal(reg.get('st_' + '0'.repeat(32)), undefined);
    assert.equal(reg.get('../../etc/passwd'), undefined);
    const file = join(root, 'data', 'states', first.ref.slice(3, 5), `${first.ref}.json`);
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...entry, state: { ...entry.state, code: 'print("swapped")' } }));
    assert.throws(() => reg.get(first.ref), CorruptStateError);
    writeFileSync(file, '{');
    assert.throws(() => reg.get(first.ref), /not a registered state/);
  });
});

function pool(dir: string): string {
  mkdirSync(dirname(join(dir, STORE_FILE)), { recursive: true });
  const store = new BenchStore(join(dir, STORE_FILE));
  ['a', 'b', 'c'].forEach((id, i) =>
    store.addPool({
      id: `p${i}`, runId: `churn-binary|prompted|${i}`, stepIdx: i, task: 'churn-binary', config: 'prompted', state: { ...demoState, id: `demo-${id}` },
      ideaRaw: demoIdea, ideaOk: true, ideaType: 'Feature Engineering', before: 50, after: 60, improved: true, createdAt: new Date(2026, 0, 1, 0, 0, i).toISOString(),
    }),
  );
  store.db.close();
  return dir;
}

describe('export / collect --format openrlhf', () => {
  const run = pool(join(root, 'run'));

  it('rows: chat prompt, the state reference as a top-level label, the state itself', async () => {
    const out = join(root, 'train.jsonl');
    const r = await runCli(['export', run, '--format', 'openrlhf', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OpenRlhfRow);
    assert.equal(rows.length, 3);
    const row = rows[0];
    assert.deepEqual(Object.keys(row), ['prompt', 'label', 'datasource', 'task', 'state_id', 'split', 'index', 'state', 'idea', 'idea_type', 'score_before', 'score_after', 'reward']);
    assert.deepEqual(row.prompt, buildIdeatorMessages({ ...demoState, id: 'demo-a' }).messages);
    assert.equal(row.label, stateRef({ ...demoState, id: 'demo-a' }, 'churn-binary'));
    assert.equal(row.label, stateRef(JSON.parse(row.state), row.task), 'the label is the reference of the state the row carries');
    assert.equal(row.datasource, 'mle-ideator/churn-binary');
    assert.equal(new Set(rows.map((x) => x.label)).size, 3);
    assert.match(r.stdout, /\nOpenRLHF settings: --data\.max_len \d+ --rollout\.max_new_tokens \d+ \(prompt [\d,]+ \+ answer [\d,]+\)\n/);
    assert.match(r.stdout, /labels are state references: register the 3 state\(s\) with the reward server before training \(same command with --server URL\)/);
    const c = await runCli(['collect', run, '--out-dir', join(root, 'sets'), '--format', 'openrlhf', '--val-per-task', '1', '--json']);
    assert.equal(c.code, 0, c.stderr);
    const summary = JSON.parse(c.stdout);
    assert.deepEqual([summary.train, summary.val, summary.registered.server, summary.registered.states], [2, 1, null, 3]);
    assert.match(summary.files.train, /train\.jsonl$/);
  });

  it('--server: a wrong URL or an unreachable server is one line; --server with another format is refused', async () => {
    const out = join(root, 'x.jsonl');
    for (const [args, re] of [
      [['--server', 'localhost:8787'], /--server must be an http:\/\/ or https:\/\/ URL/],
      [['--server', 'http://127.0.0.1:9'], /cannot reach the reward server at http:\/\/127\.0\.0\.1:9: .* — the file is written/],
    ] as const) {
      const r = await runCli(['export', run, '--format', 'openrlhf', '--out', out, ...args]);
      assert.ok(isOneLineUserError(r), JSON.stringify(r));
      assert.match(r.stderr, re);
    }
    const v = await runCli(['export', run, '--format', 'verl', '--out', join(root, 'x.parquet'), '--server', 'http://127.0.0.1:9']);
    assert.ok(isOneLineUserError(v), JSON.stringify(v));
    assert.match(v.stderr, /--server registers the states of --format openrlhf/);
  });

  it('registerStates checks that the server computed the same references', async () => {
    const rows = readFileSync(join(root, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OpenRlhfRow);
    const seen: unknown[] = [];
    const fake = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { states: { state: unknown; task: string }[] };
      seen.push(body);
      const reg = StateRegistry.forDataDir(join(root, 'fake-server'));
      return new Response(JSON.stringify({ states: body.states.map((s) => ({ ...reg.register(s.state as never, s.task), task: s.task })) }), { status: 200 });
    }) as typeof fetch;
    assert.deepEqual(await registerStates('http://x', rows, { fetchImpl: fake }), { registered: 3, created: 3 });
    assert.deepEqual(await registerStates('http://x', rows, { fetchImpl: fake }), { registered: 3, created: 0 });
    const liar = (async () => new Response(JSON.stringify({ states: rows.map(() => ({ ref: 'st_' + 'f'.repeat(32), task: null, created: true })) }), { status: 200 })) as typeof fetch;
    await assert.rejects(registerStates('http://x', rows, { fetchImpl: liar }), /registered state st_\w+ as st_f+: a server of another version/);
  });
});
