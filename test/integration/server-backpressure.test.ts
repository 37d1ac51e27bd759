/**
 * Back-pressure: past `--max-queued` ideas waiting to run, POST /v1/rewards answers 429 `queue_full` with a
 * Retry-After in seconds and stores nothing; a replay of a stored request and ideas settled on arrival (format
 * errors) are never refused; once the queue drains, the same request is accepted.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { api, printsAcc, serverForSuite, startServer, tempDir, toyState, removeDir } from './serverHarness';

describe('back-pressure (--max-queued)', () => {
  // No slots: nothing runs, so the queue only grows.
  const server = serverForSuite({ args: ['--slots', '0', '--max-queued', '5'] });
  const req = (tag: string, n: number) => ({ state: toyState(0.5), allowPrintedScore: true, ideas: Array.from({ length: n }, (_, i) => printsAcc(0.6, `# ${tag} ${i}`)) });

  it('answers 429 queue_full with Retry-After past the limit; replays and settled ideas pass; nothing is stored', async () => {
    const first = await api(server, 'POST', '/v1/rewards', req('a', 3));
    assert.equal(first.status, 202, first.text);
    const second = await api(server, 'POST', '/v1/rewards', req('b', 3));
    assert.equal(second.status, 429, second.text);
    const err = (second.json as unknown as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'queue_full');
    assert.match(err.message, /the queue holds 3 idea\(s\) waiting to run and this request adds 3 \(limit 5\): retry after \d+ s/);
    const after = Number(second.headers.get('retry-after'));
    assert.ok(Number.isInteger(after) && after >= 1 && after <= 600, `Retry-After ${second.headers.get('retry-after')}`);
    // A replay of the stored request is its job, not a refusal.
    const replay = await api(server, 'POST', '/v1/rewards', req('a', 3));
    assert.equal(replay.status, 202);
    assert.equal(replay.json.id, first.json.id);
    // Ideas that fail the format check are settled on arrival: they never wait, so they are never refused.
    const settled = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: ['no sections at all', 'still none'] });
    assert.equal(settled.status, 202, settled.text);
    assert.equal(settled.json.status, 'done');
    // Up to the limit exactly is fine.
    const fits = await api(server, 'POST', '/v1/rewards', req('c', 2));
    assert.equal(fits.status, 202, fits.text);
    const full = await api(server, 'POST', '/v1/rewards', req('d', 1));
    assert.equal(full.status, 429);
    const metrics = (await api(server, 'GET', '/metrics')).text;
    assert.match(metrics, /^ideator_queue_depth 5$/m);
    const openapi = (await api(server, 'GET', '/openapi.json')).json as unknown as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
    assert.ok(openapi.paths['/v1/rewards'].post?.responses['429'], 'the OpenAPI document lists the 429');
  });

  it('accepts the refused request once the queue drains (a worker runs the waiting ideas)', { timeout: 120_000 }, async () => {
    const dataDir = tempDir();
    const s = await startServer({ dataDir, args: ['--slots', '1', '--max-queued', '2'] });
    try {
      const a = await api(s, 'POST', '/v1/rewards?wait=1', req('e', 2));
      assert.equal(a.status, 200, a.text);
      const b = await api(s, 'POST', '/v1/rewards?wait=1', req('f', 2));
      assert.equal(b.status, 200, 'the first job ran, so the second fits');
      assert.equal(b.json.status, 'done');
    } finally {
      await s.stop();
      removeDir(dataDir);
    }
  });

  it('--max-queued must be a whole number', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'serve', '--max-queued', 'lots'], { encoding: 'utf8', cwd: `${__dirname}/../..` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--max-queued must be a whole number ≥ 0, got 'lots'/);
  });
});

describe('ideator status', () => {
  const server = serverForSuite({ args: ['--slots', '0', '--max-queued', '50'] });

  it('prints the queue, the oldest waiting idea, runs in the last hour, slots and workers; --json is GET /v1/status', async () => {
    const { spawnSync } = await import('node:child_process');
    const sub = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: [printsAcc(0.7, '# status 1'), printsAcc(0.8, '# status 2')] });
    assert.equal(sub.status, 202);
    const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'status', ...args], { encoding: 'utf8', cwd: `${__dirname}/../..` });
    const json = cli(['--server', server.url, '--json']);
    assert.equal(json.status, 0, json.stderr);
    const s = JSON.parse(json.stdout);
    assert.equal(s.mode, 'embedded');
    assert.equal(s.queue.queued, 2);
    assert.equal(s.queue.maxQueued, 50);
    assert.ok(s.queue.oldestWaitingSec >= 0);
    assert.deepEqual(s.slots, { total: 0, busy: 0 });
    assert.deepEqual(s.workers, []);
    const table = cli(['--server', server.url]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^queue {7}2 waiting \(limit 50\), 0 running, \d+ done, \d+ jobs$/m);
    assert.match(table.stdout, /^oldest {6}waiting for \d+ s$/m);
    assert.match(table.stdout, /^workers {5}none$/m);
    const down = cli(['--server', 'http://127.0.0.1:9']);
    assert.equal(down.status, 2);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9: .*is 'ideator serve' running there/);
  });
});
