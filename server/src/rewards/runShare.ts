/**
 * Identical implemented code is executed once (issue #13): a collapsed policy proposes the same change many times,
 * and ideas whose implementation yields the same C_{t+1} on the same task content, with the same limits and the same
 * way of reading its score, get the same run. The first idea runs it; one that arrives while it runs waits for it;
 * later ones take the result at once. A run cut short by a cancellation is not shared (the next idea runs again).
 *
 * The task is named by its content (ReadyTask.contentKey: the bundle's sha256 on a Redis worker, a fingerprint of the
 * same files on the embedded server), never by its id alone: a task edited on the server mid-training never hands out
 * a run made against its old files. A task whose content cannot be told is not shared at all.
 *
 * This class shares within one process (the embedded server runs every idea in one), bounded in size; Redis workers
 * use queue/redis/clusterRunShare.ts, which shares the same way across every worker of the cluster.
 */
import { hashOf } from '../jobs/hash';
import type { CodeRun } from './runCode';
import type { EvalEnv, Slot } from './env';
import type { ReadyTask } from './taskCatalog';

/** Finished runs kept for reuse (oldest dropped first). */
const KEEP = 512;

/** A run and whether it was another idea's (so this idea did not execute anything). */
export interface SharedRun {
  run: CodeRun;
  shared: boolean;
}

export interface ShareKeyParts {
  code: string;
  codePath: string;
  /** The idea's task id (undefined: scored from printed metrics). */
  task: string | undefined;
  /** The prepared task, whose contentKey names what the run is graded against. */
  ready: ReadyTask | undefined;
  timeoutSec: number | undefined;
  metric: string | undefined;
  direction: string;
  /** The limits every run of this idea gets (time limits from the server's policy, the sandbox's caps). */
  env: Pick<EvalEnv, 'limits' | 'defaultTimeoutSec' | 'maxTimeoutSec'>;
  /** A run with a GPU may behave differently from one without. */
  slot: Pick<Slot, 'cudaVisibleDevices'>;
  /** The run's IDEATOR_SEED (noise-aware reward, k ≥ 2); undefined = unseeded. */
  seed?: number;
}

export class RunShare {
  private readonly runs = new Map<string, Promise<CodeRun>>();
  /** Ideas answered from another idea's run, since this process started. */
  shared = 0;

  /**
   * The key of a run: everything that changes what the run does or how it is scored. Undefined when the idea has a
   * task whose content cannot be told (nothing is shared then).
   */
  static key(o: ShareKeyParts): string | undefined {
    if (o.task !== undefined && !o.ready?.contentKey) return undefined;
    const { limits, defaultTimeoutSec, maxTimeoutSec } = o.env;
    return hashOf({
      v: 2,
      code: o.code,
      codePath: o.codePath,
      task: o.task ?? null,
      taskContent: o.ready?.contentKey ?? null,
      timeoutSec: o.timeoutSec ?? null,
      metric: o.metric ?? null,
      direction: o.direction,
      limits: { ...limits, defaultTimeoutSec: defaultTimeoutSec ?? null, maxTimeoutSec: maxTimeoutSec ?? null },
      gpu: o.slot.cudaVisibleDevices.trim() !== '',
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
  }

  /** The run of `key`: shared when there is one (running or done), else `start()`ed here. */
  async run(key: string, start: () => Promise<CodeRun>, signal?: AbortSignal): Promise<CodeRun> {
    return (await this.share(key, start, signal)).run;
  }

  /** As run(), saying whether the run was another idea's. */
  async share(key: string, start: () => Promise<CodeRun>, signal?: AbortSignal): Promise<SharedRun> {
    const existing = this.runs.get(key);
    if (existing) {
      const r = await existing;
      if (!r.run.aborted) {
        this.shared++;
        return { run: r, shared: true };
      }
    }
    const p = this.execute(key, start, signal);
    const runP = p.then((x) => x.run);
    // Waiters that came through `existing` see a rejection as their own failure; the catch only keeps it unhandled-free.
    runP.catch(() => undefined);
    this.runs.set(key, runP);
    let x: SharedRun;
    try {
      x = await p;
    } catch (err) {
      if (this.runs.get(key) === runP) this.runs.delete(key);
      throw err;
    }
    if (x.run.run.aborted) {
      if (this.runs.get(key) === runP) this.runs.delete(key);
    } else {
      // Refresh its place, then trim the oldest.
      this.runs.delete(key);
      this.runs.set(key, runP);
      for (const k of this.runs.keys()) {
        if (this.runs.size <= KEEP) break;
        this.runs.delete(k);
      }
    }
    if (x.shared) this.shared++;
    return x;
  }

  /** Where a run not yet known to this process comes from: here, it is started. */
  protected async execute(_key: string, start: () => Promise<CodeRun>, _signal?: AbortSignal): Promise<SharedRun> {
    return { run: await start(), shared: false };
  }
}

/**
 * One idea's view of a RunShare: the same runs, and whether this idea's run was another's (a Redis worker tells the
 * server, which counts shared runs for the whole cluster).
 */
export class RunShareView extends RunShare {
  used = false;

  constructor(private readonly of: RunShare) {
    super();
  }

  override async share(key: string, start: () => Promise<CodeRun>, signal?: AbortSignal): Promise<SharedRun> {
    const x = await this.of.share(key, start, signal);
    if (x.shared) this.used = true;
    return x;
  }
}
