/**
 * execute-bash: one `bash -c` per action in the run's workdir (stdout and stderr merged, in order), a wall-clock
 * limit that kills the whole process group, and the project's Python first on PATH so `python` means the
 * configured interpreter.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';

export interface BashResult {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

export function pathWithPython(python: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!python.includes('/')) return { ...env };
  return { ...env, PATH: `${dirname(python)}:${env.PATH ?? '/usr/bin:/bin'}` };
}

export function runBash(
  command: string,
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
  maxOutput = 1024 * 1024,
  /** Wraps the argv, e.g. in the sandbox (see sandbox.ts). */
  wrap: (argv: string[]) => string[] = (a) => a,
): Promise<BashResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const [bin, ...args] = wrap(['bash', '-c', `exec 2>&1\n${command}`]);
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let head = '';
    let tail = '';
    let total = 0;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      total += text.length;
      if (head.length < maxOutput / 2) head += text;
      else tail = (tail + text).slice(-maxOutput / 2);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ output: `cannot start bash: ${err.message}`, exitCode: null, timedOut: false, durationMs: Date.now() - started });
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      let output = tail ? `${head}\n[... ${total - head.length - tail.length} characters omitted ...]\n${tail}` : head;
      if (timedOut) output += `\n[command killed after ${Math.round(timeoutMs / 1000)} s]`;
      resolve({ output, exitCode, timedOut, durationMs: Date.now() - started });
    });
  });
}
