/**
 * What an idea's evaluation needs from its host (the sandbox, the limits, the task catalog, the implementer, where
 * p_t comes from) and the slot it runs in. Types only: evaluate.ts, runCode.ts and baseline.ts all depend on this
 * file, never on each other's declarations.
 */
import type { IdeatorState } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import type { SandboxHost } from '../exec/isolation';
import type { SandboxLimits } from '../exec/sandbox';
import type { RunShare } from './runShare';
import type { ReadyTask, TaskCatalog } from './taskCatalog';

export interface EvalEnv {
  catalog: TaskCatalog;
  /** Interpreter for the idea's code (absolute, or a name on PATH). */
  python: string;
  /** The sandbox every run goes through. */
  sandbox: SandboxHost;
  limits: SandboxLimits;
  /** Cap on any client-chosen per-idea time limit (seconds). */
  maxTimeoutSec?: number;
  /** Per-idea wall-clock limit when the request names none; else the task's, else limits.timeoutMs. */
  defaultTimeoutSec?: number;
  /** Parent of the per-run workdirs. */
  workRoot: string;
  /** Clean-up problems (a folder quarantined) and similar notes. */
  log?: (message: string) => void;
  implementer?: Provider;
  keepWorkdirs?: boolean;
  /** How p_t is obtained for task-graded states; undefined = the state's own score. */
  baselines?: BaselineSource;
  /** Identical implemented code runs once (runShare.ts); undefined = every idea runs its own. */
  runShare?: RunShare;
}

export interface Slot {
  /** CUDA_VISIBLE_DEVICES for runs in this slot ('' = no GPU). */
  cudaVisibleDevices: string;
  threads: number;
}

/** `measure`: run C_t through the same sandbox and grader; `state`: trust the state's own score. */
export type BaselineMode = 'measure' | 'state';

/** p_t of a state. */
export interface Baseline {
  /** p_t: the state's own score, or the mean of the valid measured scores (null when none was valid). */
  score: number | null;
  /** Why C_t has no score (it failed, wrote no submission, …); p_t is then null and any valid score improves. */
  error?: string;
  measured: boolean;
  /** The k measured scores, run i with IDEATOR_SEED=i when k ≥ 2 (null: no valid score); absent when not measured. */
  scores?: (number | null)[];
}

export interface BaselineQuery {
  state: IdeatorState;
  codePath: string;
  ready: ReadyTask | undefined;
  timeoutSec: number | undefined;
  /**
   * k: seeded runs of C_t (1 = one unseeded run, the paper's p_t). k ≥ 2 is measured even where p_t would otherwise
   * be the state's own score (no noise can be told from one number).
   */
  seeds: number;
  env: EvalEnv;
  slot: Slot;
  signal?: AbortSignal;
}

/** Where p_t comes from (baseline.ts: measured once per code and task, or the state's own score). */
export interface BaselineSource {
  readonly mode: BaselineMode;
  get(query: BaselineQuery): Promise<Baseline>;
}
