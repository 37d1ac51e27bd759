/**
 * Durability: SIGKILL the server (or a standalone worker) in the middle of a job, start it again on the same data
 * dir, and every idea completes exactly once — ideas finished before the kill keep their result and are not run
 * again, ideas that were running are resumed, nothing is lost or counted twice. The killed process's sandboxed
 * runs die with it.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { api, doneTotal, ideaWithScript, processesMentioning, removeDir, REPO, startServer, tempDir, toyState, until, waitJob, type RunningServer } from './serverHarness';

function slowIdeas(n: number, seconds: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => ideaWithScript(`import time\ntime.sleep(${seconds})\nprint("acc: ${(0.6 + i / 100).toFixed(2)}")  # ${tag} ${i}`));
}

interface IdeaRow {
  status: string;
  attempts: number;
  finished_at: number | null;
}

function ideaRows(dataDir: string): IdeaRow[] {
  const r = spawnSync(
    join(REPO, '.venv', 'bin', 'python'),
    [
      '-c',
      'import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); c.row_factory=sqlite3.Row; print(json.dumps([dict(r) for r in c.execute("select status, attempts, finished_at from ideas order by seq")]))',
      join(dataDir, 'store', 'ideator.sqlite'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as IdeaRow[];
}

describe('durability', () => {
  it('kill -9 of the server mid-job, then restart: every idea completes exactly once', { timeout: 180_000 }, async () => {
    const dataDir = tempDir();
    let server: RunningServer | undefined = await startServer({ dataDir, args: ['--slots', '2'] });
    try {
      const n = 6;
      const submit = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: slowIdeas(n, 1.5, 'server-kill') });
      assert.equal(submit.status, 202);
      const id = submit.json.id;
      const before = await until('two finished and more running', async () => {
        const j = (await api(server!, 'GET', `/v1/jobs/${id}`)).json as Job;
        return j.progress.done >= 2 && j.status === 'running' ? j : undefined;
      });
      await server.kill9();
      const atKill = ideaRows(dataDir);
      const runningAtKill = atKill.filter((r) => r.status === 'running').length;
      const doneAtKill = atKill.filter((r) => r.status === 'done').length;
      assert.ok(runningAtKill >= 1, `some idea was running at the kill: ${JSON.stringify(atKill)}`);
      assert.ok(doneAtKill >= 2);
      // The killed server's sandboxed runs die with it (parent-death signal); one caught in its first milliseconds
      // (before bubblewrap armed that signal in its child) ends at its own time limit at the latest (the in-sandbox
      // watchdog, sandbox.test.ts): nothing keeps running unattended.
      for (let i = 0; i < 100 && processesMentioning(join(dataDir, 'work')).length; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(processesMentioning(join(dataDir, 'work')), []);

      server = await startServer({ dataDir, args: ['--slots', '2'] });
      const job = await waitJob(server, id);
      assert.equal(job.status, 'done');
      assert.equal(job.results.length, n);
      assert.deepEqual(
        job.results.map((r) => r.index),
        Array.from({ length: n }, (_, i) => i),
      );
      for (const r of job.results) assert.equal(r.status, 'improved', JSON.stringify(r));
      // Results finished before the kill are untouched (not re-run).
      for (const r of before.results) assert.deepEqual(job.results[r.index], r);
      const rows = ideaRows(dataDir);
      assert.ok(rows.every((r) => r.status === 'done'));
      atKill.forEach((r, i) => {
        if (r.status === 'done') assert.equal(rows[i].attempts, 1, 'a finished idea never runs again');
        if (r.status === 'running') assert.equal(rows[i].attempts, r.attempts + 1, 'a running idea is resumed once');
      });
      const metrics = (await api(server, 'GET', '/metrics')).text;
      assert.equal(doneTotal(metrics), n, 'each idea counted once');
      // Resubmitting the same request after the crash returns the same job, not a new run.
      const again = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: slowIdeas(n, 1.5, 'server-kill') });
      assert.equal(again.json.id, id);
    } finally {
      await server?.stop();
      removeDir(dataDir);
    }
  });

  it('kill -9 of a standalone worker: another worker resumes its ideas', { timeout: 180_000 }, async () => {
    const dataDir = tempDir();
    const server = await startServer({ dataDir, args: ['--slots', '0'] });
    let worker: RunningServer | undefined;
    try {
      worker = await startServer({ dataDir, command: 'worker', args: ['--slots', '2'] });
      const submit = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: slowIdeas(4, 1.5, 'worker-kill') });
      const id = submit.json.id;
      await until('a running idea', async () => (ideaRows(dataDir).some((r) => r.status === 'running') ? true : undefined));
      await worker.kill9();
      const atKill = ideaRows(dataDir);
      assert.ok(atKill.some((r) => r.status === 'running'));
      assert.equal(((await api(server, 'GET', `/v1/jobs/${id}`)).json as Job).status !== 'done', true);

      worker = await startServer({ dataDir, command: 'worker', args: ['--slots', '2'] });
      const job = await waitJob(server, id);
      assert.equal(job.status, 'done');
      assert.equal(job.results.length, 4);
      const rows = ideaRows(dataDir);
      assert.ok(rows.every((r) => r.status === 'done'));
      assert.equal(
        rows.reduce((a, r) => a + r.attempts, 0),
        4 + atKill.filter((r) => r.status === 'running').length,
        'only the ideas running at the kill ran a second time',
      );
    } finally {
      await worker?.stop();
      await server.stop();
      removeDir(dataDir);
    }
  });

  it('SIGTERM mid-job hands running ideas back; the next start runs them without counting a lost attempt', { timeout: 180_000 }, async () => {
    const dataDir = tempDir();
    let server: RunningServer | undefined = await startServer({ dataDir, args: ['--slots', '2'] });
    try {
      const submit = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: slowIdeas(3, 2, 'sigterm') });
      const id = submit.json.id;
      await until('a running idea', async () => (ideaRows(dataDir).some((r) => r.status === 'running') ? true : undefined));
      assert.equal(await server.stop(), 0, 'clean exit');
      const atStop = ideaRows(dataDir);
      assert.ok(atStop.every((r) => r.status !== 'running'), `nothing left leased: ${JSON.stringify(atStop)}`);
      server = await startServer({ dataDir, args: ['--slots', '2'] });
      const job = await waitJob(server, id);
      assert.equal(job.status, 'done');
      assert.ok(ideaRows(dataDir).every((r) => r.status === 'done' && r.attempts === 1));
    } finally {
      await server?.stop();
      removeDir(dataDir);
    }
  });
});
