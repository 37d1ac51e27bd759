/**
 * p_t for task-graded states. A state's own score is usually what the agent's code printed (a validation metric),
 * while p_{t+1} is the task's grader on the new submission: comparing the two would reward ideas for the gap
 * between validation and test. So by default (`--baseline measure`) p_t is measured the same way — C_t run in the
 * same sandbox and graded by the same grader — once per (code, task, time limit), shared by the G ideas of a group
 * and persisted in the store. `--baseline state` trusts the state's score instead (when it already is a grader
 * score). States without a task are scored from printed metrics on both sides and always use the state's score.
 */
import type { IdeatorState } from '../../../src/core/protocol';
import { hashOf } from '../jobs/hash';
import type { JobStore } from '../jobs/store';
import type { Baseline, BaselineMode, BaselineQuery, BaselineSource } from './env';
import { runCode } from './runCode';

export class Baselines implements BaselineSource {
  private readonly inflight = new Map<string, Promise<Baseline>>();

  constructor(
    private readonly store: JobStore,
    readonly mode: BaselineMode = 'measure',
  ) {}

  static key(state: IdeatorState, codePath: string, task: string, timeoutSec: number | undefined): string {
    return hashOf({ v: 1, code: state.code, codePath, task, timeoutSec: timeoutSec ?? null });
  }

  /** p_t for this state; measures (once) when the mode says so and the state has a task. */
  async get(opts: BaselineQuery): Promise<Baseline> {
    const { state, ready } = opts;
    if (this.mode === 'state' || !ready) return { score: state.score.value, measured: false };
    const key = Baselines.key(state, opts.codePath, ready.task.id, opts.timeoutSec);
    const stored = this.store.getBaseline(key);
    if (stored) return { score: stored.score, error: stored.error ?? undefined, measured: true };
    let p = this.inflight.get(key);
    if (!p) {
      p = (async (): Promise<Baseline> => {
        const measured = await measureBaseline(opts, key);
        this.store.putBaseline(key, measured.score, measured.error);
        return measured;
      })();
      this.inflight.set(key, p);
      void p.then(
        () => this.inflight.delete(key),
        () => this.inflight.delete(key),
      );
    }
    return p;
  }
}

/**
 * One measurement of p_t: C_t run through the same sandbox and grader as the ideas. Shared by the store-backed
 * Baselines above and the cluster-wide ones of Redis workers (queue/redis/clusterBaselines.ts), so p_t is measured
 * the same way whoever measures it. Throws when the run was aborted.
 */
export async function measureBaseline(opts: BaselineQuery, key: string): Promise<Baseline> {
  if (!opts.ready) throw new Error('a baseline is measured only for task-graded states');
  const r = await runCode({
    code: opts.state.code,
    codePath: opts.codePath,
    tag: `base-${key.slice(0, 8)}`,
    state: opts.state,
    ready: opts.ready,
    timeoutSec: opts.timeoutSec,
    env: opts.env,
    slot: opts.slot,
    signal: opts.signal,
  });
  if (r.run.aborted) throw new Error('aborted');
  return { score: r.score, error: r.error, measured: true };
}
