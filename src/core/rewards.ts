/**
 * Reward schemes for one executed idea, and GRPO group advantages. Pure functions: the server, the demo, the
 * extension's outcome log and the trainer bridge all compute rewards through this file, so they never disagree.
 *
 * Schemes:
 * - paper   : the paper's Eq. 1 — +1 when the new score beats the old one (direction-aware), 0 when it does not or
 *             execution fails, −1 on a format error.
 * - partial : paper's +1 / 0 / −1 for improved / not improved / format error, but a failed run earns partial credit
 *             for the stages it got through (implemented, started, printed a metric, wrote a submission), in
 *             [−0.5, 0): crashing is worse than a valid run that did not help, better than an unparseable answer.
 * - sigmoid : a bounded reward from the relative improvement, σ(k·rel) ∈ (0, 1) with k = 10 (a 10 % relative gain
 *             gives ≈ 0.73, no change 0.5), with fixed values for the corner cases (failure 0, format error −1).
 *
 * Noise-aware comparison (beyond the paper): the paper measures p_t once and rewards any p_{t+1} > p_t. When C_t's
 * score moves from run to run (a small validation set, a random split, stochastic training), half of all ideas
 * that change nothing would earn +1. The reward server can measure p_t over k seeded runs of C_t; then p_t is the
 * mean of the k scores (the paper's p_t, estimated), `baselineNoise` gives their sample std s and the threshold
 * z · s · √(1 + 1/k) — the standard error of (one new run − the mean of k runs), times z — and an idea is improved
 * only when it beats p_t by more than that (`margin`). Every scheme uses the same comparison: paper and partial
 * through the status, sigmoid by shrinking the change towards 0 by the margin (a change inside the noise is
 * σ(0) = 0.5, "no change"). With k = 1 (or a deterministic C_t: s = 0) the margin is 0 and nothing differs.
 */
import { improves } from './metric';
import type { BaselineNoise, Direction, RewardScheme, RewardStatus } from './protocol';

/** The default z of the noise threshold (one standard error of the difference). */
export const DEFAULT_NOISE_Z = 1;

/**
 * p_t and its run-to-run noise from k seeded scores of C_t (null: that run gave no valid score): the mean and the
 * sample std (n − 1) of the n valid scores, and the improvement threshold z · std · √(1 + 1/n) (0 when n < 2: one
 * score says nothing about the noise). `mean` is null when no score was valid.
 */
export function baselineNoise(scores: readonly (number | null)[], z = DEFAULT_NOISE_Z): BaselineNoise {
  const valid = scores.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = valid.length;
  const mean = n ? valid.reduce((a, b) => a + b, 0) / n : null;
  let std = 0;
  if (n >= 2 && mean !== null) std = Math.sqrt(valid.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const threshold = n >= 2 ? z * std * Math.sqrt(1 + 1 / n) : 0;
  return { k: scores.length, scores: [...scores], mean, std, z, threshold };
}

/** Stages a run can pass; used by the partial-credit scheme. Order = how far the run got. */
export const RUN_STAGES = ['implemented', 'started', 'metric', 'submission'] as const;
export type RunStage = (typeof RUN_STAGES)[number];

export interface RewardInput {
  status: RewardStatus;
  /** p_t, the score before the idea; null when no valid score existed. */
  before: number | null;
  /** p_{t+1}; null when the run produced no valid score. */
  after: number | null;
  direction: Direction;
  /** Stages the run passed (partial credit). */
  stages?: readonly RunStage[];
  /** The noise threshold (baselineNoise): a change of at most this much counts as no change. Default 0. */
  margin?: number;
}

/**
 * The outcome status of a run that executed (or not) — format errors are decided before execution. 'improved' is
 * metric.ts's `improves(before, after)`: a valid score after no valid score counts as an improvement (the idea
 * produced the first valid submission); ties are not improvements (paper: p_{t+1} ≤ p_t → 0). With a `margin` (the
 * noise threshold) a gain of at most the margin is 'not_improved'.
 */
export function outcomeStatus(opts: {
  formatOk: boolean;
  timedOut?: boolean;
  failed?: boolean;
  before: number | null;
  after: number | null;
  direction: Direction;
  margin?: number;
}): RewardStatus {
  if (!opts.formatOk) return 'format_error';
  if (opts.timedOut) return 'timeout';
  if (opts.failed || opts.after === null || !Number.isFinite(opts.after)) return 'exec_failed';
  return improves(opts.before, opts.after, opts.direction, opts.margin) ? 'improved' : 'not_improved';
}

/**
 * Signed relative improvement: > 0 means better in the metric's direction. The denominator is |before| floored at
 * 1e-9 so a zero baseline does not divide by zero. With a `margin` (the noise threshold) the change is first shrunk
 * towards 0 by it: a change of at most the margin is 0.
 */
export function relativeImprovement(before: number, after: number, direction: Direction, margin = 0): number {
  const raw = direction === 'higher' ? after - before : before - after;
  // Inside the noise is no change; beyond it, only the part past the threshold counts (either direction).
  const delta = margin > 0 ? Math.sign(raw) * Math.max(0, Math.abs(raw) - margin) : raw;
  return delta / Math.max(Math.abs(before), 1e-9);
}

const SIGMOID_K = 10;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function paperReward(input: RewardInput): number {
  switch (input.status) {
    case 'format_error':
      return -1;
    case 'improved':
      return 1;
    default:
      return 0;
  }
}

export function partialReward(input: RewardInput): number {
  switch (input.status) {
    case 'format_error':
      return -1;
    case 'improved':
      return 1;
    case 'not_improved':
      return 0;
    default: {
      // Failed or timed out: −0.5 for nothing, rising with each stage passed, never reaching 0 (a run that passed
      // every stage but still failed, e.g. an invalid submission, stays below a valid non-improving run).
      const passed = new Set(input.stages ?? []).size;
      return -0.5 + (0.5 * passed) / (RUN_STAGES.length + 1);
    }
  }
}

export function sigmoidReward(input: RewardInput): number {
  switch (input.status) {
    case 'format_error':
      return -1;
    case 'exec_failed':
    case 'timeout':
      return 0;
    default: {
      if (input.after === null) return 0;
      // No baseline: any valid score is the best outcome available.
      if (input.before === null) return 1;
      return sigmoid(SIGMOID_K * relativeImprovement(input.before, input.after, input.direction, input.margin));
    }
  }
}

export function computeReward(scheme: RewardScheme, input: RewardInput): number {
  switch (scheme) {
    case 'paper':
      return paperReward(input);
    case 'partial':
      return partialReward(input);
    case 'sigmoid':
      return sigmoidReward(input);
  }
}

export interface AdvantageOptions {
  /** Divide by the group's std (VeRL `norm_adv_by_std_in_grpo`, default true). */
  normByStd?: boolean;
  epsilon?: number;
}

/**
 * GRPO outcome advantages for one group of G rewards, exactly as VeRL's compute_grpo_outcome_advantage does it:
 * (r − mean) / (std + ε) with the unbiased std (n − 1) and ε = 1e-6; without std normalisation, r − mean. VeRL
 * gives a group of one mean 0 and std 1, so a singleton's advantage is r / (1 + ε), not 0 — we match the trainer.
 * All-tied groups give zero advantage (the samples teach nothing).
 */
export function grpoAdvantages(rewards: readonly number[], opts: AdvantageOptions = {}): number[] {
  const normByStd = opts.normByStd ?? true;
  const eps = opts.epsilon ?? 1e-6;
  const n = rewards.length;
  if (n === 0) return [];
  let mean: number;
  let std: number;
  if (n === 1) {
    mean = 0;
    std = 1;
  } else {
    mean = rewards.reduce((a, b) => a + b, 0) / n;
    const ss = rewards.reduce((a, r) => a + (r - mean) ** 2, 0);
    std = Math.sqrt(ss / (n - 1));
  }
  return rewards.map((r) => (normByStd ? (r - mean) / (std + eps) : r - mean));
}
