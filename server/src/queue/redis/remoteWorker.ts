/**
 * The worker's side of scale-out (`ideator worker --redis URL --server URL`): takes idea jobs from the BullMQ
 * queue `ideator:ideas` with concurrency = its slots, runs each through the very same evaluateIdea() and sandbox
 * as the embedded pool (one free slot — a GPU or a CPU share — per job), and puts the outcome on
 * `ideator:results` for the server to record. It never touches the server's store.
 *
 * - A worker killed with SIGKILL stops renewing its BullMQ locks; another worker's stalled check puts its ideas
 *   back in the queue (up to maxAttempts − 1 times, then BullMQ fails them and the server records them as
 *   abandoned). The result carries how many times the idea was started, which the server records as attempts.
 * - A worker whose lock on an idea is lost (it froze, or lost Redis, for longer than the lease: the idea has been
 *   put back and may run elsewhere) kills that run at once (the sandbox's cancellation kills its process group) and
 *   sends no result; it also checks the lock right before sending one, so a run that finished meanwhile is not sent.
 * - SIGTERM: running evaluations are aborted and their jobs moved back to the queue without counting a loss.
 * - Redis going away: ioredis reconnects for ever (short capped back-off); BullMQ resumes taking jobs.
 * - Heartbeat: a hash `ideator:worker:<id>` (slots, busy, GPUs, host, pid, version), expiring unless renewed, and
 *   the id in the sorted set `ideator:workers`: the server's /metrics counts live workers and their slots.
 * - p_t: measured once for the whole cluster (clusterBaselines.ts), with the server's policy from the job.
 * - Identical implemented code runs once for the whole cluster (clusterRunShare.ts); the result says when an idea's
 *   run was another's, and the server counts those.
 * - States: a job names its state by reference; the state is read once from `ideator:state:<ref>`, checked
 *   against its sha256 and kept for the next ideas of it (STATE_CACHE states).
 * - Tasks: an idea whose job names its task's bundle hash runs against that bundle from the server, cached in
 *   <data-dir>/task-cache (taskCache.ts); a job without one (an older server) resolves the task on this machine.
 */
import { hostname } from 'node:os';
import { IdeatorStateSchema, type IdeatorState } from '../../../../src/core/protocol';
import { sha256 } from '../../jobs/hash';
import { Queue, WaitingError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { newOwnerId, type IdeaOutcome } from '../../jobs/store';
import type { EvalEnv, Slot } from '../../rewards/env';
import { evaluateIdea, EvaluationAborted } from '../../rewards/evaluate';
import { internalFailureOutcome } from '../../rewards/outcomes';
import { RunShareView } from '../../rewards/runShare';
import { ReadyTaskCatalog } from '../../rewards/taskCatalog';
import { DEFAULT_MAX_TIMEOUT_SEC } from '../runtime';
import { ClusterBaselines, JobBaselines } from './clusterBaselines';
import { ClusterRunShare } from './clusterRunShare';
import type { TaskCache } from './taskCache';
import {
  connectionOptions,
  encodeWorker,
  executionsOf,
  IdeaJobSchema,
  IDEAS_QUEUE,
  KEY_PREFIX,
  maxStalledCountFor,
  missingStateReason,
  parseRedisUrl,
  PROTOCOL_VERSION,
  redactRedisUrl,
  RESULTS_QUEUE,
  SlotPool,
  stateKey,
  timingsFor,
  withTimeout,
  workerKey,
  WORKERS_KEY,
  type IdeaJob,
  type ResultMessage,
} from './protocol';

export interface RemoteWorkerOptions {
  /** The evaluation environment of this machine (runtime.ts createEvalHost), without a baseline source. */
  env: EvalEnv;
  slots: Slot[];
  gpus: string[];
  redisUrl: string;
  /** The server this worker works for (recorded in its heartbeat; task bundles come from its API). */
  serverUrl: string;
  /** Task bundles by hash (downloaded from serverUrl); without one every task resolves on this machine. */
  tasks?: TaskCache;
  version: string;
  /** --lease-sec: lock of a running idea; a killed worker's ideas are redelivered after about two of these. */
  leaseMs?: number;
  /** Executions an idea may have before it is abandoned (the store's maxAttempts, default 3). */
  maxAttempts?: number;
  log?: (message: string) => void;
  onStart?: (job: IdeaJob, state: IdeatorState) => void;
  onComplete?: (job: IdeaJob, outcome: IdeaOutcome) => void;
}

/** States kept in memory (the G ideas of a group, and the next groups of a state, read it once). */
const STATE_CACHE = 64;

interface Running {
  ac: AbortController;
  /** Its lock was lost: the idea may run elsewhere now; this execution sends nothing. */
  lost: boolean;
}

export class RemoteWorker {
  /** Runs killed, and finished results not sent, because this worker had lost the idea's lock (tests, logs). */
  lostRuns = 0;
  readonly id = newOwnerId('worker');
  private readonly worker: Worker;
  private readonly results: Queue;
  private readonly redis: Redis;
  private readonly slots: SlotPool<Slot>;
  private readonly baselines: ClusterBaselines;
  private readonly timings;
  private readonly inflight = new Map<string, Running>();
  private readonly runShare: ClusterRunShare;
  private readonly states = new Map<string, Promise<IdeatorState>>();
  private readonly startedAt = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private redisUp = false;
  private lastError = '';

  constructor(private readonly opts: RemoteWorkerOptions) {
    const target = parseRedisUrl(opts.redisUrl);
    this.timings = timingsFor(opts.leaseMs);
    this.slots = new SlotPool(opts.slots);
    const connection = connectionOptions(target, `ideator-worker`);
    this.results = new Queue(RESULTS_QUEUE, { connection, prefix: KEY_PREFIX });
    this.results.on('error', (err) => this.noteError('results queue', err));
    this.redis = new Redis(connectionOptions(target, 'ideator-worker-ctl') as RedisOptions);
    this.redis.on('error', (err) => this.noteError('redis', err));
    this.redis.on('ready', () => {
      this.opts.log?.(`redis ${redactRedisUrl(opts.redisUrl)} ${this.redisUp ? 'ready' : 'connected'}`);
      this.redisUp = true;
      this.lastError = '';
      void this.heartbeat();
    });
    this.redis.on('close', () => {
      if (this.redisUp && !this.stopping) this.opts.log?.('redis connection lost; reconnecting');
      this.redisUp = false;
    });
    this.baselines = new ClusterBaselines(this.redis, this.id, opts.log);
    this.runShare = new ClusterRunShare(this.redis, this.id, this.timings.lockMs, opts.log);
    this.worker = new Worker(IDEAS_QUEUE, (job, token) => this.process(job, token), {
      connection,
      prefix: KEY_PREFIX,
      name: this.id,
      concurrency: opts.slots.length,
      autorun: false,
      lockDuration: this.timings.lockMs,
      stalledInterval: this.timings.stalledIntervalMs,
      maxStalledCount: maxStalledCountFor(opts.maxAttempts),
      drainDelay: 2,
    });
    this.worker.on('error', (err) => this.noteError('ideas worker', err));
    this.worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) this.loseLock(id, 'its lock could not be renewed');
    });
  }

  /** The lock on idea `key` is gone: its run is killed and its result will not be sent. */
  private loseLock(key: string, why: string): void {
    const r = this.inflight.get(key);
    if (!r || r.lost) return;
    r.lost = true;
    this.lostRuns++;
    this.opts.log?.(`idea ${key.slice(0, 10)}: ${why} (the queue gave it to another worker): its run is killed, no result is sent`);
    r.ac.abort();
  }

  /** Whether this worker still holds BullMQ's lock of the idea job (no lock, or another's token: lost). */
  private async holdsLock(job: Job, token: string | undefined): Promise<boolean> {
    if (!token) return true;
    const held = await withTimeout(this.redis.get(`${this.worker.toKey(job.id ?? '')}:lock`), 10_000, 'checking the idea lock');
    return held === token;
  }

  /** The state of a job, read from Redis once per reference and checked against it. */
  private state(ref: string): Promise<IdeatorState> {
    let p = this.states.get(ref);
    if (!p) {
      p = (async () => {
        const text = await withTimeout(this.redis.get(stateKey(ref)), 30_000, 'reading the state').catch((err: Error) => {
          // Not the idea's fault: failed with the reason the server's sweep answers by queueing the idea again.
          throw new UnrecoverableError(missingStateReason(ref, err.message));
        });
        if (text === null) throw new UnrecoverableError(missingStateReason(ref));
        if (sha256(text) !== ref) throw new UnrecoverableError(`state ${ref.slice(0, 12)}: its text in Redis does not match its sha256`);
        return IdeatorStateSchema.parse(JSON.parse(text));
      })();
      this.states.set(ref, p);
      p.catch(() => this.states.delete(ref));
      for (const k of this.states.keys()) {
        if (this.states.size <= STATE_CACHE) break;
        this.states.delete(k);
      }
    }
    return p;
  }

  get size(): number {
    return this.opts.slots.length;
  }

  get busy(): number {
    return this.inflight.size;
  }

  private noteError(where: string, err: Error): void {
    // One line per distinct trouble: while Redis is away every connection reports the same refusal on each retry.
    if (err.message === this.lastError || this.stopping) return;
    this.lastError = err.message;
    this.opts.log?.(`redis: ${where}: ${err.message}`);
  }

  start(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.timings.heartbeatMs);
    void this.worker.run().catch((err: Error) => this.noteError('ideas worker', err));
  }

  /** Stops taking jobs, hands running ideas back to the queue (no loss counted), says goodbye, closes connections. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const closing = this.worker.close();
    for (const r of this.inflight.values()) r.ac.abort();
    await withTimeout(closing, 15_000, 'closing the ideas worker').catch(async (err: Error) => {
      this.opts.log?.(`${err.message}; forcing it (its running ideas are redelivered after the lease)`);
      await this.worker.close(true).catch(() => undefined);
    });
    if (this.redisUp) {
      await withTimeout(this.redis.multi().del(workerKey(this.id)).zrem(WORKERS_KEY, this.id).exec(), 2000, 'removing the heartbeat').catch(() => undefined);
    }
    await withTimeout(this.results.close(), 5000, 'closing the results queue').catch(() => undefined);
    await withTimeout(this.redis.quit(), 2000, 'closing redis').catch(() => this.redis.disconnect());
  }

  private async heartbeat(): Promise<void> {
    if (!this.redisUp || this.stopping) return;
    const now = Date.now();
    const record = encodeWorker({
      id: this.id,
      host: hostname(),
      pid: process.pid,
      slots: this.opts.slots.length,
      busy: this.inflight.size,
      gpus: this.opts.gpus,
      startedAt: this.startedAt,
      seenAt: now,
      version: this.opts.version,
      server: this.opts.serverUrl,
    });
    const key = workerKey(this.id);
    await withTimeout(this.redis.multi().hset(key, record).pexpire(key, this.timings.workerTtlMs).zadd(WORKERS_KEY, now, this.id).exec(), 5000, 'heartbeat').catch((err: Error) =>
      this.noteError('heartbeat', err),
    );
  }

  private async process(job: Job, token: string | undefined): Promise<{ worker: string }> {
    const parsed = IdeaJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const v = (job.data as { v?: unknown } | undefined)?.v;
      // Not retried: every worker of this version would refuse it the same way. The server records the failure.
      throw new UnrecoverableError(
        v !== PROTOCOL_VERSION ? `job protocol v${String(v)}, this worker speaks v${PROTOCOL_VERSION}` : `malformed job: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
    const data = parsed.data;
    const state = await this.state(data.stateRef);
    const slot = this.slots.take();
    const ac = new AbortController();
    const key = data.key;
    const running: Running = { ac, lost: false };
    this.inflight.set(key, running);
    void this.heartbeat();
    this.opts.onStart?.(data, state);
    const cache = this.opts.tasks;
    const taskHash = data.task && data.taskHash && cache ? data.taskHash : undefined;
    let bundle: ReturnType<TaskCache['acquire']> | undefined;
    try {
      const baselines = new JobBaselines(data.policy.baseline, this.baselines, data.baseline);
      const share = new RunShareView(this.runShare);
      const env: EvalEnv = {
        ...this.opts.env,
        // The server's own bundle of the task (exactly its files and prepared data), fetched once per hash.
        ...(taskHash && cache ? { catalog: new ReadyTaskCatalog((id) => (bundle ??= cache.acquire(id, taskHash))) } : {}),
        // The server's policy, so the reward does not depend on which worker ran the idea.
        defaultTimeoutSec: data.policy.defaultTimeoutSec,
        maxTimeoutSec: data.policy.maxTimeoutSec ?? DEFAULT_MAX_TIMEOUT_SEC,
        baselines,
        // Identical code runs once for the whole cluster; this view tells whether this idea's run was another's.
        runShare: share,
      };
      const input = { key, state, raw: data.raw, scheme: data.scheme, task: data.task ?? undefined, timeoutSec: data.timeoutSec ?? undefined, baselineSeeds: data.baselineSeeds, noiseZ: data.noiseZ };
      let outcome: IdeaOutcome;
      try {
        outcome = await evaluateIdea(input, env, slot, ac.signal);
      } catch (err) {
        if (err instanceof EvaluationAborted || ac.signal.aborted) {
          // Lock lost: the idea is the queue's again (running elsewhere, or waiting); nothing to hand back or send.
          if (running.lost) throw new WaitingError();
          // Shutting down: back to the queue for another worker, without counting a lost worker.
          if (token) await job.moveToWait(token).catch((e: Error) => this.noteError('hand back', e));
          throw new WaitingError();
        }
        outcome = internalFailureOutcome(input, err as Error);
      }
      // A run that finished while this worker was frozen or cut off: sent only if the idea is still ours.
      if (running.lost || !(await this.holdsLock(job, token).catch(() => true))) {
        this.loseLock(key, 'its lock was lost while it ran');
        throw new WaitingError();
      }
      const message: ResultMessage = {
        v: PROTOCOL_VERSION,
        key,
        outcome,
        executions: executionsOf(job),
        worker: this.id,
        stateRef: data.stateRef,
        ...(baselines.used ? { baseline: baselines.used } : {}),
        ...(share.used ? { sharedRun: true } : {}),
      };
      // Waits for Redis if it is away: the result is the one thing this execution must deliver.
      await this.results.add('result', message, { jobId: key, removeOnComplete: true, removeOnFail: { count: 1000 }, attempts: 20, backoff: { type: 'exponential', delay: 500 } });
      this.opts.onComplete?.(data, outcome);
      return { worker: this.id };
    } finally {
      if (bundle && taskHash) await bundle.then(() => cache?.release(taskHash), () => undefined);
      this.inflight.delete(key);
      this.slots.give(slot);
      void this.heartbeat();
    }
  }
}
