/**
 * The second half of a capture on a worker thread, for BoundedCapture({ offThread: true }) (the editor's runs and
 * the server's sandboxed runs). The main thread reads the output and cleans it (escape sequences, redraws); the
 * cleaned text goes to one shared thread (captureWorker.ts) that removes invisible characters, reads the scores and
 * keeps head and tail (a KeptOutput per capture). A run that prints hundreds of MB a second then costs the thread
 * that serves the editor or the HTTP API only the cleaning, and the two halves run side by side (bench/capture.ts
 * measures both ways).
 *
 * What stays true whatever the thread does:
 *  - Memory is bounded: at most MAX_QUEUED_CHARS cleaned characters wait for the thread; past that, a push waits
 *    for room (the main thread then goes at the thread's pace, as inline extraction would).
 *  - Nothing is lost when the thread cannot start (no worker file, a failed start): what was sent before it said
 *    it was ready is replayed on the main thread, which carries on inline, and the warning hook says so once.
 *  - A thread that dies or stalls after starting leaves its captures to finish on the main thread; what it had kept
 *    and read is gone, so their result says `incomplete` and the warning hook is told. (A capture the thread fails
 *    to read, an exception in the extractor, goes the same way; the others stay on the thread.)
 *  - The thread never keeps a process alive by itself: it is referenced only while a capture is open, and ends
 *    after IDLE_MS without one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { withoutInvisible } from './ansi';
import { KeptOutput, type KeptOptions, type KeptResult } from './keptOutput';
import type { PrimaryScore } from './protocol';

/** How often, at most, the thread reports a changed primary score while a run prints (live() shows it). */
export const LIVE_MS = 100;
/** Cleaned characters sent to the thread and not yet read by it; past this, sending waits for room. */
export const MAX_QUEUED_CHARS = 8 * 1024 * 1024;
/**
 * Characters gathered before a message; a smaller batch is sent FLUSH_MS after its first text. Each message costs
 * the main thread a copy and a fixed toll of several microseconds: one per 64 KB pipe read cost the bench's
 * redraw-heavy stream (a few KB of text per read) more time than the copies.
 */
const BATCH_CHARS = 256 * 1024;
const FLUSH_MS = 10;
/** How long sending waits for the thread to make room before it is given up as stuck (default). */
const STALL_MS = 10_000;
/** A thread with no open capture for this long is ended (a new one starts with the next capture). */
const IDLE_MS = 30_000;

export type ThreadRequest =
  | { t: 'open'; id: number; opts: KeptOptions }
  | { t: 'text'; id: number; texts: string[]; chars: number }
  | { t: 'end'; id: number; rest: string };

export type ThreadReply =
  | { t: 'ready' }
  | { t: 'live'; id: number; primary: PrimaryScore | null }
  | { t: 'done'; id: number; result: KeptResult }
  | { t: 'failed'; id: number; message: string };

export interface OffThreadResult extends KeptResult {
  /** Why part of the output is missing from the result (the thread stopped after it had read part of it). */
  incomplete?: string;
}

export function samePrimary(a: PrimaryScore | null, b: PrimaryScore | null): boolean {
  if (a === null || b === null) return a === b;
  return a.name === b.name && Object.is(a.value, b.value) && a.direction === b.direction && a.diverged === b.diverged;
}

interface ThreadSettings {
  /** The worker script; default: captureWorker.js beside this module (bundles), else captureWorker.ts under tsx. */
  workerFile?: string;
  /** Told when a capture falls back to the main thread (default: console.warn). */
  onWarning?: (message: string) => void;
  /** How long sending may wait for room before the thread is given up (default STALL_MS). */
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

function startWorker(queued: SharedArrayBuffer): Worker {
  const workerData = { queued };
  if (settings.workerFile) return new Worker(settings.workerFile, { workerData });
  const js = path.join(__dirname, 'captureWorker.js');
  if (fs.existsSync(js)) return new Worker(js, { workerData });
  const ts = path.join(__dirname, 'captureWorker.ts');
  if (fs.existsSync(ts)) {
    // Running from the sources (tests, benches under tsx): the worker loads them through tsx's require hook.
    const tsxApi = 'tsx/cjs/api';
    const hook = require.resolve(tsxApi);
    return new Worker(`require(${JSON.stringify(hook)}).register(); require(${JSON.stringify(ts)});`, { eval: true, workerData });
  }
  throw new Error(`no capture worker beside ${__filename}`);
}

class CaptureThread {
  static current: CaptureThread | undefined;
  /** Set when a thread could not start: later captures extract inline without trying again. */
  static unavailable: string | undefined;

  private readonly worker: Worker;
  private readonly queued: Int32Array;
  private readonly open = new Map<number, OffThreadOutput>();
  private nextId = 1;
  private ready = false;
  private dead = false;
  private idle: NodeJS.Timeout | undefined;

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
    const shared = new SharedArrayBuffer(4);
    this.queued = new Int32Array(shared);
    this.worker = startWorker(shared);
    this.worker.unref();
    this.worker.on('message', (m: ThreadReply) => this.onReply(m));
    this.worker.on('error', (err) => this.fail(err.message));
    this.worker.on('exit', (code) => this.fail(`the thread exited with code ${code}`));
  }

  register(ex: OffThreadOutput, opts: KeptOptions): number {
    const id = this.nextId++;
    if (this.open.size === 0) {
      if (this.idle) clearTimeout(this.idle);
      this.idle = undefined;
      this.worker.ref();
    }
    this.open.set(id, ex);
    this.post({ t: 'open', id, opts });
    return id;
  }

  get isReady(): boolean {
    return this.ready;
  }

  post(m: ThreadRequest): void {
    this.worker.postMessage(m);
  }

  /**
   * Waits until `chars` more characters fit in the queue (see MAX_QUEUED_CHARS) and counts them in. False when the
   * thread is gone or stalled (it has been failed, and the caller's capture now extracts inline).
   */
  reserve(chars: number): boolean {
    let last = Atomics.load(this.queued, 0);
    let since = Date.now();
    const stallMs = settings.stallMs ?? STALL_MS;
    while (!this.dead && last > 0 && last + chars > MAX_QUEUED_CHARS) {
      Atomics.wait(this.queued, 0, last, Math.min(1000, stallMs));
      const now = Atomics.load(this.queued, 0);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > stallMs) {
        this.fail(`the thread read nothing for ${stallMs / 1000} s`);
      }
    }
    if (this.dead) return false;
    Atomics.add(this.queued, 0, chars);
    return true;
  }

  close(id: number): void {
    if (!this.open.delete(id) || this.open.size > 0 || this.dead) return;
    this.worker.unref();
    this.idle = setTimeout(() => void this.stop(), IDLE_MS);
    this.idle.unref();
  }

  async stop(): Promise<void> {
    if (this.dead) return;
    this.fail('the capture thread was stopped', false);
    await this.worker.terminate();
  }

  private onReply(m: ThreadReply): void {
    if (m.t === 'ready') {
      this.ready = true;
      for (const ex of this.open.values()) ex.confirmed();
      return;
    }
    const ex = this.open.get(m.id);
    if (!ex) return;
    if (m.t === 'live') ex.onLive(m.primary);
    else if (m.t === 'done') {
      this.close(m.id);
      ex.onDone(m.result);
    } else {
      this.close(m.id);
      warn(`reading scores failed on the capture thread (${m.message}); the rest of the run is read on the main thread`);
      ex.fallback(m.message, true);
    }
  }

  /** The thread is given up: its open captures go on (or finish) on the main thread. */
  private fail(reason: string, loud = true): void {
    if (this.dead) return;
    this.dead = true;
    if (this.idle) clearTimeout(this.idle);
    if (CaptureThread.current === this) CaptureThread.current = undefined;
    if (!this.ready) CaptureThread.unavailable = reason;
    const open = [...this.open.values()];
    this.open.clear();
    if (loud && (open.length > 0 || !this.ready)) {
      warn(
        this.ready
          ? `the capture thread stopped (${reason}); ${open.length} run(s) in progress are read on the main thread from here on`
          : `scores are read on the main thread: the capture thread did not start (${reason})`,
      );
    }
    for (const ex of open) ex.fallback(reason, this.ready);
    void this.worker.terminate().catch(() => undefined);
  }
}

/**
 * One capture's KeptOutput on the shared capture thread: pushText() takes TerminalTextCleaner.pushJoined()'s text
 * (invisible characters still in), end() the last unterminated line. primary() is the latest score the thread
 * reported (at most LIVE_MS old while the run prints); the final one comes with end().
 */
export class OffThreadOutput {
  /** This thread's KeptOutput: when there is no capture thread, or after it was given up. */
  private local: KeptOutput | undefined;
  private thread: CaptureThread | undefined;
  private id = 0;
  private batch: string[] = [];
  private batchChars = 0;
  private flushing = false;
  /** The texts sent before the thread said it was ready; replayed here if it never does. */
  private unconfirmed: string[] | undefined = [];
  private latest: PrimaryScore | null = null;
  private incomplete: string | undefined;
  private rest: string | undefined;
  private result: Promise<OffThreadResult> | undefined;
  private settle: ((r: OffThreadResult) => void) | undefined;

  constructor(private readonly opts: KeptOptions = {}) {
    this.thread = CaptureThread.shared();
    if (!this.thread) {
      this.local = new KeptOutput(opts);
      return;
    }
    this.id = this.thread.register(this, opts);
    if (this.thread.isReady) this.unconfirmed = undefined;
  }

  pushText(text: string): void {
    if (this.local) {
      this.local.pushText(withoutInvisible(text));
      return;
    }
    this.batch.push(text);
    this.batchChars += text.length;
    if (this.batchChars >= BATCH_CHARS) this.flush();
    else if (!this.flushing) {
      this.flushing = true;
      setTimeout(() => {
        this.flushing = false;
        this.flush();
      }, FLUSH_MS);
    }
  }

  primary(): PrimaryScore | null {
    return this.local ? this.local.primary() : this.latest;
  }

  /** Takes the last unterminated line (may be ''); resolves once the thread has read everything. Call once. */
  end(rest: string): Promise<OffThreadResult> {
    if (this.result) return this.result;
    this.rest = rest;
    this.result = new Promise((resolve) => (this.settle = resolve));
    if (!this.local) this.flush();
    if (this.local) this.finishLocally();
    else this.thread!.post({ t: 'end', id: this.id, rest });
    return this.result;
  }

  /** @internal the thread said it is ready: what was sent will be read. */
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
   * @internal The thread is gone (or failed this capture): the capture goes on here. Texts it may never have read
   * are replayed when it never said it was ready; otherwise what it had kept and read is lost, and the result says so.
   */
  fallback(reason: string, threadHadStarted: boolean): void {
    if (this.local) return;
    const local = (this.local = new KeptOutput(this.opts));
    if (threadHadStarted && !this.unconfirmed) this.incomplete = reason;
    else for (const text of this.unconfirmed ?? []) local.pushText(withoutInvisible(text));
    this.unconfirmed = undefined;
    for (const text of this.batch) local.pushText(withoutInvisible(text));
    this.batch = [];
    this.batchChars = 0;
    this.thread = undefined;
    if (this.result) this.finishLocally();
  }

  private flush(): void {
    if (this.local || this.batch.length === 0) return;
    const thread = this.thread!;
    if (!thread.reserve(this.batchChars)) return; // the thread was given up: fallback() took the batch
    const texts = this.batch;
    thread.post({ t: 'text', id: this.id, texts, chars: this.batchChars });
    if (this.unconfirmed) for (const text of texts) this.unconfirmed.push(text);
    this.batch = [];
    this.batchChars = 0;
  }

  private finishLocally(): void {
    if (!this.settle) return; // settled already (a failed flush inside end() finishes here first)
    const r: OffThreadResult = this.local!.end(this.rest ?? '');
    if (this.incomplete) r.incomplete = this.incomplete;
    this.settle?.(r);
    this.settle = undefined;
  }
}
