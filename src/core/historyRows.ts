/**
 * What the Run History tree and the score chart show, computed from the history without 'vscode' (unit-tested):
 * per run its number, its trend against the best score so far (▲ new best, ▼ worse, = tie), the idea it followed
 * and that idea's outcome; plus per idea type the success rate for the idea panel.
 */
import { runFailed } from './runResults';
import { classifyByKeywords, typeStats, type TypeStat } from './ideaTypes';
import { formatScore } from './format';
import { isBetter } from './metric';
import type { IdeaRecord, Outcome, Run } from './protocol';

export type Trend = 'new-best' | 'worse' | 'tie' | 'none';

export interface RunRow {
  run: Run;
  /** 1-based position, oldest first: the number shown as #N. */
  n: number;
  trend: Trend;
  /** Best score before this run (same metric), null when none. */
  bestBefore: number | null;
  /** Best score including this run, for the best-so-far line. */
  bestAfter: number | null;
  /** This run holds the current best. */
  isBest: boolean;
  durationMs: number | null;
  idea?: IdeaRecord;
  outcome?: Outcome;
}

export interface HistoryView {
  runs: readonly Run[];
  ideas: readonly IdeaRecord[];
  outcomes: readonly Outcome[];
  baselineId?: string | null;
}

/** Rows oldest -> newest. Trends start at the baseline; before it they are 'none'. */
export function buildRunRows(h: HistoryView): RunRow[] {
  const ideas = new Map(h.ideas.map((i) => [i.id, i]));
  const outcomes = new Map(h.outcomes.map((o) => [o.ideaId, o]));
  const baselineAt = h.baselineId ? h.runs.findIndex((r) => r.id === h.baselineId) : -1;
  // The metric judged is the newest scored run's (the same rule as bestOf).
  const metric = [...h.runs].reverse().find((r) => r.primary && !runFailed(r))?.primary?.name;
  let best: { value: number; id: string } | null = null;
  const rows: RunRow[] = h.runs.map((run, i) => {
    const inWindow = i >= Math.max(0, baselineAt);
    const p = run.primary;
    const comparable = inWindow && !!p && !runFailed(run) && p.name === metric;
    const bestBefore: number | null = inWindow ? (best?.value ?? null) : null;
    let trend: Trend = 'none';
    if (comparable) {
      if (!best || isBetter(p!.value, best.value, p!.direction)) {
        trend = 'new-best';
        best = { value: p!.value, id: run.id };
      } else {
        trend = p!.value === best.value ? 'tie' : 'worse';
      }
    } else if (inWindow && run.endedAt && (runFailed(run) || !p) && best) {
      trend = 'worse';
    }
    const start = Date.parse(run.startedAt);
    const end = run.endedAt ? Date.parse(run.endedAt) : NaN;
    return {
      run,
      n: i + 1,
      trend,
      bestBefore,
      bestAfter: inWindow ? ((best as { value: number } | null)?.value ?? null) : null,
      isBest: false,
      durationMs: Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null,
      idea: run.ideaId ? ideas.get(run.ideaId) : undefined,
      outcome: run.ideaId ? outcomes.get(run.ideaId) : undefined,
    };
  });
  const bestId = (best as { id: string } | null)?.id;
  for (const r of rows) r.isBest = r.run.id === bestId;
  return rows;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export { formatDelta, formatScore } from './format';

/**
 * An idea's outcome in plain words, the verdict first: "Improved: val_auc 0.912 → 0.931", "No improvement: …",
 * "The run after it failed". For toasts, tooltips and the panel; no reward numbers.
 */
export function describeOutcome(o: Pick<Outcome, 'status' | 'before' | 'after'>, metric?: string): string {
  const score = (v: number | null) => (v === null ? 'no score' : formatScore(v));
  const change = `${metric ? `${metric} ` : ''}${score(o.before)} → ${score(o.after)}`;
  switch (o.status) {
    case 'improved':
      return `Improved: ${change}`;
    case 'not_improved':
      return `No improvement: ${change}`;
    case 'exec_failed':
      return `The run after it failed (best stays ${score(o.before)})`;
    case 'timeout':
      return `The run after it ran out of time (best stays ${score(o.before)})`;
    case 'format_error':
      return 'The answer could not be used';
  }
}

export type TypeRate = TypeStat;

/**
 * Per idea type: how many ideas were judged and how many improved the score, for the idea panel
 * ("Feature Engineering: 3/4 improved"). Ideas not yet classified are counted under their keyword type.
 */
export function ideaTypeSuccessRates(ideas: readonly IdeaRecord[], outcomes: readonly Outcome[]): TypeRate[] {
  const byIdea = new Map(outcomes.map((o) => [o.ideaId, o]));
  return typeStats(
    ideas.map((i) => {
      const o = byIdea.get(i.id);
      return { type: i.type ?? classifyByKeywords(i.parsed), improved: o ? o.status === 'improved' : null };
    }),
  );
}
