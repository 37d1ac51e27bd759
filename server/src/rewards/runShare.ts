/**
 * Identical implemented code is executed once (issue #13): a collapsed policy proposes the same change many times,
 * and ideas whose implementation yields the same C_{t+1} on the same task, with the same time limit and the same
 * way of reading its score, get the same run. The first idea runs it; one that arrives while it runs waits for it;
 * later ones take the result at once. A run cut short by a cancellation is not shared (the next idea runs again).
 * Per process (the embedded server runs every idea in one; each Redis worker keeps its own), bounded in size.
 */
import { hashOf } from '../jobs/hash';
import type { CodeRun } from './runCode';

/** Finished runs kept for reuse (oldest dropped first). */
const KEEP = 512;

export class RunShare {
  private readonly runs = new Map<string, Promise<CodeRun>>();
  /** Ideas answered from another idea's run, since this process started. */
  shared = 0;

  static key(o: { code: string; codePath: string; task: string | undefined; timeoutSec: number | undefined; metric: string | undefined; direction: string }): string {
    return hashOf({ v: 1, code: o.code, codePath: o.codePath, task: o.task ?? null, timeoutSec: o.timeoutSec ?? null, metric: o.metric ?? null, direction: o.direction });
  }

  /** The run of `key`: shared when there is one (running or done), else `start()`ed here. */
  async run(key: string, start: () => Promise<CodeRun>): Promise<CodeRun> {
    const existing = this.runs.get(key);
    if (existing) {
      const r = await existing;
      if (!r.run.aborted) {
        this.shared++;
        return r;
      }
    }
    const p = start();
    this.runs.set(key, p);
    const r = await p.catch((err: unknown) => {
      this.runs.delete(key);
      throw err;
    });
    if (r.run.aborted) this.runs.delete(key);
    else {
      // Refresh its place, then trim the oldest.
      this.runs.delete(key);
      this.runs.set(key, p);
      for (const k of this.runs.keys()) {
        if (this.runs.size <= KEEP) break;
        this.runs.delete(k);
      }
    }
    return r;
  }
}
