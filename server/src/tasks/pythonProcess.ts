/**
 * Runs a Python snippet (`python -c CODE args...`) in its own process group with a wall-clock limit and
 * bounded output capture. The snippets that load prepare.py / grade.py live in TypeScript strings so the
 * bundled CLI needs no extra files on disk.
 */
import { spawn } from 'node:child_process';
import { TaskError } from './loader';

export interface PythonResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface PythonRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Bytes of stdout / stderr kept (the last ones). */
  maxOutput?: number;
}

export function runPythonCode(python: string, code: string, args: string[], options: PythonRunOptions = {}): Promise<PythonResult> {
  const started = Date.now();
  const max = options.maxOutput ?? 64 * 1024;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, ['-c', code, ...args], {
      cwd: options.cwd,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    const keep = (acc: string, chunk: Buffer) => {
      const next = acc + chunk.toString('utf8');
      return next.length > max ? next.slice(next.length - max) : next;
    };
    child.stdout.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
    child.stderr.on('data', (c: Buffer) => (stderr = keep(stderr, c)));
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, options.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      // A wrong interpreter path is the user's to fix (--python / IDEATOR_PYTHON): a TaskError, shown as one line.
      reject(new TaskError(`cannot start Python '${python}': ${err.message} (check --python or IDEATOR_PYTHON)`));
    });
    child.on('close', (exitCode, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ exitCode, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
  });
}

/**
 * Fails fast, as a TaskError, when `python` cannot start or cannot import pandas (every grader needs it): a long
 * command such as `ideator bench` checks this first instead of recording every run as failed.
 */
export async function checkPython(python: string): Promise<void> {
  const r = await runPythonCode(python, 'import pandas', [], { timeoutMs: 120_000 });
  if (r.exitCode === 0) return;
  const last = r.stderr.trim().split('\n').pop() || (r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}`);
  throw new TaskError(`Python '${python}' cannot import pandas (${last}): check --python or IDEATOR_PYTHON (scripts/setup-python.sh builds .venv)`);
}
