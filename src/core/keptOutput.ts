/**
 * What a capture holds once its output is cleaned: the head (first `headChars` characters) and the tail (last
 * `tailChars`) of the cleaned text, and the scores read from all of it. BoundedCapture keeps one on its own thread,
 * or the capture thread keeps it (captureThread.ts); either way the result is the same.
 */
import type { Metric, PrimaryScore } from './protocol';
import { ScoreExtractor, type ScoreOptions } from './scores';

export interface KeptOptions {
  /** Characters kept from the start (default 65,536). */
  headChars?: number;
  /** Characters kept from the end (default 262,144). */
  tailChars?: number;
  score?: ScoreOptions;
}

export interface KeptResult {
  head: string;
  /** Continues the head exactly when nothing was dropped; otherwise the last `tailChars` characters. */
  tail: string;
  /** Cleaned characters dropped between head and tail. */
  droppedChars: number;
  metrics: Metric[];
  primary: PrimaryScore | null;
}

export class KeptOutput {
  private readonly headCap: number;
  private readonly tailCap: number;
  private readonly extractor: ScoreExtractor;
  private head = '';
  /** Tail chunks live in tailChunks[tailStart..]; the dead prefix is compacted now and then (no O(n) shift per push). */
  private tailChunks: string[] = [];
  private tailStart = 0;
  private tailLength = 0;
  private dropped = 0;

  constructor(opts: KeptOptions = {}) {
    this.headCap = Math.max(0, opts.headChars ?? 64 * 1024);
    this.tailCap = Math.max(1, opts.tailChars ?? 256 * 1024);
    this.extractor = new ScoreExtractor(opts.score);
  }

  /** Clean text whose every line ends with "\n" (TerminalTextCleaner.push()'s). */
  pushText(text: string): void {
    // The extractor reads the lines in place: one flat string, no split into a substring per line.
    this.extractor.pushText(text);
    this.keep(text);
  }

  /** The last, unterminated line (TerminalTextCleaner.end()'s; may be ''), then the result. Call once. */
  end(rest: string): KeptResult {
    if (rest) {
      this.extractor.pushLine(rest);
      this.keep(rest);
    }
    this.extractor.end();
    const tail = this.tailChunks.slice(this.tailStart).join('');
    this.tailChunks = [];
    this.tailStart = 0;
    return { head: this.head, tail, droppedChars: this.dropped, metrics: this.extractor.metrics(), primary: this.extractor.primary() };
  }

  primary(): PrimaryScore | null {
    return this.extractor.primary();
  }

  /** Adds cleaned text to the head and the tail. */
  private keep(text: string): void {
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
