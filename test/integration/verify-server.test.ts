/**
 * Verify on a companion server (#16): a real `ideator serve` (bubblewrap sandbox, 2 slots, bearer token, the
 * workspace folder as its data root) and a real small scikit-learn workspace (breast-cancer CSV in data/, a
 * logistic regression). Checked:
 *  - `ideator verify --server` (through the editor's launcher) gives the same statuses, scores and ranking as local
 *    verify for the same ideas (the code is deterministic);
 *  - an idea's code finds nothing of: another uploaded workspace, the server's store, a data root it did not name,
 *    the workspace's .env, the server's secrets in its environment, the network — while the same code run on the
 *    host outside the sandbox does find them (so the probe works);
 *  - uploads with a symlink, a `..` path, an absolute path, a wrong hash, too many bytes, no token, one upload too
 *    many at once (429, Retry-After), a data path named twice: 4xx, one line;
 *    requests naming a data path outside the root, a hidden one, an unknown root: 4xx before anything runs;
 *  - cancel: the client closing the connection, and the CLI's Ctrl-C (DELETE, then the summary, cancelled): no run
 *    outlives it.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { parseVerifyLine, type VerifyEvent, type VerifySummary } from '../../src/core/verify';
import { verifyIdeas, type VerifyCli } from '../../src/extension/ideas/verify';
import { sandboxHost } from '../../server/src/exec/isolation';
import { MAX_CONCURRENT_UPLOADS, packWorkspace } from '../../server/src/verify/upload';
import { holdsWithin, REPO, startServer, type RunningServer } from './serverHarness';

const PYTHON = join(REPO, '.venv', 'bin', 'python');
const TOKEN = `tok-${randomUUID()}`;
const SERVER_SECRET = `sk-server-${randomUUID()}`;
const CLI: VerifyCli = { command: process.execPath, args: ['--import', 'tsx', join(REPO, 'server', 'src', 'cli.ts')], env: { IDEATOR_PYTHON: PYTHON, IDEATOR_SERVER_TOKEN: TOKEN } };
const hasSklearn = spawnSync(PYTHON, ['-c', 'import sklearn, pandas'], { encoding: 'utf8' }).status === 0;
const isolated = sandboxHost().isolated;

const TRAIN = (model: string) =>
  [
    'import pandas as pd',
    'from sklearn.linear_model import LogisticRegression',
    'from sklearn.model_selection import train_test_split',
    "df = pd.read_csv('data/train.csv')",
    "X, y = df.drop(columns=['target']), df['target']",
    'Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0)',
    `model = ${model}`,
    'model.fit(Xtr, ytr)',
    "print(f'val_acc={model.score(Xva, yva):.4f}')",
    '',
  ].join('\n');
const BASE = TRAIN('LogisticRegression(C=0.001, max_iter=200)');

/** The runs (sandbox and Python processes) whose command line holds `pattern` — not the CLI that names it. */
function pgrep(pattern: string): string[] {
  const r = spawnSync('pgrep', ['-af', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep') && !l.includes('cli.ts'));
}

function runAsync(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', () => resolve(out));
  });
}

/**
 * A PUT announcing `length` bytes (Content-Length) without sending them: the server must refuse it from the header
 * alone (fetch cannot show that answer: the server closes the connection while a large body is still being sent).
 */
function announcePut(url: string, length: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { ...headers, 'content-type': 'application/gzip', 'content-length': String(length) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A raw ustar entry (any type and name): what an attacker can send. */
function tarEntry(name: string, body = '', type = '0', link = ''): Buffer {
  const data = Buffer.from(body);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

describe('ideator verify on a companion server', { skip: !hasSklearn ? 'scikit-learn/pandas not in .venv' : !isolated ? 'no bubblewrap sandbox here' : false }, () => {
  let root: string;
  let ws: string;
  let otherRoot: string;
  let server: RunningServer;
  let hitServer: Server;
  let hitPort: number;
  const hits: string[] = [];
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'verify-server-it-'));
    ws = join(root, 'ws');
    mkdirSync(join(ws, 'data'), { recursive: true });
    const csv = spawnSync(PYTHON, ['-c', "from sklearn.datasets import load_breast_cancer; load_breast_cancer(as_frame=True).frame.to_csv('data/train.csv', index=False)"], { cwd: ws, encoding: 'utf8' });
    assert.equal(csv.status, 0, csv.stderr);
    writeFileSync(join(ws, 'train.py'), BASE);
    writeFileSync(join(ws, '.env'), 'OPENAI_API_KEY=sk-in-the-workspace\n');
    writeFileSync(join(ws, 'data', '.netrc'), 'machine x login y password DATA-NETRC-SECRET\n');
    otherRoot = join(root, 'other-root');
    mkdirSync(otherRoot);
    writeFileSync(join(otherRoot, 'secret.csv'), 'OTHER-ROOT-SECRET\n');
    hitServer = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => hitServer.listen(0, '127.0.0.1', () => r()));
    hitPort = (hitServer.address() as AddressInfo).port;
    server = await startServer({
      args: ['--slots', '2', '--data-root', `ws=${ws}`, '--data-root', `other=${otherRoot}`],
      env: { IDEATOR_SERVER_TOKEN: TOKEN, OPENAI_API_KEY: SERVER_SECRET, IDEATOR_PYTHON: PYTHON },
    });
  });

  after(async () => {
    await server?.stop();
    hitServer?.close();
    rmSync(root, { recursive: true, force: true });
    if (server?.dataDir) rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('gives the same statuses, scores and ranking as local verify (deterministic sklearn code)', { timeout: 240_000 }, async () => {
    const ideas = [
      { id: 'better', title: 'less regularisation', code: TRAIN('LogisticRegression(C=1.0, max_iter=5000)') },
      { id: 'same', title: 'a comment only', code: '# tidy\n' + BASE },
      { id: 'worse', title: 'far more regularisation', code: TRAIN('LogisticRegression(C=1e-7, max_iter=200)') },
      { id: 'crash', title: 'a typo', code: 'raise SystemExit(3)\n' },
      // A raw Ideator answer: implemented on the server (its implementer, here from the answer's own code block).
      { id: 'raw', raw: `ANALYSIS_ON_CURRENT_PROGRESS:\nOver-regularised.\n\nACTION:\nLet it converge with C=0.5:\n\n\`\`\`python\n${TRAIN('LogisticRegression(C=0.5, max_iter=5000)')}\`\`\`\n\nRATIONALE:\nLess shrinkage.\n` },
    ];
    {
      const input = { workspace: ws, command: 'python train.py', ideas, slots: 2, budgetMinutes: 3, baselineSeeds: 2 };
      const local = await verifyIdeas(input, { cli: CLI });
      const progress: string[] = [];
      const remote = await verifyIdeas({ ...input, server: { url: server.url, dataRoot: 'ws' } }, { cli: CLI, onProgress: (p) => progress.push(p.message) });
      const view = (r: typeof local) => r.results.map((x) => ({ idea: x.idea, status: x.status, score: x.score, delta: x.delta, via: x.via })).sort((a, b) => a.idea.localeCompare(b.idea));
      assert.deepEqual(view(remote), view(local));
      assert.deepEqual(remote.summary.ranking, local.summary.ranking);
      assert.equal(remote.results.find((r) => r.idea === 'raw')!.via, 'script');
      assert.ok(remote.results.find((r) => r.idea === 'raw')!.score! > remote.summary.baseline.mean!);
      assert.deepEqual(remote.summary.ranking.filter((id) => id !== 'raw'), ['better', 'same', 'worse', 'crash']);
      assert.equal(remote.results.find((r) => r.idea === 'better')!.status, 'improved');
      assert.equal(remote.results.find((r) => r.idea === 'same')!.status, 'within_noise');
      assert.equal(remote.results.find((r) => r.idea === 'worse')!.status, 'worse');
      assert.equal(remote.results.find((r) => r.idea === 'crash')!.status, 'failed');
      assert.equal(remote.summary.baseline.mean, local.summary.baseline.mean);
      assert.equal(remote.summary.sandbox.isolated, true);
      assert.ok(progress.some((m) => /1 source files copied per run .* 1 data paths bound read-only/.test(m)), progress.join('\n'));
      // A second verification of the same workspace uploads nothing: the hash is known.
      const uploads = spawnSync('ls', [join(server.dataDir, 'workspaces')], { encoding: 'utf8' }).stdout.trim().split('\n');
      assert.equal(uploads.length, 1);
    }
  });

  it("an idea's code finds no other upload, store, unnamed data root, workspace secret, server secret or network", { timeout: 180_000 }, async () => {
    // Another user's workspace, uploaded to the same server.
    const other = join(root, 'other-ws');
    mkdirSync(other);
    writeFileSync(join(other, 'train.py'), "print('OTHER-WORKSPACE-SECRET')\n");
    const archive = join(root, 'other.tgz');
    const { hash: otherSha } = await packWorkspace(other, ['train.py'], archive);
    const put = await fetch(`${server.url}/v1/workspaces/${otherSha}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/gzip' }, body: readFileSync(archive) });
    assert.equal(put.status, 201);
    const targets = [
      join(server.dataDir, 'workspaces', otherSha, 'files', 'train.py'),
      join(server.dataDir, 'store', 'ideator.sqlite'),
      join(otherRoot, 'secret.csv'),
      join(ws, '.env'),
      join(ws, 'data', '.netrc'),
      '.env',
      '../.env',
      'data/.netrc',
      'escape/secret.csv',
    ];
    const probe = [
      'import os, socket, urllib.request',
      `targets = ${JSON.stringify(targets)}`,
      'found = []',
      'for t in targets:',
      '    try:',
      '        if open(t, "rb").read(): found.append(t)',
      '    except Exception:',
      '        pass',
      `secrets = ${JSON.stringify([SERVER_SECRET, TOKEN])}`,
      'for k, v in os.environ.items():',
      '    if any(s in v for s in secrets): found.append("env:" + k)',
      'try:',
      '    s = socket.create_connection(("127.0.0.1", ' + hitPort + '), timeout=3); s.sendall(b"GET /from-idea HTTP/1.0\\r\\n\\r\\n"); s.recv(10); found.append("network")',
      'except Exception:',
      '    pass',
      'try:',
      `    urllib.request.urlopen("http://127.0.0.1:${hitPort}/from-urllib", timeout=3).read(); found.append("urllib")`,
      'except Exception:',
      '    pass',
      'print("found=" + repr(found))',
      "print('val_acc=0.5')",
      '',
    ].join('\n');
    // The probe works: run on the host, with the server's environment, it finds everything.
    const host = await runAsync(PYTHON, ['-c', probe], { cwd: ws, env: { ...process.env, OPENAI_API_KEY: SERVER_SECRET } });
    for (const t of [join(server.dataDir, 'workspaces', otherSha), join(server.dataDir, 'store', 'ideator.sqlite'), join(otherRoot, 'secret.csv'), "'.env'", "'data/.netrc'", 'env:OPENAI_API_KEY', 'network', 'urllib']) assert.ok(host.includes(t), `${t} in ${host}`);
    hits.length = 0;

    const events: VerifyEvent[] = [];
    const run = await verifyIdeas(
      { workspace: ws, command: 'python train.py', ideas: [{ id: 'probe', code: probe }], slots: 1, budgetMinutes: 2, baselineSeeds: 1, server: { url: server.url, dataRoot: 'ws' } },
      { cli: CLI, onProgress: (p) => events.push(p) },
    );
    // The workspace's link to the other root is refused on the client (it leads outside the data root).
    const probeResult = run.results[0];
    assert.equal(probeResult.score, 0.5, probeResult.outputTail + (probeResult.error ?? ''));
    assert.match(probeResult.outputTail, /found=\[\]/);
    assert.deepEqual(hits, []);
    assert.match(probeResult.guardFlags.join(','), /reads_outside_data/);
  });

  it('a link to a folder outside the data root is refused by the server before anything runs', { timeout: 60_000 }, async () => {
    // Local verify would bind the link's target; on the server it leads outside the data root 'ws'.
    escapeLink();
    const r = spawnSync(process.execPath, [...CLI.args, 'verify', '--workspace', ws, '--command', 'python train.py', '--ideas', writeIdeas([{ code: BASE }]), '--server', server.url, '--data-root', 'ws', '--baseline-seeds', '1'], {
      encoding: 'utf8',
      env: { ...process.env, ...CLI.env },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /refused the verification \(400\): escape in the data root 'ws' leads outside it: not bound/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('uploads and requests that break the rules: 4xx with one line, nothing stored or run', { timeout: 60_000 }, async () => {
    const put = (body: Buffer, hash = sha(body), headers: Record<string, string> = auth) => fetch(`${server.url}/v1/workspaces/${hash}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/gzip' }, body: new Uint8Array(body) });
    const expect = async (res: Response, status: number, code: string, re: RegExp) => {
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.match(body.error.message, re);
      assert.ok(!body.error.message.includes('\n'));
    };
    const tgz = (...e: Buffer[]) => gzipSync(Buffer.concat([...e, Buffer.alloc(1024)]));
    await expect(await put(tgz(tarEntry('data', '', '2', '/etc'))), 400, 'invalid_archive', /tar type '2'/);
    await expect(await put(tgz(tarEntry('../up.py', 'x'))), 400, 'invalid_archive', /unsafe path/);
    await expect(await put(tgz(tarEntry('/abs.py', 'x'))), 400, 'invalid_archive', /unsafe path/);
    await expect(await put(tgz(tarEntry('a.py', 'x')), 'f'.repeat(64)), 400, 'hash_mismatch', /sha256 is/);
    await expect(await put(tgz(tarEntry('a.py', 'x')), 'not-a-hash'), 400, 'invalid_request', /sha256/);
    await expect(await put(tgz(tarEntry('a.py', 'x')), undefined, {}), 401, 'unauthorized', /Bearer/);
    const tooBig = await announcePut(`${server.url}/v1/workspaces/${'c'.repeat(64)}`, 65 * 1024 * 1024, auth);
    assert.equal(tooBig.status, 413, tooBig.body);
    assert.equal((JSON.parse(tooBig.body) as { error: { code: string } }).error.code, 'payload_too_large');
    const listing = spawnSync('ls', ['-A', join(server.dataDir, 'workspaces')], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(listing, /\.tmp-/);

    // A good upload, then requests naming data the server will not bind.
    escapeLink();
    const ok = tgz(tarEntry('train.py', BASE));
    // (the same bytes as the first test's upload of train.py: the writer is deterministic, so 200 "already there")
    assert.ok([200, 201].includes((await put(ok)).status));
    const post = (workspace: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      fetch(`${server.url}/v1/rewards`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ workspace: { sha256: sha(ok), ...workspace }, command: 'python train.py', main: 'train.py', ideas: [{ code: BASE }], ...extra }) });
    await expect(await post({ dataRoot: 'ws', data: [{ path: 'escape', dir: true }] }), 400, 'refused_data_path', /leads outside it/);
    await expect(await post({ dataRoot: 'ws', data: [{ path: '.env', dir: false }] }), 400, 'refused_data_path', /hidden entry or key file/);
    if (!existsSync(join(ws, 'notes'))) symlinkSync(join(ws, '.env'), join(ws, 'notes'));
    await expect(await post({ dataRoot: 'ws', data: [{ path: 'notes', dir: false }] }), 400, 'refused_data_path', /notes in the data root 'ws' leads to a hidden entry or key file/);
    rmSync(join(ws, 'notes'));
    await expect(await post({ dataRoot: 'nope', data: [{ path: 'data', dir: true }] }), 400, 'unknown_data_root', /it has: ws, other/);
    await expect(await post({ data: [{ path: 'data', dir: true }] }), 400, 'no_data_root', /name one of this server's data roots/);
    await expect(await post({ dataRoot: 'ws', data: [{ path: '../other-root', dir: true }] }), 400, 'invalid_request', /workspace-relative path/);
    await expect(await post({ dataRoot: 'ws', data: [{ path: 'missing', dir: true }] }), 400, 'missing_data', /has no missing/);
    await expect(await post({}, { main: 'nope.py' }), 400, 'unknown_main', /not among/);
    await expect(await post({ sha256: 'e'.repeat(64) }), 404, 'unknown_workspace', /upload it first/);
    // The same folder named over and over (each was walked and bound again), or inside another one named.
    await expect(await post({ dataRoot: 'ws', data: Array.from({ length: 500 }, () => ({ path: 'data', dir: true })) }), 400, 'invalid_request', /the data path data is named twice/);

    // Uploads held open (a body sent slowly): past MAX_CONCURRENT_UPLOADS the next is told to come back later.
    const held = Array.from({ length: MAX_CONCURRENT_UPLOADS }, (_, i) => {
      const req = request(`${server.url}/v1/workspaces/${String(i).repeat(64)}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/gzip', 'content-length': '100000' } });
      req.on('error', () => {});
      req.write(Buffer.alloc(10));
      return req;
    });
    await new Promise((r) => setTimeout(r, 500));
    const busy = await put(ok);
    assert.equal(busy.headers.get('retry-after'), '5');
    await expect(busy, 429, 'too_many_uploads', new RegExp(`${MAX_CONCURRENT_UPLOADS} workspace uploads are under way: retry after 5 s`));
    for (const req of held) req.destroy();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok([200, 201].includes((await put(ok)).status), 'the places are given back when the held uploads go away');
  });

  it('cancel: a client that closes the connection, and the CLI interrupted (DELETE, summary cancelled): no run outlives it', { timeout: 120_000 }, async () => {
    const slowWs = join(root, 'slow');
    mkdirSync(slowWs);
    writeFileSync(join(slowWs, 'train.py'), "import time\nprint('val_acc=0.5', flush=True)\ntime.sleep(120)\n");
    // 1. The connection closed mid-run.
    const marker1 = `m${randomUUID().slice(0, 8)}`;
    const archive = join(root, 'slow.tgz');
    const { hash } = await packWorkspace(slowWs, ['train.py'], archive);
    assert.ok([200, 201].includes((await fetch(`${server.url}/v1/workspaces/${hash}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/gzip' }, body: readFileSync(archive) })).status));
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/rewards`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ workspace: { sha256: hash }, command: `python train.py ${marker1}`, main: 'train.py', ideas: [{ code: "import time\ntime.sleep(120)\n" }], baselineSeeds: 2, slots: 2, budgetSec: 300 }),
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.ok(await holdsWithin(() => pgrep(marker1).length >= 2, 30_000), 'runs started');
    ac.abort();
    assert.ok(await holdsWithin(() => pgrep(marker1).length === 0, 10_000), `still running: ${pgrep(marker1).join('\n')}`);

    // 2. The CLI interrupted: it asks the server to stop, gets the summary (cancelled), exits 130.
    const marker2 = `m${randomUUID().slice(0, 8)}`;
    const child = spawn(process.execPath, [...CLI.args, 'verify', '--json', '--workspace', slowWs, '--command', `python train.py ${marker2}`, '--ideas', writeIdeas([{ id: 'slow', code: "import time\ntime.sleep(120)\n" }]), '--server', server.url, '--baseline-seeds', '1', '--slots', '2'], {
      env: { ...process.env, ...CLI.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: VerifyEvent[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const p = parseVerifyLine(l);
      if (p.ok) lines.push(p.event);
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    assert.ok(await holdsWithin(() => pgrep(marker2).length >= 2, 30_000), 'baseline and idea running');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const summary = lines.find((e) => e.type === 'summary') as VerifySummary | undefined;
    assert.ok(summary, JSON.stringify(lines));
    assert.equal(summary.cancelled, true);
    assert.ok(await holdsWithin(() => pgrep(marker2).length === 0, 10_000), `still running: ${pgrep(marker2).join('\n')}`);
  });

  /** ws/escape -> the other data root (made for the tests after the first two, which need a workspace without it). */
  function escapeLink(): void {
    if (!existsSync(join(ws, 'escape'))) symlinkSync(otherRoot, join(ws, 'escape'));
  }

  function writeIdeas(ideas: unknown[]): string {
    const f = join(root, `ideas-${randomUUID()}.json`);
    writeFileSync(f, JSON.stringify(ideas));
    return f;
  }
});
