/**
 * Runs one command in a prepared workdir under the sandbox: namespaces where the OS allows (see isolation.ts),
 * RLIMIT_AS / RLIMIT_FSIZE, a wall-clock timeout, an output cap, and a kill of the whole process group. The
 * environment is built from scratch — the server's secrets (API keys, IDEATOR_SERVER_TOKEN) never reach the run.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { BoundedCapture } from '../../../src/core/capture';
import type { Metric, PrimaryScore } from '../../../src/core/protocol';
import type { ScoreOptions } from '../../../src/core/scores';
import { wrapCommand, type IsolationInfo } from './isolation';

export interface SandboxLimits {
  /** Wall-clock limit. */
  timeoutMs: number;
  /** RLIMIT_AS in MiB; 0 = no cap (needed for CUDA, which reserves huge virtual ranges). */
  memoryMb: number;
  /** Kill the run once it has printed this many bytes. */
  maxOutputBytes: number;
  /** RLIMIT_FSIZE in MiB: the largest file the run may write. */
  maxFileMb: number;
  /** Size of the private /dev/shm. */
  shmMb: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 20 * 60_000,
  memoryMb: 4096,
  maxOutputBytes: 64 * 1024 * 1024,
  maxFileMb: 2048,
  shmMb: 256,
};

export interface SandboxRequest {
  workdir: string;
  /** argv, e.g. [python, 'solution.py']. */
  command: string[];
  limits: SandboxLimits;
  isolation: IsolationInfo;
  /** Value for CUDA_VISIBLE_DEVICES ('' hides every GPU). */
  cudaVisibleDevices: string;
  /** Threads per run for BLAS/OpenMP (slots share the CPUs). */
  threads: number;
  /** How the run's primary score is picked (metrics are extracted over the whole output, not only the tail). */
  score?: ScoreOptions;
  signal?: AbortSignal;
  /** Folders hidden from the run (task folders, private answers, the job store). Ancestors of the workdir are
   * skipped — hiding them would hide the workdir too. */
  hide?: string[];
  /** Extra environment entries (after the sandbox's own; cannot override HOME/TMPDIR). */
  env?: Record<string, string>;
}

export interface SandboxResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Killed for printing more than maxOutputBytes. */
  outputLimited: boolean;
  /** The output shows an allocation failure (RLIMIT_AS hit). */
  memoryExceeded: boolean;
  /** The sandbox could not be set up (exit 125 with a "sandbox:" line). */
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
}

const MEMORY_PATTERNS = /MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|failed to allocate|Unable to allocate/i;

export function sandboxEnv(workdir: string, req: Pick<SandboxRequest, 'cudaVisibleDevices' | 'threads' | 'env'>, shared = false): Record<string, string> {
  const home = join(workdir, '.home');
  const tmp = join(workdir, '.tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  // A run dropped to nobody must be able to write its own folders (and nothing else the server owns).
  if (shared) for (const d of [workdir, home, tmp]) chmodSync(d, 0o777);
  const threads = String(Math.max(1, Math.floor(req.threads)));
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ...req.env,
    HOME: home,
    TMPDIR: tmp,
    TMP: tmp,
    TEMP: tmp,
    MPLCONFIGDIR: join(home, '.matplotlib'),
    XDG_CACHE_HOME: join(home, '.cache'),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONNOUSERSITE: '1',
    CUDA_VISIBLE_DEVICES: req.cudaVisibleDevices,
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
    MKL_NUM_THREADS: threads,
    NUMEXPR_NUM_THREADS: threads,
  };
}

export function runInSandbox(req: SandboxRequest): Promise<SandboxResult> {
  const { limits } = req;
  const argv = wrapCommand(
    req.isolation,
    {
      workdir: req.workdir,
      memoryKb: limits.memoryMb * 1024,
      fileSizeKb: limits.maxFileMb * 1024,
      shmMb: limits.shmMb,
      hide: (req.hide ?? []).filter((p) => !(req.workdir === p || req.workdir.startsWith(p.endsWith(sep) ? p : p + sep))),
    },
    req.command,
  );
  const capture = new BoundedCapture({ headChars: 16 * 1024, tailChars: 64 * 1024, score: req.score });
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: req.workdir,
      env: sandboxEnv(req.workdir, req, Boolean(req.isolation.dropToNobody && !req.isolation.filesystem)),
      // stderr is merged into stdout inside the sandbox script (ordering kept); keep ours for set-up errors.
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    let outputLimited = false;
    let aborted = false;
    let killed = false;
    const killGroup = () => {
      if (killed || child.pid === undefined) return;
      killed = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const onChunk = (chunk: Buffer) => {
      if (outputLimited) return;
      bytes += chunk.length;
      capture.push(decoder.write(chunk));
      if (bytes > limits.maxOutputBytes) {
        outputLimited = true;
        killGroup();
      }
    };
    child.stdout.on('data', onChunk);
    child.stderr.on('data', onChunk);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, limits.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    req.signal?.addEventListener('abort', onAbort);
    child.on('error', (err) => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot start the sandbox (${argv[0]}): ${err.message}`));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      // A run that dies of a signal while its whole group is still around (e.g. pid-1 crash) leaves children:
      // reap the group in every case.
      killGroup();
      capture.push(decoder.end());
      const cap = capture.end();
      const output = cap.droppedChars > 0 ? `${cap.head}\n[… ${cap.droppedChars} characters of output omitted …]\n${cap.tail}` : cap.head + cap.tail;
      const failed = exitCode !== 0;
      resolve({
        exitCode,
        signal,
        timedOut,
        outputLimited,
        aborted,
        memoryExceeded: failed && !timedOut && MEMORY_PATTERNS.test(output),
        setupFailed: exitCode === 125 && /(^|\n)sandbox: /.test(output),
        durationMs: Date.now() - started,
        outputBytes: bytes,
        outputHead: cap.head,
        outputTail: cap.tail || cap.head.slice(-4096),
        output,
        metrics: cap.metrics,
        primary: cap.primary,
      });
    });
  });
}
