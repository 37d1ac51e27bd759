/**
 * OpenRLHF against a real `ideator serve`: states registered by `ideator export --format openrlhf --server URL` (and
 * POST /v1/states), labels resolved by the server, and rewards through
 *  - the reward_func file (server/python/ideator_openrlhf.py) loaded and called the way OpenRLHF does, by the
 *    SYSTEM python with -I (standard library only), and by OpenRLHF 0.11.2's own agent.py (venv python: aiohttp);
 *  - POST /get_reward with OpenRLHF's exact body, through its own HTTP client and directly: shapes, scores in 0–1,
 *    cached results, 503 reward_pending while a run goes on, 400s for a batch that cannot be read, the token in the
 *    query string for a client that cannot send headers.
 * - the noise-aware reward (baselineSeeds / IDEATOR_REWARD_BASELINE_SEEDS): k, the noise and the threshold in every
 *   sample's extra_logs (0 when p_t was not measured), a gain inside C_t's spread earns 0.
 * One row is a real task's state (churn-binary, p_t measured by the server) exported from a bench pool.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildIdeatorMessages } from '../../src/core/prompts';
import { IdeatorStateSchema } from '../../src/core/protocol';
import { BenchStore } from '../../server/src/dualAgent/benchStore';
import { STORE_FILE } from '../../server/src/dualAgent/benchRun';
import { EXTRA_LOG_KEYS } from '../../server/src/rewards/openrlhf';
import { chatTemplateText } from '../../server/src/statePool/lengths';
import { stateRef } from '../../server/src/statePool/registry';
import { runCli } from '../cliHarness';
import { api, printsAcc, removeDir, REPO, serverForSuite, startServer, tempDir, toyState } from './serverHarness';

const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const VENV_PYTHON = join(REPO, '.venv', 'bin', 'python');
const TEST_FILE = join(REPO, 'server', 'python', 'test_ideator_openrlhf.py');

const NOISY_STATE = {
  taskDescription: 'Noisy toy: print acc.',
  score: { value: 0.5, direction: 'higher' as const, metric: 'acc' },
  code: "import os, random\nrandom.seed(int(os.environ.get('IDEATOR_SEED', '0')))\nprint('acc:', round(0.5 + random.random() * 0.1, 4))\n",
  codePath: 'solution.py',
};
const demoState = IdeatorStateSchema.parse(JSON.parse(readFileSync(join(REPO, 'server', 'demo', 'state.json'), 'utf8')));
const improving = readFileSync(join(REPO, 'server', 'demo', 'ideas', '01-one-hot-categoricals.md'), 'utf8');

describe('OpenRLHF: labels, the reward_func file and POST /get_reward', () => {
  const server = serverForSuite({ args: ['--slots', '2'] });
  const dir = tempDir('ideator-openrlhf-');
  const rowsFile = join(dir, 'rows.json');
  let toy: { prompt: { role: string; content: string }[]; label: string };
  let noisy: { prompt: { role: string; content: string }[]; label: string };
  after(() => removeDir(dir));

  before(async () => {
    // A toy state (no task: scored from the printed acc, opted in per request) registered through the API.
    const reg = await api(server, 'POST', '/v1/states', { states: [{ state: toyState(0.5) }] });
    assert.equal(reg.status, 200, reg.text);
    const ref = (reg.json as unknown as { states: { ref: string; created: boolean }[] }).states[0].ref;
    assert.equal(ref, stateRef(toyState(0.5), undefined));
    toy = { prompt: buildIdeatorMessages(toyState(0.5)).messages, label: ref };
    // A noisy C_t (noise-aware reward): it prints 0.5 + U(0, 0.1) seeded by IDEATOR_SEED; its state claims 0.5.
    const noisyReg = await api(server, 'POST', '/v1/states', { states: [{ state: NOISY_STATE }] });
    assert.equal(noisyReg.status, 200, noisyReg.text);
    noisy = { prompt: buildIdeatorMessages(NOISY_STATE).messages, label: (noisyReg.json as unknown as { states: { ref: string }[] }).states[0].ref };
    // A real task's state, exported from a bench pool and registered by the CLI.
    const run = join(dir, 'run');
    mkdirSync(dirname(join(run, STORE_FILE)), { recursive: true });
    const store = new BenchStore(join(run, STORE_FILE));
    store.addPool({
      id: 'p1', runId: 'churn-binary|prompted|1', stepIdx: 3, task: 'churn-binary', config: 'prompted', state: demoState, ideaRaw: improving,
      ideaOk: true, ideaType: 'Feature Engineering', before: 40, after: 60, improved: true, createdAt: '2026-01-01T00:00:00.000Z',
    });
    store.db.close();
    const out = join(dir, 'train.jsonl');
    const r = await runCli(['export', run, '--format', 'openrlhf', '--out', out, '--server', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`registered 1 state\\(s\\) with ${server.url} \\(1 new\\): their labels resolve there`));
    const again = await runCli(['export', run, '--format', 'openrlhf', '--out', out, '--server', server.url, '--json']);
    assert.deepEqual(JSON.parse(again.stdout).registered, { server: server.url, states: 1, created: 0, line: `registered 1 state(s) with ${server.url} (0 new): their labels resolve there` });
    const task = JSON.parse(readFileSync(out, 'utf8').trim());
    writeFileSync(rowsFile, JSON.stringify({ toy, noisy, task, task_answer: improving }));
  });

  function python(bin: string, args: string[], env: Record<string, string>) {
    const r = spawnSync(bin, args, { cwd: REPO, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', IDEATOR_TEST_SERVER_URL: server.url, IDEATOR_TEST_OPENRLHF_ROWS: rowsFile, ...env }, timeout: 300_000 });
    return `${r.stdout}\n${r.stderr}\nexit ${r.status}`;
  }

  it('the reward_func file, loaded and called as OpenRLHF does, by the system python (standard library only)', { timeout: 300_000 }, () => {
    const out = python(SYSTEM_PYTHON, ['-I', TEST_FILE, 'LoadedAsOpenRLHFDoes'], {});
    assert.match(out, /Ran 8 tests/, out);
    assert.match(out, /\nOK\s*\nexit 0$/, out);
    assert.doesNotMatch(out, /skipped/);
  });

  it("OpenRLHF 0.11.2's own code: its loader and executor call the file; its HTTP client posts to /get_reward", { timeout: 300_000, skip: existsSync(VENV_PYTHON) ? false : 'no project venv' }, () => {
    const out = python(VENV_PYTHON, [TEST_FILE, 'ThroughOpenRLHFsOwnCode'], {});
    assert.match(out, /Ran 3 tests/, out);
    assert.match(out, /\nOK\s*\nexit 0$/, out);
    assert.doesNotMatch(out, /skipped/, 'aiohttp is in the venv (requirements.txt)');
  });

  it("POST /get_reward with OpenRLHF's body: shapes, scores, cached results, reward_pending", { timeout: 120_000 }, async () => {
    const prompt = chatTemplateText(toy.prompt);
    const body = (answers: string[]) => ({ query: answers.map((a) => prompt + a + '<|im_end|>'), prompts: answers.map(() => prompt), labels: answers.map(() => toy.label) });
    const r = await api(server, 'POST', '/get_reward?allowPrintedScore=1&waitSec=60', body([printsAcc(0.8, '# direct'), printsAcc(0.5, '# tie'), 'no format']));
    assert.equal(r.status, 200, r.text);
    const reply = r.json as unknown as { rewards: number[]; scores: number[]; extra_logs: Record<string, number[]> };
    assert.deepEqual(reply.rewards, [1, 0, -1]);
    assert.deepEqual(reply.scores, [1, 0, 0]);
    assert.deepEqual(Object.keys(reply.extra_logs), [...EXTRA_LOG_KEYS]);
    assert.deepEqual(reply.extra_logs.cached, [0, 0, 0]);
    for (const k of ['baseline_seeds', 'baseline_noise', 'baseline_threshold']) assert.deepEqual(reply.extra_logs[k], [0, 0, 0], `${k}: p_t not measured`);
    const linear = await api(server, 'POST', '/get_reward?allowPrintedScore=1&scores=linear', body([printsAcc(0.8, '# direct'), printsAcc(0.5, '# tie'), 'no format']));
    assert.deepEqual((linear.json as unknown as typeof reply).scores, [1, 0.5, 0]);
    assert.deepEqual((linear.json as unknown as typeof reply).extra_logs.cached, [1, 1, 1], 'the same samples again come from the store');

    // Noise-aware: ?baselineSeeds=3 measures C_t over 3 seeds; a gain inside its spread earns 0, a large one +1, and
    // every sample carries the same k, noise and threshold (a format error too: the keys are the same on every sample).
    const nPrompt = chatTemplateText(noisy.prompt);
    const nBody = (answers: string[]) => ({ query: answers.map((a) => nPrompt + a + '<|im_end|>'), prompts: answers.map(() => nPrompt), labels: answers.map(() => noisy.label) });
    const paper = await api(server, 'POST', '/get_reward?allowPrintedScore=1&waitSec=60', nBody([printsAcc(0.59, '# lucky')]));
    assert.deepEqual((paper.json as unknown as typeof reply).rewards, [1], 'k = 1: p_t is the state\'s 0.5 and 0.59 pays');
    const n = await api(server, 'POST', '/get_reward?allowPrintedScore=1&waitSec=60&baselineSeeds=3', nBody([printsAcc(0.59, '# lucky'), printsAcc(0.9, '# real')]));
    assert.equal(n.status, 200, n.text);
    const nr = n.json as unknown as typeof reply;
    assert.deepEqual(nr.rewards, [0, 1]);
    assert.deepEqual(nr.scores, [0, 1]);
    assert.deepEqual(Object.keys(nr.extra_logs), [...EXTRA_LOG_KEYS]);
    assert.deepEqual(nr.extra_logs.baseline_seeds, [3, 3]);
    const [noise, threshold] = [nr.extra_logs.baseline_noise[0], nr.extra_logs.baseline_threshold[0]];
    assert.ok(noise > 0.01 && Math.abs(threshold - noise * Math.sqrt(4 / 3)) < 1e-12, JSON.stringify(nr.extra_logs));
    assert.deepEqual(nr.extra_logs.baseline_noise, [noise, noise]);
    const badSeeds = await api(server, 'POST', '/get_reward?allowPrintedScore=1&baselineSeeds=17', nBody([printsAcc(0.9, '# real')]));
    assert.equal(badSeeds.status, 400, badSeeds.text);
    assert.match(badSeeds.text, /baselineSeeds/);

    // A run longer than waitSec: 503 reward_pending with Retry-After; the same body again joins the same job.
    const slow = body([printsAcc(0.9, 'import time\ntime.sleep(3)')]);
    const pending = await api(server, 'POST', '/get_reward?allowPrintedScore=1&waitSec=0', slow);
    assert.equal(pending.status, 503, pending.text);
    assert.equal(pending.headers.get('retry-after'), '1');
    assert.match(pending.text, /"code":"reward_pending".*send the same request again.*ideator_openrlhf\.py/);
    const done = await api(server, 'POST', '/get_reward?allowPrintedScore=1&waitSec=60', slow);
    assert.equal(done.status, 200, done.text);
    assert.deepEqual((done.json as unknown as typeof reply).rewards, [1]);
    const jobs = server.stderr();
    assert.ok(!/internal error/.test(jobs), jobs);

    // Without the opt-in, a state no task grades is a bridge error (200), never a reward from a forgeable print.
    const refused = await api(server, 'POST', '/get_reward', body([printsAcc(0.99, '# forged')]));
    assert.equal(refused.status, 200, refused.text);
    assert.deepEqual([(refused.json as unknown as typeof reply).rewards, (refused.json as unknown as typeof reply).extra_logs.bridge_error], [[0], [1]]);
  });

  it('a batch that cannot be read is a 400; states: unknown task, unknown reference', async () => {
    const prompt = chatTemplateText(toy.prompt);
    const missing = await api(server, 'POST', '/get_reward', { query: [prompt + 'x'], prompts: [prompt], labels: [''] });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /"code":"missing_label".*--data\.label_key label/);
    const mismatch = await api(server, 'POST', '/get_reward', { query: ['a', 'b'], prompts: ['a'], labels: [toy.label, toy.label] });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /"code":"length_mismatch"/);
    const unknownTask = await api(server, 'POST', '/v1/states', { states: [{ state: toyState(0.1), task: 'no-such-task' }] });
    assert.equal(unknownTask.status, 400);
    assert.match(unknownTask.text, /"code":"unknown_task"/);
    const unknownRef = await api(server, 'GET', `/v1/states/st_${'0'.repeat(32)}`);
    assert.equal(unknownRef.status, 404);
    assert.match(unknownRef.text, /"code":"unknown_state"/);
    const got = await api(server, 'GET', `/v1/states/${toy.label}`);
    assert.equal(got.status, 200);
    assert.deepEqual((got.json as unknown as { state: unknown }).state, IdeatorStateSchema.parse(toyState(0.5)));
  });
});

describe('the token of a server bound beyond loopback, for a client that cannot send headers', () => {
  it('POST /get_reward takes ?token=; other routes do not', { timeout: 60_000 }, async () => {
    const server = await startServer({ args: ['--slots', '1'], env: { IDEATOR_SERVER_TOKEN: 'sekret-token' } });
    try {
      const body = { query: ['x'], prompts: [''], labels: [`st_${'0'.repeat(32)}`] };
      assert.equal((await api(server, 'POST', '/get_reward', body)).status, 401);
      assert.equal((await api(server, 'POST', '/get_reward?token=wrong', body)).status, 401);
      const ok = await api(server, 'POST', '/get_reward?token=sekret-token', body);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual((ok.json as unknown as { extra_logs: { bridge_error: number[] } }).extra_logs.bridge_error, [1], 'no such state: a bridge error');
      assert.equal((await api(server, 'POST', '/get_reward', body, { authorization: 'Bearer sekret-token' })).status, 200);
      assert.equal((await api(server, 'GET', `/v1/states/st_${'0'.repeat(32)}?token=sekret-token`)).status, 401);
    } finally {
      await server.stop();
      removeDir(server.dataDir);
    }
  });
});
