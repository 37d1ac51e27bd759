/**
 * One idea through the reward pipeline (paper §3.2): format check (−1 without executing) → implementer writes
 * C_{t+1} in one step → p_t (measured for task-graded states, see baseline.ts) → sandboxed run in a fresh workdir
 * holding the task's public data → score from the task's grader on submission.csv (or, with no task — only for
 * requests that set allowPrintedScore — the primary metric the run printed: `selfReported`) → outcome status →
 * reward. With k ≥ 2 baseline seeds, p_t is the mean of k seeded runs of C_t and the status and reward use the
 * noise threshold (core/rewards.ts baselineNoise); the result carries the measurement (`baseline`). The
 * reward-hacking guard (src/core/rewardGuard.ts) flags C_{t+1}'s added lines; flags never change the reward.
 */
import { basename } from 'node:path';
import { parseIdea } from '../../../src/core/idea';
import type { BaselineNoise, Direction, GuardFinding, IdeatorState, RewardScheme, RewardStatus } from '../../../src/core/protocol';
import { guardCode } from '../../../src/core/rewardGuard';
import { baselineNoise, computeReward, DEFAULT_NOISE_Z, outcomeStatus, type RunStage } from '../../../src/core/rewards';
import { codeDiff, implementIdea } from '../implementer';
import type { IdeaOutcome } from '../jobs/store';
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/layout';
import { unrunOutcome } from './outcomes';
import { runCode } from './runCode';
import { RunShare } from './runShare';
import type { EvalEnv, Slot } from './env';
import type { ReadyTask } from './taskCatalog';

export interface IdeaInput {
  key: string;
  state: IdeatorState;
  raw: string;
  scheme: RewardScheme;
  task: string | undefined;
  timeoutSec: number | undefined;
  /** The request's baselineSeeds (undefined: the task's ideator.baseline_seeds, else 1). */
  baselineSeeds?: number;
  /** The request's noiseZ (undefined: the task's ideator.noise_z, else DEFAULT_NOISE_Z). */
  noiseZ?: number;
}

/** The run was cancelled (worker shutting down): not an outcome, the idea goes back to the queue. */
export class EvaluationAborted extends Error {
  constructor() {
    super('evaluation aborted');
    this.name = 'EvaluationAborted';
  }
}

const TAIL_CHARS = 4000;

/** The code file name inside the workdir: the base name of the state's codePath (a path cannot escape it). */
export function safeCodePath(codePath: string): string {
  const name = basename(codePath.replace(/\\/g, '/'));
  return name && name !== '.' && name !== '..' ? name : 'solution.py';
}

/**
 * The outcome of an idea that fails the paper's format check: −1 (scheme-dependent) without executing anything.
 * `selfReported`: the job is scored from printed metrics (no task), said on every idea of it.
 */
export function formatErrorOutcome(state: IdeatorState, raw: string, scheme: RewardScheme, selfReported = false): IdeaOutcome | undefined {
  const parsed = parseIdea(raw);
  if (parsed.ok) return undefined;
  return unrunOutcome({ state, scheme, status: 'format_error', error: FORMAT_ERROR, formatErrors: parsed.errors, selfReported });
}

const FORMAT_ERROR = 'the idea does not follow the ANALYSIS / ACTION / RATIONALE format';

export async function evaluateIdea(input: IdeaInput, env: EvalEnv, slot: Slot, signal?: AbortSignal): Promise<IdeaOutcome> {
  const t0 = Date.now();
  const { state } = input;
  let before = state.score.value;
  const parsed = parseIdea(input.raw);
  let direction: Direction = state.score.direction;
  // No task: the run's printed metric is the score (runCode). Only requests that set allowPrintedScore get here
  // without one (rewards/submit.ts), and every outcome of such an idea says so.
  const selfReported = input.task === undefined;
  let guard: GuardFinding[] = [];
  // p_t's measurement over k seeds and the noise threshold an improvement must clear (0 until measured, or k = 1).
  let noise: BaselineNoise | undefined;
  let margin = 0;

  const finish = (o: {
    status: RewardStatus;
    after?: number | null;
    stages?: RunStage[];
    outputTail?: string;
    codeDiff?: string;
    error?: string;
  }): IdeaOutcome => {
    const after = o.after ?? null;
    return {
      reward: computeReward(input.scheme, { status: o.status, before, after, direction, stages: o.stages, margin }),
      status: o.status,
      scoreBefore: before,
      scoreAfter: after,
      durationMs: Date.now() - t0,
      outputTail: (o.outputTail ?? '').slice(-TAIL_CHARS),
      codeDiff: o.codeDiff ?? '',
      formatErrors: parsed.errors,
      ...(o.error ? { error: o.error } : {}),
      selfReported,
      guardFlags: guard.map((g) => g.flag),
      guard,
      ...(noise ? { baseline: noise } : {}),
    };
  };

  if (!parsed.ok) return finish({ status: 'format_error', error: FORMAT_ERROR });

  let ready: ReadyTask | undefined;
  if (input.task) {
    try {
      ready = await env.catalog.ready(input.task);
      direction = ready.task.direction;
    } catch (err) {
      return finish({ status: 'exec_failed', error: `task '${input.task}' unavailable: ${(err as Error).message}` });
    }
  }

  const impl = await implementIdea(state, parsed, { provider: env.implementer, signal });
  if (signal?.aborted) throw new EvaluationAborted();
  if (!impl.ok) return finish({ status: 'exec_failed', error: impl.error });
  const codePath = safeCodePath(state.codePath);
  const diff = codeDiff(codePath, state.code, impl.code);
  // Reward-hacking guard: flags only, the reward is unchanged (the trainer decides what to do with them).
  guard = guardCode({ before: state.code, after: impl.code, path: codePath, dataDir: DATA_SUBDIR, submissionFile: SUBMISSION_FILE }).findings;

  // k seeded runs of C_t (the request's, else the task's, else 1) and the noise threshold's z.
  const seeds = input.baselineSeeds ?? ready?.task.baselineSeeds ?? 1;
  const z = input.noiseZ ?? ready?.task.noiseZ ?? DEFAULT_NOISE_Z;
  // p_t measured like p_{t+1} (see baseline.ts). A measurement cut short by another idea's cancellation is retried.
  if (env.baselines) {
    for (let attempt = 0; ; attempt++) {
      try {
        const b = await env.baselines.get({ state, codePath, ready, timeoutSec: input.timeoutSec, seeds, env, slot, signal });
        before = b.score;
        if (b.measured && b.scores) {
          noise = baselineNoise(b.scores, z);
          margin = noise.threshold;
        }
        break;
      } catch (err) {
        if (signal?.aborted) throw new EvaluationAborted();
        if (attempt >= 1) throw err;
      }
    }
  }

  // With k ≥ 2 every idea of the group runs with seed k: one none of C_t's runs had (p_{t+1} − p_t is then one
  // fresh run against the mean of k, which is what the threshold allows for), the same for all G ideas (their
  // differences come from the ideas, not from luck).
  const seed = seeds > 1 ? seeds : undefined;
  const execute = () => runCode({ code: impl.code, codePath, tag: input.key.slice(0, 12), state, ready, timeoutSec: input.timeoutSec, env, slot, signal, seed });
  const shareKey = RunShare.key({ code: impl.code, codePath, task: input.task, ready, timeoutSec: input.timeoutSec, metric: state.score.metric, direction, env, slot, seed });
  const r = env.runShare && shareKey ? await env.runShare.run(shareKey, execute, signal) : await execute();
  if (r.run.aborted) throw new EvaluationAborted();
  const common = { stages: ['implemented' as RunStage, ...r.stages], outputTail: r.run.output, codeDiff: diff };
  if (r.timedOut) return finish({ ...common, status: 'timeout', error: r.error });
  if (!r.ok) return finish({ ...common, status: 'exec_failed', error: r.error });
  const status = outcomeStatus({ formatOk: true, failed: r.score === null, before, after: r.score, direction, margin });
  return finish({ ...common, status, after: r.score, error: r.error });
}
