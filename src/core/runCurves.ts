/**
 * What the Score Chart's run view and the compare view show about one or two runs, without 'vscode' (unit-tested):
 *
 *   runCurves(run)              the run's metrics as per-epoch (or step / iteration) curves: metrics that differ
 *                               only by a train / validation prefix share a panel (train_loss with val_loss), each
 *                               line marked train, validation or other; the x axis is named after the counter the
 *                               run printed (epoch, step, iteration, round), else "value printed".
 *   seriesOrdinals(metric)      which printed value (1-based) each point of a stored, thinned series is.
 *   compareRuns(a, b, choice)   both runs' metrics side by side (last, best, their score under the choice, Δ).
 *
 * The stored series is the extractor's uniform sample (scores/series.ts): values 1, 1+s, 1+2s, ... and the last one.
 */
import { runFailed } from './runResults';
import { isBetter, runScore, type ScoreChoice } from './metric';
import type { Direction, Metric, Run } from './protocol';
import { isValidationName } from './scores/names';

/** Counters that can name the x axis, in order of preference. */
const AXES = ['epoch', 'step', 'iteration', 'round'] as const;
export type CurveAxis = (typeof AXES)[number] | 'value printed';

export type LineKind = 'validation' | 'train' | 'other';

export interface CurveLine {
  metric: string;
  kind: LineKind;
  /** [x, value] in print order. */
  points: [number, number][];
  last: number;
  best: number;
  count: number;
}

export interface CurvePanel {
  /** What the panel plots: the shared name ("loss" for train_loss + val_loss) or the metric's own name. */
  title: string;
  direction: Direction;
  lines: CurveLine[];
  /** The run's primary metric is one of the lines. */
  primary: boolean;
}

export interface RunCurves {
  axis: CurveAxis;
  panels: CurvePanel[];
}

/** Panels shown at most (primary first, then validation, then the rest), lines per panel at most. */
export const MAX_PANELS = 6;
const MAX_LINES = 4;

/** 1-based ordinal of each stored point among the values printed (`count`), undoing the series' thinning. */
export function seriesOrdinals(m: Pick<Metric, 'series' | 'count'>): number[] {
  const L = m.series.length;
  const C = Math.max(m.count, L);
  if (L === 0) return [];
  if (L === C) return m.series.map((_, i) => i + 1);
  // Find the stride s (a power of two) that gives this many points: values 0, s, 2s, ... (0-based) plus the last.
  for (let s = 2; s <= C; s *= 2) {
    const sampled = Math.floor((C - 1) / s) + 1;
    const withLast = sampled + ((C - 1) % s !== 0 ? 1 : 0);
    if (withLast === L) return m.series.map((_, i) => (i === L - 1 ? C : i * s + 1));
  }
  // Not a shape the extractor writes (hand-made record): spread evenly.
  return m.series.map((_, i) => (L === 1 ? C : 1 + Math.round((i * (C - 1)) / (L - 1))));
}

const COUNTER_RE = /\b(epoch|global_step|step|iteration|iter|round)\b\s*[:=#]?\s*(\d+)/i;
const AXIS_OF: Record<string, (typeof AXES)[number]> = { epoch: 'epoch', global_step: 'step', step: 'step', iteration: 'iteration', iter: 'iteration', round: 'round' };

/**
 * The counter the run printed ("Epoch 3/10", "epoch 3:", "step=200", "iteration: 50"; epoch preferred) and its first
 * and last values, read from the output kept (head and tail).
 */
export function runCounter(run: Pick<Run, 'outputHead' | 'outputTail'>): { axis: (typeof AXES)[number]; first: number; last: number } | null {
  const seen = new Map<(typeof AXES)[number], { first: number; last: number }>();
  for (const text of [run.outputHead, run.outputTail]) {
    for (const line of text.split('\n')) {
      const m = COUNTER_RE.exec(line);
      if (!m) continue;
      const axis = AXIS_OF[m[1].toLowerCase()];
      const v = Number(m[2]);
      const s = seen.get(axis);
      if (s) s.last = v;
      else seen.set(axis, { first: v, last: v });
    }
  }
  const axis = AXES.find((a) => seen.has(a));
  if (!axis) return null;
  const { first, last } = seen.get(axis)!;
  return { axis, first: Math.min(first, last), last };
}

/** "train_loss" / "val_loss" / "loss" → "loss"; names with no train/validation mark stay as they are. */
export function baseName(name: string): { base: string; kind: LineKind } {
  const m = /^(train(?:ing)?|trn|val(?:id(?:ation)?)?|eval(?:uation)?|test(?:ing)?|dev|holdout|cv|oof)(?:_\d+)?(?:[_\s.-]+)(.+)$/.exec(name);
  if (m) return { base: m[2], kind: /^(train|trn)/.test(m[1]) ? 'train' : 'validation' };
  const suffix = /^(.+?)(?:[_\s.-]+)(train(?:ing)?|val(?:id(?:ation)?)?|eval|test)$/.exec(name);
  if (suffix) return { base: suffix[1], kind: /^train/.test(suffix[2]) ? 'train' : 'validation' };
  return { base: name, kind: isValidationName(name) ? 'validation' : 'other' };
}

export function runCurves(run: Run): RunCurves {
  const counter = runCounter(run);
  const xOf = (m: Metric): number[] => {
    const ords = seriesOrdinals(m);
    const C = Math.max(m.count, m.series.length);
    if (!counter) return ords;
    const { first, last } = counter;
    // One value per counter value (the common per-epoch print): x is that counter value.
    if (C === last - first + 1) return ords.map((k) => first + k - 1);
    if (C === 1) return ords.map(() => last);
    // Several per epoch (per-step train loss) or fewer: spread over the counter's range.
    return ords.map((k) => first + ((k - 1) * (last - first)) / (C - 1));
  };
  const groups = new Map<string, CurvePanel>();
  for (const m of run.metrics) {
    if (m.series.length === 0) continue;
    const { base, kind } = baseName(m.name);
    const key = `${base}\u0000${m.direction}`;
    let panel = groups.get(key);
    if (!panel) groups.set(key, (panel = { title: base, direction: m.direction, lines: [], primary: false }));
    if (panel.lines.length >= MAX_LINES) continue;
    const xs = xOf(m);
    panel.lines.push({ metric: m.name, kind, points: m.series.map((v, i) => [xs[i], v]), last: m.last, best: m.best, count: m.count });
    if (m.name === run.primary?.name) panel.primary = true;
  }
  const rank = (p: CurvePanel) => (p.primary ? 0 : p.lines.some((l) => l.kind === 'validation') ? 1 : 2);
  const panels = [...groups.values()].sort((a, b) => rank(a) - rank(b)).slice(0, MAX_PANELS);
  // Validation first inside a panel (drawn last = on top is the renderer's business).
  for (const p of panels) {
    // Keras' "loss" beside "val_loss" (and "accuracy" beside "val_accuracy") is the training value.
    if (p.lines.some((l) => l.kind === 'validation')) for (const l of p.lines) if (l.kind === 'other' && l.metric === p.title) l.kind = 'train';
    p.lines.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'validation' ? -1 : b.kind === 'validation' ? 1 : 0));
    // A single-line panel titled by its own metric name, not a stripped one.
    if (p.lines.length === 1) p.title = p.lines[0].metric;
  }
  return { axis: counter?.axis ?? 'value printed', panels };
}

// ---------------------------------------------------------------------------------------------------------------
// Two runs side by side
// ---------------------------------------------------------------------------------------------------------------

export interface CompareMetricRow {
  name: string;
  direction: Direction;
  primary: boolean;
  a: { last: number; best: number } | null;
  b: { last: number; best: number } | null;
  /** b − a of the value the choice reads (last or best), when both runs have the metric. */
  delta: number | null;
  /** Which run is better on it under the choice: 'a', 'b', or null (tie / missing). */
  better: 'a' | 'b' | null;
}

export interface RunComparison {
  choice: ScoreChoice;
  metrics: CompareMetricRow[];
  /** The runs' scores (primary metric under the choice), null for a run without one or a failed run. */
  score: { a: number | null; b: number | null; name: string | null; delta: number | null; better: 'a' | 'b' | null };
  durationMs: { a: number | null; b: number | null };
  sameCode: boolean | null;
}

function durationOf(r: Run): number | null {
  const s = Date.parse(r.startedAt);
  const e = r.endedAt ? Date.parse(r.endedAt) : NaN;
  return Number.isFinite(s) && Number.isFinite(e) ? Math.max(0, e - s) : null;
}

/**
 * Runs `a` and `b` side by side. `a` and `b` are read as recorded or from the store: each metric's value under the
 * choice is its `last` or `best`; the score row uses runScore, the same definition the history judges by.
 */
export function compareRuns(a: Run, b: Run, choice: ScoreChoice): RunComparison {
  const pick = (m: Metric) => (choice === 'best' ? m.best : m.last);
  const names: string[] = [];
  for (const m of [...a.metrics, ...b.metrics]) if (!names.includes(m.name)) names.push(m.name);
  const primaryName = b.primary?.name ?? a.primary?.name ?? null;
  const metrics: CompareMetricRow[] = names.map((name) => {
    const ma = a.metrics.find((m) => m.name === name);
    const mb = b.metrics.find((m) => m.name === name);
    const direction = (mb ?? ma)!.direction;
    const delta = ma && mb ? pick(mb) - pick(ma) : null;
    const better = ma && mb ? (isBetter(pick(mb), pick(ma), direction) ? 'b' : isBetter(pick(ma), pick(mb), direction) ? 'a' : null) : null;
    return {
      name,
      direction,
      primary: name === primaryName,
      a: ma ? { last: ma.last, best: ma.best } : null,
      b: mb ? { last: mb.last, best: mb.best } : null,
      delta,
      better,
    };
  });
  metrics.sort((x, y) => Number(y.primary) - Number(x.primary));
  const scoreOf = (r: Run) => (r.primary && !runFailed(r) && (!primaryName || r.primary.name === primaryName) ? runScore(r.primary, choice, r.metrics) : null);
  const sa = scoreOf(a);
  const sb = scoreOf(b);
  const dir = (b.primary ?? a.primary)?.direction ?? 'higher';
  return {
    choice,
    metrics,
    score: {
      a: sa,
      b: sb,
      name: primaryName,
      delta: sa !== null && sb !== null ? sb - sa : null,
      better: sa !== null && sb !== null ? (isBetter(sb, sa, dir) ? 'b' : isBetter(sa, sb, dir) ? 'a' : null) : null,
    },
    durationMs: { a: durationOf(a), b: durationOf(b) },
    sameCode: a.code && b.code ? a.code.hash === b.code.hash : null,
  };
}
