/**
 * Turning a validated RewardRequest into a stored job: the task is resolved here, once, so the stored request says
 * exactly what will run. An explicitly named task must exist on this server (else UnknownTaskError → 400
 * `unknown_task`); a state's own taskId is used when the server has that task. When no task resolves (no `task`,
 * and the state names none or one this server has no grader for — an extension workspace name, say), the ideas
 * could only be scored from the metric the run PRINTS, which the code under test can forge (`print('score: 999')`):
 * that is refused (NoGraderError → 400 `no_grader`) unless the request opts in with `allowPrintedScore: true`, and
 * then every outcome carries `selfReported: true`. Ideas failing the format check are settled here, at once.
 */
import type { Job, RewardRequest } from '../../../src/core/protocol';
import type { JobStore } from '../jobs/store';
import { formatErrorOutcome } from './evaluate';
import type { TaskCatalog } from './taskCatalog';

export class UnknownTaskError extends Error {
  constructor(readonly task: string) {
    super(`unknown task '${task}': not among this server's tasks`);
    this.name = 'UnknownTaskError';
  }
}

/** No task of this server grades the request's state, and the request did not allow printed scores. */
export class NoGraderError extends Error {
  constructor(
    /** The state's taskId, or undefined when it names none. */
    readonly task: string | undefined,
    /** How to opt in, as the caller spells it (the HTTP field by default; the CLI passes its flag). */
    optIn = 'set allowPrintedScore: true',
    nameTask = 'name one of its tasks in `task`',
  ) {
    super(
      `${task === undefined ? 'the state names no task (state.taskId) and the request names none' : `task '${task}' has no grader on this server`}: ` +
        `${nameTask}, or ${optIn} to score ideas by the metric the run prints (self-reported, forgeable)`,
    );
    this.name = 'NoGraderError';
  }
}

/** The server task the request runs against, or undefined when the ideas are scored from printed metrics. */
export function resolveTask(request: RewardRequest, catalog: TaskCatalog): string | undefined {
  if (request.task !== undefined) {
    if (!catalog.has(request.task)) throw new UnknownTaskError(request.task);
    return request.task;
  }
  const own = request.state.taskId;
  if (own !== undefined && catalog.has(own)) return own;
  if (request.allowPrintedScore !== true) throw new NoGraderError(own);
  return undefined;
}

/** `maxQueued`: the queue-depth limit; a request that would pass it throws QueueFullError (HTTP 429). */
export function submitRewardJob(store: JobStore, catalog: TaskCatalog, request: RewardRequest, opts: { maxQueued?: number } = {}): { job: Job; created: boolean } {
  const task = resolveTask(request, catalog);
  const selfReported = task === undefined;
  return store.submit({ ...request, task }, { settle: (raw) => formatErrorOutcome(request.state, raw, request.scheme, selfReported), maxQueued: opts.maxQueued });
}
