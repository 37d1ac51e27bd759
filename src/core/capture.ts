/**
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
import { TerminalTextCleaner } from './ansi';
import type { Metric, PrimaryScore } from './protocol';
import { ScoreExtractor, type ScoreOptions } from './scores';

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

export interface CaptureOptions {
  /** Characters kept from the start (default 65,536). */
  headChars?: number;
  /** Characters kept from the end (default 262,144). */
  tailChars?: number;
  score?: ScoreOptions;
}

export interface CaptureResult {
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

export class BoundedCapture {
  private readonly headCap: number;
  private readonly tailCap: number;
  private readonly cleaner = new TerminalTextCleaner();
  private readonly extractor: ScoreExtractor;
  private head = '';
  /** Tail chunks live in tailChunks[tailStart..]; the dead prefix is compacted now and then (no O(n) shift per push). */
  private tailChunks: string[] = [];
  private tailStart = 0;
  private tailLength = 0;
  private dropped = 0;
  private bytes = 0;
  private ended: CaptureResult | null = null;

  constructor(opts: CaptureOptions = {}) {
    this.headCap = Math.max(0, opts.headChars ?? 64 * 1024);
    this.tailCap = Math.max(1, opts.tailChars ?? 256 * 1024);
    this.extractor = new ScoreExtractor(opts.score);
  }

  push(chunk: string): void {
    if (this.ended || !chunk) return;
    this.bytes += utf8Length(chunk);
    // One cleaning pass serves both consumers: the extractor reads the lines of the cleaned text, which is also what
    // head and tail keep (a plain log's lines are cut out of the chunk whole; see TerminalTextCleaner.push()).
    const text = this.cleaner.push(chunk);
    if (!text) return;
    // The extractor reads the lines in place: one flat string, no split into a substring per line.
    this.extractor.pushText(text);
    this.keep(text);
  }

  live(): { bytes: number; primary: PrimaryScore | null } {
    return { bytes: this.bytes, primary: this.extractor.primary() };
  }

  end(): CaptureResult {
    if (this.ended) return this.ended;
    const rest = this.cleaner.end();
    if (rest) {
      this.extractor.pushLine(rest);
      this.keep(rest);
    }
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
