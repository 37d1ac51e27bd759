/**
 * Workspace uploads (#16, server/src/verify/upload.ts): the archive a client packs is deterministic and hashes to
 * its name; the server's unpacker takes regular files and folders only and refuses, before anything is stored, a
 * wrong hash, a symlink, a hard link, a device, an absolute or `..` path, a path given twice, a gzip bomb and
 * anything not a gzipped tar; setuid bits never survive. And the workspace form of POST /v1/rewards' schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { WorkspaceRewardRequestSchema } from '../../src/core/verify';
import { SlotGate } from '../../server/src/verify/remote';
import { MAX_CONCURRENT_UPLOADS, packWorkspace, UploadError, WorkspaceStore } from '../../server/src/verify/upload';

/** A raw ustar entry, any type, any name: what an attacker can send. */
export function tarEntry(name: string, body: Buffer | string = '', opts: { type?: string; mode?: number; link?: string; size?: number } = {}): Buffer {
  const data = Buffer.from(body);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write((opts.mode ?? 0o644).toString(8).padStart(7, '0') + '\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write((opts.size ?? data.length).toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(opts.type ?? '0', 156, 'ascii');
  if (opts.link) h.write(opts.link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

export function tarGz(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function store(): { root: string; uploads: WorkspaceStore } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-upload-'));
  return { root, uploads: new WorkspaceStore(path.join(root, 'workspaces')) };
}

async function refused(uploads: WorkspaceStore, body: Buffer, re: RegExp, hash = sha(body)): Promise<void> {
  await assert.rejects(uploads.put(hash, body), (err: unknown) => {
    assert.ok(err instanceof UploadError, String(err));
    assert.ok(err.statusCode >= 400 && err.statusCode < 500);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
  assert.equal(uploads.info(hash), undefined, 'nothing stored');
  // No half-unpacked leftovers either.
  assert.deepEqual(fs.readdirSync(uploads.root), []);
}

test('pack → put: deterministic bytes named by their sha256, files and modes kept, a second put is a no-op', async () => {
  const { root, uploads } = store();
  try {
    const ws = path.join(root, 'ws');
    fs.mkdirSync(path.join(ws, 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'train.py'), "print('val_acc=0.5')\n");
    fs.writeFileSync(path.join(ws, 'pkg', 'run.sh'), 'echo hi\n', { mode: 0o4755 });
    const a = await packWorkspace(ws, ['train.py', path.join('pkg', 'run.sh')], path.join(root, 'a.tgz'));
    const b = await packWorkspace(ws, [path.join('pkg', 'run.sh'), 'train.py'], path.join(root, 'b.tgz'));
    assert.equal(a.hash, b.hash, 'same files, same bytes whatever the order');
    const body = fs.readFileSync(path.join(root, 'a.tgz'));
    assert.equal(sha(body), a.hash);
    const first = await uploads.put(a.hash, body);
    assert.equal(first.created, true);
    assert.deepEqual(first.info.files, ['pkg/run.sh', 'train.py']);
    const dir = uploads.filesDir(a.hash);
    assert.equal(fs.readFileSync(path.join(dir, 'train.py'), 'utf8'), "print('val_acc=0.5')\n");
    assert.equal(fs.statSync(path.join(dir, 'pkg', 'run.sh')).mode & 0o7777, 0o755, 'setuid dropped');
    assert.deepEqual(uploads.info(a.hash), first.info);
    assert.equal((await uploads.put(a.hash, body)).created, false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('attacker archives are refused with one line, nothing stored', async () => {
  const { root, uploads } = store();
  try {
    const ok = tarGz(tarEntry('train.py', 'x=1\n'));
    await refused(uploads, ok, /sha256 is [0-9a-f]{64}, not 0{64}/, '0'.repeat(64));
    await refused(uploads, tarGz(tarEntry('data', '', { type: '2', link: '/etc/passwd' })), /tar type '2'/);
    await refused(uploads, tarGz(tarEntry('train.py', 'x'), tarEntry('hard', '', { type: '1', link: 'train.py' })), /tar type '1'/);
    await refused(uploads, tarGz(tarEntry('dev', '', { type: '3' })), /tar type '3'/);
    await refused(uploads, tarGz(tarEntry('fifo', '', { type: '6' })), /tar type '6'/);
    await refused(uploads, tarGz(tarEntry('../escape.py', 'x')), /unsafe path '\.\.\/escape\.py'/);
    await refused(uploads, tarGz(tarEntry('a/../../escape.py', 'x')), /unsafe path/);
    await refused(uploads, tarGz(tarEntry('/etc/cron.d/x', 'x')), /unsafe path '\/etc\/cron\.d\/x'/);
    await refused(uploads, tarGz(tarEntry('a.py', 'x'), tarEntry('a.py', 'y')), /one path twice/);
    await refused(uploads, Buffer.from('not a gzip at all'), /not a gzipped tar/);
    await refused(uploads, gzipSync(Buffer.from('x'.repeat(2000))), /bad tar header checksum|truncated/);
    // A gzip bomb: 300 MiB of zeros in one file, a few hundred KiB sent.
    const bomb = tarGz(tarEntry('big.txt', Buffer.alloc(300 * 1024 * 1024)));
    assert.ok(bomb.length < 2 * 1024 * 1024);
    await refused(uploads, bomb, /unpacks to more than 256 MiB/);
    // Too many entries.
    const many = tarGz(...Array.from({ length: 5001 }, (_, i) => tarEntry(`f${i}.py`, '')));
    await refused(uploads, many, /more than 5000 entries/);
    // Extended (pax) headers count too: thousands of them, each parsed, then one file (accepted before).
    const rec = (k: string, v: string) => {
      let len = k.length + v.length + 3;
      len += String(len).length;
      if (String(len).length !== String(len - String(len).length).length) len++;
      return `${len} ${k}=${v}\n`;
    };
    const paxes = (n: number, body: string) => Array.from({ length: n }, () => tarEntry('PaxHeader', body, { type: 'x' }));
    await refused(uploads, tarGz(...paxes(5001, rec('comment', 'x')), tarEntry('a.py', 'x')), /more than 5000 extended headers/);
    await refused(uploads, tarGz(...paxes(5001, rec('comment', 'x')).map((h, i) => (i % 2 ? h : tarEntry('PaxHeader', rec('c', 'y'), { type: 'g' }))), tarEntry('a.py', 'x')), /more than 5000 extended headers/);
    // 64 KiB headers: a few hundred KiB sent, inflating past the unpacked limit: stopped there, not parsed to the end.
    const fat = tarGz(...paxes(4200, rec('comment', 'a'.repeat(64 * 1024 - 20))), tarEntry('a.py', 'x'));
    assert.ok(fat.length < 2 * 1024 * 1024, String(fat.length));
    await refused(uploads, fat, /unpacks to more than 256 MiB/);
    // A folder entry with data: its data block (here a header of a file outside any check) would be read as the next entry.
    await refused(uploads, tarGz(tarEntry('d', tarEntry('smuggled.py', 'x'), { type: '5' })), /the folder 'd' with 1024 bytes of data/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('uploads at once are bounded (MAX_CONCURRENT_UPLOADS places, each given back once), and a dead server\'s unpacking folders older than an hour are swept at start', () => {
  const { root, uploads } = store();
  try {
    const places = Array.from({ length: MAX_CONCURRENT_UPLOADS }, () => uploads.beginUpload());
    assert.ok(places.every((p) => p !== undefined));
    assert.equal(uploads.beginUpload(), undefined, 'one more is refused');
    places[0]!();
    places[0]!();
    const again = uploads.beginUpload();
    assert.ok(again, 'a place given back is free again');
    assert.equal(uploads.beginUpload(), undefined, 'released twice counts once');
    // Left by a server killed while unpacking: one old (swept), one fresh (another server may be using it), and a
    // stored upload (kept).
    const old = path.join(uploads.root, '.tmp-1-aaaa');
    const fresh = path.join(uploads.root, '.tmp-2-bbbb');
    const kept = path.join(uploads.root, 'f'.repeat(64));
    for (const d of [old, fresh, kept]) fs.mkdirSync(path.join(d, 'files'), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(old, twoHoursAgo, twoHoursAgo);
    fs.utimesSync(kept, twoHoursAgo, twoHoursAgo);
    new WorkspaceStore(uploads.root);
    assert.deepEqual(fs.readdirSync(uploads.root).sort(), ['.tmp-2-bbbb', 'f'.repeat(64)]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the workspace form of POST /v1/rewards: defaults, and paths that could leave the workspace refused', () => {
  const sha256 = 'a'.repeat(64);
  const ok = WorkspaceRewardRequestSchema.parse({ workspace: { sha256 }, command: 'python train.py', main: 'src/train.py', ideas: [{ code: 'x' }] });
  assert.equal(ok.baselineSeeds, 3);
  assert.equal(ok.score, 'last');
  assert.equal(ok.slots, 1);
  assert.deepEqual(ok.workspace.data, []);
  const bad = (patch: Record<string, unknown>) => WorkspaceRewardRequestSchema.safeParse({ workspace: { sha256 }, command: 'python train.py', main: 'train.py', ideas: [{ code: 'x' }], ...patch }).success;
  assert.equal(bad({ main: '../train.py' }), false);
  assert.equal(bad({ main: '/etc/passwd' }), false);
  assert.equal(bad({ main: 'a//b.py' }), false);
  assert.equal(bad({ workspace: { sha256, data: [{ path: '../../etc', dir: true }] } }), false);
  assert.equal(bad({ workspace: { sha256, data: [{ path: '/srv/store', dir: true }] } }), false);
  assert.equal(bad({ workspace: { sha256: 'A'.repeat(64) } }), false);
  assert.equal(bad({ workspace: { sha256, dataRoot: '../x' } }), false);
  assert.equal(bad({ ideas: [] }), false);
  assert.equal(bad({ ideas: [{ title: 'no code, raw or parsed' }] }), false);
  assert.equal(bad({ baselineSeeds: 17 }), false);
  assert.equal(bad({ workspace: { sha256, dataRoot: 'ws', data: [{ path: 'data', dir: true }] } }), true);
});

test('the server slot gate: at most size runs at once across verifications, each GPU held by one run, a cancelled wait leaves the queue', async () => {
  const gate = new SlotGate(2, ['0', '1']);
  const ac = new AbortController();
  const a = await gate.acquire(ac.signal);
  const b = await gate.acquire(ac.signal);
  assert.deepEqual([a.gpu, b.gpu].sort(), ['0', '1']);
  let third: { release: () => void; gpu?: string } | undefined;
  const waiting = gate.acquire(ac.signal).then((h) => (third = h));
  const cancelled = new AbortController();
  const dropped = gate.acquire(cancelled.signal);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, undefined, 'a third run waits');
  cancelled.abort();
  await assert.rejects(dropped, /cancelled/);
  b.release();
  b.release();
  await waiting;
  assert.equal(third!.gpu, b.gpu, 'the freed GPU, and only it');
  const fourth = gate.acquire(ac.signal);
  a.release();
  assert.equal((await fourth).gpu, a.gpu);
});
