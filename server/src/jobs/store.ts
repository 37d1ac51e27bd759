/**
 * The durable record of every reward job and idea run: SQLite (better-sqlite3, WAL) so that a server or worker
 * killed with SIGKILL loses nothing. Guarantees:
 * - idempotency: a job is keyed by the client's key, else by a hash of its content; an idea run is keyed by a hash
 *   of state + idea + scheme + task + timeout, so a retried request (or the same idea in another job) never runs
 *   twice;
 * - leases: a worker claims an idea with a lease it renews by heartbeat; only the lease holder can complete it,
 *   and completion happens once (status 'done' is final), so nothing is double-counted;
 * - resume: an idea whose lease expired — or whose owner process on this host is gone — is claimed again; after
 *   `maxAttempts` such losses it is completed as exec_failed instead of crashing workers forever.
 * Several processes (server + `ideator worker`s) may share one file; claims run in IMMEDIATE transactions.
 * Scale-out (`ideator serve --redis`): the server leases ideas to a `redis:` owner and hands them to a Redis queue;
 * remote results are recorded once per idea (completeRemote), whichever execution delivers first.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { aggregateDiversity, groupDiversity, type DiversityWindow } from '../../../src/core/collapse';
import {
  type GroupDiversity,
  IdeatorStateSchema,
  type IdeatorState,
  type Job,
  type JobStatus,
  type RewardRequest,
  type RewardResult,
  type RewardScheme,
} from '../../../src/core/protocol';
import { hashOf } from './hash';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema';

/** What a worker needs to run one idea. */
export interface IdeaWork {
  key: string;
  seq: number;
  state: IdeatorState;
  raw: string;
  scheme: RewardScheme;
  task: string | undefined;
  timeoutSec: number | undefined;
  /** The request's baselineSeeds (undefined: the task's, else 1). */
  baselineSeeds?: number;
  /** The request's noiseZ (undefined: the task's, else the default). */
  noiseZ?: number;
  /** 1 on the first claim; higher when resumed after a lost lease. */
  attempts: number;
  /** Expected run time from runs of the same state, else of the same task (UNKNOWN_DURATION_MS when none ran). */
  expectedMs: number;
}

/** A finished idea run: the per-idea part of RewardResult (the index belongs to the job). */
export type IdeaOutcome = Omit<RewardResult, 'index'>;

/** The queue is at its depth limit (`ideator serve --max-queued`): the request is refused, not stored (HTTP 429). */
export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly incoming: number,
    readonly limit: number,
  ) {
    super(`the queue holds ${queued} idea(s) waiting to run and this request adds ${incoming} (limit ${limit})`);
    this.name = 'QueueFullError';
  }
}

export class IdempotencyConflictError extends Error {
  constructor(key: string) {
    super(`idempotency key '${key}' was already used for a different request`);
    this.name = 'IdempotencyConflictError';
  }
}

/** An idea whose workers were lost too often, as the store hands it to `StoreOptions.abandoned`. */
export interface AbandonedIdea {
  state: IdeatorState;
  scheme: RewardScheme;
  task: string | undefined;
  attempts: number;
}

export interface StoreOptions {
  /** How many lost leases an idea survives before it is completed with `abandoned`'s outcome. */
  maxAttempts?: number;
  /** The outcome of such an idea (rewards/outcomes.ts): the store records outcomes, it never computes rewards. */
  abandoned: (idea: AbandonedIdea) => IdeaOutcome;
  /** Which waiting idea runs next: the longest expected (default) or the oldest. */
  order?: QueueOrder;
  /**
   * Checkpoint the WAL on a timer instead of inside whichever commit crosses SQLite's 1000-page threshold: that
   * commit — often a client waiting for its job id — would otherwise pay for the whole checkpoint.
   */
  checkpointIntervalMs?: number;
}

export interface StoreCounts {
  queued: number;
  running: number;
  done: number;
  jobs: number;
}

interface IdeaRow {
  seq: number;
  key: string;
  state_hash: string;
  raw: string;
  scheme: string;
  task: string | null;
  timeout_sec: number | null;
  baseline_seeds?: number | null;
  noise_z?: number | null;
  status: string;
  attempts: number;
  lease_owner: string | null;
  lease_expires: number | null;
  result: string | null;
  expected_ms?: number;
}

interface JobRow {
  id: string;
  idem_key: string;
  request_hash: string;
  kind: 'reward' | 'bench';
  total: number;
  created_at: number;
  updated_at: number;
  error: string | null;
}

/** The request's noise settings as they enter a content hash: only those it sets (so older keys stay the same). */
function noiseParts(o: { baselineSeeds?: number; noiseZ?: number }): { baselineSeeds?: number; noiseZ?: number } {
  return { ...(o.baselineSeeds !== undefined ? { baselineSeeds: o.baselineSeeds } : {}), ...(o.noiseZ !== undefined ? { noiseZ: o.noiseZ } : {}) };
}

/** A process-unique lease owner id; the host and pid let a restarted process see that the old owner is gone. */
export function newOwnerId(label = 'w'): string {
  return `${hostname()}:${process.pid}:${label}-${randomUUID().slice(0, 8)}`;
}

/** True when the owner id names a process on this host that no longer exists. */
export function ownerIsDead(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The expected run time of an idea nothing like it has run yet: longer than any real one, so unknown ideas go first
 * (they get measured early, and a long unknown one does not end up last — longest-expected-first).
 */
export const UNKNOWN_DURATION_MS = 2 ** 40;
/** `longest-first`: by expected run time (learned per state, then per task), unknown first; `fifo`: submission order. */
export type QueueOrder = 'longest-first' | 'fifo';

/** Running means weigh the last ~this many runs. */
const DURATION_WINDOW = 50;
/** Finished jobs whose collapse figures are kept in memory (a done job's figures never change). */
const DIVERSITY_CACHE = 512;

export class JobStore extends EventEmitter {
  readonly db: Database.Database;
  private readonly maxAttempts: number;
  private readonly abandoned: (idea: AbandonedIdea) => IdeaOutcome;
  private readonly nextSql: string;
  private readonly checkpointTimer: NodeJS.Timeout | undefined;
  private readonly diversityCache = new Map<string, GroupDiversity>();

  constructor(
    readonly path: string,
    opts: StoreOptions,
  ) {
    super();
    this.maxAttempts = opts.maxAttempts ?? 3;
    this.abandoned = opts.abandoned;
    this.nextSql = opts.order === 'fifo' ? 'ORDER BY seq' : 'ORDER BY expected_ms DESC, seq';
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA_SQL);
    // Stores from before duration-aware scheduling: add the column (unknown = longest, so first) and its index.
    const cols = this.db.prepare(`SELECT name FROM pragma_table_info('ideas')`).all() as { name: string }[];
    if (!cols.some((c) => c.name === 'expected_ms')) this.db.exec(`ALTER TABLE ideas ADD COLUMN expected_ms INTEGER NOT NULL DEFAULT ${UNKNOWN_DURATION_MS}`);
    this.db.exec('CREATE INDEX IF NOT EXISTS ideas_by_expected ON ideas(status, expected_ms DESC, seq)');
    // Stores from before the noise-aware reward: the request's k and z per idea, the k scores per baseline.
    if (!cols.some((c) => c.name === 'baseline_seeds')) this.db.exec('ALTER TABLE ideas ADD COLUMN baseline_seeds INTEGER');
    if (!cols.some((c) => c.name === 'noise_z')) this.db.exec('ALTER TABLE ideas ADD COLUMN noise_z REAL');
    const baseCols = this.db.prepare(`SELECT name FROM pragma_table_info('baselines')`).all() as { name: string }[];
    if (!baseCols.some((c) => c.name === 'scores')) this.db.exec('ALTER TABLE baselines ADD COLUMN scores TEXT');
    this.db.prepare('INSERT OR IGNORE INTO meta(name, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
    if (opts.checkpointIntervalMs) {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointTimer = setInterval(() => {
        try {
          this.db.pragma('wal_checkpoint(PASSIVE)');
        } catch {
          // busy with another process's checkpoint: the next tick retries
        }
      }, opts.checkpointIntervalMs);
      this.checkpointTimer.unref();
    }
  }

  close(): void {
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // another process holds the database; its own close will checkpoint
    }
    this.db.close();
  }

  /**
   * The key of one idea run: a content hash of everything that determines its result. The state enters through
   * its own hash, so G ideas of one state serialise the (large) state once, not G times.
   */
  static ideaKey(
    stateHash: string,
    raw: string,
    scheme: RewardScheme,
    task: string | undefined,
    timeoutSec: number | undefined,
    noise: { baselineSeeds?: number; noiseZ?: number } = {},
  ): string {
    // The noise settings enter only when the request sets them: keys of requests without them are as before.
    return hashOf({ v: 2, stateHash, raw, scheme, task: task ?? null, timeoutSec: timeoutSec ?? null, ...noiseParts(noise) });
  }

  /**
   * Records a reward request. Returns the existing job when the same request (same client key, or same content
   * without a key) was seen before; throws IdempotencyConflictError when a client key is reused for other content.
   * `settle` may decide an idea's outcome on the spot (no execution needed); such ideas are stored as done.
   */
  submit(request: RewardRequest, opts: { settle?: (raw: string) => IdeaOutcome | undefined; maxQueued?: number } = {}): { job: Job; created: boolean } {
    // The caller resolved the task (rewards/submit.ts); the store records exactly what will run.
    const task = request.task;
    const stateHash = hashOf(request.state);
    const requestHash = hashOf({ stateHash, ideas: request.ideas, scheme: request.scheme, task: task ?? null, timeoutSec: request.timeoutSec ?? null, ...noiseParts(request) });
    const idemKey = request.idempotencyKey !== undefined ? `client:${request.idempotencyKey}` : `auto:${requestHash}`;
    const now = Date.now();

    const run = this.db.transaction((): { id: string; created: boolean } => {
      const existing = this.db.prepare('SELECT id, request_hash FROM jobs WHERE idem_key = ?').get(idemKey) as
        | { id: string; request_hash: string }
        | undefined;
      if (existing) {
        if (existing.request_hash !== requestHash) throw new IdempotencyConflictError(request.idempotencyKey ?? idemKey);
        return { id: existing.id, created: false };
      }
      // Back-pressure, checked in the same transaction as the insert: only new work counts (a replay above, and
      // ideas settled on arrival, never wait in the queue).
      const settledNow = request.ideas.map((raw) => opts.settle?.(raw));
      if (opts.maxQueued && opts.maxQueued > 0) {
        const incoming = settledNow.filter((o) => o === undefined).length;
        const queued = (this.db.prepare(`SELECT COUNT(*) AS n FROM ideas WHERE status = 'queued'`).get() as { n: number }).n;
        if (incoming > 0 && queued + incoming > opts.maxQueued) throw new QueueFullError(queued, incoming, opts.maxQueued);
      }
      const id = `job_${randomUUID().replace(/-/g, '')}`;
      this.db.prepare('INSERT OR IGNORE INTO states(hash, json) VALUES (?, ?)').run(stateHash, JSON.stringify(request.state));
      this.db
        .prepare('INSERT INTO jobs(id, idem_key, request_hash, kind, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, idemKey, requestHash, 'reward', request.ideas.length, now, now);
      const insertIdea = this.db.prepare(
        `INSERT OR IGNORE INTO ideas(key, state_hash, raw, scheme, task, timeout_sec, baseline_seeds, noise_z, status, created_at, expected_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      );
      const expected = this.expectedMs(stateHash, task);
      const insertSettled = this.db.prepare(
        `INSERT OR IGNORE INTO ideas(key, state_hash, raw, scheme, task, timeout_sec, baseline_seeds, noise_z, status, result, created_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'done', ?, ?, ?)`,
      );
      const link = this.db.prepare('INSERT INTO job_ideas(job_id, idx, idea_key) VALUES (?, ?, ?)');
      const seeds = request.baselineSeeds ?? null;
      const z = request.noiseZ ?? null;
      request.ideas.forEach((raw, idx) => {
        const key = JobStore.ideaKey(stateHash, raw, request.scheme, task, request.timeoutSec, request);
        // Ideas whose outcome needs no execution (format errors) are final on arrival: they never wait in the queue.
        const settled = settledNow[idx];
        if (settled) insertSettled.run(key, stateHash, raw, request.scheme, task ?? null, request.timeoutSec ?? null, seeds, z, JSON.stringify(settled), now, now);
        else insertIdea.run(key, stateHash, raw, request.scheme, task ?? null, request.timeoutSec ?? null, seeds, z, now, expected);
        link.run(id, idx, key);
      });
      return { id, created: true };
    });
    const { id, created } = run.immediate();
    if (created) this.emit('submitted', id);
    return { job: this.getJob(id)!, created };
  }

  /** For `ideator status`: when the oldest waiting idea arrived, and how many ideas finished in the last hour. */
  flowFigures(now = Date.now()): { oldestQueuedAt: number | undefined; finishedLastHour: number } {
    const oldest = this.db.prepare(`SELECT MIN(created_at) AS t FROM ideas WHERE status = 'queued'`).get() as { t: number | null };
    const hour = this.db.prepare(`SELECT COUNT(*) AS n FROM ideas WHERE status = 'done' AND started_at IS NOT NULL AND finished_at >= ?`).get(now - 3_600_000) as { n: number };
    return { oldestQueuedAt: oldest.t ?? undefined, finishedLastHour: hour.n };
  }

  /** Mean run time (ms) of the last `n` ideas that ran here, or undefined before any did (Retry-After estimates). */
  recentMeanDurationMs(n = 50): number | undefined {
    const row = this.db
      .prepare(
        `SELECT AVG(finished_at - started_at) AS ms, COUNT(*) AS k FROM
           (SELECT finished_at, started_at FROM ideas WHERE status = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL
            ORDER BY finished_at DESC LIMIT ?)`,
      )
      .get(n) as { ms: number | null; k: number };
    return row.k > 0 && row.ms !== null ? row.ms : undefined;
  }

  getJob(id: string): Job | undefined {
    const job = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!job) return undefined;
    const rows = this.db
      .prepare(
        `SELECT j.idx AS idx, i.status AS status, i.result AS result, i.finished_at AS finished_at
         FROM job_ideas j JOIN ideas i ON i.key = j.idea_key WHERE j.job_id = ? ORDER BY j.idx`,
      )
      .all(id) as { idx: number; status: string; result: string | null; finished_at: number | null }[];
    const results: RewardResult[] = [];
    let running = 0;
    let updated = job.updated_at;
    for (const row of rows) {
      if (row.status === 'done' && row.result) {
        // Results stored before selfReported / the guard existed read as "graded, nothing flagged".
        const stored = JSON.parse(row.result) as Partial<IdeaOutcome> & Omit<IdeaOutcome, 'selfReported' | 'guardFlags' | 'guard'>;
        results.push({ index: row.idx, ...stored, selfReported: stored.selfReported ?? false, guardFlags: stored.guardFlags ?? [], guard: stored.guard ?? [] });
        if (row.finished_at && row.finished_at > updated) updated = row.finished_at;
      } else if (row.status === 'running') running++;
    }
    let status: JobStatus = 'queued';
    if (job.error) status = 'failed';
    else if (results.length === job.total) status = 'done';
    else if (results.length > 0 || running > 0) status = 'running';
    const diversity = status === 'done' ? this.diversityOf(job.id, results) : undefined;
    return {
      id: job.id,
      kind: job.kind,
      status,
      createdAt: new Date(job.created_at).toISOString(),
      updatedAt: new Date(updated).toISOString(),
      progress: { done: results.length, total: job.total },
      results,
      ...(job.error ? { error: job.error } : {}),
      ...(diversity ? { diversity } : {}),
    };
  }

  /**
   * The collapse monitor's figures of a done job's group (core/collapse.ts): computed once from the ideas' raw
   * texts and rewards, then served from memory (a done job never changes).
   */
  private diversityOf(id: string, results: RewardResult[]): GroupDiversity {
    const cached = this.diversityCache.get(id);
    if (cached) return cached;
    const raws = this.db
      .prepare('SELECT i.raw AS raw FROM job_ideas j JOIN ideas i ON i.key = j.idea_key WHERE j.job_id = ? ORDER BY j.idx')
      .all(id) as { raw: string }[];
    const d = groupDiversity(raws.map((r, i) => ({ raw: r.raw, reward: results[i]?.reward ?? null })));
    if (this.diversityCache.size >= DIVERSITY_CACHE) this.diversityCache.delete(this.diversityCache.keys().next().value!);
    this.diversityCache.set(id, d);
    return d;
  }

  /**
   * Collapse figures over the last `n` finished reward jobs (newest first by submission; /metrics: one trainer
   * step's window). Looks at most 4n recent jobs, so jobs still running do not make it scan the whole table.
   */
  recentDiversity(n = 64): DiversityWindow {
    const ids = this.db
      .prepare(
        `SELECT id FROM jobs WHERE kind = 'reward' AND error IS NULL AND rowid IN (SELECT rowid FROM jobs ORDER BY rowid DESC LIMIT ?)
         AND NOT EXISTS (SELECT 1 FROM job_ideas j JOIN ideas i ON i.key = j.idea_key WHERE j.job_id = jobs.id AND i.status != 'done')
         ORDER BY rowid DESC LIMIT ?`,
      )
      .all(n * 4, n) as { id: string }[];
    const groups: GroupDiversity[] = [];
    for (const { id } of ids) {
      const d = this.diversityCache.get(id) ?? this.getJob(id)?.diversity;
      if (d) groups.push(d);
    }
    return aggregateDiversity(groups);
  }

  /**
   * Leases the oldest runnable idea: first ones whose lease expired or whose owner died (resume), then queued ones.
   * Returns undefined when there is nothing to do.
   */
  claim(owner: string, leaseMs: number): IdeaWork | undefined {
    const tx = this.db.transaction((): IdeaWork | undefined => {
      const now = Date.now();
      for (;;) {
        const stale = (this.db.prepare(`SELECT * FROM ideas WHERE status = 'running' ORDER BY seq`).all() as IdeaRow[]).find(
          (r) => (r.lease_expires ?? 0) < now || (r.lease_owner !== null && ownerIsDead(r.lease_owner)),
        );
        // Longest expected first (LPT): a batch then ends near max(Σ run ÷ slots, longest run) instead of waiting
        // on a long idea that happened to be submitted last. Ties (a group's ideas) keep submission order.
        const row = stale ?? (this.db.prepare(`SELECT * FROM ideas WHERE status = 'queued' ${this.nextSql} LIMIT 1`).get() as IdeaRow | undefined);
        if (!row) return undefined;
        if (stale && row.attempts >= this.maxAttempts) {
          this.finish(row, this.abandoned({ state: this.loadState(row.state_hash), scheme: row.scheme as RewardScheme, task: row.task ?? undefined, attempts: row.attempts }), now);
          continue;
        }
        this.db
          .prepare(`UPDATE ideas SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires = ?, started_at = ? WHERE key = ?`)
          .run(owner, now + leaseMs, now, row.key);
        return this.toWork(row, row.attempts + 1);
      }
    });
    return tx.immediate();
  }

  /** Renews a lease; false when the lease was lost (another worker took the idea over). */
  heartbeat(key: string, owner: string, leaseMs: number): boolean {
    const r = this.db
      .prepare(`UPDATE ideas SET lease_expires = ? WHERE key = ? AND lease_owner = ? AND status = 'running'`)
      .run(Date.now() + leaseMs, key, owner);
    return r.changes === 1;
  }

  /** Completes an idea run once; false when this owner no longer holds the lease (its result is discarded). */
  complete(key: string, owner: string, outcome: IdeaOutcome): boolean {
    const tx = this.db.transaction((): boolean => {
      const row = this.db.prepare(`SELECT * FROM ideas WHERE key = ? AND lease_owner = ? AND status = 'running'`).get(key, owner) as
        | IdeaRow
        | undefined;
      if (!row) return false;
      this.finish(row, outcome, Date.now());
      return true;
    });
    const done = tx.immediate();
    if (done) this.emit('completed', key, outcome);
    return done;
  }

  /** Gives an idea back to the queue (graceful shutdown); it keeps its attempt count. */
  release(key: string, owner: string): boolean {
    const r = this.db
      .prepare(`UPDATE ideas SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_expires = NULL WHERE key = ? AND lease_owner = ? AND status = 'running'`)
      .run(key, owner);
    return r.changes === 1;
  }

  // --- Scale-out (`ideator serve --redis`, server/src/queue/redis/): the server hands ideas to a Redis queue and
  // stays the one record. A dispatched idea is 'running' under an owner `redis:…` whose long lease the server
  // renews; attempts are not counted here but reported by the queue with the result (executions started), and
  // the result is written once whichever execution delivers it first.

  /** The owner prefix of ideas handed to the Redis queue. */
  static readonly DISPATCH_PREFIX = 'redis:';

  /**
   * Leases up to `limit` ideas to the Redis queue: queued ones, and ones left 'running' by an embedded worker that
   * was lost (expired lease or dead owner; abandoned after maxAttempts as in claim()). Oldest first.
   */
  dispatch(owner: string, leaseMs: number, limit: number): IdeaWork[] {
    if (!owner.startsWith(JobStore.DISPATCH_PREFIX)) throw new Error(`dispatch owner must start with ${JobStore.DISPATCH_PREFIX}`);
    const tx = this.db.transaction((): IdeaWork[] => {
      const now = Date.now();
      const out: IdeaWork[] = [];
      const take = (row: IdeaRow) => {
        this.db.prepare(`UPDATE ideas SET status = 'running', lease_owner = ?, lease_expires = ?, started_at = ? WHERE key = ?`).run(owner, now + leaseMs, now, row.key);
        out.push(this.toWork(row, row.attempts));
      };
      const lost = (this.db.prepare(`SELECT * FROM ideas WHERE status = 'running' AND lease_owner NOT LIKE 'redis:%' ORDER BY seq`).all() as IdeaRow[]).filter(
        (r) => (r.lease_expires ?? 0) < now || (r.lease_owner !== null && ownerIsDead(r.lease_owner)),
      );
      for (const row of lost) {
        if (out.length >= limit) break;
        if (row.attempts >= this.maxAttempts) this.finish(row, this.abandoned({ state: this.loadState(row.state_hash), scheme: row.scheme as RewardScheme, task: row.task ?? undefined, attempts: row.attempts }), now);
        else take(row);
      }
      if (out.length < limit) {
        for (const row of this.db.prepare(`SELECT * FROM ideas WHERE status = 'queued' ${this.nextSql} LIMIT ?`).all(limit - out.length) as IdeaRow[]) take(row);
      }
      return out;
    });
    return tx.immediate();
  }

  /**
   * Every idea handed to the Redis queue and not done yet by a predecessor on the same store is now held by `owner`
   * (a restarted server adopts them and checks each against the queue); returns how many.
   */
  adoptDispatched(owner: string, leaseMs: number): number {
    return this.db
      .prepare(`UPDATE ideas SET lease_owner = ?, lease_expires = ? WHERE status = 'running' AND lease_owner LIKE 'redis:%' AND lease_owner != ?`)
      .run(owner, Date.now() + leaseMs, owner).changes;
  }

  /** What a dispatched idea runs (to add it to the Redis queue again); undefined unless `owner` holds it, not done. */
  dispatchedWork(key: string, owner: string): IdeaWork | undefined {
    const row = this.db.prepare(`SELECT * FROM ideas WHERE key = ? AND lease_owner = ? AND status = 'running'`).get(key, owner) as IdeaRow | undefined;
    return row ? this.toWork(row, row.attempts) : undefined;
  }

  /** Keys of the ideas `owner` has handed to the Redis queue and that are not done yet. */
  dispatchedKeys(owner: string): string[] {
    return (this.db.prepare(`SELECT key FROM ideas WHERE status = 'running' AND lease_owner = ? ORDER BY seq`).all(owner) as { key: string }[]).map((r) => r.key);
  }

  /** Renews the lease of every idea `owner` has in the Redis queue; returns how many. */
  renewDispatched(owner: string, leaseMs: number): number {
    return this.db.prepare(`UPDATE ideas SET lease_expires = ? WHERE status = 'running' AND lease_owner = ?`).run(Date.now() + leaseMs, owner).changes;
  }

  /** Gives dispatched ideas back to the store's queue (the Redis queue could not be reached); attempts unchanged. */
  undispatch(keys: string[], owner: string): number {
    const stmt = this.db.prepare(`UPDATE ideas SET status = 'queued', lease_owner = NULL, lease_expires = NULL WHERE key = ? AND lease_owner = ? AND status = 'running'`);
    const tx = this.db.transaction(() => keys.reduce((n, k) => n + stmt.run(k, owner).changes, 0));
    return tx.immediate();
  }

  /**
   * Records the result of a remote execution, once: false when the idea is already done (a redelivered or
   * duplicated execution delivered it first) or unknown. `executions`: how many times the queue started it.
   */
  completeRemote(key: string, outcome: IdeaOutcome, executions: number): boolean {
    const tx = this.db.transaction((): boolean => {
      const row = this.db.prepare(`SELECT * FROM ideas WHERE key = ? AND status != 'done'`).get(key) as IdeaRow | undefined;
      if (!row) return false;
      this.finish(row, outcome, Date.now());
      this.db.prepare('UPDATE ideas SET attempts = attempts + ? WHERE key = ?').run(Math.max(1, Math.floor(executions)), key);
      return true;
    });
    const done = tx.immediate();
    if (done) this.emit('completed', key, outcome);
    return done;
  }

  /**
   * Completes an idea whose remote workers were lost `losses` times (the queue gave up on it) with the store's
   * abandoned outcome; undefined when it was already done or is unknown.
   */
  abandonRemote(key: string, losses: number): IdeaOutcome | undefined {
    const tx = this.db.transaction((): IdeaOutcome | undefined => {
      const row = this.db.prepare(`SELECT * FROM ideas WHERE key = ? AND status != 'done'`).get(key) as IdeaRow | undefined;
      if (!row) return undefined;
      const attempts = row.attempts + Math.max(1, Math.floor(losses));
      const outcome = this.abandoned({ state: this.loadState(row.state_hash), scheme: row.scheme as RewardScheme, task: row.task ?? undefined, attempts });
      this.finish(row, outcome, Date.now());
      this.db.prepare('UPDATE ideas SET attempts = ? WHERE key = ?').run(attempts, key);
      return outcome;
    });
    const outcome = tx.immediate();
    if (outcome) this.emit('completed', key, outcome);
    return outcome;
  }

  /** An idea's status ('queued' | 'running' | 'done'), undefined when unknown. */
  ideaStatus(key: string): string | undefined {
    return (this.db.prepare('SELECT status FROM ideas WHERE key = ?').get(key) as { status: string } | undefined)?.status;
  }

  counts(): StoreCounts {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM ideas GROUP BY status').all() as { status: string; n: number }[];
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const jobs = (this.db.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n;
    return { queued: by.queued ?? 0, running: by.running ?? 0, done: by.done ?? 0, jobs };
  }

  /**
   * A measured baseline p_t (score null when C_t itself produced no valid score) and its k seeded scores (undefined
   * for a baseline stored before they were kept: it was measured once).
   */
  getBaseline(key: string): { score: number | null; error: string | null; scores?: (number | null)[] } | undefined {
    const row = this.db.prepare('SELECT score, error, scores FROM baselines WHERE key = ?').get(key) as
      | { score: number | null; error: string | null; scores: string | null }
      | undefined;
    if (!row) return undefined;
    const scores = row.scores ? (JSON.parse(row.scores) as (number | null)[]) : undefined;
    return { score: row.score, error: row.error, ...(scores ? { scores } : {}) };
  }

  /** Records a baseline once (a concurrent measurement by another process keeps the first). */
  putBaseline(key: string, score: number | null, error: string | undefined, scores?: readonly (number | null)[]): void {
    this.db
      .prepare('INSERT OR IGNORE INTO baselines(key, score, error, created_at, scores) VALUES (?, ?, ?, ?, ?)')
      .run(key, score, error ?? null, Date.now(), scores ? JSON.stringify(scores) : null);
  }

  /** Finished idea runs by outcome status, with the sum of their rewards (durable totals across restarts). */
  outcomeCounts(): { status: string; n: number; rewardSum: number }[] {
    return this.db
      .prepare(
        `SELECT json_extract(result, '$.status') AS status, COUNT(*) AS n, COALESCE(SUM(json_extract(result, '$.reward')), 0) AS rewardSum
         FROM ideas WHERE status = 'done' GROUP BY 1 ORDER BY 1`,
      )
      .all() as { status: string; n: number; rewardSum: number }[];
  }

  /** Finished idea runs per reward-hacking guard flag (an idea with two flags counts once under each; durable). */
  guardFlagCounts(): { flag: string; n: number }[] {
    return this.db
      .prepare(
        `SELECT f.value AS flag, COUNT(*) AS n FROM ideas, json_each(ideas.result, '$.guardFlags') AS f
         WHERE ideas.status = 'done' GROUP BY f.value ORDER BY f.value`,
      )
      .all() as { flag: string; n: number }[];
  }

  /** Finished idea runs with at least one guard flag, and those scored from printed metrics (durable). */
  trustCounts(): { flagged: number; selfReported: number } {
    return this.db
      .prepare(
        `SELECT COALESCE(SUM(json_array_length(result, '$.guardFlags') > 0), 0) AS flagged,
                COALESCE(SUM(json_extract(result, '$.selfReported') = 1), 0) AS selfReported
         FROM ideas WHERE status = 'done'`,
      )
      .get() as { flagged: number; selfReported: number };
  }

  /** Number of idea rows that are done; with `attempts` per idea, for audits (tests: nothing ran twice). */
  ideaAudit(): { key: string; status: string; attempts: number }[] {
    return this.db.prepare('SELECT key, status, attempts FROM ideas ORDER BY seq').all() as { key: string; status: string; attempts: number }[];
  }

  private finish(row: IdeaRow, outcome: IdeaOutcome, now: number): void {
    this.db
      .prepare(`UPDATE ideas SET status = 'done', result = ?, finished_at = ?, lease_owner = NULL, lease_expires = NULL WHERE key = ?`)
      .run(JSON.stringify(outcome), now, row.key);
    if (outcome.durationMs > 0) this.learnDuration(row.state_hash, row.task ?? undefined, outcome.durationMs);
  }

  /**
   * The expected run time of an idea on this state and task, from what ran before: the state's own runs, else its
   * task's (ideas without a server task have nothing in common but their state).
   */
  private expectedMs(stateHash: string, task: string | undefined): number {
    const get = this.db.prepare('SELECT mean_ms FROM durations WHERE k = ?');
    const m = (get.get(`state:${stateHash}`) ?? (task !== undefined ? get.get(`task:${task}`) : undefined)) as { mean_ms: number } | undefined;
    return m ? Math.round(m.mean_ms) : UNKNOWN_DURATION_MS;
  }

  /** Folds a run's time into its state's and its task's means, and re-ranks the queued ideas they cover. */
  private learnDuration(stateHash: string, task: string | undefined, ms: number): void {
    const upsert = this.db.prepare(
      `INSERT INTO durations(k, runs, mean_ms) VALUES (?, 1, ?)
       ON CONFLICT(k) DO UPDATE SET runs = runs + 1, mean_ms = mean_ms + (excluded.mean_ms - mean_ms) / MIN(runs + 1, ${DURATION_WINDOW})`,
    );
    upsert.run(`state:${stateHash}`, ms);
    if (task !== undefined) upsert.run(`task:${task}`, ms);
    this.db
      .prepare(
        `UPDATE ideas SET expected_ms = COALESCE(
           (SELECT ROUND(mean_ms) FROM durations WHERE k = 'state:' || ideas.state_hash),
           (SELECT ROUND(mean_ms) FROM durations WHERE ideas.task IS NOT NULL AND k = 'task:' || ideas.task), ${UNKNOWN_DURATION_MS})
         WHERE status = 'queued' AND (state_hash = ? OR task = ?)`,
      )
      .run(stateHash, task ?? null);
  }

  private loadState(hash: string): IdeatorState {
    const row = this.db.prepare('SELECT json FROM states WHERE hash = ?').get(hash) as { json: string } | undefined;
    if (!row) throw new Error(`state ${hash} missing from the store`);
    return IdeatorStateSchema.parse(JSON.parse(row.json));
  }

  private toWork(row: IdeaRow, attempts: number): IdeaWork {
    return {
      key: row.key,
      seq: row.seq,
      state: this.loadState(row.state_hash),
      raw: row.raw,
      scheme: row.scheme as RewardScheme,
      task: row.task ?? undefined,
      timeoutSec: row.timeout_sec ?? undefined,
      ...(row.baseline_seeds != null ? { baselineSeeds: row.baseline_seeds } : {}),
      ...(row.noise_z != null ? { noiseZ: row.noise_z } : {}),
      attempts,
      expectedMs: row.expected_ms ?? UNKNOWN_DURATION_MS,
    };
  }
}
