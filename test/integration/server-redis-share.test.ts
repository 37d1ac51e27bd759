/**
 * Scale-out leftovers of issue #13, against the REAL processes (a `redis-server` of the tests' own, `ideator serve
 * --redis`, `ideator worker --redis` processes) or the server's dispatcher in-process where the test needs to look
 * inside Redis:
 * - identical implemented code runs once for the whole cluster: ideas on three workers whose code is the same share
 *   one run (the others wait for it, a later one takes it at once) and ideator_runs_shared_total counts them;
 * - the worker running a shared run is killed with SIGKILL: its lease expires, a waiting worker runs the code, every
 *   idea still gets its result (nothing wedged);
 * - a worker frozen (SIGSTOP) long enough for its idea to be redelivered has its run killed when it wakes (SIGCONT)
 *   and sends nothing: one result, no duplicate, attempts 2;
 * - each state is put in Redis once for all its ideas (jobs carry a reference), deleted when its last idea is
 *   recorded, and put back when a worker finds it missing.
 * Skipped, saying why, where redis-server is not installed.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RewardRequestSchema, type Job } from '../../src/core/protocol';
import { JobStore } from '../../server/src/jobs/store';
import { Dispatcher } from '../../server/src/queue/redis/dispatcher';
import { IDEAS_QUEUE, KEY_PREFIX, stateKey, stateRefsKey, stateText } from '../../server/src/queue/redis/protocol';
import { abandonedOutcome } from '../../server/src/rewards/outcomes';
import { LEASE, REDIS_SKIP, startRedis, type RedisProcess } from './redisHarness';
import { api, doneTotal, ideaWithScript, processesMentioning, removeDir, startServer, tempDir, toyState, until, waitJob, type RunningServer } from './serverHarness';

function metricValue(metrics: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : undefined;
}

/** The sandboxes (bubblewrap or the run itself) a worker has running now: their command lines name its work folder. */
const runsOf = (w: RunningServer) => processesMentioning(join(w.dataDir, 'work') + '/');

describe('scale-out: shared runs, lost locks, states once', { skip: REDIS_SKIP }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function cluster(redis: RedisProcess, workers: number) {
    const dataDir = tempDir();
    const ws: RunningServer[] = [];
    const server = await startServer({ dataDir, args: ['--redis', redis.url, ...LEASE] });
    cleanups.push(async () => {
      for (const w of ws) {
        w.proc.kill('SIGCONT');
        await w.stop();
        removeDir(w.dataDir);
      }
      await server.stop();
      removeDir(dataDir);
    });
    for (let i = 0; i < workers; i++) ws.push(await startServer({ command: 'worker', args: ['--redis', redis.url, '--server', server.url, '--slots', '1', ...LEASE] }));
    await until(`${workers} live workers`, async () => (metricValue((await api(server, 'GET', '/metrics')).text, 'ideator_workers') === workers ? true : undefined), 30_000);
    return { server, workers: ws };
  }

  const submit = async (server: RunningServer, ideas: string[], state = toyState(0.5)) => {
    const r = await api(server, 'POST', '/v1/rewards', { state, allowPrintedScore: true, ideas });
    assert.equal(r.status, 202, r.text);
    return r.json.id as string;
  };
  const waitingLines = (ws: RunningServer[]) => ws.map((w) => (w.stderr().match(/the same code runs on another worker; waiting for its result/g) ?? []).length);

  it('identical code on three workers runs once for the cluster; a later idea takes the run at once', { timeout: 120_000 }, async () => {
    const redis = await startRedis(cleanups, tempDir('ideator-redis-'));
    const c = await cluster(redis, 3);
    const script = 'import time\ntime.sleep(3)\nprint("acc: 0.71")  # shared across workers';
    const ideas = ['Use a bigger model.', 'Try a wider model.', 'Scale the model up.'].map((a) => ideaWithScript(script, a));
    const t0 = Date.now();
    const job = await waitJob(c.server, await submit(c.server, ideas));
    const took = Date.now() - t0;
    assert.equal(job.status, 'done');
    assert.deepEqual(
      job.results.map((r) => [r.status, r.scoreAfter]),
      [
        ['improved', 0.71],
        ['improved', 0.71],
        ['improved', 0.71],
      ],
    );
    // Three workers took one idea each: one ran the code, the two others waited for its result.
    assert.deepEqual(waitingLines(c.workers).sort(), [0, 1, 1], c.workers.map((w) => w.stderr()).join('\n---\n'));
    assert.equal(metricValue((await api(c.server, 'GET', '/metrics')).text, 'ideator_runs_shared_total'), 2);
    // Another state, the same code: taken from Redis without running (well under the 3 s the run takes).
    const t1 = Date.now();
    const later = await waitJob(c.server, await submit(c.server, [ideaWithScript(script, 'Go bigger.')], toyState(0.8)));
    assert.equal(later.results[0].scoreAfter, 0.71);
    assert.equal(later.results[0].status, 'not_improved');
    assert.ok(Date.now() - t1 < 2500, `the later idea took ${Date.now() - t1} ms`);
    const metrics = (await api(c.server, 'GET', '/metrics')).text;
    assert.equal(metricValue(metrics, 'ideator_runs_shared_total'), 3);
    assert.equal(doneTotal(metrics), 4);
    console.log(`# 3 identical ideas on 3 workers: ${(took / 1000).toFixed(1)} s for one 3 s run`);
  });

  it('the worker running a shared run is killed: a waiting worker runs the code after the lease, nothing is wedged', { timeout: 120_000 }, async () => {
    const redis = await startRedis(cleanups, tempDir('ideator-redis-'));
    const c = await cluster(redis, 2);
    const script = 'import time\ntime.sleep(6)\nprint("acc: 0.66")  # holder killed';
    const id = await submit(c.server, [ideaWithScript(script, 'First wording.'), ideaWithScript(script, 'Second wording.')]);
    const waiter = await until('one worker waiting for the other\'s run', () => {
      const n = waitingLines(c.workers);
      return n.includes(1) ? c.workers[n.indexOf(1)] : undefined;
    }, 30_000);
    const holder = c.workers.find((w) => w !== waiter)!;
    assert.equal(runsOf(waiter).length, 0, 'the waiting worker runs nothing meanwhile');
    await holder.kill9();
    const job = await waitJob(c.server, id, 90_000);
    assert.deepEqual(
      job.results.map((r) => [r.status, r.scoreAfter]),
      [
        ['improved', 0.66],
        ['improved', 0.66],
      ],
    );
    // The waiter ran the code itself once the lease expired; the killed worker's idea, redelivered to it, took that run.
    assert.match(waiter.stderr(), /the worker running it stopped before it finished; running it here/);
    const metrics = (await api(c.server, 'GET', '/metrics')).text;
    assert.equal(doneTotal(metrics), 2);
    assert.equal(metricValue(metrics, 'ideator_runs_shared_total'), 1);
  });

  it('a worker frozen past its lease has its run killed when it wakes, and sends nothing', { timeout: 150_000 }, async () => {
    const redis = await startRedis(cleanups, tempDir('ideator-redis-'));
    const c = await cluster(redis, 2);
    const runSec = 15;
    const id = await submit(c.server, [ideaWithScript(`import time\ntime.sleep(${runSec})\nprint("acc: 0.64")  # frozen worker`)]);
    const frozen = await until('a worker running the idea', () => c.workers.find((w) => runsOf(w).length > 0), 30_000);
    const other = c.workers.find((w) => w !== frozen)!;
    frozen.proc.kill('SIGSTOP');
    // Its lock expires; the other worker's stalled check puts the idea back and takes it.
    await until('the idea redelivered to the other worker', () => (runsOf(other).length > 0 ? true : undefined), 60_000);
    assert.ok(runsOf(frozen).length > 0, 'the frozen worker\'s run goes on while the worker is stopped');
    const woke = Date.now();
    frozen.proc.kill('SIGCONT');
    await until('the frozen worker\'s run to be killed', () => (runsOf(frozen).length === 0 ? true : undefined), 10_000);
    const killedAfter = Date.now() - woke;
    assert.ok(runsOf(other).length > 0, 'the redelivered run goes on');
    await until('the frozen worker to say why', () => (/: its run is killed, no result is sent/.test(frozen.stderr()) ? true : undefined), 5000).catch(() => assert.fail(frozen.stderr()));
    const job: Job = await waitJob(c.server, id, 90_000);
    assert.equal(job.results.length, 1);
    assert.equal(job.results[0].scoreAfter, 0.64);
    const metrics = (await api(c.server, 'GET', '/metrics')).text;
    assert.equal(doneTotal(metrics), 1);
    assert.equal(metricValue(metrics, 'ideator_results_duplicate_total'), 0, 'the frozen worker sent no result');
    const audit = (await api(c.server, 'GET', `/v1/jobs/${id}`)).json as Job;
    assert.equal(audit.status, 'done');
    assert.doesNotMatch(frozen.stderr(), /Missing lock/);
    console.log(`# frozen worker's run killed ${killedAfter} ms after SIGCONT (it had ${runSec} s to go at most)`);
  });

  it('each state is in Redis once for all its ideas, goes with its last idea, and is put back when missing', { timeout: 120_000 }, async () => {
    const redis = await startRedis(cleanups, tempDir('ideator-redis-'));
    const dir = tempDir();
    const store = new JobStore(join(dir, 'ideator.sqlite'), { abandoned: abandonedOutcome });
    const logs: string[] = [];
    const dispatcher = new Dispatcher({ store, redisUrl: redis.url, policy: { baseline: 'measure' }, pollMs: 50, leaseMs: 2000, log: (m) => logs.push(m) });
    const conn = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null });
    const queue = new Queue(IDEAS_QUEUE, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: KEY_PREFIX });
    const started: RunningServer[] = [];
    cleanups.push(async () => {
      for (const w of started) {
        await w.stop();
        removeDir(w.dataDir);
      }
      await dispatcher.stop();
      await queue.close();
      conn.disconnect();
      store.close();
      removeDir(dir);
    });
    const ideas = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ideaWithScript(`import sys\nprint("acc: 0.${60 + i}")  # ${tag} ${i}`));
    const a = RewardRequestSchema.parse({ state: toyState(0.5), allowPrintedScore: true, ideas: ideas('a', 4) });
    const a2 = RewardRequestSchema.parse({ state: toyState(0.5), allowPrintedScore: true, ideas: ideas('a2', 4) });
    const b = RewardRequestSchema.parse({ state: toyState(0.4), allowPrintedScore: true, ideas: ideas('b', 4) });
    const jobs = [a, a2, b].map((r) => store.submit(r).job.id);
    dispatcher.start();
    await until('12 ideas in the queue', async () => {
      const c = await queue.getJobCounts('wait', 'prioritized');
      return (c.wait ?? 0) + (c.prioritized ?? 0) === 12 ? true : undefined;
    }, 30_000);
    const refA = stateText(a.state).ref;
    const refB = stateText(b.state).ref;
    assert.deepEqual((await conn.keys(`${KEY_PREFIX}:state:*`)).sort(), [stateKey(refA), stateKey(refB)].sort(), 'two states, once each');
    assert.equal(await conn.scard(stateRefsKey(refA)), 8);
    assert.equal(await conn.scard(stateRefsKey(refB)), 4);
    const [one] = await queue.getJobs(['prioritized', 'wait'], 0, 0);
    assert.equal((one.data as { state?: unknown }).state, undefined, 'job data names the state, does not carry it');
    assert.match((one.data as { stateRef: string }).stateRef, /^[0-9a-f]{64}$/);
    // A state lost from Redis (here: deleted): the worker fails those ideas, the server puts it back and queues them again.
    await conn.del(stateKey(refB));
    started.push(await startServer({ command: 'worker', args: ['--redis', redis.url, '--server', 'http://127.0.0.1:9', '--slots', '2', ...LEASE] }));
    const done = await until('every job done', () => {
      const js = jobs.map((id) => store.getJob(id)!);
      return js.every((j) => j.status === 'done') ? js : undefined;
    }, 90_000);
    for (const j of done) {
      assert.deepEqual(
        j.results.map((r) => r.scoreAfter),
        [0.6, 0.61, 0.62, 0.63],
        JSON.stringify(j.results.map((r) => [r.status, r.error])),
      );
    }
    assert.ok(logs.some((l) => /its state was missing from Redis; put back and queued again/.test(l)), logs.join('\n'));
    assert.deepEqual(
      store.ideaAudit().map((x) => x.status),
      Array(12).fill('done'),
    );
    await until('no state left in Redis', async () => ((await conn.keys(`${KEY_PREFIX}:state*`)).length === 0 ? true : undefined), 10_000);
  });
});
