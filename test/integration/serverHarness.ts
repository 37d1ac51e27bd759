/**
 * Starts the REAL reward server as a child process (`node --import tsx server/src/cli.ts serve --port 0 --json`)
 * on 127.0.0.1 and talks to it over HTTP, so the integration tests exercise exactly what users run — including
 * what happens when that process is killed with SIGKILL.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { formatIdea } from '../../src/core/idea';
import type { IdeatorStateInput, Job } from '../../src/core/protocol';

export const REPO = resolve(__dirname, '..', '..');

export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  proc: ChildProcess;
  stderr(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
}

/** Lines of `ps` (pid and command line) that mention `text`: what a test expects to be gone. */
export function processesMentioning(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(text) && !l.includes('ps -eo'));
}

/** Polls `fn` every 100 ms until it returns a value, or fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether `cond` holds within `ms` (polled every 100 ms; checked once more at the end). */
export async function holdsWithin(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/** The sum of ideator_ideas_done_total over its status labels in a /metrics text. */
export function doneTotal(metrics: string): number {
  return [...metrics.matchAll(/^ideator_ideas_done_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

export function tempDir(prefix = 'ideator-it-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Removes a test folder, first unmounting what a killed server left mounted in it (a run's tmpfs workdir): a
 * clean-up error must never hide the assertion that failed before it.
 */
export function removeDir(dir: string): void {
  let mounts: string[] = [];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dir + '/'));
  } catch {
    // not Linux: nothing is mounted by the sandbox there
  }
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    console.error(`test clean-up: cannot remove ${dir}: ${(err as Error).message}`);
  }
}

export async function startServer(opts: { dataDir?: string; args?: string[]; env?: Record<string, string>; command?: string } = {}): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'server/src/cli.ts',
      opts.command ?? 'serve',
      ...(opts.command === 'worker' ? [] : ['--port', '0']),
      '--json',
      '--data-dir',
      dataDir,
      ...(opts.args ?? []),
    ],
    { cwd: REPO, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  proc.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const info = await new Promise<{ url: string; port: number; pid: number; owner?: string }>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${err}`)), 60_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.trim().startsWith('{'));
      if (line && out.includes('\n')) {
        clearTimeout(timer);
        resolvePromise(JSON.parse(line));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${err}`));
    });
  });
  return {
    ...info,
    dataDir,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * One server for the enclosing describe(): started in its before() hook, stopped (and its data dir removed) in
 * its after() hook. The returned object is filled in when the server starts, so use it inside hooks and tests.
 */
export function serverForSuite(opts: Parameters<typeof startServer>[0] = {}): RunningServer {
  const server = {} as RunningServer;
  before(async () => {
    Object.assign(server, await startServer(opts));
  });
  after(async () => {
    if (!server.proc) return; // it never started: before() failed and said why
    await server.stop();
    removeDir(server.dataDir);
  });
  return server;
}

export async function api(server: { url: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> & Job };
}

/** A well-formed idea whose ACTION carries a complete python script. */
export function ideaWithScript(code: string, analysis = 'The current solution is a baseline.'): string {
  return formatIdea({ analysis, action: `Replace the script with:\n\`\`\`python\n${code}\n\`\`\``, rationale: 'It should score higher.' });
}

/**
 * A state with no server task: scored from the metric the run prints (`acc: X`), which the server does only for
 * requests that opt in with `allowPrintedScore: true` (else 400 no_grader).
 */
export function toyState(score = 0.5): IdeatorStateInput {
  return {
    taskDescription: 'Toy task: print acc.',
    score: { value: score, direction: 'higher', metric: 'acc' },
    code: `import sys\nprint("acc: ${score}")\n`,
    codePath: 'solution.py',
  };
}

export function printsAcc(value: number, extra = ''): string {
  return ideaWithScript(`import sys\n${extra}\nprint("acc: ${value}")`);
}

export async function waitJob(server: { url: string }, id: string, timeoutMs = 120_000): Promise<Job> {
  const r = await api(server, 'GET', `/v1/jobs/${id}?wait=1&waitSec=${Math.ceil(timeoutMs / 1000)}`);
  if (r.status !== 200) throw new Error(`GET job ${id}: ${r.status} ${r.text}`);
  return r.json;
}
