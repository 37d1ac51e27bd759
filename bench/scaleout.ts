/**
 * Scale-out on Redis + BullMQ against the real processes (a `redis-server` started here, `ideator serve --redis`,
 * `ideator worker --redis … --slots 1` processes), measured side by side:
 *
 * 1. Throughput with 1 vs 3 workers on the same work: 36 ideas whose runs sleep 1 s (IDEATOR_BENCH_SCALE_IDEAS /
 *    IDEATOR_BENCH_SCALE_RUN_SEC), as 9 jobs of G = 4. Wall time from first submission to last result; the ratio
 *    (goal: 3 workers ≥ 2.8× one, i.e. slots are the limit, not the queue).
 * 2. Per-idea queue overhead against the embedded pool: the same batch on `ideator serve --slots 1` (no Redis) vs
 *    one Redis worker with one slot: (wall_redis − wall_embedded) ÷ ideas (goal ≤ 20 ms).
 * 3. Redis memory for ideas waiting in the queue: IDEATOR_BENCH_SCALE_QUEUED (default 1000) ideas as jobs of G = 8,
 *    each job a distinct task-graded-size state (task description, code and a short trajectory, about 9 KB), put on
 *    the queue by the server's dispatcher with no worker running; Redis's `INFO memory` used_memory before and after,
 *    per idea (IDEATOR_BENCH_SCALE_MEMORY_ONLY=1: only this part).
 * Skipped, saying why, where redis-server is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { formatIdea } from '../src/core/idea';
import { RewardRequestSchema, type Job } from '../src/core/protocol';
import { JobStore } from '../server/src/jobs/store';
import { Dispatcher } from '../server/src/queue/redis/dispatcher';
import { IDEAS_QUEUE, KEY_PREFIX } from '../server/src/queue/redis/protocol';
import { abandonedOutcome } from '../server/src/rewards/outcomes';

const ROOT = resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function startCli(args: string[], waitForUrl: boolean): Promise<{ proc: ChildProcess; url?: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const url = await new Promise<string | undefined>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`${args[0]} did not start:\n${err}`)), 60_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        res(waitForUrl ? (JSON.parse(out.split('\n')[0]) as { url: string }).url : undefined);
      }
    });
    proc.once('exit', (code) => rej(new Error(`${args[0]} exited ${code}:\n${err}`)));
  });
  return { proc, url };
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

function idea(code: string): string {
  return formatIdea({ analysis: 'bench', action: '```python\n' + code + '\n```', rationale: 'bench' });
}

/** Submits the batch and waits for every result; returns the wall time in seconds. */
async function batch(url: string, tag: string, n: number, g: number, runSec: number): Promise<number> {
  const t0 = performance.now();
  const jobs: Job[] = [];
  for (let j = 0; j * g < n; j++) {
    const res = await fetch(`${url}/v1/rewards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        state: { taskDescription: `scale ${tag} ${j}`, score: { value: 0.5, direction: 'higher', metric: 'acc' }, code: 'print("acc: 0.5")\n' },
        allowPrintedScore: true,
        ideas: Array.from({ length: Math.min(g, n - j * g) }, (_, i) => idea(`import time\ntime.sleep(${runSec})\nprint("acc: 0.6")  # ${tag} ${j}.${i}`)),
      }),
    });
    jobs.push((await res.json()) as Job);
  }
  const done = await Promise.all(jobs.map((j) => fetch(`${url}/v1/jobs/${j.id}?wait=1`).then((r) => r.json() as Promise<Job>)));
  const failed = done.flatMap((j) => j.results).filter((r) => r.status !== 'improved').length;
  if (failed) throw new Error(`${failed} idea(s) did not improve: check the sandbox`);
  return (performance.now() - t0) / 1000;
}

async function redisRun(workers: number, n: number, g: number, runSec: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ideator-bench-scale-'));
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--dir', dir, '--save', '', '--protected-mode', 'no'], { stdio: 'ignore' });
  const procs: ChildProcess[] = [];
  try {
    await new Promise((r) => setTimeout(r, 300));
    const redisUrl = `redis://127.0.0.1:${port}`;
    const server = await startCli(['serve', '--port', '0', '--json', '--data-dir', join(dir, 'server'), '--redis', redisUrl], true);
    procs.push(server.proc);
    for (let i = 0; i < workers; i++) {
      const w = await startCli(['worker', '--json', '--redis', redisUrl, '--server', server.url!, '--slots', '1', '--data-dir', join(dir, `w${i}`)], false);
      procs.push(w.proc);
    }
    await batch(server.url!, `warm-${workers}`, workers, 1, 0.1);
    return await batch(server.url!, `redis-${workers}`, n, g, runSec);
  } finally {
    for (const p of procs.reverse()) await stop(p);
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function embeddedRun(n: number, g: number, runSec: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ideator-bench-scale-'));
  const server = await startCli(['serve', '--port', '0', '--json', '--data-dir', dir, '--slots', '1'], true);
  try {
    await batch(server.url!, 'warm-embedded', 1, 1, 0.1);
    return await batch(server.url!, 'embedded', n, g, runSec);
  } finally {
    await stop(server.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory');
  return Number(m[1]);
}

/** A state the size of a real one: the task's description, a solution and four steps of trajectory. */
function realisticState(i: number) {
  const task = join(ROOT, 'server', 'tasks', 'churn-binary');
  const description = readFileSync(join(task, 'description.md'), 'utf8') + readFileSync(join(task, 'README.md'), 'utf8');
  const code = `${readFileSync(join(task, 'solutions', '04_logistic_features.py'), 'utf8')}\n# state ${i}\n`;
  const trajectory = Array.from({ length: 4 }, (_, s) => ({
    action: `python solution.py  # step ${s} of state ${i}`,
    observation: `fold ${s}: ` + 'train loss 0.412, valid auc 0.7731; '.repeat(24),
    score: 0.77 + s / 1000,
  }));
  return { taskDescription: description, code, trajectory, score: { value: 0.77, direction: 'higher' as const, metric: 'auc' } };
}

/** Redis used_memory (bytes) before and after `n` ideas wait in the queue; returns [total growth, state bytes]. */
async function queuedMemory(n: number, g: number): Promise<{ perIdea: number; stateBytes: number; total: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ideator-bench-scale-'));
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'no', '--dir', dir, '--save', '', '--protected-mode', 'no'], { stdio: 'ignore' });
  const redisUrl = `redis://127.0.0.1:${port}`;
  const store = new JobStore(join(dir, 'ideator.sqlite'), { abandoned: abandonedOutcome });
  let dispatcher: Dispatcher | undefined;
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, retryStrategy: (t) => Math.min(100 * t, 1000) });
  const queue = new Queue(IDEAS_QUEUE, { connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null }, prefix: KEY_PREFIX });
  try {
    for (let i = 0; i < 100 && (await redis.ping().catch(() => '')) !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
    dispatcher = new Dispatcher({ store, redisUrl, policy: { baseline: 'state' }, pollMs: 50 });
    dispatcher.start();
    await new Promise((r) => setTimeout(r, 1000));
    const before = await usedMemory(redis);
    let stateBytes = 0;
    for (let j = 0; j * g < n; j++) {
      const state = realisticState(j);
      stateBytes = JSON.stringify(RewardRequestSchema.parse({ state, ideas: ['x'] }).state).length;
      const ideas = Array.from({ length: Math.min(g, n - j * g) }, (_, i) => idea(`${state.code}\nprint("idea ${j}.${i}")`));
      store.submit(RewardRequestSchema.parse({ state, ideas, allowPrintedScore: true }));
    }
    for (let t = 0; ; t++) {
      const c = await queue.getJobCounts('wait', 'prioritized');
      if ((c.wait ?? 0) + (c.prioritized ?? 0) >= n) break;
      if (t > 600) throw new Error(`only ${JSON.stringify(c)} of ${n} ideas reached the queue`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const total = (await usedMemory(redis)) - before;
    return { perIdea: total / n, stateBytes, total };
  } finally {
    await dispatcher?.stop();
    await queue.close();
    redis.disconnect();
    store.close();
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    console.log('scale-out: redis-server is not installed here (scripts/setup.sh installs it); nothing to measure');
    return;
  }
  const n = Number(process.env.IDEATOR_BENCH_SCALE_IDEAS ?? 36);
  const runSec = Number(process.env.IDEATOR_BENCH_SCALE_RUN_SEC ?? 1);
  const g = 4;
  const queued = Number(process.env.IDEATOR_BENCH_SCALE_QUEUED ?? 1000);
  const mem = await queuedMemory(queued, 8);
  console.log(`scale-out: ${queued} ideas waiting in Redis (jobs of G=8, a ${(mem.stateBytes / 1024).toFixed(1)} KB state each): used_memory +${(mem.total / 1024 / 1024).toFixed(2)} MiB, ${(mem.perIdea / 1024).toFixed(2)} KiB per idea`);
  if (process.env.IDEATOR_BENCH_SCALE_MEMORY_ONLY) return;
  const embedded = await embeddedRun(n, g, runSec);
  const one = await redisRun(1, n, g, runSec);
  const three = await redisRun(3, n, g, runSec);
  console.log(`scale-out: ${n} ideas × ${runSec} s runs (jobs of G=${g}), one slot per worker`);
  console.log(`  1 worker ${one.toFixed(2)} s, 3 workers ${three.toFixed(2)} s  →  throughput ×${(one / three).toFixed(2)} (goal ≥ 2.8)`);
  console.log(`  embedded pool, 1 slot: ${embedded.toFixed(2)} s  →  queue overhead per idea through Redis ${(((one - embedded) / n) * 1000).toFixed(1)} ms (goal ≤ 20 ms)`);
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
