/**
 * Identical implemented code executed once for the whole cluster (issue #13). rewards/runShare.ts shares runs within
 * one process; Redis workers share no memory, so they share through Redis, keyed by the same RunShare.key (code,
 * the task's bundle hash, time limits and sandbox caps, score reading):
 *
 * - a finished run is kept under `ideator:run:<key>` for RUN_CACHE_SEC; a worker whose idea implements to the same
 *   code takes it from there and runs nothing;
 * - the worker that runs it holds `ideator:run-lock:<key>` (`SET NX PX lease`, renewed every third of the lease
 *   while it runs); a worker wanting the same run while it is held waits for the result in the slot it has (polling,
 *   cancellable with its idea), so two workers never run the same code at the same time;
 * - a holder that dies (SIGKILL, a lost machine) stops renewing: its lease expires and the next waiter runs the code;
 *   a run that was cancelled or failed to start publishes nothing and frees the lock at once;
 * - Redis away for longer than REDIS_MS: the idea runs its own code without sharing (never stuck on the cache).
 *
 * Within a worker, ideas of its own slots still share through the in-process map first (one Redis round per run).
 * The result read back from Redis is validated before use; only what the reward is computed from is kept, with the
 * output cut to what an outcome shows.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { DirectionSchema, MetricSchema } from '../../../../src/core/protocol';
import { RUN_STAGES } from '../../../../src/core/rewards';
import type { CodeRun } from '../../rewards/runCode';
import { RunShare, type SharedRun } from '../../rewards/runShare';
import { abortable, RELEASE_LUA, RENEW_LUA, RUN_CACHE_SEC, runKey, runLockKey, sleep, withTimeout } from './protocol';

/** How long one Redis call of the cache may take before the idea runs without sharing. */
const REDIS_MS = 5000;
const WAIT_POLL_MS = 250;
/** Output kept with a shared run: more than an outcome shows (rewards/evaluate.ts keeps the last 4000 characters). */
const HEAD_CHARS = 2000;
const TAIL_CHARS = 8000;

const SandboxResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  outputLimited: z.boolean(),
  memoryExceeded: z.boolean(),
  processesLimited: z.boolean(),
  setupFailed: z.boolean(),
  aborted: z.literal(false),
  durationMs: z.number(),
  outputBytes: z.number(),
  outputHead: z.string(),
  outputTail: z.string(),
  output: z.string(),
  metrics: z.array(MetricSchema),
  primary: z.object({ name: z.string(), value: z.number(), direction: DirectionSchema, diverged: z.boolean().optional() }).nullable(),
});

const StoredRunSchema = z.object({
  run: SandboxResultSchema,
  timedOut: z.boolean(),
  ok: z.boolean(),
  score: z.number().nullable(),
  error: z.string().optional(),
  stages: z.array(z.enum(RUN_STAGES)),
  timeoutSec: z.number(),
});

/** What is kept of a run in Redis: all its fields, its output cut to a head and a tail. */
export function storedRun(r: CodeRun): string {
  const run = { ...r.run, outputHead: r.run.outputHead.slice(0, HEAD_CHARS), outputTail: r.run.outputTail.slice(-TAIL_CHARS), output: r.run.output.slice(-TAIL_CHARS) };
  return JSON.stringify({ ...r, run });
}

/** A run read back from Redis; undefined when it is not one (never trusted unchecked). */
export function parseStoredRun(text: string | null): CodeRun | undefined {
  if (!text) return undefined;
  try {
    const p = StoredRunSchema.safeParse(JSON.parse(text));
    return p.success ? (p.data as CodeRun) : undefined;
  } catch {
    return undefined;
  }
}

export class ClusterRunShare extends RunShare {
  constructor(
    private readonly redis: Redis,
    /** This worker's id (the lock's holder, with a token per run). */
    private readonly owner: string,
    /** The lease of a run's lock: the workers' --lease-sec, as their idea locks. */
    private readonly leaseMs: number,
    private readonly log?: (m: string) => void,
  ) {
    super();
  }

  protected override async execute(key: string, start: () => Promise<CodeRun>, signal?: AbortSignal): Promise<SharedRun> {
    const token = `${this.owner}:${randomUUID().slice(0, 8)}`;
    let waited = false;
    for (;;) {
      let got: string | null;
      try {
        const hit = parseStoredRun(await abortable(withTimeout(this.redis.get(runKey(key)), REDIS_MS, 'reading a shared run'), signal));
        if (hit) {
          if (waited) this.log?.(`run ${key.slice(0, 10)}: taken from the worker that ran it`);
          return { run: hit, shared: true };
        }
        got = await abortable(withTimeout(this.redis.set(runLockKey(key), token, 'PX', this.leaseMs, 'NX'), REDIS_MS, 'locking a run'), signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        this.log?.(`run ${key.slice(0, 10)}: the shared-run cache is unreachable (${(err as Error).message}); running it without sharing`);
        return { run: await start(), shared: false };
      }
      if (got === 'OK') {
        if (waited) this.log?.(`run ${key.slice(0, 10)}: the worker running it stopped before it finished; running it here`);
        return { run: await this.runHere(key, token, start), shared: false };
      }
      if (!waited) this.log?.(`run ${key.slice(0, 10)}: the same code runs on another worker; waiting for its result`);
      waited = true;
      await sleep(WAIT_POLL_MS, signal);
    }
  }

  /** Runs the code holding the lock (renewed), publishes a finished run, frees the lock. */
  private async runHere(key: string, token: string, start: () => Promise<CodeRun>): Promise<CodeRun> {
    const lock = runLockKey(key);
    const renew = setInterval(() => {
      this.redis.eval(RENEW_LUA, 1, lock, token, String(this.leaseMs)).catch(() => undefined);
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    try {
      const r = await start();
      // A cancelled run says nothing about the code; the next idea runs it again. NX: a first publication stays.
      if (!r.run.aborted) {
        await withTimeout(this.redis.set(runKey(key), storedRun(r), 'EX', RUN_CACHE_SEC, 'NX'), REDIS_MS, 'publishing a run').catch((err: Error) =>
          this.log?.(`run ${key.slice(0, 10)}: not shared (${err.message})`),
        );
      }
      return r;
    } finally {
      clearInterval(renew);
      await withTimeout(this.redis.eval(RELEASE_LUA, 1, lock, token), REDIS_MS, 'unlocking a run').catch(() => undefined);
    }
  }
}
