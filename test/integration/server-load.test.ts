/**
 * Load (bounded, loopback only): 128 ideas — short real python runs — submitted concurrently as 128 requests
 * (plus a concurrent duplicate of each) → all 128 results, each idea run exactly once, none duplicated or lost.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { api, printsAcc, REPO, serverForSuite, toyState, waitJob } from './serverHarness';

const N = 128;

describe('load', () => {
  const server = serverForSuite({ args: ['--slots', '2'] });

  it(`${N} concurrent requests (each sent twice) → ${N} results, each idea run once`, { timeout: 300_000 }, async () => {
    const value = (i: number) => Number((0.5 + (i + 1) / 1000).toFixed(3));
    const bodies = Array.from({ length: N }, (_, i) => ({ state: toyState(0.5), allowPrintedScore: true, ideas: [printsAcc(value(i), `# load ${i}`)] }));
    const submitted = await Promise.all([...bodies, ...bodies].map((b) => api(server, 'POST', '/v1/rewards', b)));
    for (const s of submitted) assert.ok(s.status === 202, `${s.status} ${s.text}`);
    const ids = submitted.map((s) => s.json.id);
    assert.deepEqual(ids.slice(N), ids.slice(0, N), 'a duplicate request joins its original job');
    assert.equal(new Set(ids).size, N);

    const jobs: Job[] = await Promise.all(ids.slice(0, N).map((id) => waitJob(server, id, 240_000)));
    jobs.forEach((job, i) => {
      assert.equal(job.status, 'done');
      assert.equal(job.results.length, 1);
      assert.equal(job.results[0].status, 'improved', JSON.stringify(job.results[0]));
      assert.equal(job.results[0].scoreAfter, value(i), 'each job got its own idea’s result');
    });

    const py = spawnSync(
      join(REPO, '.venv', 'bin', 'python'),
      ['-c', 'import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute("select count(*), sum(attempts), sum(status=\'done\') from ideas").fetchone()))', join(server.dataDir, 'store', 'ideator.sqlite')],
      { encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(py.stdout), [N, N, N], py.stderr);
    const metrics = (await api(server, 'GET', '/metrics')).text;
    assert.match(metrics, new RegExp(`^ideator_ideas_done_total\\{status="improved"\\} ${N}$`, 'm'));
    assert.match(metrics, /^ideator_queue_depth 0$/m);
  });
});
