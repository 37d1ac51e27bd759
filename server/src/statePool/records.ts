/**
 * The state pool as records: every seek-help state the bench recorded, with the idea it got and what happened
 * next, turned into the shapes trainers and the reward server read. One JSONL line is core/export's ExportLine
 * ({state, idea, outcome, ideaId, ideaType}) plus where it came from; the reward server accepts `state` as is.
 */
import type { TrajectoryMode } from '../../../src/core/compact';
import { buildIdeatorPrompt } from '../../../src/core/promptCost';
import { paperReward } from '../../../src/core/rewards';
import { ExportLineSchema, type ExportLine } from '../../../src/core/export';
import { IdeaTypeSchema, type Outcome, type RewardStatus } from '../../../src/core/protocol';
import type { PoolRow } from '../dualAgent/benchStore';

export interface PoolRecord extends ExportLine {
  task: string;
  config: string;
  runId: string;
  stepIdx: number;
}

/** Outcome in normalized-score units (always higher-is-better); null while the idea was never judged. */
export function poolOutcome(row: PoolRow): Outcome | null {
  if (row.improved === null) return null;
  const status: RewardStatus = !row.ideaOk ? 'format_error' : row.improved ? 'improved' : row.after === null ? 'exec_failed' : 'not_improved';
  return {
    ideaId: row.id,
    runId: row.runId,
    before: row.before,
    after: row.after,
    direction: 'higher',
    status,
    reward: paperReward({ status, before: row.before, after: row.after, direction: 'higher' }),
    recordedAt: row.createdAt,
  };
}

export function poolRecord(row: PoolRow): PoolRecord {
  const type = IdeaTypeSchema.safeParse(row.ideaType);
  const line = ExportLineSchema.parse({
    state: row.state,
    idea: row.ideaRaw,
    outcome: poolOutcome(row),
    ideaId: row.id,
    ideaType: type.success ? type.data : undefined,
  });
  return { ...line, task: row.task, config: row.config, runId: row.runId, stepIdx: row.stepIdx };
}

/**
 * The Ideator prompt of a record's state, as chat messages: the prompt column of every trainer format. The trajectory
 * is rendered in full unless `trajectoryMode` says compact (the exports' --trajectory).
 */
export function promptOf(r: PoolRecord, opts: { budgetTokens?: number; promptsDir?: string; trajectoryMode?: TrajectoryMode } = {}): { role: string; content: string }[] {
  const { messages } = buildIdeatorPrompt(r.state, { budgetTokens: opts.budgetTokens, overrideDir: opts.promptsDir, trajectoryMode: opts.trajectoryMode ?? 'full' });
  return messages.map((m) => ({ role: m.role, content: m.content }));
}

/** The state, the idea it got and what happened next: the same columns in every trainer format. */
export function outcomeColumns(r: PoolRecord) {
  return {
    state: JSON.stringify(r.state),
    idea: r.idea,
    idea_type: r.ideaType ?? null,
    score_before: r.outcome?.before ?? null,
    score_after: r.outcome?.after ?? null,
    reward: r.outcome?.reward ?? null,
  };
}
