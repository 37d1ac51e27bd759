/**
 * Bounded capture of one run's output: the head (first 64 K characters) and the tail (last 256 K characters) of
 * the cleaned text are kept, while score extraction sees the whole stream. Memory per run stays bounded whatever
 * the run prints: the head stops growing at its cap, the tail drops whole chunks from its front, the cleaner caps
 * line length and the extractor caps series and metric names.
 *
 * API
 *   new BoundedCapture({ headChars?, tailChars?, score?, offThread? })
 *   capture.push(rawChunk)        raw terminal/pty/debug/notebook text, ANSI and \r redraws allowed
 *   capture.live()                -> { bytes, primary }   cheap, for progress display while running
 *   capture.end()                 -> CaptureResult        flushes the last partial line (on-thread capture only)
 *   capture.finish()              -> Promise<CaptureResult>  the same, for both kinds of capture
 *   capture.dispose()             drops it unfinished (frees its slot on the capture thread)
 *
 * With { offThread: true } this thread only cleans the raw text (escape sequences, redraws); what follows (invisible
 * characters removed, scores read, head and tail kept: a KeptOutput) runs on the shared capture thread
 * (captureThread.ts). That is how the editor and the server capture runs: their own thread pays for the cleaning
 * only, and the two halves run side by side. live().primary then lags the output by up to LIVE_MS, and the result
 * comes from finish().
 */
import { TerminalTextCleaner } from './ansi';
import { OffThreadOutput } from './captureThread';
import { KeptOutput, type KeptOptions, type KeptResult } from './keptOutput';
import type { PrimaryScore } from './protocol';

/**
 * Scratch space for counting UTF-8 bytes: TextEncoder.encodeInto() runs several times faster than
 * Buffer.byteLength() on Node 20 (which walks the string one character at a time), and gives the same count, lone
 * surrogates included (both count U+FFFD, 3 bytes). 3 bytes per UTF-16 unit is the most one can take.
 */
const SCRATCH_UNITS = 65_536;
let scratch: Uint8Array | undefined;
const encoder = new TextEncoder();

function utf8Length(text: string): number {
  if (text.length > SCRATCH_UNITS) return Buffer.byteLength(text, 'utf8');
  scratch ??= new Uint8Array(3 * SCRATCH_UNITS);
  return encoder.encodeInto(text, scratch).written;
}

export interface CaptureOptions extends KeptOptions {
  /** Read scores and keep head and tail on the shared capture thread (captureThread.ts); read with finish(). */
  offThread?: boolean;
}

export interface CaptureResult extends KeptResult {
  /** Raw UTF-8 bytes the run printed. */
  bytes: number;
  /**
   * Off-thread only: the capture thread stopped mid-run, so what it had kept and read before that is missing from
   * head, tail and scores (the rest was captured on this thread). Says why.
   */
  incomplete?: string;
}

export class BoundedCapture {
  private readonly cleaner = new TerminalTextCleaner();
  /** Exactly one of the two keeps the cleaned text. */
  private readonly kept: KeptOutput | undefined;
  private readonly remote: OffThreadOutput | undefined;
  private bytes = 0;
  private ended: CaptureResult | null = null;
  private finished: Promise<CaptureResult> | undefined;

  constructor(opts: CaptureOptions = {}) {
    const kept: KeptOptions = { headChars: opts.headChars, tailChars: opts.tailChars, score: opts.score };
    if (opts.offThread) this.remote = new OffThreadOutput(kept);
    else this.kept = new KeptOutput(kept);
  }

  push(chunk: string): void {
    if (this.ended || this.finished || !chunk) return;
    this.bytes += utf8Length(chunk);
    // One cleaning pass serves both consumers: the extractor reads the lines of the cleaned text, which is also what
    // head and tail keep (a plain log's lines are cut out of the chunk whole; see TerminalTextCleaner.push()).
    if (this.kept) {
      const text = this.cleaner.push(chunk);
      if (text) this.kept.pushText(text);
    } else {
      // The capture thread removes the invisible characters (see TerminalTextCleaner.pushJoined()).
      const text = this.cleaner.pushJoined(chunk);
      if (text) this.remote!.pushText(text);
    }
  }

  live(): { bytes: number; primary: PrimaryScore | null } {
    return { bytes: this.bytes, primary: this.kept ? this.kept.primary() : this.remote!.primary() };
  }

  /** The result, for an on-thread capture (the default); an off-thread capture is read with finish(). */
  end(): CaptureResult {
    if (this.ended) return this.ended;
    if (!this.kept) throw new Error('BoundedCapture: this capture runs off-thread; use finish()');
    this.ended = { ...this.kept.end(this.cleaner.end()), bytes: this.bytes };
    return this.ended;
  }

  /**
   * Drops the capture unfinished (a run that turned out not to be one, a run that never started): an off-thread
   * capture frees its slot on the capture thread. Later pushes are ignored; finish() then resolves at once (an
   * off-thread capture's result is empty and says it was dropped). After finish(), it changes nothing.
   */
  dispose(): void {
    if (this.kept) {
      this.ended ??= { ...this.kept.end(''), bytes: this.bytes };
      return;
    }
    if (this.finished) return; // finishing already: its result is on its way
    this.remote!.dispose();
    this.finished = this.remote!.end('').then((r) => ({ ...r, bytes: this.bytes }));
  }

  /** The result once the whole output is read; either kind of capture. Later pushes are ignored. */
  finish(): Promise<CaptureResult> {
    if (this.kept) return Promise.resolve(this.end());
    this.finished ??= this.remote!.end(this.cleaner.end()).then((r) => ({ ...r, bytes: this.bytes }));
    return this.finished;
  }
}
