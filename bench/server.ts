/**
 * The reward server's own costs, measured against the real `ideator serve` process over HTTP:
 *
 * 1. Scheduling overhead — 128 ideas whose runs each sleep 1 s (IDEATOR_BENCH_IDEAS / IDEATOR_BENCH_RUN_SEC to
 *    change), submitted as 16 concurrent jobs of G = 8 the way a trainer does, executed by `--slots N` (default:
 *    the CPU count). Printed side by side: the wall time from first submission to last result, the ideal time
 *    Σ(run time) ÷ slots, and their ratio (goal ≤ 1.02). Run time is each idea's measured duration (python start,
 *    sandbox set-up and the sleep included), so the ratio isolates what queueing, leasing, SQLite and HTTP add;
 *    the same ratio against the nominal 1 s per run is printed too.
 * 3. Makespan of a mixed-duration batch — 2 slots, six groups of G = 4 short ideas (0.25 s) submitted before one
 *    group of G = 3 long ones (3 s): wall time ÷ its lower bound max(Σ run ÷ slots, longest run), measured with the
 *    default longest-expected-first queue (`--queue-order longest-first`: unknown first, then by what the same
 *    state ran) and with `--queue-order fifo`, side by side (goal ≤ 1.05 for the default).
 * 2. Accept latency when idle — a server with --slots 0 (accepting only), 300 sequential POST /v1/rewards of G = 8
 *    distinct ideas each: p50 / p99 / max of the client-side round trip (goal ≤ 20 ms p99), next to the latency of
 *    GET /healthz on the same server (the HTTP floor).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatIdea } from '../src/core/idea';
import type { Job } from '../src/core/protocol';

const ROOT = resolve(__dirname, '..');

interface Server {
  url: string;
  proc: ChildProcess;
  dataDir: string;
}

async function startServer(args: string[]): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ideator-bench-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'serve', '--port', '0', '--json', '--data-dir', dataDir, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`server did not start:\n${err}`)), 60_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        res((JSON.parse(out.split('\n')[0]) as { url: string }).url);
      }
    });
    proc.once('exit', (code) => rej(new Error(`server exited ${code}:\n${err}`)));
  });
  return { url, proc, dataDir };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
  rmSync(s.dataDir, { recursive: true, force: true });
}

async function post(url: string, body: unknown): Promise<Job> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Job;
}

function idea(code: string): string {
  return formatIdea({ analysis: 'bench', action: '```python\n' + code + '\n```', rationale: 'bench' });
}

function state(tag: string) {
  return { taskDescription: `bench ${tag}`, score: { value: 0.5, direction: 'higher', metric: 'acc' }, code: 'import sys\nprint("acc: 0.5")\n' };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function schedulingOverhead(): Promise<void> {
  const n = Number(process.env.IDEATOR_BENCH_IDEAS ?? 128);
  const runSec = Number(process.env.IDEATOR_BENCH_RUN_SEC ?? 1);
  const slots = Number(process.env.IDEATOR_BENCH_SLOTS ?? cpus().length);
  const g = 8;
  const server = await startServer(['--slots', String(slots)]);
  try {
    const nonce = Date.now();
    const groups = Math.ceil(n / g);
    const t0 = performance.now();
    const accepted = await Promise.all(
      Array.from({ length: groups }, (_, j) =>
        post(`${server.url}/v1/rewards`, {
          state: state(`${nonce}-${j}`),
          allowPrintedScore: true,
          ideas: Array.from({ length: Math.min(g, n - j * g) }, (_, i) => idea(`import time\ntime.sleep(${runSec})\nprint("acc: 0.6")  # ${j}.${i}`)),
        }),
      ),
    );
    const done = await Promise.all(accepted.map((job) => fetch(`${server.url}/v1/jobs/${job.id}?wait=1`).then((r) => r.json() as Promise<Job>)));
    const wall = (performance.now() - t0) / 1000;
    const results = done.flatMap((j) => j.results);
    const failed = results.filter((r) => r.status !== 'improved').length;
    const sumRun = results.reduce((a, r) => a + r.durationMs, 0) / 1000;
    const ideal = sumRun / slots;
    const nominal = (results.length * runSec) / slots;
    console.log(`scheduling: ${results.length} ideas × ${runSec} s runs, ${slots} slot(s), ${groups} concurrent jobs of G=${g}${failed ? `, ${failed} NOT improved (check the sandbox)` : ''}`);
    console.log(`  wall ${wall.toFixed(2)} s  vs  ideal Σrun÷slots ${ideal.toFixed(2)} s  →  overhead ratio ${(wall / ideal).toFixed(3)} (goal ≤ 1.02)`);
    console.log(`  mean measured run ${(sumRun / results.length).toFixed(3)} s vs nominal ${runSec} s (python start + sandbox set-up ${((sumRun / results.length - runSec) * 1000).toFixed(0)} ms)`);
    console.log(`  wall vs nominal Σ(${runSec} s)÷slots ${nominal.toFixed(2)} s  →  ${(wall / nominal).toFixed(3)} (everything the server adds to a bare sleep)`);
  } finally {
    await stopServer(server);
  }
}

async function acceptLatency(): Promise<void> {
  const server = await startServer(['--slots', '0']);
  try {
    const n = Number(process.env.IDEATOR_BENCH_ACCEPTS ?? 300);
    const nonce = Date.now();
    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    // Warm-up (JIT, SQLite page cache, connection pool).
    for (let i = 0; i < 20; i++) await post(`${server.url}/v1/rewards`, { state: state(`warm-${nonce}-${i}`), ideas: [idea('print(1)')], allowPrintedScore: true });
    const accept: number[] = [];
    const health: number[] = [];
    for (let i = 0; i < n; i++) {
      const body = { state: state(`${nonce}-${i}`), allowPrintedScore: true, ideas: Array.from({ length: 8 }, (_, k) => idea(`print("acc: 0.${k}")  # ${i}`)) };
      accept.push(await time(() => post(`${server.url}/v1/rewards`, body)));
      health.push(await time(() => fetch(`${server.url}/healthz`).then((r) => r.text())));
    }
    accept.sort((a, b) => a - b);
    health.sort((a, b) => a - b);
    const f = (v: number) => `${v.toFixed(2)} ms`;
    console.log(`accept latency (idle server, ${n} POST /v1/rewards with G=8, sequential):`);
    console.log(`  p50 ${f(percentile(accept, 50))}  p99 ${f(percentile(accept, 99))}  max ${f(accept[accept.length - 1])}  (goal p99 ≤ 20 ms)`);
    console.log(`  GET /healthz on the same server: p50 ${f(percentile(health, 50))}  p99 ${f(percentile(health, 99))}  → accept/health p50 ratio ${(percentile(accept, 50) / percentile(health, 50)).toFixed(2)}`);
  } finally {
    await stopServer(server);
  }
}

async function makespan(order: 'longest-first' | 'fifo'): Promise<number> {
  const server = await startServer(['--slots', '2', '--queue-order', order]);
  try {
    const nonce = `${order}-${Date.now()}`;
    const groups = [
      ...Array.from({ length: 6 }, (_, j) => ({ tag: `short-${j}`, g: 4, sec: 0.25 })),
      { tag: 'long', g: 3, sec: 3 },
    ];
    const t0 = performance.now();
    const jobs: Job[] = [];
    // Submitted one after another (short groups first), as a trainer's batch arrives; the server queues them.
    for (const { tag, g, sec } of groups) {
      jobs.push(
        await post(`${server.url}/v1/rewards`, {
          state: state(`${nonce}-${tag}`),
          allowPrintedScore: true,
          ideas: Array.from({ length: g }, (_, i) => idea(`import time\ntime.sleep(${sec})\nprint("acc: 0.6")  # ${tag}.${i}`)),
        }),
      );
    }
    const done = await Promise.all(jobs.map((j) => fetch(`${server.url}/v1/jobs/${j.id}?wait=1`).then((r) => r.json() as Promise<Job>)));
    const wall = (performance.now() - t0) / 1000;
    const runs = done.flatMap((j) => j.results.map((r) => r.durationMs / 1000));
    const bound = Math.max(runs.reduce((a, b) => a + b, 0) / 2, Math.max(...runs));
    console.log(`  ${order.padEnd(13)} wall ${wall.toFixed(2)} s  vs  lower bound max(Σrun÷slots, longest) ${bound.toFixed(2)} s  →  ${(wall / bound).toFixed(3)}${order === 'longest-first' ? ' (goal ≤ 1.05)' : ''}`);
    return wall / bound;
  } finally {
    await stopServer(server);
  }
}

export async function run(): Promise<void> {
  await acceptLatency();
  await schedulingOverhead();
  console.log('makespan: 2 slots, 6 groups × 4 short ideas (0.25 s) submitted before 1 group × 3 long ones (3 s):');
  const lpt = await makespan('longest-first');
  const fifo = await makespan('fifo');
  console.log(`  longest-first ÷ fifo: ${(lpt / fifo).toFixed(3)}`);
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
