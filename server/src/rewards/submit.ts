/**
 * Turning a validated RewardRequest into a stored job: the task is resolved here, once, so the stored request says
 * exactly what will run. An explicitly named task must exist on this server; a state's own taskId is used when the
 * server has that task and ignored otherwise (an extension workspace name is not a server task: such ideas are
 * scored from the run's printed metric instead). Ideas failing the format check are settled here, at once.
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

export function resolveTask(request: RewardRequest, catalog: TaskCatalog): string | undefined {
  if (request.task !== undefined) {
    if (!catalog.has(request.task)) throw new UnknownTaskError(request.task);
    return request.task;
  }
  const own = request.state.taskId;
  return own !== undefined && catalog.has(own) ? own : undefined;
}

export function submitRewardJob(store: JobStore, catalog: TaskCatalog, request: RewardRequest): { job: Job; created: boolean } {
  const task = resolveTask(request, catalog);
  return store.submit({ ...request, task }, { settle: (raw) => formatErrorOutcome(request.state, raw, request.scheme) });
}
