/**
 * TEST-ONLY REFERENCE: a frozen copy of src/core/capture.ts as it was before the throughput work (commit fc3bc2e):
 * clean with the legacy cleaner, then hand the cleaned text to ScoreExtractor.push() (which splits it into lines
 * again). The optimised BoundedCapture must give exactly the same result.
 *
 * Bounded capture of one run's output: the head (first 64 K characters) and the tail (last 256 K characters) of
 * the cleaned text are kept, while score extraction sees the whole stream. Memory per run stays bounded whatever
 * the run prints: the head stops growing at its cap, the tail drops whole chunks from its front, the cleaner caps
 * line length and the extractor caps series and metric names.
 *
 * API
 *   new BoundedCapture({ headChars?, tailChars?, score? })
 *   capture.push(rawChunk)        raw terminal/pty/debug/notebook text, ANSI and \r redraws allowed
 *   capture.live()                -> { bytes, primary }   cheap, for progress display while running
 *   capture.end()                 -> CaptureResult        flushes the last partial line; call once
 */
import type { Metric, PrimaryScore } from '../../src/core/protocol';
import { ScoreExtractor, type ScoreOptions } from '../../src/core/scores';
import { LegacyTerminalTextCleaner } from './legacyCleaner';

export interface LegacyCaptureOptions {
  /** Characters kept from the start (default 65,536). */
  headChars?: number;
  /** Characters kept from the end (default 262,144). */
  tailChars?: number;
  score?: ScoreOptions;
}

export interface LegacyCaptureResult {
  head: string;
  /** Continues the head exactly when nothing was dropped; otherwise the last `tailChars` characters. */
  tail: string;
  /** Raw UTF-8 bytes the run printed. */
  bytes: number;
  /** Cleaned characters dropped between head and tail. */
  droppedChars: number;
  metrics: Metric[];
  primary: PrimaryScore | null;
}

export class LegacyBoundedCapture {
  private readonly headCap: number;
  private readonly tailCap: number;
  private readonly cleaner = new LegacyTerminalTextCleaner();
  private readonly extractor: ScoreExtractor;
  private head = '';
  /** Tail chunks live in tailChunks[tailStart..]; the dead prefix is compacted now and then (no O(n) shift per push). */
  private tailChunks: string[] = [];
  private tailStart = 0;
  private tailLength = 0;
  private dropped = 0;
  private bytes = 0;
  private ended: LegacyCaptureResult | null = null;

  constructor(opts: LegacyCaptureOptions = {}) {
    this.headCap = Math.max(0, opts.headChars ?? 64 * 1024);
    this.tailCap = Math.max(1, opts.tailChars ?? 256 * 1024);
    this.extractor = new ScoreExtractor(opts.score);
  }

  push(chunk: string): void {
    if (this.ended || !chunk) return;
    this.bytes += Buffer.byteLength(chunk, 'utf8');
    this.addClean(this.cleaner.push(chunk));
  }

  live(): { bytes: number; primary: PrimaryScore | null } {
    return { bytes: this.bytes, primary: this.extractor.primary() };
  }

  end(): LegacyCaptureResult {
    if (this.ended) return this.ended;
    this.addClean(this.cleaner.end());
    this.extractor.end();
    const tail = this.tailChunks.slice(this.tailStart).join('');
    this.tailChunks = [];
    this.tailStart = 0;
    this.ended = {
      head: this.head,
      tail,
      bytes: this.bytes,
      droppedChars: this.dropped,
      metrics: this.extractor.metrics(),
      primary: this.extractor.primary(),
    };
    return this.ended;
  }

  private addClean(text: string): void {
    if (!text) return;
    // The text is already clean, so the extractor's own cleaner only splits it into lines.
    this.extractor.push(text);
    let rest = text;
    if (this.head.length < this.headCap) {
      const room = this.headCap - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
      if (!rest) return;
    }
    if (rest.length >= this.tailCap) {
      this.dropped += this.tailLength + rest.length - this.tailCap;
      this.tailChunks = [rest.slice(rest.length - this.tailCap)];
      this.tailStart = 0;
      this.tailLength = this.tailCap;
      return;
    }
    this.tailChunks.push(rest);
    this.tailLength += rest.length;
    // Drop whole chunks from the front while the rest still fills the cap, then trim the first one.
    const chunks = this.tailChunks;
    while (this.tailLength - chunks[this.tailStart].length >= this.tailCap) {
      this.tailLength -= chunks[this.tailStart].length;
      this.dropped += chunks[this.tailStart].length;
      chunks[this.tailStart++] = '';
    }
    const excess = this.tailLength - this.tailCap;
    if (excess > 0) {
      chunks[this.tailStart] = chunks[this.tailStart].slice(excess);
      this.tailLength -= excess;
      this.dropped += excess;
    }
    if (this.tailStart > 1024 && this.tailStart * 2 > chunks.length) {
      this.tailChunks = chunks.slice(this.tailStart);
      this.tailStart = 0;
    }
  }
}
