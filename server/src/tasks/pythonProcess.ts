/**
 * Runs a Python snippet (`python -c CODE args...`) of the operator's own task code (prepare.py, a reference
 * solution) through the one process runner: its own process group, a clean environment (no server secrets), a
 * wall-clock limit and bounded capture. The snippets that load prepare.py / grade.py live in TypeScript strings so
 * the bundled CLI needs no extra files on disk. Untrusted code never comes through here: it goes through the sandbox.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, runProcess, SpawnError } from '../exec/runner';
import { TaskError } from './loader';

export interface PythonResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr merged, the last `maxOutput` characters. */
  stdout: string;
  /** stderr alone, its last characters. */
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface PythonRunOptions {
  cwd: string;
  /** Extra environment entries (the base is the clean environment). */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Characters of output kept (the last ones). */
  maxOutput?: number;
  signal?: AbortSignal;
}

export async function runPythonCode(python: string, code: string, args: string[], options: PythonRunOptions): Promise<PythonResult> {
  const home = join(tmpdir(), `ideator-home-${process.pid}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    const r = await runProcess({
      argv: [python, '-c', code, ...args],
      cwd: options.cwd,
      env: cleanEnv({ home, tmp: process.env.TMPDIR ?? '/tmp', python, extra: options.env }),
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      headChars: 1024,
      tailChars: options.maxOutput ?? 64 * 1024,
    });
    return { exitCode: r.exitCode, signal: r.signal, stdout: r.outputTail, stderr: r.stderrTail, timedOut: r.timedOut, durationMs: r.durationMs };
  } catch (err) {
    // A wrong interpreter path is the user's to fix (--python / IDEATOR_PYTHON): a TaskError, shown as one line.
    if (err instanceof SpawnError) throw new TaskError(`cannot start Python '${python}': ${err.message.replace(/^cannot start [^:]*: /, '')} (check --python or IDEATOR_PYTHON)`);
    throw err;
  }
}

/**
 * Fails fast, as a TaskError, when `python` cannot start or cannot import pandas (every grader needs it): a long
 * command such as `ideator bench` checks this first instead of recording every run as failed.
 */
export async function checkPython(python: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ideator-check-'));
  try {
    const r = await runPythonCode(python, 'import pandas', [], { cwd: dir, timeoutMs: 120_000 });
    if (r.exitCode === 0) return;
    const last = r.stderr.trim().split('\n').pop() || (r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}`);
    throw new TaskError(`Python '${python}' cannot import pandas (${last}): check --python or IDEATOR_PYTHON (scripts/setup-python.sh builds .venv)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
