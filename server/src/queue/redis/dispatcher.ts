/**
 * The server's side of scale-out (`ideator serve --redis URL`). SQLite stays the one record of jobs and results;
 * Redis only carries work and results between the server and any number of `ideator worker --redis` machines.
 *
 * - Dispatch: queued ideas are leased in SQLite to `redis:<server>` (a long lease this server renews) and added to
 *   the BullMQ queue `ideator:ideas` with jobId = idea key, so adding one twice is a no-op while it exists.
 * - Results: a BullMQ worker inside the server consumes `ideator:results` and writes each result once
 *   (JobStore.completeRemote: only if the idea is not done yet), with the p_t the worker measured. A redelivered or
 *   duplicated execution's result is counted as a duplicate and dropped.
 * - Reconcile (at start, after every Redis reconnection, and every minute): each idea the store has as dispatched
 *   and not done must be in the ideas queue (waiting or running) or have a result waiting; otherwise it is added
 *   again. A restarted server adopts its predecessor's dispatched ideas this way and loses nothing.
 * - States travel once: an idea job names its state by reference (`stateRef`); the state itself is put under
 *   `ideator:state:<ref>` with the set of idea keys naming it, before the jobs are added, and the last idea recorded
 *   deletes it (RELEASE_STATE_LUA). Redis holds each waiting idea's own text and one copy of each state, whatever the
 *   group size. A worker that finds a state missing fails the idea with missingStateReason; the sweep puts the state
 *   back and queues the idea again.
 * - Ideas BullMQ failed because their workers kept disappearing (stalled more than maxAttempts − 1 times) are
 *   completed with rewards/outcomes.ts' abandonedOutcome, not lost and not retried forever.
 * Every Redis call is bounded by a timeout; the loop backs off while Redis is away and catches up when it returns.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { JobStore, type IdeaOutcome, type IdeaWork } from '../../jobs/store';
import { Baselines } from '../../rewards/baseline';
import { safeCodePath } from '../../rewards/evaluate';
import { internalFailureOutcome } from '../../rewards/outcomes';
import type { ClusterSnapshot, ClusterView } from '../runtime';
import {
  connectionOptions,
  decodeWorker,
  IDEAS_QUEUE,
  isStallFailure,
  KEY_PREFIX,
  MISSING_STATE,
  RELEASE_STATE_LUA,
  parseRedisUrl,
  PROTOCOL_VERSION,
  redactRedisUrl,
  RESULTS_QUEUE,
  ResultMessageSchema,
  STATE_TTL_SEC,
  stateKey,
  stateRefsKey,
  stateText,
  summarizeWorkers,
  timingsFor,
  withTimeout,
  workerKey,
  WORKERS_KEY,
  type IdeaJob,
  type Policy,
} from './protocol';

export interface DispatcherOptions {
  store: JobStore;
  redisUrl: string;
  policy: Policy;
  /** --lease-sec: the workers' lock on a running idea (sets how fast the server notices stale worker records). */
  leaseMs?: number;
  /** Poll interval of the dispatch loop when no submission woke it. */
  pollMs?: number;
  /** Ideas per dispatch round. */
  batch?: number;
  /** Full reconcile period (ms; default 60 s). */
  reconcileMs?: number;
  log?: (message: string) => void;
  /** The sha256 of a task's bundle (rewards/taskBundles.ts), put on its ideas so workers fetch that bundle. */
  taskHash?: (task: string) => Promise<string>;
  /** A task's own ideator.baseline_seeds (the k its p_t is measured over when a request names none). */
  taskBaselineSeeds?: (task: string) => Promise<number | undefined>;
  /** One idea's result was recorded (once per idea). */
  onComplete?: (work: { key: string; attempts: number }, outcome: IdeaOutcome) => void;
}

const REDIS_CALL_MS = 10_000;
const JOB_OPTS = { removeOnComplete: true, removeOnFail: false, attempts: 1 } as const;

/** BullMQ's lowest priority (1 is the highest). */
const LOWEST_PRIORITY = 2 ** 21;

/**
 * Longest expected first across the cluster too: BullMQ hands out prioritized jobs by priority, so an idea expected
 * to run longer gets a smaller number (one step per second); one whose duration is unknown gets 1.
 */
export function priorityOf(expectedMs: number): number {
  return Math.max(1, Math.min(LOWEST_PRIORITY, LOWEST_PRIORITY - Math.ceil(expectedMs / 1000)));
}

export class Dispatcher implements ClusterView {
  readonly owner = `${JobStore.DISPATCH_PREFIX}${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Results delivered more than once (a redelivered or duplicated execution): dropped, counted here. */
  duplicates = 0;
  dispatched = 0;
  /** Ideas recorded whose run was another idea's run of the same code (on any worker): counted once per idea. */
  sharedRuns = 0;
  private readonly ideas: Queue;
  private readonly results: Worker;
  private readonly redis: Redis;
  private readonly timings;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private needReconcile = true;
  private lastReconcile = 0;
  private lastSweep = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private redisUp = false;
  private lastError = '';
  private cachedWorkers: Omit<ClusterSnapshot, 'duplicateResults' | 'sharedRuns' | 'redisUp'> = { workers: 0, slots: 0, busy: 0, list: [] };
  private readonly onSubmitted = () => this.wake?.();

  constructor(private readonly opts: DispatcherOptions) {
    const target = parseRedisUrl(opts.redisUrl);
    this.timings = timingsFor(opts.leaseMs);
    const connection = connectionOptions(target, 'ideator-server');
    this.ideas = new Queue(IDEAS_QUEUE, { connection, prefix: KEY_PREFIX, defaultJobOptions: JOB_OPTS });
    this.ideas.on('error', (err) => this.noteError('ideas queue', err));
    this.results = new Worker(RESULTS_QUEUE, (job) => this.onResult(job), {
      connection,
      prefix: KEY_PREFIX,
      concurrency: 8,
      autorun: false,
      // A server killed while recording a result: the result is redelivered to the next server after this.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 1000,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 1000 },
      drainDelay: 2,
    });
    this.results.on('error', (err) => this.noteError('results worker', err));
    this.redis = new Redis(connectionOptions(target, 'ideator-server-ctl') as RedisOptions);
    this.redis.on('error', (err) => this.noteError('redis', err));
    this.redis.on('ready', () => {
      if (!this.redisUp) this.opts.log?.(`redis ${redactRedisUrl(this.opts.redisUrl)} connected`);
      this.redisUp = true;
      this.lastError = '';
      // Whatever happened while Redis was away (a restart that lost its last writes): check every idea again.
      this.needReconcile = true;
      this.wake?.();
    });
    this.redis.on('close', () => {
      if (this.redisUp && !this.stopping) this.opts.log?.(`redis connection lost; reconnecting`);
      this.redisUp = false;
    });
  }

  private noteError(where: string, err: Error): void {
    // One line per distinct trouble: while Redis is away every connection reports the same refusal on each retry.
    if (err.message === this.lastError || this.stopping) return;
    this.lastError = err.message;
    this.opts.log?.(`redis: ${where}: ${err.message}`);
  }

  start(): void {
    const adopted = this.opts.store.adoptDispatched(this.owner, this.timings.dispatchLeaseMs);
    if (adopted) this.opts.log?.(`adopted ${adopted} idea(s) dispatched before this start; checking them against the queue`);
    this.opts.store.on('submitted', this.onSubmitted);
    this.renewTimer = setInterval(() => {
      try {
        this.opts.store.renewDispatched(this.owner, this.timings.dispatchLeaseMs);
      } catch (err) {
        this.opts.log?.(`cannot renew dispatched leases: ${(err as Error).message}`);
      }
    }, Math.floor(this.timings.dispatchLeaseMs / 4));
    this.renewTimer.unref();
    void this.results.run().catch((err: Error) => this.noteError('results worker', err));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.opts.store.off('submitted', this.onSubmitted);
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.wake?.();
    await this.loop;
    // Dispatched ideas stay leased to `redis:…` in SQLite and in the queue: workers go on with them and the next
    // start adopts whatever is not done by then.
    await withTimeout(this.results.close(), 10_000, 'closing the results worker').catch(() => this.results.close(true));
    await withTimeout(this.ideas.close(), 5_000, 'closing the ideas queue').catch(() => undefined);
    await withTimeout(this.redis.quit(), 2_000, 'closing redis').catch(() => this.redis.disconnect());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const pollMs = this.opts.pollMs ?? 500;
    const reconcileMs = this.opts.reconcileMs ?? 60_000;
    while (!this.stopping) {
      if (!this.redisUp) {
        await this.sleep(pollMs);
        continue;
      }
      let full = false;
      try {
        const now = Date.now();
        if (this.needReconcile || now - this.lastReconcile > reconcileMs) {
          this.needReconcile = false;
          await this.reconcile();
          this.lastReconcile = Date.now();
        }
        if (now - this.lastSweep > Math.min(2000, this.timings.stalledIntervalMs)) {
          await this.sweepFailed();
          this.lastSweep = Date.now();
        }
        full = await this.dispatchBatch();
      } catch (err) {
        this.noteError('dispatch', err as Error);
        this.needReconcile = true;
        await this.sleep(Math.max(pollMs, 1000));
        continue;
      }
      if (!full) await this.sleep(pollMs);
    }
  }

  /** The job data of one idea: what the worker runs (its state by reference), the server's policy, p_t when known. */
  private jobData(work: IdeaWork, hashes: Map<string, string | undefined>, taskSeeds: Map<string, number | undefined>, stateRef: string): IdeaJob {
    let baseline: IdeaJob['baseline'];
    // The k the worker will measure p_t over (evaluate.ts: the request's, else the task's, else 1), so the stored p_t
    // is found under the same key.
    const seeds = work.baselineSeeds ?? (work.task ? taskSeeds.get(work.task) : undefined) ?? 1;
    if ((this.opts.policy.baseline === 'measure' && work.task) || seeds > 1) {
      // The worker names the task by the bundle it runs (bundle:<hash>); a task it resolves itself is not known here.
      const hash = work.task ? hashes.get(work.task) : undefined;
      const key = Baselines.key({ state: work.state, codePath: safeCodePath(work.state.codePath), task: work.task, taskContent: hash ? `bundle:${hash}` : undefined, timeoutSec: work.timeoutSec, seeds });
      const b = this.opts.store.getBaseline(key);
      if (b) baseline = { key, score: b.score, ...(b.error ? { error: b.error } : {}), ...(b.scores ? { scores: b.scores } : {}) };
    }
    return {
      v: PROTOCOL_VERSION,
      key: work.key,
      seq: work.seq,
      stateRef,
      raw: work.raw,
      scheme: work.scheme,
      task: work.task ?? null,
      ...(work.task && hashes.get(work.task) ? { taskHash: hashes.get(work.task) } : {}),
      timeoutSec: work.timeoutSec ?? null,
      ...(work.baselineSeeds !== undefined ? { baselineSeeds: work.baselineSeeds } : {}),
      ...(work.noiseZ !== undefined ? { noiseZ: work.noiseZ } : {}),
      policy: this.opts.policy,
      ...(baseline ? { baseline } : {}),
    };
  }

  /**
   * The bundle hash of each task of these ideas. A task whose bundle cannot be made goes without (the worker then
   * resolves it on its own machine, and says so if it cannot).
   */
  private async taskHashes(works: IdeaWork[]): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    if (!this.opts.taskHash) return out;
    for (const task of new Set(works.map((w) => w.task).filter((t): t is string => !!t))) {
      try {
        out.set(task, await this.opts.taskHash(task));
      } catch (err) {
        out.set(task, undefined);
        this.noteError(`bundle of task ${task}`, err as Error);
      }
    }
    return out;
  }

  /** Each task's own baseline_seeds; a task that cannot be loaded here goes without (the worker decides). */
  private async taskSeeds(works: IdeaWork[]): Promise<Map<string, number | undefined>> {
    const out = new Map<string, number | undefined>();
    if (!this.opts.taskBaselineSeeds) return out;
    for (const task of new Set(works.filter((w) => w.baselineSeeds === undefined).map((w) => w.task).filter((t): t is string => !!t))) {
      try {
        out.set(task, await this.opts.taskBaselineSeeds(task));
      } catch {
        out.set(task, undefined);
      }
    }
    return out;
  }

  /**
   * Adds ideas to the ideas queue: first each distinct state once (its text, and these ideas in its refs set, both
   * with a fresh expiry), then the jobs naming it, so a worker never sees a job before its state.
   */
  private async enqueue(works: IdeaWork[], what: string): Promise<void> {
    const hashes = await this.taskHashes(works);
    const taskSeeds = await this.taskSeeds(works);
    const refs = works.map((w) => stateText(w.state));
    const pipe = this.redis.multi();
    const seen = new Set<string>();
    works.forEach((w, i) => {
      const { ref, text } = refs[i];
      if (!seen.has(ref)) {
        seen.add(ref);
        pipe.set(stateKey(ref), text, 'EX', STATE_TTL_SEC);
      }
      pipe.sadd(stateRefsKey(ref), w.key).expire(stateRefsKey(ref), STATE_TTL_SEC);
    });
    await withTimeout(pipe.exec(), REDIS_CALL_MS, `putting the states of ${what}`);
    await withTimeout(
      this.ideas.addBulk(works.map((w, i) => ({ name: 'idea', data: this.jobData(w, hashes, taskSeeds, refs[i].ref), opts: { ...JOB_OPTS, jobId: w.key, priority: priorityOf(w.expectedMs) } }))),
      REDIS_CALL_MS,
      what,
    );
  }

  /** Idea `key` is recorded: it no longer needs its state (the last idea of a state deletes it). */
  private async releaseState(key: string, ref: string | undefined): Promise<void> {
    if (!ref) return;
    await withTimeout(this.redis.eval(RELEASE_STATE_LUA, 2, stateKey(ref), stateRefsKey(ref), key), REDIS_CALL_MS, 'releasing a state').catch((err: Error) =>
      this.noteError('releasing a state', err),
    );
  }

  /** Leases a batch of queued ideas and adds them to the queue; true when the batch was full (more may wait). */
  private async dispatchBatch(): Promise<boolean> {
    const batch = this.opts.batch ?? 200;
    const works = this.opts.store.dispatch(this.owner, this.timings.dispatchLeaseMs, batch);
    if (works.length === 0) return false;
    try {
      await this.enqueue(works, 'adding ideas to the queue');
      this.dispatched += works.length;
    } catch (err) {
      // Back to the store's queue; a later round adds them again (same jobIds: an add that did land is not doubled).
      this.opts.store.undispatch(
        works.map((w) => w.key),
        this.owner,
      );
      throw err;
    }
    return works.length === batch;
  }

  /**
   * Every idea this server holds as dispatched and not done must be waiting or running in the ideas queue, or have
   * a result waiting to be recorded; any other is added again. Checked in that order (ideas job, then result, then
   * the store) because a worker adds the result before its ideas job completes and the server records a result
   * before removing it: an idea found in neither place is either done by now or needs to run.
   */
  private async reconcile(): Promise<void> {
    const keys = this.opts.store.dispatchedKeys(this.owner);
    let readded = 0;
    let droppedResults = 0;
    for (let i = 0; i < keys.length && !this.stopping; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const pipe = this.redis.pipeline();
      for (const k of chunk) pipe.exists(this.ideas.toKey(k)).hget(`${KEY_PREFIX}:${RESULTS_QUEUE}:${k}`, 'finishedOn').exists(`${KEY_PREFIX}:${RESULTS_QUEUE}:${k}`);
      const replies: [Error | null, unknown][] = (await withTimeout(pipe.exec(), REDIS_CALL_MS, 'reconcile')) ?? [];
      const add: IdeaWork[] = [];
      for (let j = 0; j < chunk.length; j++) {
        const [[e1, inIdeas], [, resultFinished], [e2, inResults]] = replies.slice(3 * j, 3 * j + 3);
        if (e1 || e2) throw e1 ?? e2;
        if (inIdeas) continue;
        if (inResults && !resultFinished) continue;
        if (inResults) {
          // A result the server could not record (its job failed): drop it so the idea runs again.
          await withTimeout(this.redis.del(`${KEY_PREFIX}:${RESULTS_QUEUE}:${chunk[j]}`), REDIS_CALL_MS, 'dropping a failed result');
          droppedResults++;
        }
        if (this.opts.store.ideaStatus(chunk[j]) !== 'running') continue;
        const work = this.opts.store.dispatchedWork(chunk[j], this.owner);
        if (work) add.push(work);
      }
      if (add.length) {
        await this.enqueue(add, 're-adding ideas');
        readded += add.length;
      }
    }
    if (readded || droppedResults) this.opts.log?.(`reconciled ${keys.length} dispatched idea(s): ${readded} re-added to the queue${droppedResults ? `, ${droppedResults} failed result(s) dropped` : ''}`);
  }

  /** Ideas BullMQ gave up on: abandoned when their workers kept disappearing, else an internal failure. Recorded, then removed. */
  private async sweepFailed(): Promise<void> {
    const failed = (await withTimeout(this.ideas.getFailed(0, 99), REDIS_CALL_MS, 'listing failed ideas')) as Job[];
    for (const job of failed) {
      if (!job?.id) continue;
      const key = job.id;
      const ref = (job.data as { stateRef?: unknown } | undefined)?.stateRef;
      const missing = MISSING_STATE.exec(job.failedReason ?? '');
      if (missing) {
        // The state went missing from Redis (expired, or a Redis that lost its last writes): put back, queued again.
        await withTimeout(job.remove(), REDIS_CALL_MS, 'removing a failed idea');
        const work = this.opts.store.dispatchedWork(key, this.owner);
        if (work) {
          await this.enqueue([work], 're-adding an idea whose state was missing');
          this.opts.log?.(`idea ${key.slice(0, 10)}: its state was missing from Redis; put back and queued again`);
        }
        continue;
      }
      if (isStallFailure(job.failedReason)) {
        const losses = Math.max(1, job.stalledCounter ?? 1);
        const outcome = this.opts.store.abandonRemote(key, losses);
        if (outcome) this.opts.onComplete?.({ key, attempts: losses }, outcome);
      } else {
        // Refused by every worker (a job it cannot read) or failed some other way: recorded, with the reason.
        this.failOnce(key, `the queue failed it: ${job.failedReason}`, Math.max(1, job.attemptsStarted ?? 1));
      }
      await this.releaseState(key, typeof ref === 'string' ? ref : undefined);
      await withTimeout(job.remove(), REDIS_CALL_MS, 'removing a failed idea').catch((err: Error) => this.noteError('sweep', err));
    }
  }

  /** Completes a dispatched idea, once, as an internal failure (the store's own record says what it was). */
  private failOnce(key: string, why: string, executions: number): IdeaOutcome | undefined {
    const work = this.opts.store.dispatchedWork(key, this.owner);
    if (!work) return undefined;
    const o = internalFailureOutcome(work, new Error(why));
    if (!this.opts.store.completeRemote(key, o, executions)) return undefined;
    void this.releaseState(key, stateText(work.state).ref);
    this.opts.onComplete?.({ key, attempts: executions }, o);
    return o;
  }

  /** One result from a worker: recorded once (with its p_t); a later copy of the same idea's result is dropped. */
  private async onResult(job: Job): Promise<void> {
    const parsed = ResultMessageSchema.safeParse(job.data);
    const key = parsed.success ? parsed.data.key : (job.id ?? '');
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const why = `a worker sent a malformed result (${issue?.path.join('.')}: ${issue?.message})`;
      this.opts.log?.(`idea ${key.slice(0, 10)}: ${why}; recorded as failed`);
      this.failOnce(key, why, 1);
      return;
    }
    const msg = parsed.data;
    if (msg.baseline) this.opts.store.putBaseline(msg.baseline.key, msg.baseline.score, msg.baseline.error, msg.baseline.scores);
    const outcome = msg.outcome as IdeaOutcome;
    const ref = msg.stateRef ?? ((w) => (w ? stateText(w.state).ref : undefined))(this.opts.store.dispatchedWork(msg.key, this.owner));
    if (this.opts.store.completeRemote(msg.key, outcome, msg.executions)) {
      if (msg.sharedRun) this.sharedRuns++;
      this.opts.onComplete?.({ key: msg.key, attempts: msg.executions }, outcome);
    } else this.duplicates++;
    await this.releaseState(msg.key, ref);
  }

  /** Live remote workers from their heartbeat records (those whose record has not expired). */
  async snapshot(): Promise<ClusterSnapshot> {
    if (this.redisUp) {
      try {
        const ids = await withTimeout(this.redis.zrange(WORKERS_KEY, 0, -1), 2000, 'listing workers');
        const pipe = this.redis.pipeline();
        for (const id of ids) pipe.hgetall(workerKey(id));
        const replies: [Error | null, unknown][] = ids.length ? ((await withTimeout(pipe.exec(), 2000, 'reading workers')) ?? []) : [];
        const records = replies.map(([err, h]) => (err ? undefined : decodeWorker(h as Record<string, string>)));
        const gone = ids.filter((_, i) => records[i] === undefined);
        if (gone.length) await withTimeout(this.redis.zrem(WORKERS_KEY, ...gone), 2000, 'forgetting workers').catch(() => undefined);
        const live = records.filter((r): r is NonNullable<typeof r> => r !== undefined);
        this.cachedWorkers = { ...summarizeWorkers(records), list: live.map(({ id, host, pid, slots, busy, gpus, seenAt }) => ({ id, host, pid, slots, busy, gpus, seenAt })) };
      } catch (err) {
        this.noteError('workers', err as Error);
      }
    }
    return { ...this.cachedWorkers, duplicateResults: this.duplicates, sharedRuns: this.sharedRuns, redisUp: this.redisUp };
  }
}
