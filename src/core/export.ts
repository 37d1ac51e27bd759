/**
 * "Export States for Training": every seek-help moment in this workspace's run history becomes one JSONL line
 * {state, idea, outcome} where `state` is the server's IdeatorState (task, trajectory up to the question, p_t,
 * code C_t), `idea` is the raw Ideator answer and `outcome` what the next run showed (null when never judged).
 * Trainers and the server's `collect`/state pools read the same format.
 *
 * API
 *   ExportLineSchema / type ExportLine
 *   buildExportLines(history, opts)   -> ExportLine[]     pure
 *   exportStatesJsonl(store, opts)    -> { text, count }  from a HistoryStore
 */
import { z } from 'zod';
import type { HistoryStore } from './history';
import { buildTrajectory } from './historyTrajectory';
import { newestScore } from './runResults';
import {
  IdeaTypeSchema,
  IdeatorStateSchema,
  OutcomeSchema,
  type IdeaRecord,
  type IdeatorState,
  type Outcome,
  type Run,
  type ScoreState,
} from './protocol';

export const ExportLineSchema = z.object({
  state: IdeatorStateSchema,
  /** The Ideator's raw answer (ANALYSIS / ACTION / RATIONALE). */
  idea: z.string(),
  outcome: OutcomeSchema.nullable(),
  ideaId: z.string(),
  ideaType: IdeaTypeSchema.optional(),
});
export type ExportLine = z.infer<typeof ExportLineSchema>;

export interface ExportHistory {
  runs: readonly Run[];
  ideas: readonly IdeaRecord[];
  outcomes: readonly Outcome[];
  /** Full code for a hash (runs omit content when unchanged). */
  codeContent?: (hash: string) => string | undefined;
}

export interface ExportOptions {
  taskDescription: string;
  taskId?: string;
  /** Also export ideas whose outcome is unknown (default false: a training line needs a label). */
  includeUnjudged?: boolean;
  maxObservationChars?: number;
}

function scoreAt(idea: IdeaRecord, before: readonly Run[]): ScoreState {
  return idea.scoreBefore ?? newestScore(before) ?? { value: null, direction: 'higher' };
}

export function buildExportLines(history: ExportHistory, opts: ExportOptions): ExportLine[] {
  const lines: ExportLine[] = [];
  for (const idea of history.ideas) {
    const outcome = history.outcomes.find((o) => o.ideaId === idea.id) ?? null;
    if (!outcome && !opts.includeUnjudged) continue;
    const before = history.runs.filter((r) => r.startedAt < idea.createdAt);
    // C_t: the code of the run the idea was asked from, else of the newest earlier run that recorded code.
    const from = (idea.runId && history.runs.find((r) => r.id === idea.runId)) || [...before].reverse().find((r) => r.code);
    const code = from?.code;
    const content = code ? (code.content ?? history.codeContent?.(code.hash) ?? '') : '';
    const state: IdeatorState = IdeatorStateSchema.parse({
      id: `state-${idea.id}`,
      taskId: opts.taskId,
      taskDescription: opts.taskDescription,
      trajectory: buildTrajectory(history.runs, history.ideas, { until: idea.createdAt, maxObservationChars: opts.maxObservationChars }),
      score: scoreAt(idea, before),
      code: content,
      codePath: code?.path ?? idea.targetPath ?? 'solution.py',
      query: idea.query,
    });
    lines.push(ExportLineSchema.parse({ state, idea: idea.raw, outcome, ideaId: idea.id, ideaType: idea.type }));
  }
  return lines;
}

export function exportStatesJsonl(store: HistoryStore, opts: ExportOptions): { text: string; count: number } {
  const lines = buildExportLines(
    { runs: store.runs(), ideas: store.ideas(), outcomes: store.outcomes(), codeContent: (h) => store.codeContent(h) },
    opts,
  );
  return { text: lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''), count: lines.length };
}
