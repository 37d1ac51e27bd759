/**
 * Verify (#16), the pure parts: the ideas file and the JSON-line schema (core/verify.ts), the status against the
 * baseline's noise, the ranking, the outcomes recorded in the run history (and that applying a verified idea still
 * lets its next run judge it), the launcher's arguments and the workspace plan (what is copied, what is bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history';
import { ideaTypeSuccessRates } from '../../src/core/historyRows';
import { recordCompletedRun } from '../../src/core/outcome';
import type { IdeaRecord, Run } from '../../src/core/protocol';
import { baselineNoise } from '../../src/core/rewards';
import { parseVerifyLine, rankResults, recordVerifiedOutcomes, verifiedOutcome, VerifyIdeasFileSchema, verifyStatus, type VerifySummary } from '../../src/core/verify';
import { verifyArgs, verifyCli } from '../../src/extension/ideas/verify';
import { parseConfig, settingValue, USER_ONLY_KEYS } from '../../src/extension/settings/configSchema';
import { mainUnderBoundFolder, planWorkspace, WorkspacePlanError } from '../../server/src/verify/workspace';

test('ideas file: raw strings, parsed ideas and code; ids filled in order, duplicates and empty ideas refused', () => {
  const parsed = { ok: true, analysis: 'a', action: 'Use more trees', rationale: 'r', codeBlocks: [], errors: [] };
  const ideas = VerifyIdeasFileSchema.parse(['ANALYSIS: x', { parsed }, { id: 'mine', code: 'print(1)\n', title: 'T' }]);
  assert.deepEqual(
    ideas.map((i) => i.id),
    ['idea-1', 'idea-2', 'mine'],
  );
  assert.equal(ideas[0].raw, 'ANALYSIS: x');
  assert.deepEqual(VerifyIdeasFileSchema.parse({ ideas: [{ code: 'x' }] }), [{ id: 'idea-1', code: 'x' }]);
  assert.equal(VerifyIdeasFileSchema.safeParse([]).success, false);
  assert.equal(VerifyIdeasFileSchema.safeParse([{ title: 'no code' }]).success, false);
  assert.equal(VerifyIdeasFileSchema.safeParse([{ id: 'a', code: 'x' }, { id: 'a', code: 'y' }]).success, false);
  assert.equal(VerifyIdeasFileSchema.safeParse([{ id: '../etc', code: 'x' }]).success, false, 'an id is a plain name');
});

test('JSON lines: every event shape is validated; a wrong one is named', () => {
  const progress = { type: 'progress', phase: 'baseline', event: 'finished', seed: 0, score: 0.8, seconds: 1.2, message: 'baseline run 1/3 finished', done: 1, total: 6 };
  const ok = parseVerifyLine(JSON.stringify(progress));
  assert.ok(ok.ok && ok.event.type === 'progress' && ok.event.seed === 0);
  const result = { type: 'result', idea: 'a', title: 'A', status: 'within_noise', score: 0.81, delta: 0.01, noise: 0.02, seconds: 3, diff: '', via: 'code', outputTail: '' };
  const parsed = parseVerifyLine(JSON.stringify(result));
  assert.ok(parsed.ok && parsed.event.type === 'result');
  assert.deepEqual([parsed.event.guardFlags, parsed.event.guard], [[], []], 'guard fields default to none');
  assert.ok(!parseVerifyLine(JSON.stringify({ ...result, guardFlags: ['made_up'] })).ok);
  const bad = parseVerifyLine(JSON.stringify({ ...result, status: 'won' }));
  assert.ok(!bad.ok && /status/.test(bad.error), JSON.stringify(bad));
  const notJson = parseVerifyLine('Traceback (most recent call last):');
  assert.ok(!notJson.ok && /not JSON/.test(notJson.error));
  assert.ok(!parseVerifyLine(JSON.stringify({ type: 'other' })).ok);
});

test('verifyStatus: a gain inside the noise is within_noise, not a win; beyond it improved; a loss beyond it worse', () => {
  const b = baselineNoise([0.79, 0.8, 0.81]); // mean 0.8, std 0.01, threshold 0.01·√(4/3) ≈ 0.01155
  assert.deepEqual(verifyStatus(0.81, b, 'higher').status, 'within_noise');
  assert.equal(verifyStatus(0.79, b, 'higher').status, 'within_noise');
  assert.equal(verifyStatus(0.82, b, 'higher').status, 'improved');
  assert.equal(verifyStatus(0.78, b, 'higher').status, 'worse');
  assert.ok(Math.abs(verifyStatus(0.82, b, 'higher').delta! - 0.02) < 1e-12);
  // Lower is better: the same numbers read the other way.
  assert.equal(verifyStatus(0.78, b, 'lower').status, 'improved');
  assert.equal(verifyStatus(0.82, b, 'lower').status, 'worse');
  // One baseline run: no noise estimate, any gain is a win, a tie is within the noise.
  const one = baselineNoise([0.8]);
  assert.equal(verifyStatus(0.8001, one, 'higher').status, 'improved');
  assert.equal(verifyStatus(0.8, one, 'higher').status, 'within_noise');
  // No baseline score: a score is an improvement, delta unknown.
  assert.deepEqual(verifyStatus(0.5, baselineNoise([null, null]), 'higher'), { status: 'improved', delta: null });
});

test('rankResults: measured scores best first in the metric direction, then timed out, then failed', () => {
  const rs = [
    { idea: 'crash', status: 'failed' as const, score: null },
    { idea: 'slow', status: 'timed_out' as const, score: null },
    { idea: 'noise', status: 'within_noise' as const, score: 0.81 },
    { idea: 'best', status: 'improved' as const, score: 0.9 },
    { idea: 'bad', status: 'worse' as const, score: 0.7 },
  ];
  assert.deepEqual(rankResults(rs, 'higher'), ['best', 'noise', 'bad', 'slow', 'crash']);
  assert.deepEqual(rankResults(rs, 'lower'), ['bad', 'noise', 'best', 'slow', 'crash']);
  assert.deepEqual(rankResults([], 'higher'), []);
});

const summary: Pick<VerifySummary, 'baseline' | 'direction' | 'cancelled'> = { baseline: baselineNoise([0.25, 0.5, 0.75]), direction: 'higher', cancelled: false };
const ideaRecord = (id: string, action: string): IdeaRecord => ({
  id,
  createdAt: '2026-12-06T10:00:00.000Z',
  raw: `ANALYSIS: a\nACTION: ${action}\nRATIONALE: r`,
  parsed: { ok: true, analysis: 'a', action, rationale: 'r', codeBlocks: [], errors: [] },
  type: 'Hyperparameter Tuning',
});

test('verifiedOutcome: the outcome an applied idea would get; within the noise is not_improved, reward 0', () => {
  const now = () => new Date('2026-12-06T11:00:00Z');
  assert.deepEqual(verifiedOutcome({ status: 'improved', score: 0.9 }, 'i1', summary, now), {
    ideaId: 'i1', runId: 'verify:i1', before: 0.5, after: 0.9, direction: 'higher', status: 'improved', reward: 1, recordedAt: '2026-12-06T11:00:00.000Z',
  });
  assert.equal(verifiedOutcome({ status: 'within_noise', score: 0.81 }, 'i', summary).status, 'not_improved');
  assert.equal(verifiedOutcome({ status: 'within_noise', score: 0.81 }, 'i', summary).reward, 0);
  assert.equal(verifiedOutcome({ status: 'worse', score: 0.5 }, 'i', summary).status, 'not_improved');
  assert.equal(verifiedOutcome({ status: 'failed', score: null }, 'i', summary).status, 'exec_failed');
  assert.equal(verifiedOutcome({ status: 'timed_out', score: null }, 'i', summary).status, 'timeout');
});

test('recordVerifiedOutcomes: the history learns the idea types; applying a verified idea still lets its next run judge it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-history-'));
  try {
    const store = HistoryStore.open(dir);
    const a = ideaRecord('a', 'Raise the learning rate');
    const b = ideaRecord('b', 'Lower the learning rate');
    store.appendIdea(a);
    const results = [
      { idea: 'a', status: 'improved' as const, score: 0.9 },
      { idea: 'b', status: 'within_noise' as const, score: 0.81 },
      { idea: 'c', status: 'failed' as const, score: null },
    ];
    const recorded = recordVerifiedOutcomes(store, results, summary, new Map([['a', a], ['b', b]]), () => new Date('2026-12-06T11:00:00Z'));
    assert.equal(recorded.length, 2, 'c has no record: skipped');
    assert.ok(store.idea('b'), 'a record the history lacked is appended');
    assert.equal(store.outcomeFor('a')?.status, 'improved');
    const rates = ideaTypeSuccessRates(store.ideas(), store.outcomes());
    const hp = rates.find((r) => r.type === 'Hyperparameter Tuning');
    assert.ok(hp, JSON.stringify(rates));
    assert.deepEqual({ judged: hp.judged, improved: hp.improved, rate: hp.rate }, { judged: 2, improved: 1, rate: 0.5 });

    // The user applies 'a' after verifying it: the next run judges it again, and its outcome replaces the verified one.
    store.appendApplied({ ideaId: 'a', at: '2026-12-06T12:00:00.000Z' });
    assert.equal(store.pendingIdea()?.applied.ideaId, 'a');
    const run: Run = {
      id: 'r1', source: 'terminal', startedAt: '2026-12-06T12:01:00.000Z', endedAt: '2026-12-06T12:02:00.000Z', exitCode: 0, metrics: [],
      primary: { name: 'val_acc', value: 0.7, direction: 'higher' }, outputHead: '', outputTail: '', outputBytes: 0,
    };
    const judged = recordCompletedRun(store, run, () => new Date('2026-12-06T12:02:00Z'));
    assert.equal(judged.outcome?.ideaId, 'a');
    assert.equal(store.outcomeFor('a')?.runId, 'r1');
    assert.equal(store.pendingIdea(), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: the bundled CLI and the verify arguments', () => {
  const cli = verifyCli('/ext', '/usr/bin/electron', '30.0.0');
  assert.deepEqual(cli, { command: '/usr/bin/electron', args: ['/ext/dist/cli.js'], env: { ELECTRON_RUN_AS_NODE: '1' } });
  assert.deepEqual(verifyCli('/ext', '/usr/bin/node', undefined).env, {});
  const args = verifyArgs({ workspace: '/w', command: 'python train.py', ideas: [], slots: 2, budgetMinutes: 5, baselineSeeds: 3, metric: 'val_acc', direction: 'higher', implementer: { kind: 'openai', model: 'm' } }, '/tmp/i.json');
  assert.deepEqual(args.slice(0, 3), ['verify', '--json', '--watch-stdin']);
  const flag = (f: string) => args[args.indexOf(f) + 1];
  assert.equal(flag('--workspace'), '/w');
  assert.equal(flag('--ideas'), '/tmp/i.json');
  assert.equal(flag('--slots'), '2');
  assert.equal(flag('--budget-min'), '5');
  assert.equal(flag('--baseline-seeds'), '3');
  assert.equal(flag('--metric'), 'val_acc');
  assert.deepEqual(JSON.parse(flag('--implementer')), { kind: 'openai', model: 'm' });
  assert.ok(!args.includes('--main'));
  assert.ok(!args.includes('--score'), 'last, the CLI default, is not passed');
  const best = verifyArgs({ workspace: '/w', command: 'python train.py', ideas: [], slots: 1, budgetMinutes: 5, score: 'best' }, '/tmp/i.json');
  assert.equal(best[best.indexOf('--score') + 1], 'best');
  // On a companion server: its URL and data root; the interpreter, implementer and GPUs are the server's own.
  const remote = verifyArgs({ workspace: '/w', command: 'python train.py', ideas: [], slots: 2, budgetMinutes: 5, python: '/usr/bin/python3', gpus: ['0'], implementer: { kind: 'openai', model: 'm' }, server: { url: 'http://gpu:8787', dataRoot: 'cancer' } }, '/tmp/i.json');
  assert.equal(remote[remote.indexOf('--server') + 1], 'http://gpu:8787');
  assert.equal(remote[remote.indexOf('--data-root') + 1], 'cancer');
  for (const f of ['--python', '--gpus', '--implementer', '--token']) assert.ok(!remote.includes(f), f);
});

test('planWorkspace: small sources copied, data folders and large files bound whole, tooling skipped', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-plan-'));
  try {
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    write('train.py', 'print(1)\n');
    write('config.yaml', 'lr: 0.1\n');
    write('pkg/model.py', 'x = 1\n');
    write('pkg/weights.bin', 'b'.repeat(10));
    write('data/train.csv', 'a,b\n1,2\n');
    write('data/nested/more.csv', 'a\n');
    write('big.json', 'x'.repeat(3000));
    write('.git/config', '[core]\n');
    write('.venv/bin/python', '');
    write('__pycache__/m.pyc', '');
    write('.env', 'OPENAI_API_KEY=sk-secret\n');
    write('id_rsa', 'PRIVATE');
    write('server.pem', 'PRIVATE');
    fs.symlinkSync(path.join(root, 'data'), path.join(root, 'data-link'));
    const plan = planWorkspace(root, 2048);
    assert.deepEqual(plan.copies.sort(), ['config.yaml', 'pkg/model.py', 'train.py']);
    const binds = Object.fromEntries(plan.binds.map((b) => [b.rel, b]));
    assert.deepEqual(Object.keys(binds).sort(), ['big.json', 'data', 'data-link', 'pkg/weights.bin']);
    assert.ok(!JSON.stringify(plan).includes('.env') && !JSON.stringify(plan).includes('pem') && !JSON.stringify(plan).includes('id_rsa'), 'hidden and key files are left out');
    assert.equal(binds.data.dir, true, 'a folder without source is bound whole');
    assert.equal(binds['data-link'].host, fs.realpathSync(path.join(root, 'data')), 'a link is bound at its target');
    assert.equal(binds['big.json'].dir, false, 'a config file over the cap is bound, not copied');
    // Deciding about one big data folder does not use up the look-ahead of the next folder.
    for (let i = 0; i < 2100; i++) write(`a-data/f${i}.csv`, '');
    write('b-src/util.py', 'y = 2\n');
    const again = planWorkspace(root, 2048);
    assert.ok(again.copies.includes('b-src/util.py'), JSON.stringify(again.copies));
    assert.ok(again.binds.some((b) => b.rel === 'a-data' && b.dir));
    // Thousands of data files beside the sources cannot each be a mount: one clear error.
    for (let i = 0; i < 1001; i++) write(`f${i}.csv`, '');
    assert.throws(() => planWorkspace(root, 2048), /1006 data files beside its source files .* move the data into a folder/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('planWorkspace: a link is no way around the hidden-entry rule nor out to the workspace\'s parent or the home folder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-links-'));
  const ws = path.join(root, 'ws');
  try {
    fs.mkdirSync(path.join(ws, 'data'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'train.py'), 'print(1)\n');
    fs.writeFileSync(path.join(ws, 'data', 'a.csv'), 'a\n1\n');
    fs.writeFileSync(path.join(ws, '.env'), 'OPENAI_API_KEY=sk-secret\n');
    fs.mkdirSync(path.join(root, 'outside', '.ssh'), { recursive: true });
    fs.writeFileSync(path.join(root, 'outside', '.ssh', 'id_ed25519'), 'PRIVATE');
    fs.mkdirSync(path.join(root, 'shared-data'));
    fs.writeFileSync(path.join(root, 'shared-data', 'b.csv'), 'b\n');
    const link = (target: string, name: string) => fs.symlinkSync(target, path.join(ws, name));
    link(path.join(ws, '.env'), 'notes'); // a visible name for a hidden file
    link('..', 'up'); // the workspace's parent: every sibling, the workspace's own .env
    link(ws, 'self');
    link('/', 'rootfs');
    link(os.homedir(), 'home');
    link(path.join(root, 'outside', '.ssh'), 'keys');
    link(path.join(root, 'outside', '.ssh', 'id_ed25519'), 'model.bin');
    link(path.join(ws, 'data'), 'data-link');
    link(path.join(root, 'shared-data'), 'shared');
    const plan = planWorkspace(ws, 2048);
    const bound = plan.binds.map((b) => b.rel).sort();
    assert.deepEqual(bound, ['data', 'data-link', 'shared'], JSON.stringify(plan.binds));
    assert.deepEqual(plan.refused.map((r) => r.rel).sort(), ['home', 'keys', 'model.bin', 'notes', 'rootfs', 'self', 'up']);
    assert.ok(!plan.binds.some((b) => b.host.includes('.ssh') || b.host.endsWith('.env') || b.host === root || b.host === '/'));
    assert.match(plan.refused.find((r) => r.rel === 'up')!.why, /holds the workspace/);
    assert.match(plan.refused.find((r) => r.rel === 'notes')!.why, /hidden entry or a key file/);
    // A workspace that itself sits in a hidden folder keeps its links into itself.
    const hiddenWs = path.join(root, '.projects', 'ws2');
    fs.mkdirSync(path.join(hiddenWs, 'data'), { recursive: true });
    fs.writeFileSync(path.join(hiddenWs, 'train.py'), 'print(1)\n');
    fs.writeFileSync(path.join(hiddenWs, 'data', 'a.csv'), 'a\n');
    fs.symlinkSync(path.join(hiddenWs, 'data'), path.join(hiddenWs, 'data-link'));
    fs.symlinkSync(path.join(hiddenWs, '.git'), path.join(hiddenWs, 'git-link'));
    fs.mkdirSync(path.join(hiddenWs, '.git'));
    const inHidden = planWorkspace(hiddenWs, 2048);
    assert.deepEqual(inHidden.binds.map((b) => b.rel).sort(), ['data', 'data-link']);
    assert.deepEqual(inHidden.refused.map((r) => r.rel), ['git-link']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('planWorkspace: hidden entries and key files inside a folder bound whole are masked in the runs', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-masks-'));
  try {
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    write('train.py', 'print(1)\n');
    write('secrets/.env', 'OPENAI_API_KEY=sk-secret\n'); // no source file: the folder is bound whole
    write('data/train.csv', 'a\n');
    write('data/.git/config', '[core]\n');
    write('data/raw/server.pem', 'PRIVATE');
    write('data/raw/__pycache__/x.pyc', '');
    write('src/.env.local', 'K=1\n'); // a source folder is walked: its hidden file is simply left out
    write('src/util.py', 'x = 1\n');
    const plan = planWorkspace(root, 2048);
    assert.deepEqual(plan.binds.filter((b) => b.dir).map((b) => b.rel).sort(), ['data', 'secrets']);
    assert.deepEqual(plan.masks.sort((a, b) => a.rel.localeCompare(b.rel)), [
      { rel: path.join('data', '.git'), dir: true },
      { rel: path.join('data', 'raw', 'server.pem'), dir: false },
      { rel: path.join('secrets', '.env'), dir: false },
    ]);
    assert.ok(plan.copies.includes(path.join('src', 'util.py')) && !JSON.stringify(plan).includes('.env.local'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('planWorkspace: credential files are never copied; in a folder bound whole (at any depth, or behind a link) they are masked; a folder too big to look through is refused', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-creds-'));
  try {
    const ws = path.join(root, 'ws');
    const write = (rel: string, text = 'x') => {
      fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
      fs.writeFileSync(path.join(ws, rel), text);
    };
    write('train.py', 'print(1)\n');
    write('config.json', '{}');
    for (const f of ['kaggle.json', 'credentials.json', 'client_secret_9.apps.googleusercontent.com.json', 'service-account-prod.json', 'secrets.yaml', 'id_rsa_ci', 'key.pem', '.netrc', '.pypirc', '.env.local']) write(f);
    write('data/train.csv', 'a\n1\n');
    write('data/1/2/3/4/5/6/7/8/kaggle.json');
    write('data/1/2/3/4/5/6/7/8/.aws/credentials');
    fs.mkdirSync(path.join(root, 'elsewhere'));
    fs.writeFileSync(path.join(root, 'elsewhere', 'x.csv'), 'a\n');
    fs.writeFileSync(path.join(root, 'elsewhere', 'credentials'), 'x');
    fs.symlinkSync(path.join(root, 'elsewhere'), path.join(ws, 'linked'));
    const plan = planWorkspace(ws, 512 * 1024);
    assert.deepEqual(plan.copies.sort(), ['config.json', 'train.py']);
    assert.deepEqual(plan.binds.map((b) => b.rel).sort(), ['data', 'linked']);
    assert.deepEqual(plan.masks.map((m) => `${m.rel}${m.dir ? '/' : ''}`).sort(), [path.join('data/1/2/3/4/5/6/7/8/.aws') + '/', path.join('data/1/2/3/4/5/6/7/8/kaggle.json'), path.join('linked', 'credentials')].sort());
    // Too many entries to look through: refused, naming the folder.
    for (let i = 0; i < 30; i++) write(`data/many/${i}.csv`);
    assert.throws(() => planWorkspace(ws, 512 * 1024, 20), /the data folder data holds more than 20 entries: too many to look through for hidden files and keys/);
    assert.throws(() => planWorkspace(ws, 512 * 1024, 20), WorkspacePlanError, 'the library\'s own error (the CLI makes it a usage error)');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('planWorkspace: a Python environment under any name (env/ with pyvenv.cfg, a conda one) is neither copied nor bound', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-env-'));
  try {
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    write('train.py', 'print(1)\n');
    write('env/pyvenv.cfg', 'home = /usr/bin\n');
    write('env/bin/activate_this.py', 'x = 1\n');
    for (let i = 0; i < 1200; i++) write(`env/lib/python3.11/site-packages/pkg/m${i}.py`, 'y = 2\n');
    for (let i = 0; i < 1200; i++) write(`env/lib/python3.11/site-packages/pkg/_c${i}.so`, 'ELF');
    write('tools/conda/conda-meta/history', '');
    write('tools/conda/lib/site.py', 'z = 3\n');
    write('tools/run.py', 'w = 4\n');
    const plan = planWorkspace(root, 2048);
    assert.deepEqual(plan.copies.sort(), ['tools/run.py', 'train.py']);
    assert.deepEqual(plan.binds, []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('mainUnderBoundFolder: a main file inside a folder bound whole (too many entries) is named, so verify refuses it instead of measuring the unchanged file', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-main-'));
  try {
    fs.mkdirSync(path.join(root, 'proj'));
    for (let i = 0; i < 2001; i++) fs.writeFileSync(path.join(root, 'proj', `img${i}.png`), '');
    fs.writeFileSync(path.join(root, 'proj', 'train.py'), 'print(1)\n');
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src', 'train.py'), 'print(1)\n');
    const plan = planWorkspace(root, 2048);
    assert.equal(mainUnderBoundFolder(plan, path.join('proj', 'train.py')), 'proj');
    assert.equal(mainUnderBoundFolder(plan, path.join('src', 'train.py')), undefined);
    assert.equal(mainUnderBoundFolder(plan, 'projtrain.py'), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('settings: ideator.verifyServer (a URL, empty = this machine) and ideator.verifyDataRoot (a data folder name)', () => {
  const ok = parseConfig({ verifyServer: ' http://gpu-box:8787/ ', verifyDataRoot: 'cancer' });
  assert.equal(ok.ok, true);
  assert.equal(ok.config.verifyServer, 'http://gpu-box:8787');
  assert.equal(ok.config.verifyDataRoot, 'cancer');
  const empty = parseConfig({ verifyServer: '', verifyDataRoot: '' });
  assert.equal(empty.config.verifyServer, undefined);
  assert.equal(empty.config.verifyDataRoot, undefined);
  const bad = parseConfig({ verifyServer: 'gpu-box:8787', verifyDataRoot: '../data' });
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && bad.errors.some((e) => /ideator\.verifyServer.*http:\/\/ or https:\/\/ URL \(or empty to verify on this machine\)/.test(e)), JSON.stringify(bad));
  assert.ok(!bad.ok && bad.errors.some((e) => /ideator\.verifyDataRoot/.test(e)));
  assert.equal(bad.config.verifyServer, undefined, 'a bad value falls back to verifying here');
});

test("settings: a repository's .vscode/settings.json cannot choose where Verify sends the sources and the token (ideator.verifyServer / verifyDataRoot are the user's only)", () => {
  // What a cloned repository's workspace or folder settings say, over nothing (or the user's own server) in the user's.
  const attacker = { workspaceValue: 'http://attacker.example:8787', workspaceFolderValue: 'http://attacker.example:80' };
  for (const key of ['verifyServer', 'verifyDataRoot']) {
    assert.equal(settingValue(key, attacker), undefined, key);
    assert.equal(settingValue(key, { ...attacker, globalValue: 'mine' }), 'mine', key);
  }
  // Other settings still take the narrowest layer.
  assert.equal(settingValue('model', { globalValue: 'a', workspaceValue: 'b', workspaceFolderValue: 'c' }), 'c');
  assert.equal(settingValue('model', { globalValue: 'a', workspaceValue: 'b' }), 'b');
  // VS Code agrees: package.json gives exactly these settings a scope no workspace can set.
  const props = (JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { scope?: string }> } } }).contributes.configuration.properties;
  for (const key of USER_ONLY_KEYS) assert.ok(['machine', 'application'].includes(props[`ideator.${key}`]?.scope ?? ''), `ideator.${key} has scope ${props[`ideator.${key}`]?.scope}`);
});
