/**
 * Runs one command in a prepared workdir under the sandbox (isolation.ts): bubblewrap where the host has it, a
 * per-run cgroup (processes, memory, CPU) or rlimits, a tmpfs workdir of fixed size as root, a wall-clock timeout,
 * an output cap, and a kill of the whole tree (process group, cgroup, pid namespace). The environment comes from
 * the one clean builder (runner.ts): the server's secrets never reach the run.
 */
import { join } from 'node:path';
import type { Metric, PrimaryScore } from '../../../src/core/protocol';
import type { ScoreOptions } from '../../../src/core/scores';
import type { Bind, RunLimits } from './bwrapArgs';
import type { SandboxHost } from './isolation';
import { cleanEnv, runProcess } from './runner';

export type SandboxLimits = RunLimits;

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 20 * 60_000,
  memoryMb: 4096,
  maxOutputBytes: 64 * 1024 * 1024,
  maxFileMb: 2048,
  shmMb: 256,
  maxProcesses: 512,
  diskMb: 4096,
  cpus: 0,
};

export interface SandboxRequest {
  /** Host folder, bound at /sandbox inside (the cwd). */
  workdir: string;
  /** argv, e.g. [python, 'solution.py'] (paths relative to the workdir). */
  command: string[];
  /** The interpreter (its prefixes are bound read-only). */
  python: string;
  limits: SandboxLimits;
  host: SandboxHost;
  /** Value for CUDA_VISIBLE_DEVICES ('' hides every GPU). */
  cudaVisibleDevices: string;
  /** Threads per run for BLAS/OpenMP (slots share the CPUs); also the run's CPU quota where a cgroup has one. */
  threads: number;
  /** Read-only binds (the task's public data at data/). */
  binds?: Bind[];
  /** Host folders kept out of the run even when the interpreter's folders hold them (WrapRequest.privatePaths). */
  privatePaths?: string[];
  /** How the run's primary score is picked (metrics are extracted over the whole output, not only the tail). */
  score?: ScoreOptions;
  signal?: AbortSignal;
  /** Extra environment entries (cannot override HOME/TMPDIR). */
  env?: Record<string, string>;
}

export interface SandboxResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Killed for printing more than maxOutputBytes. */
  outputLimited: boolean;
  /** The memory cap was hit (the cgroup's OOM kill, or an allocation failure under RLIMIT_AS). */
  memoryExceeded: boolean;
  /** A fork was refused by the process cap. */
  processesLimited: boolean;
  /** The sandbox could not be set up. */
  setupFailed: boolean;
  aborted: boolean;
  durationMs: number;
  outputBytes: number;
  outputHead: string;
  outputTail: string;
  /** head + marker + tail. */
  output: string;
  metrics: Metric[];
  primary: PrimaryScore | null;
  /** Part of the output was not captured (the capture thread stopped mid-run; see RunResult). */
  captureIncomplete?: string;
}

const MEMORY_PATTERNS = /MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|failed to allocate|Unable to allocate/i;
/** bubblewrap's own failures ("bwrap: ...") and the cgroup joiner's exit code. */
const SETUP_FAILURE = /(^|\n)(bwrap|prlimit|join-cgroup): /;

function gpusOf(cuda: string): string[] {
  return cuda
    .split(',')
    .map((g) => g.trim())
    .filter((g) => /^\d+$/.test(g));
}

export async function runInSandbox(req: SandboxRequest): Promise<SandboxResult> {
  const { limits, host } = req;
  const threads = Math.max(1, Math.floor(req.threads));
  let wrapped;
  try {
    wrapped = host.wrap(
      { workdir: req.workdir, python: req.python, binds: req.binds, privatePaths: req.privatePaths, gpus: gpusOf(req.cudaVisibleDevices), limits: { ...limits, cpus: limits.cpus || (host.isolated ? threads : 0) } },
      req.command,
    );
  } catch (err) {
    return failedSetup(`sandbox: ${(err as Error).message}`);
  }
  const inside = wrapped.inside;
  const env = cleanEnv({ home: join(inside, '.home'), tmp: host.isolated ? '/tmp' : join(inside, '.tmp'), python: req.python, threads, cudaVisibleDevices: req.cudaVisibleDevices, extra: req.env });
  try {
    const r = await runProcess({
      argv: wrapped.argv,
      cwd: wrapped.cwd,
      env,
      timeoutMs: limits.timeoutMs,
      signal: req.signal,
      maxOutputBytes: limits.maxOutputBytes,
      headChars: 16 * 1024,
      tailChars: 64 * 1024,
      score: req.score,
      extraFds: wrapped.extraFds,
      onKill: () => wrapped.group?.kill(),
    });
    const stats = wrapped.group?.stats();
    const failed = r.exitCode !== 0;
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      outputLimited: r.outputLimited,
      aborted: r.aborted,
      memoryExceeded: failed && !r.timedOut && (Boolean(stats?.oomKilled) || MEMORY_PATTERNS.test(r.output)),
      processesLimited: Boolean(stats?.pidsLimited),
      setupFailed: failed && (r.exitCode === 125 || r.exitCode === 1) && SETUP_FAILURE.test(r.outputHead.slice(0, 2000)) && r.outputBytes < 4096,
      durationMs: r.durationMs,
      outputBytes: r.outputBytes,
      outputHead: r.outputHead,
      outputTail: r.outputTail,
      output: r.output,
      metrics: r.metrics,
      primary: r.primary,
      ...(r.captureIncomplete ? { captureIncomplete: r.captureIncomplete } : {}),
    };
  } catch (err) {
    return failedSetup(`sandbox: ${(err as Error).message}`);
  } finally {
    wrapped.release();
  }
}

function failedSetup(message: string): SandboxResult {
  return {
    exitCode: 125,
    signal: null,
    timedOut: false,
    outputLimited: false,
    memoryExceeded: false,
    processesLimited: false,
    setupFailed: true,
    aborted: false,
    durationMs: 0,
    outputBytes: message.length,
    outputHead: message,
    outputTail: message,
    output: message,
    metrics: [],
    primary: null,
  };
}
