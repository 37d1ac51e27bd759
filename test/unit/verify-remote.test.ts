/**
 * The companion server's check of a workspace verification request (#16, server/src/verify/remote.ts prepareRemote),
 * as an attacker holding the token would send it: a data folder named twice, inside another one or reached through
 * a link is refused in one line (each folder is walked and bound once); the data folders of one request are looked
 * through for at most env.maxDataWalk entries together; and the look-through leaves the event loop free (other
 * requests are served meanwhile) and stops when the request is cancelled. And the client: plain http to another
 * machine is warned about before the token and the sources are sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { VerifyEvent, WorkspaceRewardRequest } from '../../src/core/verify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../server/src/http/errors';
import { verifyWorkspace } from '../../server/src/http/routes/verifyWorkspace';
import { plainHttpWarning, RemoteError, verifyRemote } from '../../server/src/verify/client';
import { prepareRemote, RemoteVerifyError, SlotGate, type RemoteVerifyEnv } from '../../server/src/verify/remote';
import { packWorkspace, WorkspaceStore } from '../../server/src/verify/upload';

async function server(folders: Record<string, number>): Promise<{ env: RemoteVerifyEnv; sha256: string; root: string }> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-remote-'));
  const ws = path.join(base, 'ws');
  fs.mkdirSync(ws);
  fs.writeFileSync(path.join(ws, 'train.py'), 'print(1)\n');
  const arc = path.join(base, 'a.tgz');
  const { hash } = await packWorkspace(ws, ['train.py'], arc);
  const uploads = new WorkspaceStore(path.join(base, 'store'));
  await uploads.put(hash, fs.readFileSync(arc));
  const root = path.join(base, 'root');
  for (const [name, files] of Object.entries(folders)) {
    fs.mkdirSync(path.join(root, name), { recursive: true });
    for (let i = 0; i < files; i++) fs.writeFileSync(path.join(root, name, `f${i}`), '');
  }
  const env = { uploads, dataRoots: new Map([['r', fs.realpathSync(root)]]), gate: new SlotGate(1), maxTimeoutSec: 60, memoryMb: 0, privatePaths: [] } as unknown as RemoteVerifyEnv;
  return { env, sha256: hash, root };
}

function request(sha256: string, data: { path: string; dir: boolean }[]): WorkspaceRewardRequest {
  return { workspace: { sha256, dataRoot: 'r', data }, command: 'python train.py', main: 'train.py', ideas: [{ title: 't', code: 'print(2)\n' }], baselineSeeds: 1, slots: 1, budgetSec: 10, score: 'last' } as unknown as WorkspaceRewardRequest;
}

async function refused(env: RemoteVerifyEnv, req: WorkspaceRewardRequest, re: RegExp, signal = new AbortController().signal): Promise<void> {
  await assert.rejects(prepareRemote(env, req, signal, () => {}), (err: unknown) => {
    assert.ok(err instanceof RemoteVerifyError, String(err));
    assert.ok(err.statusCode >= 400 && err.statusCode < 500);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

test('a data folder named twice, inside another one named, or reached twice through a link is refused in one line', async () => {
  const { env, sha256, root } = await server({ data: 3, 'data/sub': 2, other: 1 });
  fs.symlinkSync('data', path.join(root, 'alias'));
  fs.symlinkSync('data/sub', path.join(root, 'deep'));
  const dir = (p: string) => ({ path: p, dir: true });
  // 1000 times the same folder: each would be walked and bound once more.
  await refused(env, request(sha256, Array.from({ length: 1000 }, () => dir('data'))), /the data path data is named twice/);
  await refused(env, request(sha256, [dir('other'), dir('data/sub'), dir('data')]), /data\/sub lies inside data/);
  await refused(env, request(sha256, [dir('data'), dir('alias')]), /lead to the same folder or one inside the other/);
  await refused(env, request(sha256, [dir('deep'), dir('data')]), /lead to the same folder or one inside the other/);
  // Folders side by side (and a name that only starts like another) are fine.
  fs.mkdirSync(path.join(root, 'data2'));
  const run = await prepareRemote(env, request(sha256, [dir('data'), dir('data2'), dir('other')]), new AbortController().signal, () => {});
  assert.deepEqual(
    run.plan.binds.map((b) => b.rel),
    ['data', 'data2', 'other'],
  );
});

test('the data folders of one request are looked through for at most maxDataWalk entries together', async () => {
  const { env, sha256 } = await server({ a: 100, b: 100 });
  env.maxDataWalk = 150;
  const dir = (p: string) => ({ path: p, dir: true });
  await prepareRemote(env, request(sha256, [dir('a')]), new AbortController().signal, () => {});
  await prepareRemote(env, request(sha256, [dir('b')]), new AbortController().signal, () => {});
  await refused(env, request(sha256, [dir('a'), dir('b')]), /data folders of this request .* hold more than 150 entries/);
});

test('looking through a big data folder leaves the event loop free, and stops when the request is cancelled', async () => {
  const { env, sha256 } = await server({ big: 20_000 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const run = await prepareRemote(env, request(sha256, [{ path: 'big', dir: true }]), new AbortController().signal, () => {});
    assert.equal(run.plan.binds.length, 1);
    // A synchronous walk of 20,000 entries lets no timer fire.
    assert.ok(ticks >= 2, `timers fired ${ticks} time(s) while the folder was looked through`);
    const ac = new AbortController();
    const pending = assert.rejects(prepareRemote(env, request(sha256, [{ path: 'big', dir: true }]), ac.signal, () => {}), /cancelled/);
    setImmediate(() => ac.abort());
    await refused(env, request(sha256, [{ path: 'big', dir: true }]), /cancelled/, AbortSignal.abort());
    await pending;
  } finally {
    clearInterval(timer);
  }
});

test('ideator verify --server over plain http to another machine warns before the token and sources are sent; https and this machine do not', async () => {
  for (const url of ['https://gpu-box:8787', 'http://127.0.0.1:8787', 'http://localhost:8787/', 'http://[::1]:8787']) assert.equal(plainHttpWarning(url), undefined, url);
  for (const url of ['http://gpu-box:8787', 'http://10.0.0.5:8787', 'http://127.0.0.1.attacker.example:80', 'http://[fe80::1]:8787']) assert.match(plainHttpWarning(url) ?? '', /plain http: the server's token and your source files cross the network unencrypted; put the server behind TLS .* SSH tunnel/, url);
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-remote-http-'));
  fs.writeFileSync(path.join(ws, 'train.py'), 'print(1)\n');
  const events: VerifyEvent[] = [];
  const plan = { copies: ['train.py'], binds: [], copiedBytes: 9, masks: [], refused: [] };
  const request = { command: 'python train.py', main: 'train.py', ideas: [{ title: 't', code: 'x' }], score: 'last' as const, baselineSeeds: 1, slots: 1, budgetSec: 10 };
  // Nothing listens there: the warning still comes first, before the connection is tried.
  await assert.rejects(verifyRemote({ url: 'http://unreachable.invalid:8787', token: 't', workspace: ws, plan, request, emit: (e) => events.push(e), signal: new AbortController().signal }), RemoteError);
  assert.equal(events.length, 1);
  assert.ok(events[0].type === 'progress' && events[0].phase === 'warning' && /unreachable\.invalid:8787 is reached over plain http/.test(events[0].message), JSON.stringify(events));
  events.length = 0;
  const free = net.createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((r) => free.close(r));
  await assert.rejects(verifyRemote({ url: `http://127.0.0.1:${port}`, token: 't', workspace: ws, plan, request, emit: (e) => events.push(e), signal: new AbortController().signal }), /cannot reach the verify server 127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.deepEqual(events, []);
});

test('workspace verifications at once are capped by the server\'s --max-queued: one more is a 429 with Retry-After, before its data is looked at', async () => {
  const { env, sha256 } = await server({ data: 1 });
  env.maxVerifications = 2;
  const running = new Map([
    ['a', new AbortController()],
    ['b', new AbortController()],
  ]);
  const headers: Record<string, string> = {};
  const reply = { header: (k: string, v: string) => (headers[k] = v), raw: { destroyed: false, once: () => {} } } as unknown as FastifyReply;
  const verifier = { env, closing: new AbortController().signal, running };
  const body = request(sha256, [{ path: 'data', dir: true }]);
  await assert.rejects(verifyWorkspace(verifier, body, {} as FastifyRequest, reply), (err: unknown) => {
    assert.ok(err instanceof HttpError && err.statusCode === 429 && err.code === 'queue_full', String(err));
    assert.match(err.message, /2 workspace verifications are under way \(this server's limit, --max-queued, is 2\): retry after 30 s/);
    return true;
  });
  assert.equal(headers['retry-after'], '30');
  assert.equal(running.size, 2);
  // A refused request (here: its data named twice) gives its place back.
  running.delete('b');
  await assert.rejects(verifyWorkspace(verifier, request(sha256, [{ path: 'data', dir: true }, { path: 'data', dir: true }]), {} as FastifyRequest, reply), /named twice/);
  assert.equal(running.size, 1);
});
