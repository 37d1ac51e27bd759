/**
 * The second half of a capture on a worker thread, for BoundedCapture({ offThread: true }) (the editor's runs and
 * the server's sandboxed runs). The main thread reads the output and cleans it (escape sequences, redraws); the
 * cleaned text goes to one shared thread (captureWorker.ts; messages in captureProtocol.ts) that removes invisible
 * characters, reads the scores and keeps head and tail (a KeptOutput per capture). A run that prints hundreds of MB
 * a second then costs the thread that serves the editor or the HTTP API only the cleaning, and the two halves run
 * side by side (bench/capture.ts measures both ways).
 *
 * What stays true whatever the thread does:
 *  - Memory is bounded: at most MAX_QUEUED_CHARS cleaned characters wait for the thread (or one text, when a single
 *    pushed chunk is larger); past that, sending waits for room, and the main thread goes at the thread's pace as
 *    inline extraction would. Texts kept for a replay (below) are within that bound: they are dropped as soon as
 *    the thread is seen running.
 *  - Nothing is lost when the thread cannot start (no worker file, a failed start): what was sent before it was
 *    seen running is replayed on the main thread, which carries on inline, and the warning hook says so once.
 *  - A thread that dies or stops reading after starting (nothing read for stallMs while text waits) is given up:
 *    its captures finish on the main thread, what it had kept and read is gone, so their result says `incomplete`
 *    and the warning hook is told. A capture the thread fails to read (an exception) goes the same way alone.
 *  - A capture registers with the thread only once it has text to send, and dispose() forgets one dropped
 *    unfinished; the thread is referenced only while a capture is open, and ends after IDLE_MS without one, so it
 *    never keeps a process alive by itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { withoutInvisible } from './ansi';
import { EXITED, PROGRESS, QUEUED, READY, SLOTS, STATE, type ThreadReply, type ThreadRequest } from './captureProtocol';
import { KeptOutput, type KeptOptions, type KeptResult } from './keptOutput';
import type { PrimaryScore } from './protocol';

/** Cleaned characters sent to the thread and not yet read by it; past this, sending waits for room. */
export const MAX_QUEUED_CHARS = 8 * 1024 * 1024;
/**
 * Characters gathered before a message; a smaller batch is sent FLUSH_MS after its first text. Each message costs
 * the main thread a copy and a fixed toll of several microseconds: one per 64 KB pipe read cost the bench's
 * redraw-heavy stream (a few KB of text per read) more time than the copies.
 */
const BATCH_CHARS = 256 * 1024;
const FLUSH_MS = 10;
/** How long text may wait with the thread reading nothing before it is given up as stuck (default). */
const STALL_MS = 10_000;
/**
 * A thread with no open capture for this long is ended; the next capture starts a new one (tens of ms, while its
 * run starts). Long enough to span the edits between two runs of an iteration loop; an idle thread holds a few MB.
 */
const IDLE_MS = 30 * 60_000;

export interface OffThreadResult extends KeptResult {
  /** Why part of the output is missing from the result (the thread stopped after it had read part of it). */
  incomplete?: string;
}

interface ThreadSettings {
  /** The worker script; default: captureWorker.js beside this module (bundles), else captureWorker.ts under tsx. */
  workerFile?: string;
  /** Told when a capture falls back to the main thread (default: console.warn). */
  onWarning?: (message: string) => void;
  /** How long text may wait with the thread reading nothing before it is given up (default STALL_MS). */
  stallMs?: number;
}

const settings: ThreadSettings = {};

/** Where warnings go and (for tests) which worker script runs; takes effect for threads started afterwards. */
export function configureCaptureThread(next: ThreadSettings): void {
  if ('workerFile' in next) settings.workerFile = next.workerFile;
  if ('onWarning' in next) settings.onWarning = next.onWarning;
  if ('stallMs' in next) settings.stallMs = next.stallMs;
  CaptureThread.unavailable = undefined;
}

/** Ends the shared thread now (extension deactivation, tests); open captures finish on the main thread. */
export async function stopCaptureThread(): Promise<void> {
  await CaptureThread.current?.stop();
}

function warn(message: string): void {
  (settings.onWarning ?? ((m: string) => console.warn(`ideator: ${m}`)))(message);
}

function startWorker(shared: SharedArrayBuffer): Worker {
  // No inherited node flags: a worker takes its parent's by default, and a loader among them (tsx under the tests
  // and benches, whatever an editor host passes) would be loaded again in the thread: 4x its start-up here.
  const options = { workerData: { shared }, execArgv: [] };
  if (settings.workerFile) return new Worker(settings.workerFile, options);
  const js = path.join(__dirname, 'captureWorker.js');
  if (fs.existsSync(js)) return new Worker(js, options);
  const ts = path.join(__dirname, 'captureWorker.ts');
  if (fs.existsSync(ts)) {
    // Running from the sources (tests, benches under tsx): the worker loads them through tsx's require hook.
    const tsxApi = 'tsx/cjs/api';
    const hook = require.resolve(tsxApi);
    return new Worker(`require(${JSON.stringify(hook)}).register(); require(${JSON.stringify(ts)});`, { ...options, eval: true });
  }
  throw new Error(`no capture worker beside ${__filename}`);
}

class CaptureThread {
  static current: CaptureThread | undefined;
  /** Set when a thread could not start: later captures run inline without trying again. */
  static unavailable: string | undefined;

  private readonly worker: Worker;
  private readonly shared: Int32Array;
  private readonly open = new Map<number, OffThreadOutput>();
  private nextId = 1;
  private ready = false;
  private dead = false;
  private idle: NodeJS.Timeout | undefined;
  /** While a capture is open: gives the thread up when it reads nothing for stallMs while text waits. */
  private watchdog: NodeJS.Timeout | undefined;
  /**
   * Since when text has waited for the thread with its PROGRESS at waitingProgress: set by the post that found the
   * queue read, moved on whenever the thread reads. Measured from the post, not from a tick: a tick delayed by a
   * blocked main thread must not count the time the text was not even sent.
   */
  private waitingSince: number | undefined;
  private waitingProgress = 0;

  /** The running thread, started if need be; undefined when none can run here (then capture inline). */
  static shared(): CaptureThread | undefined {
    if (CaptureThread.current) return CaptureThread.current;
    if (CaptureThread.unavailable) return undefined;
    try {
      CaptureThread.current = new CaptureThread();
    } catch (err) {
      CaptureThread.unavailable = err instanceof Error ? err.message : String(err);
      warn(`scores are read on the main thread: the capture thread cannot start (${CaptureThread.unavailable})`);
    }
    return CaptureThread.current;
  }

  private constructor() {
    this.shared = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
    this.worker = startWorker(this.shared.buffer as SharedArrayBuffer);
    this.worker.on('message', (m: ThreadReply) => this.onReply(m));
    this.worker.on('error', (err) => this.fail(err.message, { disable: true }));
    this.worker.on('exit', (code) => this.fail(`the thread exited with code ${code}`, { disable: true }));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref();
    this.armIdle();
  }

  /** Given up, or its worker is ending (EXITED is set before its 'exit' event can arrive). */
  get isDead(): boolean {
    if (!this.dead && (Atomics.load(this.shared, STATE) & EXITED) !== 0) this.fail('the thread exited', { disable: true });
    return this.dead;
  }

  /** Whether the worker runs (it says so in the shared state before its 'ready' message can be received). */
  isReady(): boolean {
    if (!this.ready && (Atomics.load(this.shared, STATE) & READY) !== 0) this.markReady();
    return this.ready;
  }

  register(ex: OffThreadOutput, opts: KeptOptions): number {
    const id = this.nextId++;
    if (this.open.size === 0) {
      if (this.idle) clearTimeout(this.idle);
      this.idle = undefined;
      this.worker.ref();
      this.watchdog = setInterval(() => this.watch(), Math.min(1000, this.stallMs()));
      this.watchdog.unref();
    }
    this.open.set(id, ex);
    this.post({ t: 'open', id, opts });
    return id;
  }

  post(m: ThreadRequest): void {
    this.worker.postMessage(m);
  }

  /**
   * Waits until `chars` more characters fit in the queue (see MAX_QUEUED_CHARS) and counts them in. False when the
   * thread is gone or stalled (it has been given up, and the caller's capture now runs inline).
   */
  reserve(chars: number): boolean {
    let last = Atomics.load(this.shared, QUEUED);
    let since = Date.now();
    const stallMs = this.stallMs();
    while (!this.dead && last > 0 && last + chars > MAX_QUEUED_CHARS) {
      if ((Atomics.load(this.shared, STATE) & EXITED) !== 0) {
        this.fail('the thread exited', { disable: true });
        break;
      }
      Atomics.wait(this.shared, QUEUED, last, Math.min(1000, stallMs));
      const now = Atomics.load(this.shared, QUEUED);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > stallMs) {
        this.fail(`the thread read nothing for ${stallMs / 1000} s`);
      }
    }
    if (this.dead) return false;
    if (Atomics.add(this.shared, QUEUED, chars) === 0 || this.waitingSince === undefined) {
      this.waitingSince = Date.now();
      this.waitingProgress = Atomics.load(this.shared, PROGRESS);
    }
    return true;
  }

  /** A capture is done with the thread (its result arrived, or it was dropped: tell the thread with 'close'). */
  close(id: number): void {
    if (!this.open.delete(id) || this.open.size > 0 || this.dead) return;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.worker.unref();
    this.armIdle();
  }

  async stop(): Promise<void> {
    if (this.dead) return;
    this.fail('the capture thread was stopped', { quiet: true });
    await this.worker.terminate();
  }

  private stallMs(): number {
    return settings.stallMs ?? STALL_MS;
  }


  private armIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => void this.stop(), IDLE_MS);
    this.idle.unref();
  }

  private watch(): void {
    if (this.dead) return;
    if ((Atomics.load(this.shared, STATE) & EXITED) !== 0) return this.fail('the thread exited', { disable: true });
    if (Atomics.load(this.shared, QUEUED) === 0) {
      this.waitingSince = undefined;
      return;
    }
    const progress = Atomics.load(this.shared, PROGRESS);
    const now = Date.now();
    if (this.waitingSince === undefined || progress !== this.waitingProgress) {
      this.waitingSince = now;
      this.waitingProgress = progress;
    } else if (now - this.waitingSince > this.stallMs()) {
      this.fail(`the thread read nothing for ${this.stallMs() / 1000} s`);
    }
  }

  private markReady(): void {
    this.ready = true;
    for (const ex of this.open.values()) ex.confirmed();
  }

  private onReply(m: ThreadReply): void {
    if (m.t === 'ready') {
      if (!this.ready) this.markReady();
      return;
    }
    const ex = this.open.get(m.id);
    if (!ex) return;
    if (m.t === 'live') {
      ex.onLive(m.primary);
      return;
    }
    this.close(m.id);
    if (m.t === 'done') ex.onDone(m.result);
    else {
      fallBack(ex, m.message);
      try {
        warn(`reading a run's output failed on the capture thread (${m.message}); the rest of it is read on the main thread`);
      } catch {
        // the hook's own failure is not the capture's
      }
    }
  }

  /**
   * The thread is given up: its open captures go on (or finish) on the main thread. `disable`: it failed to load or
   * died, so when it never ran, later captures do not try again (a stall or a stop leaves that open); `quiet`: asked
   * for, no warning.
   */
  private fail(reason: string, how: { disable?: boolean; quiet?: boolean } = {}): void {
    if (this.dead) return;
    this.dead = true;
    if (this.idle) clearTimeout(this.idle);
    if (this.watchdog) clearInterval(this.watchdog);
    if (CaptureThread.current === this) CaptureThread.current = undefined;
    const started = this.isReadyNow();
    if (!started && how.disable) CaptureThread.unavailable = reason;
    const open = [...this.open.values()];
    this.open.clear();
    // The captures first: a warning hook that throws must not leave one waiting.
    for (const ex of open) fallBack(ex, reason);
    void this.worker.terminate().catch(() => undefined);
    if (how.quiet || (open.length === 0 && started)) return;
    try {
      warn(
        started
          ? `the capture thread stopped (${reason}); ${open.length} run(s) in progress are read on the main thread from here on`
          : `scores are read on the main thread: the capture thread did not start (${reason})`,
      );
    } catch {
      // the hook's own failure is not the capture's
    }
  }

  private isReadyNow(): boolean {
    return this.ready || (Atomics.load(this.shared, STATE) & READY) !== 0;
  }
}

/** ex.fallback(), and should that throw, the capture is settled empty with both reasons: no finish() waits forever. */
function fallBack(ex: OffThreadOutput, reason: string): void {
  try {
    ex.fallback(reason);
  } catch (err) {
    ex.abandon(`${reason}; then ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * One capture's KeptOutput on the shared capture thread: pushText() takes TerminalTextCleaner.pushJoined()'s text
 * (invisible characters still in), end() the last unterminated line. primary() is the latest score the thread
 * reported (at most LIVE_MS old while the run prints); the final one comes with end(). A capture that has sent
 * nothing yet holds no slot on the thread.
 */
export class OffThreadOutput {
  /** This thread's KeptOutput: when there is no capture thread, or after it was given up. */
  private local: KeptOutput | undefined;
  private thread: CaptureThread | undefined;
  /** The slot on the thread; 0 until the first text is sent. */
  private id = 0;
  private batch: string[] = [];
  private batchChars = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The texts sent before the thread was seen running; replayed here if it never runs. */
  private unconfirmed: string[] | undefined;
  private latest: PrimaryScore | null = null;
  private incomplete: string | undefined;
  private rest: string | undefined;
  /** Set once the capture can read nothing more (dropped, or its fallback failed): why. Later text is ignored. */
  private gone: string | undefined;
  private result: Promise<OffThreadResult> | undefined;
  private settle: ((r: OffThreadResult) => void) | undefined;

  constructor(private readonly opts: KeptOptions = {}) {
    // Started now, so that it runs by the time the run prints (a new thread takes tens of ms).
    this.thread = CaptureThread.shared();
    if (!this.thread) this.local = new KeptOutput(opts);
  }

  pushText(text: string): void {
    if (this.gone !== undefined || this.result) return;
    if (this.local) {
      this.local.pushText(withoutInvisible(text));
      return;
    }
    this.batch.push(text);
    this.batchChars += text.length;
    if (this.batchChars >= BATCH_CHARS) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  primary(): PrimaryScore | null {
    return this.local ? this.local.primary() : this.latest;
  }

  /** Takes the last unterminated line (may be ''); resolves once the thread has read everything. Call once. */
  end(rest: string): Promise<OffThreadResult> {
    if (this.result) return this.result;
    this.rest = rest;
    this.result = new Promise((resolve) => (this.settle = resolve));
    if (this.gone !== undefined) this.abandon(this.gone);
    else if (!this.local && this.id === 0 && this.batch.length === 0) {
      // Nothing was ever sent: the result is an empty capture's plus this line, no need for the thread.
      this.local = new KeptOutput(this.opts);
      this.finishLocally();
    } else {
      if (!this.local) this.flush();
      if (this.gone !== undefined) this.abandon(this.gone);
      else if (this.local) this.finishLocally();
      else if (this.thread!.reserve(1)) this.thread!.post({ t: 'end', id: this.id, rest, chars: 1 });
      // else: the thread was given up while reserving; fallback() (or abandon()) settled the capture.
    }
    return this.result;
  }

  /** Drops the capture unfinished (a run that turned out not to be one): its slot on the thread is freed. */
  dispose(): void {
    if (this.gone !== undefined || this.result) return; // after end(), the result is on its way: let it come
    const thread = this.thread;
    this.abandon('the capture was dropped');
    if (this.id !== 0 && thread && !thread.isDead) {
      thread.post({ t: 'close', id: this.id });
      thread.close(this.id);
    }
  }

  /** @internal the thread runs: what was sent will be read. */
  confirmed(): void {
    this.unconfirmed = undefined;
  }

  /** @internal */
  onLive(primary: PrimaryScore | null): void {
    this.latest = primary;
  }

  /** @internal */
  onDone(r: KeptResult): void {
    this.latest = r.primary;
    this.settle?.(r);
    this.settle = undefined;
  }

  /**
   * @internal The thread is gone (or failed this capture): the capture goes on here. The texts sent before the
   * thread was seen running are still held, and replayed: then nothing is lost. Otherwise what the thread had kept
   * and read is, and the result says so.
   */
  fallback(reason: string): void {
    if (this.local || this.gone !== undefined) return;
    const local = (this.local = new KeptOutput(this.opts));
    if (this.unconfirmed) for (const text of this.unconfirmed) local.pushText(withoutInvisible(text));
    else if (this.id !== 0) this.incomplete = reason;
    this.unconfirmed = undefined;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const text of this.batch) local.pushText(withoutInvisible(text));
    this.batch = [];
    this.batchChars = 0;
    this.thread = undefined;
    if (this.result) this.finishLocally();
  }

  /**
   * @internal Nothing more can be read (dropped, or the fallback failed): later text is ignored, and end() (now or
   * pending) resolves with an empty result that says why.
   */
  abandon(reason: string): void {
    this.gone ??= reason;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.batch = [];
    this.batchChars = 0;
    this.unconfirmed = undefined;
    this.local = undefined;
    this.thread = undefined;
    if (!this.settle) return;
    this.settle({ head: '', tail: '', droppedChars: 0, metrics: [], primary: null, incomplete: this.gone });
    this.settle = undefined;
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.local || this.gone !== undefined || this.batch.length === 0) return;
    if (this.id === 0 && this.thread!.isDead) {
      // The thread ended (idle, or given up) before this capture sent anything: take the current one, if any.
      this.thread = CaptureThread.shared();
      if (!this.thread) return this.fallback('no capture thread');
    }
    const thread = this.thread!;
    if (this.id === 0) {
      this.id = thread.register(this, this.opts);
      if (!thread.isReady()) this.unconfirmed = [];
    }
    const texts = this.batch;
    const chars = this.batchChars;
    if (!thread.reserve(chars)) return; // the thread was given up: fallback() took the batch
    thread.post({ t: 'text', id: this.id, texts, chars });
    this.batch = [];
    this.batchChars = 0;
    if (this.unconfirmed) {
      if (thread.isReady()) this.unconfirmed = undefined;
      else for (const text of texts) this.unconfirmed.push(text);
    }
  }

  private finishLocally(): void {
    if (!this.settle) return; // settled already (a failed flush inside end() finishes here first)
    const r: OffThreadResult = this.local!.end(this.rest ?? '');
    if (this.incomplete) r.incomplete = this.incomplete;
    this.settle(r);
    this.settle = undefined;
  }
}
