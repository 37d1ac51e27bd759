/**
 * The local worker pool: N slots, each a loop that leases one idea from the store, evaluates it while renewing the
 * lease, and completes it. Used in-process by `ideator serve` / `ideator demo` and standalone by `ideator worker`
 * (several processes can share one store). Slots are woken at once by in-process submissions and fall back to
 * polling for submissions made by other processes.
 */
import type { JobStore, IdeaOutcome, IdeaWork } from '../jobs/store';
import { newOwnerId } from '../jobs/store';
import type { EvalEnv, Slot } from '../rewards/env';
import { evaluateIdea, EvaluationAborted } from '../rewards/evaluate';
import { internalFailureOutcome } from '../rewards/outcomes';

export interface PoolOptions {
  store: JobStore;
  env: EvalEnv;
  slots: Slot[];
  /** Lease length; a worker that stops heartbeating loses its idea after this long. */
  leaseMs?: number;
  heartbeatMs?: number;
  /** Poll interval while idle (other processes' submissions). */
  pollMs?: number;
  ownerLabel?: string;
  /** Called once per idea this pool completed (metrics, progress bars). */
  onComplete?: (work: IdeaWork, outcome: IdeaOutcome) => void;
  onStart?: (work: IdeaWork) => void;
  log?: (message: string) => void;
}

export class WorkerPool {
  readonly owner: string;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private sleepers: (() => void)[] = [];
  private readonly inflight = new Map<string, AbortController>();
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly onSubmitted = () => this.notify();

  constructor(private readonly opts: PoolOptions) {
    this.owner = newOwnerId(opts.ownerLabel ?? 'pool');
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
    this.pollMs = opts.pollMs ?? 500;
  }

  get size(): number {
    return this.opts.slots.length;
  }

  /** Ideas being evaluated by this pool right now. */
  get busy(): number {
    return this.inflight.size;
  }

  start(): void {
    this.opts.store.on('submitted', this.onSubmitted);
    this.opts.slots.forEach((slot, i) => this.loops.push(this.loop(slot, i)));
  }

  /** Wakes idle slots (new work was submitted). */
  notify(): void {
    const s = this.sleepers;
    this.sleepers = [];
    for (const wake of s) wake();
  }

  /** Stops claiming; aborts running evaluations and gives their ideas back to the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.opts.store.off('submitted', this.onSubmitted);
    for (const ac of this.inflight.values()) ac.abort();
    this.notify();
    await Promise.all(this.loops);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const sleepers = this.sleepers;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      sleepers.push(done);
    });
  }

  private async loop(slot: Slot, index: number): Promise<void> {
    const { store } = this.opts;
    while (!this.stopping) {
      let work: IdeaWork | undefined;
      try {
        work = store.claim(this.owner, this.leaseMs);
      } catch (err) {
        this.opts.log?.(`slot ${index}: cannot claim: ${(err as Error).message}`);
        await this.sleep(this.pollMs);
        continue;
      }
      if (!work) {
        await this.sleep(this.pollMs);
        continue;
      }
      await this.run(work, slot);
    }
  }

  private async run(work: IdeaWork, slot: Slot): Promise<void> {
    const { store } = this.opts;
    const ac = new AbortController();
    this.inflight.set(work.key, ac);
    let leaseLost = false;
    const heartbeat = setInterval(() => {
      try {
        if (!store.heartbeat(work.key, this.owner, this.leaseMs)) {
          leaseLost = true;
          ac.abort();
        }
      } catch (err) {
        this.opts.log?.(`heartbeat failed: ${(err as Error).message}`);
      }
    }, this.heartbeatMs);
    this.opts.onStart?.(work);
    try {
      let outcome: IdeaOutcome;
      try {
        outcome = await evaluateIdea(work, this.opts.env, slot, ac.signal);
      } catch (err) {
        if (err instanceof EvaluationAborted || ac.signal.aborted) {
          if (!leaseLost) store.release(work.key, this.owner);
          return;
        }
        // A server-side failure (a broken grader, a full disk): recorded, so the job finishes and says why.
        outcome = internalFailureOutcome(work, err as Error);
      }
      if (store.complete(work.key, this.owner, outcome)) this.opts.onComplete?.(work, outcome);
    } finally {
      clearInterval(heartbeat);
      this.inflight.delete(work.key);
    }
  }
}

/** Slots for `--slots N` (CPU; GPUs hidden) or `--gpus 0,1,…` (one GPU per slot). */
export function makeSlots(opts: { slots?: number; gpus?: string[]; cpus: number }): Slot[] {
  if (opts.gpus && opts.gpus.length) {
    const threads = Math.max(1, Math.floor(opts.cpus / opts.gpus.length));
    return opts.gpus.map((g) => ({ cudaVisibleDevices: g, threads }));
  }
  const n = Math.max(1, Math.floor(opts.slots ?? 1));
  const threads = Math.max(1, Math.floor(opts.cpus / n));
  return Array.from({ length: n }, () => ({ cudaVisibleDevices: '', threads }));
}
