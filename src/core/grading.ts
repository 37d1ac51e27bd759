/**
 * MLE-bench scoring arithmetic, pure: the paper's normalized score, Avg@K / Best@K over repeated runs, and
 * Kaggle-style medal thresholds from a leaderboard. Direction never needs a flag: `best` and `worst` come from
 * the leaderboard's first and last rows, so (s - worst) / (best - worst) is right for either direction.
 */

export interface LeaderboardBounds {
  /** Score of the leaderboard's first (best) row. */
  best: number;
  /** Score of the leaderboard's last (worst) row. */
  worst: number;
}

/**
 * max(0, 100 * (s - worst) / (best - worst)). Above 100 when a run beats the leaderboard's best (not capped,
 * as in the paper); 0 for a score at or beyond the worst row. A degenerate leaderboard (best == worst) carries no
 * direction, so only a score equal to it is known to be as good: 100 for that, else 0.
 */
export function normalizedScore(score: number, bounds: LeaderboardBounds): number {
  if (!Number.isFinite(score)) return 0;
  const { best, worst } = bounds;
  if (best === worst) return score === best ? 100 : 0;
  return Math.max(0, (100 * (score - worst)) / (best - worst));
}

/** Normalized score of a run or null when the run produced no valid submission. */
export type RunScore = number | null | undefined;

function validScores(runs: readonly RunScore[]): number[] {
  return runs.filter((r): r is number => typeof r === 'number' && Number.isFinite(r));
}

/** Avg@K: mean over the valid runs; 0 when every run failed (the paper's convention). */
export function avgAtK(runs: readonly RunScore[]): number {
  const valid = validScores(runs);
  return valid.length ? valid.reduce((a, b) => a + b, 0) / valid.length : 0;
}

/** Best@K of normalized scores (higher is always better once normalized); 0 when every run failed. */
export function bestAtK(runs: readonly RunScore[]): number {
  const valid = validScores(runs);
  return valid.length ? Math.max(...valid) : 0;
}

/** Share of runs with a valid submission, 0..1 (0 for no runs). */
export function validRate(runs: readonly RunScore[]): number {
  return runs.length ? validScores(runs).length / runs.length : 0;
}

export interface MedalThresholds {
  gold: number;
  silver: number;
  bronze: number;
  median: number;
  lowerIsBetter: boolean;
}

/**
 * Kaggle's medal rules as MLE-bench applies them: the rank cut-offs depend on the number of teams, and each
 * threshold is the score at that rank (scores best first). Median is the plain median of all scores.
 */
export function medalThresholds(scoresBestFirst: readonly number[]): MedalThresholds {
  const scores = scoresBestFirst.filter((s) => Number.isFinite(s));
  const n = scores.length;
  if (n === 0) throw new Error('medalThresholds: the leaderboard has no scores');
  let gold: number;
  let silver: number;
  let bronze: number;
  if (n < 100) {
    gold = Math.max(1, Math.floor(n * 0.1));
    silver = Math.max(1, Math.floor(n * 0.2));
    bronze = Math.max(1, Math.floor(n * 0.4));
  } else if (n < 250) {
    gold = 10;
    silver = Math.max(1, Math.floor(n * 0.2));
    bronze = Math.max(1, Math.floor(n * 0.4));
  } else if (n < 1000) {
    gold = 10 + Math.floor(n * 0.002);
    silver = 50;
    bronze = 100;
  } else {
    gold = 10 + Math.floor(n * 0.002);
    silver = Math.floor(n * 0.05);
    bronze = Math.floor(n * 0.1);
  }
  const sorted = [...scores].sort((a, b) => a - b);
  const mid = Math.floor(n / 2);
  const median = n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    gold: scores[gold - 1],
    silver: scores[silver - 1],
    bronze: scores[bronze - 1],
    median,
    lowerIsBetter: scores[0] < scores[n - 1],
  };
}
