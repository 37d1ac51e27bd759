/**
 * Scale-out on Redis + BullMQ against the real processes (a `redis-server` started here, `ideator serve --redis`,
 * `ideator worker --redis … --slots 1` processes), measured side by side:
 *
 * 1. Throughput with 1 vs 3 workers on the same work: 36 ideas whose runs sleep 1 s (IDEATOR_BENCH_SCALE_IDEAS /
 *    IDEATOR_BENCH_SCALE_RUN_SEC), as 9 jobs of G = 4. Wall time from first submission to last result; the ratio
 *    (goal: 3 workers ≥ 2.8× one, i.e. slots are the limit, not the queue).
 * 2. Per-idea queue overhead against the embedded pool: the same batch on `ideator serve --slots 1` (no Redis) vs
 *    one Redis worker with one slot: (wall_redis − wall_embedded) ÷ ideas (goal ≤ 20 ms).
 * Skipped, saying why, where redis-server is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatIdea } from '../src/core/idea';
import type { Job } from '../src/core/protocol';

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

export async function run(): Promise<void> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    console.log('scale-out: redis-server is not installed here (scripts/setup.sh installs it); nothing to measure');
    return;
  }
  const n = Number(process.env.IDEATOR_BENCH_SCALE_IDEAS ?? 36);
  const runSec = Number(process.env.IDEATOR_BENCH_SCALE_RUN_SEC ?? 1);
  const g = 4;
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
