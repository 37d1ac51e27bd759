/**
 * Task bundles (server/src/tasks/bundle.ts) and a Redis worker's task cache (queue/redis/taskCache.ts): the archive
 * is deterministic (same folder → same sha256, a changed file → another), readable by GNU tar, unpacks into a task
 * that is ready without running prepare.py; a tampered bundle is refused; unsafe paths are refused; the cache
 * downloads a hash once for concurrent users and keeps a bounded number of bundles.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { readyFromBundle } from '../../server/src/rewards/taskCatalog';
import { TaskCache } from '../../server/src/queue/redis/taskCache';
import { BundleHashMismatch, bundleEntries, extractBundle, sha256File, verifyBundle, writeBundle } from '../../server/src/tasks/bundle';
import { loadTask } from '../../server/src/tasks/loader';
import { prepareTask } from '../../server/src/tasks/prepare';

const REPO = resolve(__dirname, '..', '..');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ideator-bundle-'));
  dirs.push(d);
  return d;
};

const LONG = `${'a'.repeat(60)}/${'b'.repeat(60)}/features.csv`;

/** A copy of churn-binary's sources with small hand-made prepared data (and its marker) in <root>/churn-binary. */
function fakeTask(): string {
  const root = temp();
  const dir = join(root, 'churn-binary');
  const src = join(REPO, 'server', 'tasks', 'churn-binary');
  mkdirSync(dir);
  for (const f of ['config.yaml', 'grade.py', 'prepare.py', 'description.md', 'leaderboard.csv', 'README.md']) cpSync(join(src, f), join(dir, f));
  cpSync(join(src, 'solutions'), join(dir, 'solutions'), { recursive: true });
  mkdirSync(join(dir, 'raw'));
  writeFileSync(join(dir, 'raw', 'huge.bin'), 'raw data never travels');
  const prepared = join(dir, 'prepared');
  mkdirSync(join(prepared, 'public', ...LONG.split('/').slice(0, -1)), { recursive: true });
  mkdirSync(join(prepared, 'private'), { recursive: true });
  writeFileSync(join(prepared, 'public', 'train.csv'), 'id,x,churn\n1,0.5,1\n2,0.1,0\n');
  writeFileSync(join(prepared, 'public', 'sample_submission.csv'), 'id,churn\n3,0.5\n');
  writeFileSync(join(prepared, 'public', LONG), 'id,f\n3,1\n');
  writeFileSync(join(prepared, 'private', 'test.csv'), 'id,churn\n3,1\n');
  writeFileSync(join(prepared, '.ideator-prepared.json'), JSON.stringify({ key: 'stale', preparedAt: 'yesterday' }));
  return dir;
}

async function bundleOf(dir: string, out: string) {
  const task = await loadTask(dir);
  return writeBundle(bundleEntries(task, join(dir, '..')), out);
}

describe('task bundles', () => {
  it('same folder → same bytes and hash; a changed file → another hash; mtimes do not matter', async () => {
    const dir = fakeTask();
    const out = temp();
    const a = await bundleOf(dir, join(out, 'a.tar.gz'));
    const b = await bundleOf(dir, join(out, 'b.tar.gz'));
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    assert.equal(a.hash, b.hash);
    assert.deepEqual(readFileSync(join(out, 'a.tar.gz')), readFileSync(join(out, 'b.tar.gz')));
    assert.equal(await sha256File(join(out, 'a.tar.gz')), a.hash);
    utimesSync(join(dir, 'grade.py'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    assert.equal((await bundleOf(dir, join(out, 'c.tar.gz'))).hash, a.hash, 'no mtime in the archive');
    writeFileSync(join(dir, 'prepared', 'private', 'test.csv'), 'id,churn\n3,0\n');
    const d = await bundleOf(dir, join(out, 'd.tar.gz'));
    assert.notEqual(d.hash, a.hash, 'changed answers');
    writeFileSync(join(dir, 'grade.py'), readFileSync(join(dir, 'grade.py'), 'utf8') + '\n# changed\n');
    assert.notEqual((await bundleOf(dir, join(out, 'e.tar.gz'))).hash, d.hash, 'changed grader');
  });

  it('holds the sources and the prepared data, not raw data or solutions; GNU tar reads it', async () => {
    const dir = fakeTask();
    const out = temp();
    await bundleOf(dir, join(out, 'x.tar.gz'));
    const list = spawnSync('tar', ['-tzf', join(out, 'x.tar.gz')], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const names = list.stdout.trim().split('\n');
    assert.deepEqual(names, [...names].sort(), 'sorted by path');
    for (const f of ['bundle.json', 'src/config.yaml', 'src/grade.py', 'src/prepare.py', 'src/description.md', 'src/leaderboard.csv', 'data/churn-binary/prepared/private/test.csv', `data/churn-binary/prepared/public/${LONG}`])
      assert.ok(names.includes(f), `${f} in ${names.join(' ')}`);
    assert.ok(!names.some((n) => n.includes('raw') || n.includes('solutions') || n.startsWith('src/prepared')), names.join(' '));
  });

  it('unpacks into a task that is ready as it is: prepare.py never runs on the receiver', async () => {
    const dir = fakeTask();
    const out = temp();
    await bundleOf(dir, join(out, 'x.tar.gz'));
    const dest = join(out, 'unpacked');
    await extractBundle(join(out, 'x.tar.gz'), dest);
    const ready = await readyFromBundle(dest);
    assert.equal(ready.task.id, 'churn-binary');
    assert.equal(ready.task.grader.file, join(dest, 'src', 'grade.py'));
    assert.equal(readFileSync(join(ready.publicDir, LONG), 'utf8'), 'id,f\n3,1\n');
    // A python that does not exist: any attempt to run prepare.py would throw.
    const p = await prepareTask(ready.task, { dataDir: ready.dataDir, python: '/nonexistent/python' });
    assert.equal(p.ran, false);
    assert.equal(readFileSync(p.answersPath, 'utf8'), 'id,churn\n3,1\n');
  });

  it('a tampered bundle is refused', async () => {
    const dir = fakeTask();
    const out = temp();
    const file = join(out, 'x.tar.gz');
    const { hash } = await bundleOf(dir, file);
    await verifyBundle(file, hash);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(file, bytes);
    await assert.rejects(verifyBundle(file, hash), (err: Error) => err instanceof BundleHashMismatch && /refused/.test(err.message));
  });

  it('unsafe paths are refused when unpacking', async () => {
    const out = temp();
    for (const path of ['../evil.txt', 'a/../../evil.txt', '/etc/evil']) {
      const file = join(out, 'evil.tar.gz');
      await writeBundle([{ path, source: Buffer.from('x'), size: 1, mode: 0o644, mtimeMs: 0 }], file);
      await assert.rejects(extractBundle(file, join(out, 'dest')), /unsafe path/);
    }
    assert.ok(!existsSync(join(out, 'evil.txt')));
  });
});

describe('task cache', () => {
  async function served(n = 1) {
    const files: { hash: string; bytes: Buffer }[] = [];
    for (let i = 0; i < n; i++) {
      const dir = fakeTask();
      writeFileSync(join(dir, 'prepared', 'public', 'train.csv'), `id,x,churn\n${i},0.5,1\n`);
      const file = join(temp(), 'b.tar.gz');
      const { hash } = await bundleOf(dir, file);
      files.push({ hash, bytes: readFileSync(file) });
    }
    const requests: string[] = [];
    const fetchImpl = (async (url: string, init?: RequestInit) => {
      requests.push(`${url} ${JSON.stringify(init?.headers ?? {})}`);
      await new Promise((r) => setTimeout(r, 30));
      const which = files[Number(/[?&]i=(\d+)/.exec(url)?.[1] ?? current)];
      return new Response(new Uint8Array(which.bytes), { headers: { 'x-content-sha256': which.hash } });
    }) as unknown as typeof fetch;
    let current = 0;
    return { files, requests, fetchImpl, serve: (i: number) => (current = i) };
  }

  it('concurrent users of one hash share one download; later uses come from the folder', async () => {
    const s = await served();
    const dir = join(temp(), 'task-cache');
    const cache = new TaskCache({ dir, serverUrl: 'http://server', token: 'tok', fetchImpl: s.fetchImpl });
    const hash = s.files[0].hash;
    const readies = await Promise.all([1, 2, 3].map(() => cache.acquire('churn-binary', hash)));
    assert.equal(s.requests.length, 1);
    assert.match(s.requests[0], /^http:\/\/server\/v1\/tasks\/churn-binary\/bundle .*Bearer tok/);
    assert.ok(readies.every((r) => r.publicDir.startsWith(join(dir, hash))));
    [1, 2, 3].forEach(() => cache.release(hash));
    const again = new TaskCache({ dir, serverUrl: 'http://server', fetchImpl: s.fetchImpl });
    await again.acquire('churn-binary', hash);
    assert.equal(s.requests.length, 1, 'a new process finds the unpacked bundle');
    assert.deepEqual(readdirSync(dir), [hash], 'no temporary leftovers');
  });

  it('bytes that do not match the hash are refused and nothing is cached', async () => {
    const s = await served();
    const dir = join(temp(), 'task-cache');
    const wrong = 'f'.repeat(64);
    const bad = (async () => new Response(new Uint8Array(s.files[0].bytes))) as unknown as typeof fetch;
    const cache = new TaskCache({ dir, serverUrl: 'http://server', fetchImpl: bad, tries: 3 });
    await assert.rejects(cache.acquire('churn-binary', wrong), /refused: its sha256 is [0-9a-f]{64}, expected f{64}/);
    assert.deepEqual(readdirSync(dir), []);
    // The server announcing another hash (the task changed since dispatch) is refused before downloading.
    const changed = new TaskCache({ dir, serverUrl: 'http://server', fetchImpl: s.fetchImpl });
    await assert.rejects(changed.acquire('churn-binary', wrong), /the task changed on the server/);
  });

  it('keeps the most recently used bundles, never one in use', async () => {
    const s = await served(3);
    const dir = join(temp(), 'task-cache');
    const cache = new TaskCache({ dir, serverUrl: 'http://server', keep: 1, fetchImpl: s.fetchImpl });
    s.serve(0);
    await cache.acquire('churn-binary', s.files[0].hash); // held
    s.serve(1);
    await cache.acquire('churn-binary', s.files[1].hash);
    cache.release(s.files[1].hash);
    assert.deepEqual(readdirSync(dir).sort(), [s.files[0].hash, s.files[1].hash].sort(), 'the held one stays even though it is older');
    cache.release(s.files[0].hash);
    s.serve(2);
    await new Promise((r) => setTimeout(r, 20));
    await cache.acquire('churn-binary', s.files[2].hash);
    assert.deepEqual(readdirSync(dir), [s.files[2].hash]);
  });
});
