/**
 * execute-bash: one `bash -c` per action in the run's workdir under the agent's sandbox (stdout and stderr merged,
 * in order), through the one process runner: a wall-clock limit and an abort that kill the whole tree, bounded
 * capture decoded as one UTF-8 stream, and the project's Python first on PATH so `python` means the configured
 * interpreter.
 */
import type { AgentSandbox } from './agentSandbox';
import { runProcess } from '../exec/runner';

export interface BashResult {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

export async function runBash(command: string, sandbox: AgentSandbox, timeoutMs: number, opts: { maxOutput?: number; signal?: AbortSignal } = {}): Promise<BashResult> {
  const maxOutput = opts.maxOutput ?? 1024 * 1024;
  const w = sandbox.launch(['bash', '-c', `exec 2>&1\n${command}`]);
  try {
    const r = await runProcess({
      argv: w.argv,
      cwd: w.cwd,
      env: sandbox.env,
      timeoutMs,
      signal: opts.signal,
      headChars: Math.floor(maxOutput / 2),
      tailChars: Math.floor(maxOutput / 2),
      extraFds: w.extraFds,
      onKill: () => w.group?.kill(),
    });
    let output = r.output;
    if (r.timedOut) output += `\n[command killed after ${Math.round(timeoutMs / 1000)} s]`;
    return { output, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs };
  } catch (err) {
    return { output: `cannot start bash: ${(err as Error).message}`, exitCode: null, timedOut: false, durationMs: 0 };
  } finally {
    w.release();
  }
}
