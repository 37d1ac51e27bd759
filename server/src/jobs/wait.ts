/**
 * Waiting for a job to finish. In-process workers announce completions through the store's 'completed' event;
 * workers in other processes (`ideator worker`) only write to SQLite, so a slow poll backs the event up.
 */
import type { Job } from '../../../src/core/protocol';
import type { JobStore } from './store';

export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up after this long and return the job as it is (still running). */
  timeoutMs?: number;
  pollMs?: number;
}

function finished(job: Job | undefined): boolean {
  return !job || job.status === 'done' || job.status === 'failed';
}

export async function waitForJob(store: JobStore, id: string, opts: WaitOptions = {}): Promise<Job | undefined> {
  let job = store.getJob(id);
  if (finished(job)) return job;
  const pollMs = opts.pollMs ?? 500;
  return new Promise<Job | undefined>((resolve) => {
    let settled = false;
    const check = () => {
      if (settled) return;
      job = store.getJob(id);
      if (finished(job)) settle();
    };
    const settle = () => {
      if (settled) return;
      settled = true;
      store.off('completed', check);
      clearInterval(poll);
      if (deadline) clearTimeout(deadline);
      opts.signal?.removeEventListener('abort', settle);
      resolve(store.getJob(id));
    };
    store.on('completed', check);
    const poll = setInterval(check, pollMs);
    const deadline = opts.timeoutMs !== undefined ? setTimeout(settle, opts.timeoutMs) : undefined;
    opts.signal?.addEventListener('abort', settle);
  });
}
