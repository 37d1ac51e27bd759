/**
 * Differential tests for the capture hot path (TerminalTextCleaner, BoundedCapture, ScoreExtractor).
 *
 * The fast paths (jumping over "\r" redraws up to the next escape sequence, one cleaning pass shared by the
 * extractor and head/tail) must not change any result. Two oracles:
 *  - the same implementation fed the whole text in one piece (chunk boundaries must never matter);
 *  - the frozen pre-optimisation implementation in test/reference (fed the same chunks, so even the byte count of
 *    a split surrogate pair must agree).
 * Inputs: the real tool logs in test/fixtures/logs, and generated logs mixing ANSI colours, OSC 633/133 marks
 * (BEL and ST terminated, and unterminated), DCS strings, "\r" redraws, CRLF, backspaces, CSI 2K / 1G, invisible
 * control characters, non-ASCII text and metric lines of every shape the extractor reads.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stripAnsi, TerminalTextCleaner } from '../../src/core/ansi';
import { BoundedCapture, type CaptureOptions, type CaptureResult } from '../../src/core/capture';
import { ScoreExtractor, type ScoreOptions } from '../../src/core/scores';
import { LegacyBoundedCapture } from '../reference/legacyCapture';
import { LegacyTerminalTextCleaner, legacyStripAnsi } from '../reference/legacyCleaner';
import { rng } from '../seededRandom';
import { benchShape, CAPTURE_OPTIONS, chunks, generate } from '../captureInputs';

const DIR = join(__dirname, '..', 'fixtures', 'logs');

/** What both cleaners offer; each is fed the same pieces through both of its entry points. */
interface Cleaner {
  push(chunk: string): string;
  pushLines(chunk: string, onLine: (line: string) => void): void;
  end(): string;
}

function cleanWith(make: () => Cleaner, pieces: string[]): { text: string; lines: string[] } {
  const a = make();
  const b = make();
  let text = '';
  const lines: string[] = [];
  for (const p of pieces) {
    text += a.push(p);
    b.pushLines(p, (l) => lines.push(l));
  }
  return { text: text + a.end(), lines };
}

const cleanNew = (pieces: string[]) => cleanWith(() => new TerminalTextCleaner(), pieces);
const cleanLegacy = (pieces: string[]) => cleanWith(() => new LegacyTerminalTextCleaner(), pieces);

function captureWith(c: { push(chunk: string): void; end(): CaptureResult }, pieces: string[]): CaptureResult {
  for (const p of pieces) c.push(p);
  return c.end();
}

const captureNew = (pieces: string[], opts?: CaptureOptions) => captureWith(new BoundedCapture(opts), pieces);
const captureLegacy = (pieces: string[], opts?: CaptureOptions) => captureWith(new LegacyBoundedCapture(opts), pieces);

function extractNew(pieces: string[], opts?: ScoreOptions) {
  const ex = new ScoreExtractor(opts);
  for (const p of pieces) ex.push(p);
  ex.end();
  return { metrics: ex.metrics(), primary: ex.primary(), context: ex.context(), lines: ex.lines };
}

/** The result minus the raw byte count, which legitimately depends on where a surrogate pair was split. */
function withoutBytes(r: CaptureResult): Omit<CaptureResult, 'bytes'> {
  const { bytes: _bytes, ...rest } = r;
  return rest;
}


/** Checks one text under one chunking against both oracles. */
function checkAll(text: string, pieces: string[], opts: CaptureOptions, label: string): void {
  const whole = [text];
  const newClean = cleanNew(pieces);
  const legacyWhole = cleanLegacy(whole);
  assert.equal(newClean.text, legacyWhole.text, `${label}: cleaned text`);
  assert.deepEqual(newClean.lines, legacyWhole.lines, `${label}: cleaned lines`);

  const got = captureNew(pieces, opts);
  assert.deepEqual(got, captureLegacy(pieces, opts), `${label}: capture vs reference, same chunks`);
  assert.deepEqual(withoutBytes(got), withoutBytes(captureNew(whole, opts)), `${label}: capture chunked vs whole`);
  assert.equal(got.head.length + got.tail.length + got.droppedChars, legacyWhole.text.length, `${label}: nothing lost or doubled`);

  assert.deepEqual(extractNew(pieces, opts.score), extractNew(whole, opts.score), `${label}: extractor chunked vs whole`);
}

describe('capture hot path: same results as the reference and as one piece', () => {
  const fixtures = readdirSync(DIR)
    .filter((f) => f.endsWith('.log'))
    .sort();

  it('has the real tool logs to replay', () => {
    assert.ok(fixtures.length >= 10, `only ${fixtures.length} fixtures`);
  });

  for (const file of fixtures) {
    it(`${file}: every chunking gives the reference's cleaned text, metrics, primary, head and tail`, () => {
      const text = readFileSync(join(DIR, file), 'utf8');
      const rand = rng(file.length * 7919);
      for (const size of [1, 2, 7, 333, 4096, 0, 0]) {
        const opts = CAPTURE_OPTIONS[Math.floor(rand() * CAPTURE_OPTIONS.length)];
        checkAll(text, chunks(text, size, rand), opts, `${file} size ${size || 'random'} ${JSON.stringify(opts)}`);
      }
    });
  }

  it('generated ANSI / OSC 633 / \\r-heavy logs, random chunkings and options', () => {
    const rand = rng(20261123);
    for (let trial = 0; trial < 400; trial++) {
      const text = generate(rand, 1 + Math.floor(rand() * 120));
      const opts = CAPTURE_OPTIONS[trial % CAPTURE_OPTIONS.length];
      const size = trial % 3 === 0 ? 1 + Math.floor(rand() * 5) : 0;
      checkAll(text, chunks(text, size, rand, 1 + Math.floor(rand() * 200)), opts, `trial ${trial}: ${JSON.stringify(text)} size ${size}`);
    }
  });

  it('the bench shape (bars redrawn with \\r, then a coloured metric line), split everywhere', () => {
    const text = benchShape(300);
    const rand = rng(99);
    for (const size of [1, 3, 64, 1000, 65_536, 0]) checkAll(text, chunks(text, size, rand), {}, `bench shape size ${size}`);
    const r = captureNew([text]);
    assert.equal(r.metrics.find((m) => m.name === 'val_acc')?.count, 300);
    assert.equal(r.head.split('\n')[0], 'epoch 0 loss: 1.00000 - val_acc: 0.50000');
  });

  it('redraw stretches that cannot be jumped (control character or "\\r\\r" after the last "\\r") stay exact and linear', () => {
    const parts: string[] = [];
    for (let k = 0; k < 3000; k++) parts.push(`\r${k}% loss=0.${k}`);
    for (const tailPiece of ['\r\tlong final text '.repeat(200), '\r\r', '\r\x07', '\r\b\bdone', '\r\x1b[2Kdone']) {
      const text = parts.join('') + tailPiece + '\n' + parts.join('') + '\x1b[0m\r' + tailPiece;
      const rand = rng(text.length);
      for (const size of [0, 4096]) checkAll(text, chunks(text, size, rand, 5000), {}, `unjumpable ${JSON.stringify(tailPiece.slice(0, 20))}`);
      assert.equal(stripAnsi(text), legacyStripAnsi(text));
    }
  });

  it('short redraw texts split at every pair of positions (a chunk ending right after a "\\r", an escape cut in two)', () => {
    const texts = [
      'a\rbar1\rbar2\r\nloss: 0.5\n',
      '1%|#\r2%|##\r\x1b[32mepoch 1\x1b[0m loss: 0.4\r\n',
      'x\ry\r\r\nacc=0.9\r\x07\n',
      'p\rq\b\br\rval_auc: 0.7\x1b]633;D;0\x07\rz\n',
      '\x1b]0;t\rt\x1b\\a\rb: 1\x1b[2K\rc: 2\n',
      // The last "\r" of a stretch right before colour codes: text after them replaces the bar, anything else keeps it.
      'a\rb1\rb2\r\x1b[1m\x1b[32mX: 1\x1b[0m\n',
      'a\rb1\rb2\r\x1b[32m\nc\rd\r\x1b[m\r\x1b[0;1mloss: 2\n',
      'a\rb1\rb2\r\x1b[32m\bX\rc\rd\r\x1b[1m\x1b]633;A\x07e: 3\n',
      'a\rb1\rb2\r\x1b[32;1K\x1b[2Gx\rc\rd\r\x1b[1;2 mq\x07\n',
    ];
    for (const text of texts) {
      for (let i = 1; i < text.length; i++) {
        for (let j = i; j < text.length; j++) {
          const pieces = [text.slice(0, i), text.slice(i, j), text.slice(j)].filter((p) => p !== '');
          checkAll(text, pieces, {}, `${JSON.stringify(text)} split at ${i}, ${j}`);
        }
      }
    }
  });

  it('lines longer than the line cap, with redraws and colours inside, are cut exactly like the reference', () => {
    const long = 'v'.repeat(70_000);
    const text = `a: 1\r${long}\x1b[31m${long}\rloss: 0.5 ${long}\n${long}\rval_auc: 0.7\n${long}`;
    const rand = rng(5);
    for (const size of [0, 8192, 65_536]) {
      for (const opts of [{}, { score: { maxLineLength: 5 } }, { headChars: 10, tailChars: 100_000 }]) {
        checkAll(text, chunks(text, size, rand, 30_000), opts, `long lines size ${size} ${JSON.stringify(opts)}`);
      }
    }
  });

  it('whole lines read at once (redraws, then colour codes between text) and their near misses, split everywhere', () => {
    const rand = rng(20261206);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    // Redraw pieces (before the first ESC), codes and text after it, and the near misses that must go line by line.
    const redraws = ['', ' 50%|###   | 5/10', 'bar', '\x07', '\t', 'é😀', 'loss: 0.1', 'x'.repeat(40), ' '];
    const codes = ['\x1b[32m', '\x1b[0m', '\x1b[m', '\x1b[1;31m', '\x1b[38;5;196m', '\x1b[?25l', '\x1b[3J', '\x1b[1 q', '\x1b[>0c'];
    const misses = [
      '\x1b[2K', '\x1b[K', '\x1b[1G', '\x1b[G', '\x1b[5G', '\x1b]633;A\x07', '\x1b]0;t\rt\x07', '\x1b(B', '\x1b7', '\x1b[3\r2m',
      `\x1b[${'1'.repeat(70)}m`, '\x1b[12\x07m', '\x1b[1é', '\x1b', '\r', '\b', '\b\b\bdone', '\x1bP+q\x1b\\',
    ];
    const texts = ['', 'epoch 3', ' loss: 0.4', ' - val_acc=0.91', 'x', '\x00', ' 😀 acc: 93.5%', '[12]\tvalid_0\'s auc: 0.93'];
    const line = (): string => {
      let s = '';
      const bars = Math.floor(rand() * 5);
      for (let k = 0; k < bars; k++) s += pick(redraws) + '\r';
      if (rand() < 0.7) s += pick(redraws);
      const parts = Math.floor(rand() * 5);
      for (let k = 0; k < parts; k++) s += (rand() < 0.12 ? pick(misses) : pick(codes)) + pick(texts);
      return s + (rand() < 0.2 ? '\r\n' : '\n');
    };
    /** Counts the lines the cleaner read at once. */
    class Counting extends TerminalTextCleaner {
      taken = 0;
      declined = 0;
      protected override simpleLine(chunk: string, i: number, nl: number, cr: number, esc: number): string | undefined {
        const got = super.simpleLine(chunk, i, nl, cr, esc);
        if (got === undefined) this.declined++;
        else this.taken++;
        return got;
      }
    }
    const counting = new Counting();
    for (let trial = 0; trial < 300; trial++) {
      let text = '';
      const lines = 1 + Math.floor(rand() * 40);
      for (let k = 0; k < lines; k++) text += line();
      if (rand() < 0.3) text += pick(redraws) + pick(codes); // an unfinished last line
      const opts = trial % 4 === 0 ? { score: { maxLineLength: 1 + Math.floor(rand() * 30) } } : CAPTURE_OPTIONS[trial % CAPTURE_OPTIONS.length];
      const size = trial % 3 === 0 ? 1 + Math.floor(rand() * 8) : 0;
      const pieces = chunks(text, size, rand, 1 + Math.floor(rand() * 300));
      checkAll(text, pieces, opts, `trial ${trial}: ${JSON.stringify(text)} size ${size}`);
      for (const p of pieces) counting.push(p);
      counting.push(text);
    }
    assert.ok(counting.taken > 5000 && counting.declined > 1000, `both ways exercised (taken ${counting.taken}, declined ${counting.declined})`);
  });

  it('whole lines and declined lines mixed: each line is tried once by the whole-line reader, the result is the reference\'s', () => {
    /** Counts simpleLine() calls per line start. */
    class Tries extends TerminalTextCleaner {
      readonly tries = new Map<number, number>();
      protected override simpleLine(chunk: string, i: number, nl: number, cr: number, esc: number): string | undefined {
        this.tries.set(i, (this.tries.get(i) ?? 0) + 1);
        return super.simpleLine(chunk, i, nl, cr, esc);
      }
    }
    const taken = 'bar\r\x1b[32mepoch 1\x1b[0m loss: 0.5\n';
    const declined = ['x\x1b[2Ky\n', '\x1b]0;t\x07z\n', 'a\rb\x1b[1mc\rd\n', 'e\x1b(Bf\n'];
    const rand = rng(11);
    for (let trial = 0; trial < 200; trial++) {
      let text = '';
      for (let k = 0, n = 1 + Math.floor(rand() * 12); k < n; k++) text += rand() < 0.5 ? taken : declined[Math.floor(rand() * declined.length)];
      const c = new Tries();
      const lines: string[] = [];
      c.pushLines(text, (l) => lines.push(l));
      const legacy: string[] = [];
      new LegacyTerminalTextCleaner().pushLines(text, (l) => legacy.push(l));
      assert.deepEqual(lines, legacy, JSON.stringify(text));
      for (const [at, n] of c.tries) assert.equal(n, 1, `line at ${at} of ${JSON.stringify(text)} tried ${n} times`);
      assert.equal(c.tries.size, text.split('\n').length - 1, `every line tried: ${JSON.stringify(text)}`);
      for (const size of [1, 2, 7]) checkAll(text, chunks(text, size, rand), {}, `${JSON.stringify(text)} size ${size}`);
    }
  });

  it('invisible characters at every place of a bench line are removed exactly like the reference, split everywhere', () => {
    const line = '\x1b[32mepoch 3\x1b[0m loss: 0.41 - val_acc: 0.9';
    const rand = rng(9);
    for (const inv of ['\x00', '\x07', '\x0b', '\x1f', '\x7f', '\x80', '\x9b', '\x9f']) {
      for (let at = 0; at <= line.length; at++) {
        const text = `bar\r${line.slice(0, at)}${inv}${line.slice(at)}\nplain: 1\n${benchShape(2)}`;
        for (const size of [0, 1, 2, 3, 17]) checkAll(text, chunks(text, size, rand), {}, `${JSON.stringify(inv)} at ${at} size ${size}`);
      }
    }
  });

  it('whole lines read at once keep the reference line cap, for every cap around the line length', () => {
    const text = 'bar 1\rbar 22\r\x1b[32mepoch 3\x1b[0m loss: 0.4\nabc\r\x1b[1m\x1b[0m\nq\r\r\x1b[m\n\x1b[31mval_acc: 0.9\r\nplain line: 1\n';
    for (let cap = 1; cap <= 30; cap++) {
      const a = new TerminalTextCleaner({ maxLineLength: cap });
      const b = new LegacyTerminalTextCleaner({ maxLineLength: cap });
      assert.equal(a.push(text) + a.end(), b.push(text) + b.end(), `cap ${cap}`);
    }
  });
});
