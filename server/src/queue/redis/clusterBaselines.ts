/**
 * p_t measured once for the whole cluster. The embedded Baselines (rewards/baseline.ts) dedupe through SQLite;
 * remote workers share no store, so they dedupe through Redis: the first worker that needs p_t takes a lock
 * (`SET ideator:baseline-lock:<key> <worker> NX PX …`, renewed while it measures), measures with the same
 * measureBaseline() as the embedded server, and caches the value under `ideator:baseline:<key>`; every other worker
 * waits for that value. A holder that dies lets its lock expire and the next waiter measures. The value also goes
 * back to the server with the idea's result (ResultMessage.baseline) and is kept for good in SQLite, which hands
 * it to later jobs of the same state (IdeaJob.baseline) so no worker measures it again.
 */
import type { Redis } from 'ioredis';
import { Baselines, measureBaseline, measuresBaseline } from '../../rewards/baseline';
import type { Baseline, BaselineMode, BaselineQuery, BaselineSource } from '../../rewards/env';
import { abortable, BASELINE_CACHE_SEC, baselineKey, baselineLockKey, RELEASE_LUA, RENEW_LUA, sleep, type BaselineValue } from './protocol';

const LOCK_MS = 30_000;
const WAIT_POLL_MS = 300;

/** One worker's access to the cluster's baselines. */
export class ClusterBaselines {
  private readonly inflight = new Map<string, Promise<BaselineValue>>();

  constructor(
    private readonly redis: Redis,
    /** This worker's id: the lock's value. */
    private readonly owner: string,
    private readonly log?: (m: string) => void,
  ) {}

  /** p_t of `key`: the cached value, the one another worker is measuring, or measured here. */
  get(key: string, q: BaselineQuery): Promise<BaselineValue> {
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchOrMeasure(key, q);
      this.inflight.set(key, p);
      void p.then(
        () => this.inflight.delete(key),
        () => this.inflight.delete(key),
      );
    }
    return abortable(p, q.signal);
  }

  private async cached(key: string, signal: AbortSignal | undefined): Promise<BaselineValue | undefined> {
    const text = await abortable(this.redis.get(baselineKey(key)), signal);
    if (!text) return undefined;
    try {
      const v = JSON.parse(text) as { score: unknown; error?: unknown; scores?: unknown };
      if (v.score !== null && typeof v.score !== 'number') return undefined;
      const scores = Array.isArray(v.scores) && v.scores.every((x) => x === null || typeof x === 'number') ? (v.scores as (number | null)[]) : undefined;
      return { key, score: v.score, ...(typeof v.error === 'string' ? { error: v.error } : {}), ...(scores ? { scores } : {}) };
    } catch {
      return undefined;
    }
  }

  private async fetchOrMeasure(key: string, q: BaselineQuery): Promise<BaselineValue> {
    let waited = false;
    for (;;) {
      const hit = await this.cached(key, q.signal);
      if (hit) return hit;
      const got = await abortable(this.redis.set(baselineLockKey(key), this.owner, 'PX', LOCK_MS, 'NX'), q.signal);
      if (got === 'OK') return this.measure(key, q);
      if (!waited) this.log?.(`p_t ${key.slice(0, 10)}: measured by another worker, waiting for it`);
      waited = true;
      await sleep(WAIT_POLL_MS, q.signal);
    }
  }

  private async measure(key: string, q: BaselineQuery): Promise<BaselineValue> {
    const lock = baselineLockKey(key);
    this.log?.(`p_t ${key.slice(0, 10)}: measuring it for the cluster`);
    const renew = setInterval(() => {
      this.redis.eval(RENEW_LUA, 1, lock, this.owner, String(LOCK_MS)).catch(() => undefined);
    }, LOCK_MS / 3);
    try {
      const b = await measureBaseline(q, key);
      const value: BaselineValue = { key, score: b.score, ...(b.error ? { error: b.error } : {}), ...(b.scores ? { scores: b.scores } : {}) };
      await this.redis.set(baselineKey(key), JSON.stringify({ score: value.score, error: value.error, scores: value.scores }), 'EX', BASELINE_CACHE_SEC);
      return value;
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE_LUA, 1, lock, this.owner).catch(() => undefined);
    }
  }
}

/**
 * The BaselineSource of one idea job: the server's policy (measure or state), the value the server already had
 * (IdeaJob.baseline), else the cluster's. Remembers the value used, for the result message.
 */
export class JobBaselines implements BaselineSource {
  used: BaselineValue | undefined;

  constructor(
    readonly mode: BaselineMode,
    private readonly cluster: ClusterBaselines,
    private readonly known: BaselineValue | undefined,
  ) {}

  async get(q: BaselineQuery): Promise<Baseline> {
    if (!measuresBaseline(this.mode, q)) return { score: q.state.score.value, measured: false };
    const key = Baselines.keyOf(q);
    const v = this.known?.key === key ? this.known : await this.cluster.get(key, q);
    this.used = v;
    return { score: v.score, ...(v.error ? { error: v.error } : {}), measured: true, scores: v.scores ?? [v.score] };
  }
}
