/**
 * The one process runner every executor uses (sandboxed idea and baseline runs, graders, prepare.py, the bench
 * agent's bash actions and its Python interpreter): argv + cwd + an environment from the one clean builder, its own
 * process group (so a kill reaches every descendant that did not escape it, and the sandbox's pid namespace and
 * cgroup catch those that try), a wall-clock timeout, an AbortSignal, an output cap that kills, and a bounded
 * capture decoded as one UTF-8 stream per pipe (a character split across two chunks stays whole).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { BoundedCapture } from '../../../src/core/capture';
import type { Metric, PrimaryScore } from '../../../src/core/protocol';
import type { ScoreOptions } from '../../../src/core/scores';

/**
 * The one environment builder for code we run: nothing from the server's environment is copied (API keys,
 * IDEATOR_SERVER_TOKEN, cloud credentials never reach a run) except what is named here.
 */
export function cleanEnv(o: {
  home: string;
  tmp: string;
  /** The interpreter: its folder goes first on PATH, so `python` means it. */
  python?: string;
  /** BLAS/OpenMP threads (slots share the CPUs). */
  threads?: number;
  /** CUDA_VISIBLE_DEVICES ('' hides every GPU); unset = not set. */
  cudaVisibleDevices?: string;
  /** Entries added last (cannot override HOME or TMPDIR). */
  extra?: Record<string, string>;
}): Record<string, string> {
  const pythonBin = o.python?.includes('/') ? `${dirname(o.python)}:` : '';
  const env: Record<string, string> = {
    PATH: `${pythonBin}/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    MPLBACKEND: 'Agg',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONNOUSERSITE: '1',
    ...o.extra,
    HOME: o.home,
    TMPDIR: o.tmp,
    TMP: o.tmp,
    TEMP: o.tmp,
    MPLCONFIGDIR: `${o.home}/.matplotlib`,
    XDG_CACHE_HOME: `${o.home}/.cache`,
  };
  if (o.threads !== undefined) {
    const t = String(Math.max(1, Math.floor(o.threads)));
    Object.assign(env, { OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, NUMEXPR_NUM_THREADS: t });
  }
  if (o.cudaVisibleDevices !== undefined) env.CUDA_VISIBLE_DEVICES = o.cudaVisibleDevices;
  return env;
}

/** A child in its own process group, and the kill that reaches the group (plus any extra kill, e.g. a cgroup's). */
export interface ProcessTree {
  child: ChildProcess;
  kill(): void;
}

export function spawnTree(argv: string[], o: { cwd: string; env: Record<string, string>; stdio?: StdioOptions; onKill?: () => void }): ProcessTree {
  const child = spawn(argv[0], argv.slice(1), { cwd: o.cwd, env: o.env, stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'], detached: true });
  return {
    child,
    kill() {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          try {
            child.kill('SIGKILL');
          } catch {
            // gone
          }
        }
      }
      try {
        o.onKill?.();
      } catch {
        // the extra kill is best effort; the group kill above already ran
      }
    },
  };
}

export interface RunSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Kill once this many bytes were printed (stdout + stderr). */
  maxOutputBytes?: number;
  /** Characters kept from the start and the end of the merged output. */
  headChars?: number;
  tailChars?: number;
  /** Extract metrics from every line (see core/capture). */
  score?: ScoreOptions;
  /** Extra stdio entries after stdin/stdout/stderr (fd 3, …), e.g. an open file descriptor. */
  extraFds?: number[];
  /** Also called on kill and after exit (e.g. kill a cgroup). */
  onKill?: () => void;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  outputLimited: boolean;
  durationMs: number;
  outputBytes: number;
  /** stdout and stderr merged in arrival order. */
  outputHead: string;
  outputTail: string;
  /** head + marker + tail. */
  output: string;
  /** The last characters of stderr alone. */
  stderrTail: string;
  metrics: Metric[];
  primary: PrimaryScore | null;
  /**
   * Set when the capture thread stopped mid-run (rare): part of the output is missing from head, tail, metrics and
   * primary, which then describe only the rest. Says why.
   */
  captureIncomplete?: string;
}

const STDERR_TAIL = 8 * 1024;

export class SpawnError extends Error {
  constructor(
    readonly program: string,
    cause: Error,
  ) {
    super(`cannot start ${program}: ${cause.message}`);
    this.name = 'SpawnError';
  }
}

/** Runs argv to completion; rejects only when it cannot start (SpawnError). */
export function runProcess(spec: RunSpec): Promise<RunResult> {
  // Scores are read on the capture thread: a chatty run costs the server's own thread (HTTP, queue) only the cleaning.
  const capture = new BoundedCapture({ headChars: spec.headChars ?? 16 * 1024, tailChars: spec.tailChars ?? 64 * 1024, score: spec.score, offThread: true });
  const decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') };
  let stderrTail = '';
  let bytes = 0;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (spec.signal?.aborted) {
      capture.dispose();
      resolve(emptyResult({ aborted: true }));
      return;
    }
    let tree: ReturnType<typeof spawnTree>;
    try {
      tree = spawnTree(spec.argv, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe', ...(spec.extraFds ?? [])], onKill: spec.onKill });
    } catch (err) {
      // spawn() itself threw (e.g. a NUL byte in an argument): nothing ran.
      capture.dispose();
      throw err;
    }
    const { child } = tree;
    let timedOut = false;
    let outputLimited = false;
    let aborted = false;
    const max = spec.maxOutputBytes ?? Infinity;
    const onChunk = (which: 'out' | 'err') => (chunk: Buffer) => {
      if (outputLimited) return;
      bytes += chunk.length;
      const text = decoders[which].write(chunk);
      capture.push(text);
      if (which === 'err') stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
      if (bytes > max) {
        outputLimited = true;
        tree.kill();
      }
    };
    child.stdout!.on('data', onChunk('out'));
    child.stderr!.on('data', onChunk('err'));
    const timer =
      spec.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            tree.kill();
          }, spec.timeoutMs)
        : undefined;
    const onAbort = () => {
      aborted = true;
      tree.kill();
    };
    spec.signal?.addEventListener('abort', onAbort);
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      cleanup();
      reject(new SpawnError(spec.argv[0], err));
    });
    child.on('close', (exitCode, signal) => {
      cleanup();
      // Whatever the first process did, nothing it started outlives it.
      tree.kill();
      capture.push(decoders.out.end() + decoders.err.end());
      const durationMs = Date.now() - started;
      void capture.finish().then((cap) => {
        const kept = cap.droppedChars > 0 ? `${cap.head}\n[… ${cap.droppedChars} characters of output omitted …]\n${cap.tail}` : cap.head + cap.tail;
        resolve({
          exitCode,
          signal,
          timedOut,
          aborted,
          outputLimited,
          durationMs,
          outputBytes: bytes,
          outputHead: cap.head,
          outputTail: cap.tail || cap.head.slice(-4096),
          // The capture thread stopped mid-run (rare): the output says what is missing, and so does the result.
          output: cap.incomplete ? `[… output before this point was not captured: ${cap.incomplete} …]\n${kept}` : kept,
          stderrTail,
          metrics: cap.metrics,
          primary: cap.primary,
          ...(cap.incomplete ? { captureIncomplete: cap.incomplete } : {}),
        });
      });
    });
  });
}

function emptyResult(o: Partial<RunResult>): RunResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted: false,
    outputLimited: false,
    durationMs: 0,
    outputBytes: 0,
    outputHead: '',
    outputTail: '',
    output: '',
    stderrTail: '',
    metrics: [],
    primary: null,
    ...o,
  };
}
