/**
 * Closing the loop: the first completed run after an idea was applied is compared, direction-aware, with p_t (the
 * score before the idea) and becomes the idea's Outcome: reward +1 when it improved, 0 when it did not or the run
 * failed (the paper's Eq. 1, computed by rewards.ts so the extension and the reward server agree).
 *
 * API
 *   judgeOutcome({ ideaId, run, before, direction?, now? })   -> Outcome          pure
 *   scoreBeforeIdea(idea, applied, runs)                      -> ScoreState | null  p_t for an applied idea
 *   recordCompletedRun(store, run, now?)                      -> { run, outcome? }  appends both to the history
 */
import type { HistoryStore, AppliedEdit } from './history';
import { newestScore, runFailed } from './runResults';
import type { Direction, IdeaRecord, Outcome, Run, ScoreState } from './protocol';
import { outcomeStatus, paperReward } from './rewards';

export function judgeOutcome(input: {
  ideaId: string;
  run: Run;
  before: ScoreState | null;
  now?: () => Date;
}): Outcome {
  const { run, before } = input;
  // Compare like with like: a score under another metric name than p_t's is not comparable -> not improved.
  const comparable = !before?.metric || !run.primary || run.primary.name === before.metric;
  const direction: Direction = before?.direction ?? run.primary?.direction ?? 'higher';
  const after = run.primary && comparable ? run.primary.value : null;
  const failed = runFailed(run) || run.primary === null;
  const beforeValue = before?.value ?? null;
  const status = !comparable ? 'not_improved' : outcomeStatus({ formatOk: true, failed, before: beforeValue, after, direction });
  return {
    ideaId: input.ideaId,
    runId: run.id,
    before: beforeValue,
    after: run.primary?.value ?? null,
    direction,
    status,
    reward: paperReward({ status, before: beforeValue, after, direction }),
    recordedAt: (input.now?.() ?? new Date()).toISOString(),
  };
}

/**
 * p_t for an applied idea: the score the idea was asked at (recorded on the idea), else the newest completed,
 * non-failed scored run before the edit was applied — the current solution's score (paper: "the solution
 * performance before the idea").
 */
export function scoreBeforeIdea(idea: IdeaRecord | undefined, applied: AppliedEdit, runs: readonly Run[]): ScoreState | null {
  if (idea?.scoreBefore) return idea.scoreBefore;
  return newestScore(runs, (r) => (r.endedAt ?? r.startedAt) <= applied.at) ?? null;
}

/**
 * Stores a completed run; when an applied idea is waiting and the run started after the edit, the run is tagged
 * with the idea and its outcome is recorded. Runs that started before the edit was applied do not judge it.
 */
export function recordCompletedRun(store: HistoryStore, run: Run, now?: () => Date): { run: Run; outcome?: Outcome } {
  const pending = store.pendingIdea();
  if (!pending || run.startedAt < pending.applied.at || !run.endedAt) return { run: store.appendRun(run) };
  const before = scoreBeforeIdea(pending.idea, pending.applied, store.runs());
  const tagged = store.appendRun({ ...run, ideaId: pending.applied.ideaId });
  const outcome = judgeOutcome({ ideaId: pending.applied.ideaId, run: tagged, before, now });
  store.appendOutcome(outcome);
  return { run: tagged, outcome };
}
