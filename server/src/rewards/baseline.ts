/**
 * p_t for task-graded states. A state's own score is usually what the agent's code printed (a validation metric),
 * while p_{t+1} is the task's grader on the new submission: comparing the two would reward ideas for the gap
 * between validation and test. So by default (`--baseline measure`) p_t is measured the same way — C_t run in the
 * same sandbox and graded by the same grader — once per (code, task content, time limit, k), shared by the G ideas
 * of a group and persisted in the store. `--baseline state` trusts the state's score instead (when it already is a
 * grader score). States without a task are scored from printed metrics on both sides and use the state's score.
 *
 * Noise-aware p_t (k = the request's baselineSeeds, else the task's, else 1): with k ≥ 2, C_t runs k times, run i
 * with IDEATOR_SEED=i and PYTHONHASHSEED=i, one after another in the slot of the idea that needs it first; p_t is
 * the mean of the valid scores and the k scores travel with it (core/rewards.ts baselineNoise turns them into the
 * noise threshold). k ≥ 2 is measured whatever the mode and with or without a task: the noise of C_t cannot be told
 * from one number. k = 1 is exactly the single unseeded run of before.
 *
 * The key names the task by its content (ReadyTask.contentKey: the server's bundle hash on a Redis worker, a
 * fingerprint of the same files here), so a task edited or re-prepared on the server is measured again; and it
 * names k (and how seeds are given), so a p_t measured once never answers a request for k seeds.
 */
import type { IdeatorState } from '../../../src/core/protocol';
import { baselineNoise } from '../../../src/core/rewards';
import { hashOf } from '../jobs/hash';
import type { JobStore } from '../jobs/store';
import type { Baseline, BaselineMode, BaselineQuery, BaselineSource } from './env';
import { runCode } from './runCode';

/** How the k runs of C_t are seeded (part of the key: a change of scheme measures again). */
export const SEED_SCHEME = 'IDEATOR_SEED=i,PYTHONHASHSEED=i;i=0..k-1';

export interface BaselineKeyParts {
  state: IdeatorState;
  codePath: string;
  /** The server task (undefined: printed-score state, measured only with k ≥ 2). */
  task: string | undefined;
  /** ReadyTask.contentKey of that task (undefined when it cannot be told: then the task id alone names it). */
  taskContent: string | undefined;
  timeoutSec: number | undefined;
  seeds: number;
}

/** Is p_t measured for this query (else the state's own score)? */
export function measuresBaseline(mode: BaselineMode, q: Pick<BaselineQuery, 'ready' | 'seeds'>): boolean {
  return q.seeds > 1 || (mode === 'measure' && q.ready !== undefined);
}

export class Baselines implements BaselineSource {
  private readonly inflight = new Map<string, Promise<Baseline>>();

  constructor(
    private readonly store: JobStore,
    readonly mode: BaselineMode = 'measure',
  ) {}

  static key(p: BaselineKeyParts): string {
    return hashOf({
      v: 2,
      code: p.state.code,
      codePath: p.codePath,
      task: p.task ?? null,
      taskContent: p.taskContent ?? null,
      // Without a task the score is the printed metric: which one, and its direction, decide it.
      ...(p.task === undefined ? { metric: p.state.score.metric ?? null, direction: p.state.score.direction } : {}),
      timeoutSec: p.timeoutSec ?? null,
      ...(p.seeds > 1 ? { seeds: p.seeds, seedScheme: SEED_SCHEME } : {}),
    });
  }

  /** The key of a query's p_t. */
  static keyOf(q: BaselineQuery): string {
    return Baselines.key({ state: q.state, codePath: q.codePath, task: q.ready?.task.id, taskContent: q.ready?.contentKey, timeoutSec: q.timeoutSec, seeds: q.seeds });
  }

  /** p_t for this state; measures (once) when the mode or k says so. */
  async get(opts: BaselineQuery): Promise<Baseline> {
    if (!measuresBaseline(this.mode, opts)) return { score: opts.state.score.value, measured: false };
    const key = Baselines.keyOf(opts);
    const stored = this.store.getBaseline(key);
    if (stored) return { score: stored.score, error: stored.error ?? undefined, measured: true, scores: stored.scores ?? [stored.score] };
    let p = this.inflight.get(key);
    if (!p) {
      p = (async (): Promise<Baseline> => {
        const measured = await measureBaseline(opts, key);
        this.store.putBaseline(key, measured.score, measured.error, measured.scores);
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
 * One measurement of p_t: C_t run k times through the same sandbox and grader as the ideas (k = 1: once, unseeded,
 * as before). Shared by the store-backed Baselines above and the cluster-wide ones of Redis workers
 * (queue/redis/clusterBaselines.ts), so p_t is measured the same way whoever measures it. Throws when a run was
 * aborted.
 */
export async function measureBaseline(opts: BaselineQuery, key: string): Promise<Baseline> {
  const k = Math.max(1, Math.floor(opts.seeds));
  const scores: (number | null)[] = [];
  let firstError: string | undefined;
  for (let i = 0; i < k; i++) {
    const r = await runCode({
      code: opts.state.code,
      codePath: opts.codePath,
      tag: k > 1 ? `base-${key.slice(0, 8)}-s${i}` : `base-${key.slice(0, 8)}`,
      state: opts.state,
      ready: opts.ready,
      timeoutSec: opts.timeoutSec,
      env: opts.env,
      slot: opts.slot,
      signal: opts.signal,
      ...(k > 1 ? { seed: i } : {}),
    });
    if (r.run.aborted) throw new Error('aborted');
    if (k === 1) return { score: r.score, error: r.error, measured: true, scores: [r.score] };
    scores.push(r.score);
    if (r.score === null && firstError === undefined) firstError = `seed ${i}: ${r.error ?? 'no score'}`;
  }
  const { mean } = baselineNoise(scores);
  return { score: mean, ...(mean === null ? { error: `none of the ${k} seeded runs of C_t gave a score (${firstError})` } : {}), measured: true, scores };
}
