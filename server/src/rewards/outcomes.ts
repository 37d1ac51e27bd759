/**
 * The outcome of an idea that produced no run to score: refused by the format check (−1 in the paper's scheme,
 * nothing executed), failed before or outside its run (a task that cannot be prepared, a server-side error), or
 * abandoned after its workers were lost too often. One builder; the reward comes from src/core/rewards.ts.
 */
import type { IdeatorState, RewardScheme } from '../../../src/core/protocol';
import { computeReward } from '../../../src/core/rewards';
import type { AbandonedIdea, IdeaOutcome } from '../jobs/store';

export function unrunOutcome(o: {
  state: IdeatorState;
  scheme: RewardScheme;
  status: 'exec_failed' | 'format_error';
  error: string;
  formatErrors?: string[];
  /** The job is scored from printed metrics (no task): said on every idea of it. */
  selfReported: boolean;
}): IdeaOutcome {
  const { value, direction } = o.state.score;
  return {
    reward: computeReward(o.scheme, { status: o.status, before: value, after: null, direction }),
    status: o.status,
    scoreBefore: value,
    scoreAfter: null,
    durationMs: 0,
    outputTail: '',
    codeDiff: '',
    formatErrors: o.formatErrors ?? [],
    error: o.error,
    selfReported: o.selfReported,
    guardFlags: [],
    guard: [],
  };
}

/** A server-side failure while evaluating (a broken grader, a full disk): recorded so the job finishes and says why. */
export function internalFailureOutcome(idea: { state: IdeatorState; scheme: RewardScheme; task: string | undefined }, err: Error): IdeaOutcome {
  return unrunOutcome({ ...idea, status: 'exec_failed', error: `internal error: ${err.message}`, selfReported: idea.task === undefined });
}

/** An idea whose workers were lost `attempts` times (the store's maxAttempts): completed instead of retried forever. */
export function abandonedOutcome(idea: AbandonedIdea): IdeaOutcome {
  return unrunOutcome({
    state: idea.state,
    scheme: idea.scheme,
    status: 'exec_failed',
    error: `abandoned: the worker running it was lost ${idea.attempts} times`,
    selfReported: idea.task === undefined,
  });
}
