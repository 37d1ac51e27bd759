/**
 * What the server and its remote workers say to each other through Redis (scale-out mode, `--redis URL`), and the
 * pure rules both sides apply. No Redis client here: names, schemas, timings and small decisions, unit-tested.
 *
 * Keys (all under the `ideator` prefix):
 * - BullMQ queue `ideator:ideas`: one job per idea run, jobId = the idea key (BullMQ refuses a second job with the
 *   same id while the first exists), data = IdeaJob; workers take them with concurrency = their slots.
 * - BullMQ queue `ideator:results`: one job per delivered execution, jobId = the idea key, data = ResultMessage;
 *   the server alone consumes it and writes SQLite once per idea (JobStore.completeRemote).
 * - `ideator:workers` (sorted set id → last heartbeat, ms) and `ideator:worker:<id>` (hash, expiring): the live
 *   workers, their slots and GPUs.
 * - `ideator:baseline:<key>` (p_t measured once for the whole cluster) and `ideator:baseline-lock:<key>` (who is
 *   measuring it now).
 * - `ideator:state:<ref>`: each state once (its canonical JSON; ref = its sha256), for as long as an idea job names
 *   it: `ideator:state-refs:<ref>` is the set of those ideas' keys (the server adds an idea when it queues it and
 *   removes it when it records its result; the last one out deletes both). Both expire after STATE_TTL_SEC without a
 *   new idea of the state, should a server lose its store.
 * - `ideator:run:<key>` (a finished run of identical implemented code, shared by every worker for RUN_CACHE_SEC) and
 *   `ideator:run-lock:<key>` (the worker running it now, with a lease it renews): rewards/runShare.ts' key.
 */
import { z } from 'zod';
import { MAX_BASELINE_SEEDS, MAX_NOISE_Z, RewardResultSchema, RewardSchemeSchema } from '../../../../src/core/protocol';
import { canonicalJson, sha256 } from '../../jobs/hash';
import type { ClusterSnapshot } from '../runtime';

/**
 * v2: an idea job names its state by reference (`stateRef`, the state itself once under `ideator:state:<ref>`)
 * instead of carrying it. Server and workers are upgraded together.
 * Bumped when a message changes incompatibly: a worker refuses jobs of another version (they wait for one that speaks
 * it). An optional field is a compatible change (zod drops keys it does not know, so older workers ignore it).
 */
export const PROTOCOL_VERSION = 2;

export const KEY_PREFIX = 'ideator';
export const IDEAS_QUEUE = 'ideas';
export const RESULTS_QUEUE = 'results';
export const WORKERS_KEY = `${KEY_PREFIX}:workers`;
export const workerKey = (id: string) => `${KEY_PREFIX}:worker:${id}`;
export const baselineKey = (key: string) => `${KEY_PREFIX}:baseline:${key}`;
export const baselineLockKey = (key: string) => `${KEY_PREFIX}:baseline-lock:${key}`;

export const stateKey = (ref: string) => `${KEY_PREFIX}:state:${ref}`;
export const stateRefsKey = (ref: string) => `${KEY_PREFIX}:state-refs:${ref}`;
export const runKey = (key: string) => `${KEY_PREFIX}:run:${key}`;
export const runLockKey = (key: string) => `${KEY_PREFIX}:run-lock:${key}`;

/** A state's keys live this long after its latest idea was queued (they normally go when its last idea is done). */
export const STATE_TTL_SEC = 7 * 24 * 3600;

/**
 * Drops idea ARGV[1] from the ideas naming state KEYS[1] (KEYS[2] = its refs set); the last one out deletes the state.
 * Returns 1 when the state was deleted.
 */
export const RELEASE_STATE_LUA = `redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) return 1 end
return 0`;

/** A state's text in Redis and its reference: canonical JSON (sorted keys) and the sha256 of that text. */
export function stateText(state: unknown): { ref: string; text: string } {
  const text = canonicalJson(state);
  return { ref: sha256(text), text };
}

/** The reason a worker fails an idea whose state is not in Redis (the server puts it back and queues the idea again). */
export const missingStateReason = (ref: string, why?: string) => (why ? `state ${ref} could not be read from Redis (${why})` : `state ${ref} is not in Redis`);
export const MISSING_STATE = /^state ([0-9a-f]{64}) (is not in|could not be read from) Redis/;

/** How long a finished run stays shared in Redis (duplicates come within a group, or from the next groups). */
export const RUN_CACHE_SEC = 6 * 3600;

/** How long a p_t measured by a worker stays cached in Redis (the server keeps it for good in SQLite). */
export const BASELINE_CACHE_SEC = 7 * 24 * 3600;

const BaselineValueSchema = z.object({
  key: z.string().min(1),
  score: z.number().nullable(),
  error: z.string().optional(),
  /** The k seeded scores p_t is the mean of (noise-aware reward; absent from older servers and workers). */
  scores: z.array(z.number().nullable()).optional(),
});
export type BaselineValue = z.infer<typeof BaselineValueSchema>;

/** The policy the server decides for every idea, whichever worker runs it: results must not depend on the worker. */
export const PolicySchema = z.object({
  baseline: z.enum(['measure', 'state']),
  defaultTimeoutSec: z.number().positive().optional(),
  maxTimeoutSec: z.number().positive().optional(),
});
export type Policy = z.infer<typeof PolicySchema>;

/** One idea run, as the server puts it on `ideator:ideas`. */
export const IdeaJobSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  key: z.string().min(1),
  seq: z.number().int(),
  /** sha256 of the state's canonical JSON, held once under `ideator:state:<ref>` (stateText). */
  stateRef: z.string().regex(/^[0-9a-f]{64}$/),
  raw: z.string(),
  scheme: RewardSchemeSchema,
  task: z.string().nullable(),
  /**
   * sha256 of the task's bundle on the server (GET /v1/tasks/:id/bundle): the worker runs the idea against that
   * exact bundle (its cache or a download). Absent (an older server, or a bundle the server could not make): the
   * worker resolves the task on its own machine.
   */
  taskHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  timeoutSec: z.number().nullable(),
  /** The request's baselineSeeds and noiseZ (absent: the task's, else the defaults). */
  baselineSeeds: z.number().int().min(1).max(MAX_BASELINE_SEEDS).optional(),
  noiseZ: z.number().min(0).max(MAX_NOISE_Z).optional(),
  policy: PolicySchema,
  /** p_t the server already has for this state (SQLite), so no worker measures it again. */
  baseline: BaselineValueSchema.optional(),
});
export type IdeaJob = z.infer<typeof IdeaJobSchema>;

export const IdeaOutcomeSchema = RewardResultSchema.omit({ index: true });

/** One finished execution, as a worker puts it on `ideator:results`. */
export const ResultMessageSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  key: z.string().min(1),
  outcome: IdeaOutcomeSchema,
  /** How many times the queue started this idea (1 + the times a worker running it was lost). */
  executions: z.number().int().positive(),
  worker: z.string(),
  /** p_t this execution measured (the server persists it). */
  baseline: BaselineValueSchema.optional(),
  /** The job's stateRef, so the server lets go of the state once the idea is recorded. */
  stateRef: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** The idea's run was another idea's run of the same code (clusterRunShare.ts): nothing was executed for it. */
  sharedRun: z.boolean().optional(),
});
export type ResultMessage = z.infer<typeof ResultMessageSchema>;

/** Executions of a BullMQ job so far: the current one plus each time its worker was lost (stalled). */
export function executionsOf(job: { stalledCounter?: number }): number {
  return 1 + Math.max(0, Math.floor(job.stalledCounter ?? 0));
}

/** A job BullMQ failed because its workers kept disappearing (the idea is abandoned, not retried forever). */
export function isStallFailure(failedReason: string | undefined): boolean {
  return /stalled more than allowable limit/i.test(failedReason ?? '');
}

export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

/** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Throws with a one-line reason. */
export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a URL: '${text}' (expected redis://HOST:PORT)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`expected redis:// or rediss://, got '${url.protocol}//'`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error(`no host in '${redactRedisUrl(text)}'`);
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new Error(`the path of a Redis URL is a database number, got '/${dbText}'`);
  return {
    host,
    port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: dbText ? Number(dbText) : 0,
    tls: url.protocol === 'rediss:',
  };
}

/** The URL with its password hidden, for logs and heartbeats. */
export function redactRedisUrl(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** ioredis options for a target: reconnect for ever with a short, capped back-off (a restarted Redis is found quickly). */
export function connectionOptions(t: RedisTarget, name: string): Record<string, unknown> {
  return {
    host: t.host,
    port: t.port,
    username: t.username,
    password: t.password,
    db: t.db,
    ...(t.tls ? { tls: {} } : {}),
    connectionName: name,
    // BullMQ requires this for its blocking connections; commands wait for the reconnection instead of failing.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
    connectTimeout: 5000,
  };
}

export interface Timings {
  /** BullMQ lock of an active idea job; a worker that stops renewing it is lost after this long. */
  lockMs: number;
  /** How often workers look for lost (stalled) idea jobs. */
  stalledIntervalMs: number;
  /** Worker heartbeat period, and how long its record lives without one. */
  heartbeatMs: number;
  workerTtlMs: number;
  /** The server's lease on the SQLite rows it dispatched (renewed while it runs). */
  dispatchLeaseMs: number;
}

/** Timings from the lease (`--lease-sec`, default 30 s): a lost worker's idea is redelivered within about 2–3 leases. */
export function timingsFor(leaseMs = 30_000): Timings {
  const lockMs = Math.max(1000, Math.round(leaseMs));
  const heartbeatMs = Math.min(5000, Math.max(500, Math.round(lockMs / 2)));
  return {
    lockMs,
    stalledIntervalMs: lockMs,
    heartbeatMs,
    workerTtlMs: Math.max(3 * heartbeatMs, 5000),
    dispatchLeaseMs: Math.max(10 * 60_000, 10 * lockMs),
  };
}

/** How many times BullMQ may put an idea back after losing its worker: the store's maxAttempts executions in all. */
export function maxStalledCountFor(maxAttempts = 3): number {
  return Math.max(0, Math.floor(maxAttempts) - 1);
}

/** A worker's heartbeat record (`ideator:worker:<id>`). */
export interface WorkerRecord {
  id: string;
  host: string;
  pid: number;
  slots: number;
  busy: number;
  gpus: string[];
  startedAt: number;
  seenAt: number;
  version: string;
  server: string;
}

export function encodeWorker(r: WorkerRecord): Record<string, string> {
  return {
    id: r.id,
    host: r.host,
    pid: String(r.pid),
    slots: String(r.slots),
    busy: String(r.busy),
    gpus: r.gpus.join(','),
    startedAt: String(r.startedAt),
    seenAt: String(r.seenAt),
    version: r.version,
    server: r.server,
  };
}

/** A record read back from Redis; undefined when it is gone (expired) or malformed. */
export function decodeWorker(h: Record<string, string> | null | undefined): WorkerRecord | undefined {
  if (!h || !h.id) return undefined;
  const int = (v: string | undefined) => {
    const n = Number(v);
    return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0;
  };
  return {
    id: h.id,
    host: h.host ?? '',
    pid: int(h.pid),
    slots: int(h.slots),
    busy: int(h.busy),
    gpus: h.gpus ? h.gpus.split(',').filter(Boolean) : [],
    startedAt: int(h.startedAt),
    seenAt: int(h.seenAt),
    version: h.version ?? '',
    server: h.server ?? '',
  };
}

/**
 * Live workers summed up for /metrics. A record is live while its key exists: each worker sets its own expiry
 * (Redis's clock, so clocks of the machines never enter).
 */
export function summarizeWorkers(records: (WorkerRecord | undefined)[]): Omit<ClusterSnapshot, 'duplicateResults' | 'sharedRuns' | 'redisUp'> {
  const live = records.filter((r): r is WorkerRecord => r !== undefined);
  return {
    workers: live.length,
    slots: live.reduce((a, r) => a + r.slots, 0),
    busy: live.reduce((a, r) => a + Math.min(r.busy, r.slots), 0),
  };
}

/** A fixed pool of slots (GPUs or CPU shares) handed out one per running job. */
export class SlotPool<T> {
  private readonly free: T[];

  constructor(slots: T[]) {
    this.free = [...slots];
  }

  get available(): number {
    return this.free.length;
  }

  /** A free slot; throws when none is free (the queue's concurrency equals the slot count, so one always is). */
  take(): T {
    const s = this.free.shift();
    if (s === undefined) throw new Error('no free slot: more jobs than slots');
    return s;
  }

  give(slot: T): void {
    this.free.push(slot);
  }
}

/** Runs a promise with a time limit; rejects with `what timed out` after ms. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Deletes a lock (KEYS[1]) only while its holder (ARGV[1]) still holds it. */
export const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Extends a lock (KEYS[1]) by ARGV[2] ms only while its holder (ARGV[1]) still holds it; 0 when it does not. */
export const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/** `p`, or a rejection with 'aborted' as soon as `signal` aborts. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Waits ms, or rejects with 'aborted' when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return abortable(new Promise<void>((r) => setTimeout(r, ms)), signal);
}
