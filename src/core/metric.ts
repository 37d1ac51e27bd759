/**
 * "Better than", defined once (after AIDE's aide/utils/metric.py: a value is only comparable together with its
 * direction). Every direction-aware comparison in the extension, the server and the bench goes through here.
 *
 *   isBetter(a, b, direction)          is a strictly better than b? (a tie is not; NaN is worse than any number)
 *   improves(prev, next, direction)    did the score move from prev to next improve? (the paper's Eq. 1 test)
 *   improves(prev, next, direction, m) ... by more than m? (the noise-aware test: m = the measured noise threshold)
 *   betterOf(a, b, direction)          the better of two values (a NaN loses)
 *   compareBestFirst(a, b, direction)  comparator that sorts best first (NaN last)
 *
 *   runScore(primary, choice, metrics)  a run's score: its last or its best epoch value of the primary metric
 *
 * Argument order is always "candidate first" for isBetter/betterOf/compareBestFirst and "before, after" for
 * improves, like the paper's p_t, p_{t+1}.
 *
 * The Direction type stays in protocol.ts: it is inferred from DirectionSchema, which every boundary shape uses.
 */
import type { Direction, Metric, PrimaryScore } from './protocol';

/**
 * True when `a` is strictly better than `b` in the metric's direction. Ties are not better. NaN stands for "no
 * value" and is worse than every number: a NaN is never better, and any number is better than a NaN.
 */
export function isBetter(a: number, b: number, direction: Direction): boolean {
  if (Number.isNaN(a)) return false;
  if (Number.isNaN(b)) return true;
  return direction === 'higher' ? a > b : a < b;
}

/**
 * True when `next` improves on `prev`. A missing or non-finite next score (null, undefined, NaN, ±Infinity) never
 * improves; a valid score after no valid score (prev null, undefined, NaN or ±Infinity) counts as an improvement
 * (the idea produced the first valid submission); ties are not improvements (paper: p_{t+1} ≤ p_t → 0).
 *
 * `margin` (≥ 0, default 0): `next` must beat `prev` by MORE than it, in the metric's direction — a gain of at most
 * `margin` is not an improvement. The reward server passes the run-to-run noise threshold of a p_t measured over
 * several seeds (rewards.ts baselineNoise); with margin 0 this is exactly the paper's test. A gain equal to the margin
 * up to floating-point rounding (relative MARGIN_TOLERANCE) is not beyond it: the mean and the margin come from the same
 * scores, and an idea that replays a baseline seed sits exactly on the threshold when k = 3 and z = 1 (two seeds equal,
 * the third replayed), where rounding alone decided between 0 and +1.
 */
export function improves(prev: number | null | undefined, next: number | null | undefined, direction: Direction, margin = 0): boolean {
  if (next === null || next === undefined || !Number.isFinite(next)) return false;
  if (prev === null || prev === undefined || !Number.isFinite(prev)) return true;
  if (!(margin > 0)) return isBetter(next, prev, direction);
  const gain = direction === 'higher' ? next - prev : prev - next;
  return gain > margin + MARGIN_TOLERANCE * (Math.abs(prev) + Math.abs(next) + margin);
}

/** Relative rounding slack of improves() with a margin (far below any real gain or noise). */
export const MARGIN_TOLERANCE = 1e-9;

/** The better of two values; a NaN loses to any number. On a tie, `a`. */
export function betterOf(a: number, b: number, direction: Direction): number {
  return isBetter(b, a, direction) ? b : a;
}

/** Array.sort comparator, best first: negative when `a` is better than `b`, 0 on a tie; NaN sorts last. */
export function compareBestFirst(a: number, b: number, direction: Direction): number {
  return isBetter(a, b, direction) ? -1 : isBetter(b, a, direction) ? 1 : 0;
}

/**
 * Which value of the primary metric is a run's score (the setting `ideator.runScore`): 'last', the value printed
 * last (the model the script ends with; the default), or 'best', the best value printed during the run (the best
 * epoch, as with early stopping / checkpointing the best model). Every score a run is judged by (best so far, trends,
 * the plateau prompt, an idea's outcome, the Ideator's p_t) goes through runScore with the same choice.
 */
export const SCORE_CHOICES = ['last', 'best'] as const;
export type ScoreChoice = (typeof SCORE_CHOICES)[number];

/** Words for the UI: "last epoch" / "best epoch". */
export function describeScoreChoice(choice: ScoreChoice): string {
  return choice === 'best' ? 'best epoch' : 'last epoch';
}

/**
 * The run's score under `choice`. 'last' is `primary.value` (the last finite value printed). 'best' is the best value
 * the run printed for the primary metric: its Metric entry's `best` (the extractor keeps it in the primary's
 * direction, a configured direction included), else the best of its recorded series when the entry's direction
 * differs; never worse than the last value.
 */
export function runScore(primary: PrimaryScore, choice: ScoreChoice, metrics: readonly Metric[] = []): number {
  if (choice === 'last') return primary.value;
  const dir = primary.direction;
  let best = primary.value;
  const consider = (v: number) => {
    if (Number.isFinite(v) && isBetter(v, best, dir)) best = v;
  };
  const m = metrics.find((x) => x.name === primary.name);
  if (m) {
    if (m.direction === dir) consider(m.best);
    else for (const v of m.series) consider(v);
  }
  return best;
}
