/**
 * What a run's result counts as, defined once for the history, the views, the plateau rule, outcomes, the agent tools
 * and the export: a failed run (its score is not its result), a run's score as the state's p_t, the newest score
 * (p_t at some moment) and the best score among runs.
 */
import { isBetter } from './metric';
import type { Direction, PrimaryScore, Run, ScoreState } from './protocol';

export interface BestScore {
  value: number;
  direction: Direction;
  name: string;
  runId: string;
}

/**
 * A run counts as failed when it reported a non-zero exit code (null/undefined, unknown, is not a failure) or its
 * primary metric diverged (NaN / inf printed after the last finite value): its last finite score is not its result.
 */
export function runFailed(run: Run): boolean {
  return (typeof run.exitCode === 'number' && run.exitCode !== 0) || run.primary?.diverged === true;
}

/** A run's primary score as the state's score p_t. */
export function scoreStateOf(p: PrimaryScore): ScoreState {
  return { value: p.value, direction: p.direction, metric: p.name };
}

/** The score of the newest scored, non-failed run among `runs` that `accept` lets through (p_t at some moment). */
export function newestScore(runs: readonly Run[], accept: (run: Run) => boolean = () => true): ScoreState | undefined {
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i];
    if (r.primary && !runFailed(r) && accept(r)) return scoreStateOf(r.primary);
  }
  return undefined;
}

/**
 * Best primary score among completed, non-failed runs. Only runs scored with the newest run's metric name are
 * compared (a renamed metric starts a new series rather than mixing accuracy with loss).
 */
export function bestOf(runs: readonly Run[]): BestScore | null {
  const scored = runs.filter((r) => r.primary && !runFailed(r));
  if (scored.length === 0) return null;
  const name = scored[scored.length - 1].primary!.name;
  let best: BestScore | null = null;
  for (const r of scored) {
    const p = r.primary!;
    if (p.name !== name) continue;
    if (!best || isBetter(p.value, best.value, p.direction)) {
      best = { value: p.value, direction: p.direction, name: p.name, runId: r.id };
    }
  }
  return best;
}
