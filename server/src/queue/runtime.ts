/**
 * Wires the embedded defaults together: the SQLite store and the per-run work folders in one data dir, the task
 * catalog, the sandbox isolation probe, and (optionally) an in-process worker pool. `ideator serve`, `ideator
 * worker` and `ideator demo` all start from here, so they run ideas identically.
 *
 * Data dir layout: <dataDir>/store/ideator.sqlite (+ WAL files), <dataDir>/work/<pid>-<idea>-XXXX/ (one per run,
 * removed after it; leftovers of killed processes are swept at start-up), <dataDir>/task-bundles/ (a server's task
 * bundles for Redis workers), <dataDir>/task-cache/<sha256>/ (a Redis worker's unpacked bundles).
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { Provider } from '../../../src/core/providers/types';
import { sandboxHost, type IsolationInfo, type SandboxHost } from '../exec/isolation';
import { DEFAULT_LIMITS, type SandboxLimits } from '../exec/sandbox';
import { assertSafeRoot, sweepRunDirs } from '../exec/runDirs';
import { Metrics } from './metrics';
import { JobStore, type IdeaOutcome, type IdeaWork, type QueueOrder } from '../jobs/store';
import { Baselines } from '../rewards/baseline';
import { RunShare } from '../rewards/runShare';
import { abandonedOutcome } from '../rewards/outcomes';
import type { BaselineMode, EvalEnv } from '../rewards/env';
import { TaskBundles } from '../rewards/taskBundles';
import { TaskCatalog } from '../rewards/taskCatalog';
import { bundledTasksDir } from '../tasks/loader';
import { resolvePython } from '../tasks/python';
import { makeSlots, WorkerPool } from './workerPool';

export interface RuntimeConfig {
  dataDir: string;
  /** Queue-depth limit: a request that would take the waiting ideas past it gets 429 + Retry-After (0 = none). */
  maxQueued?: number;
  /** Which waiting idea runs next (jobs/store.ts): longest expected first (default) or submission order. */
  queueOrder?: QueueOrder;
  /** CPU slots (ignored when gpus are given). 0 = accept and store only, run nothing (a separate worker will). */
  slots?: number;
  /** GPU ids, one slot per GPU. */
  gpus?: string[];
  python?: string;
  /** Folders holding task folders; default the bundled server/tasks. */
  taskDirs?: string[];
  /** Where task data is prepared; default the loader's. */
  taskDataDir?: string;
  limits?: Partial<SandboxLimits>;
  defaultTimeoutSec?: number;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  maxAttempts?: number;
  implementer?: Provider;
  /** p_t for task-graded states: 'measure' (run C_t through the same sandbox + grader, default) or 'state'. */
  baseline?: BaselineMode;
  disableSandbox?: boolean;
  /**
   * Go on when the sandbox cannot enforce its minimum (no bubblewrap, no per-run cgroup or disk cap). Development
   * only: code under evaluation could then forge its reward. The reward service refuses to start without it.
   */
  allowWeakSandbox?: boolean;
  /** Cap on client-chosen per-idea time limits (seconds; default 4 h). */
  maxTimeoutSec?: number;
  keepWorkdirs?: boolean;
  ownerLabel?: string;
  log?: (message: string) => void;
  /** Per-idea hooks of the in-process pool (progress bars). */
  onStart?: (work: IdeaWork) => void;
  onComplete?: (work: IdeaWork, outcome: IdeaOutcome) => void;
}

export interface Runtime {
  config: RuntimeConfig;
  store: JobStore;
  pool: WorkerPool | undefined;
  env: EvalEnv;
  catalog: TaskCatalog;
  /** The catalog's tasks as hash-named bundles (<dataDir>/task-bundles) for Redis workers (GET /v1/tasks/:id/bundle). */
  bundles: TaskBundles;
  isolation: IsolationInfo;
  sandbox: SandboxHost;
  metrics: Metrics;
  python: string;
  /** Set by `ideator serve --redis` (queue/redis/dispatcher.ts): the remote workers, for /metrics. */
  cluster?: ClusterView;
  close(): Promise<void>;
}

/** What the server knows of its remote workers (from their heartbeats in Redis). */
export interface ClusterSnapshot {
  /** Live remote workers (heartbeat within its TTL). */
  workers: number;
  /** Their slots, all together. */
  slots: number;
  /** Their slots running an idea. */
  busy: number;
  /** Results delivered more than once (a redelivered or duplicated execution) and dropped, since this process started. */
  duplicateResults: number;
  /** Ideas recorded whose run was another idea's run of the same code, on any worker (clusterRunShare.ts). */
  sharedRuns: number;
  /** The server's connection to Redis is up (the worker figures are the last ones read while it is not). */
  redisUp: boolean;
  /** Each live worker, from its heartbeat (`ideator status`). */
  list?: { id: string; host: string; pid: number; slots: number; busy: number; gpus: string[]; seenAt: number }[];
}

export interface ClusterView {
  snapshot(): Promise<ClusterSnapshot>;
}

/** Default cap on client-chosen per-idea time limits. */
export const DEFAULT_MAX_TIMEOUT_SEC = 4 * 3600;

/** The sandbox's minimum is not enforceable here and no opt-out was given. */
export class WeakSandboxError extends Error {
  constructor(what: string) {
    super(`${what}. Refusing to run untrusted code: install bubblewrap and run as root (or in a delegated cgroup v2 subtree); see SECURITY.md. For development only, --allow-weak-sandbox goes on anyway.`);
    this.name = 'WeakSandboxError';
  }
}

/** An interpreter path that still works after the run changes directory. */
export function absolutePython(python: string): string {
  return python.includes('/') ? resolve(python) : python;
}

/**
 * What runs ideas on this machine, without any store: the interpreter, the sandbox (its minimum enforced unless
 * allowWeakSandbox), the limits, the task catalog and the work folders. The embedded runtime adds the SQLite store
 * and the in-process pool to it; a Redis worker (queue/redis/remoteWorker.ts) adds cluster-wide baselines.
 */
export interface EvalHost {
  dataDir: string;
  python: string;
  sandbox: SandboxHost;
  isolation: IsolationInfo;
  catalog: TaskCatalog;
  gpus: string[] | undefined;
  /** The evaluation environment, without a baseline source (the caller supplies one). */
  env: EvalEnv;
}

export function createEvalHost(config: RuntimeConfig): EvalHost {
  const dataDir = resolve(config.dataDir);
  const workRoot = join(dataDir, 'work');
  assertSafeRoot(workRoot);
  mkdirSync(workRoot, { recursive: true });
  // Leftovers of killed processes go in the background: start-up never waits on, or fails because of, them.
  void sweepRunDirs(workRoot, config.log).then((n) => n && config.log?.(`removed ${n} work folder(s) left by killed processes`));

  const python = absolutePython(config.python ?? resolvePython());
  const sandbox = sandboxHost({ disable: config.disableSandbox });
  const isolation = sandbox.info;
  if (!isolation.minimumMet) {
    const what = `the sandbox cannot enforce: ${isolation.missing.join('; ')}`;
    if (!config.allowWeakSandbox) throw new WeakSandboxError(what);
    config.log?.(`WARNING: ${what}. Code under evaluation can forge its reward on this host (--allow-weak-sandbox): development only.`);
  }
  const gpus = config.gpus?.filter((g) => g.trim() !== '');
  // RLIMIT_AS breaks CUDA (it reserves huge virtual ranges): no address-space cap on GPU slots unless asked for.
  const limits: SandboxLimits = {
    ...DEFAULT_LIMITS,
    ...(gpus?.length ? { memoryMb: 0 } : {}),
    ...Object.fromEntries(Object.entries(config.limits ?? {}).filter(([, v]) => v !== undefined)),
  };
  const catalog = new TaskCatalog(config.taskDirs ?? [bundledTasksDir()], python, config.taskDataDir);
  const env: EvalEnv = {
    catalog,
    python,
    sandbox,
    limits,
    defaultTimeoutSec: config.defaultTimeoutSec,
    maxTimeoutSec: config.maxTimeoutSec ?? DEFAULT_MAX_TIMEOUT_SEC,
    workRoot,
    log: config.log,
    implementer: config.implementer,
    keepWorkdirs: config.keepWorkdirs,
    runShare: new RunShare(),
  };
  return { dataDir, python, sandbox, isolation, catalog, gpus, env };
}

export function createRuntime(config: RuntimeConfig): Runtime {
  const host = createEvalHost(config);
  const { python, sandbox, isolation, catalog, gpus } = host;
  const storeDir = join(host.dataDir, 'store');
  mkdirSync(storeDir, { recursive: true });
  const store = new JobStore(join(storeDir, 'ideator.sqlite'), { maxAttempts: config.maxAttempts, checkpointIntervalMs: 2000, abandoned: abandonedOutcome, order: config.queueOrder });
  const metrics = new Metrics();
  const env: EvalEnv = { ...host.env, baselines: new Baselines(store, config.baseline ?? 'measure') };
  const wantSlots = gpus?.length ? gpus.length : (config.slots ?? 1);
  const pool =
    wantSlots > 0
      ? new WorkerPool({
          store,
          env,
          slots: makeSlots({ slots: config.slots, gpus, cpus: cpus().length }),
          leaseMs: config.leaseMs,
          heartbeatMs: config.heartbeatMs,
          pollMs: config.pollMs,
          ownerLabel: config.ownerLabel,
          log: config.log,
          onStart: config.onStart,
          onComplete: (work, outcome) => {
            metrics.observeIdea(outcome.status, outcome.durationMs);
            config.onComplete?.(work, outcome);
          },
        })
      : undefined;
  let closed = false;
  return {
    config,
    store,
    pool,
    env,
    catalog,
    bundles: new TaskBundles(catalog, join(host.dataDir, 'task-bundles'), config.log),
    isolation,
    sandbox,
    metrics,
    python,
    async close() {
      if (closed) return;
      closed = true;
      await pool?.stop();
      store.close();
    },
  };
}
