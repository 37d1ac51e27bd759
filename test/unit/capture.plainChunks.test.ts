/**
 * The cleaner's fast path for plain chunks (TerminalTextCleaner.push(): a chunk with no "\r", ESC or backspace, the
 * parser between sequences, no line that could reach the cap, is cut into its complete lines in one piece) must give
 * exactly what the line-by-line path gives. Oracles, fed the same chunks:
 *  - the same cleaner's pushLines() (never takes the fast path), joined, invisible characters removed;
 *  - the frozen pre-optimisation cleaner and capture in test/reference.
 * A cleaner that counts its pushLines() calls shows which path each chunk took, so the tests also prove the fast path
 * runs where it should (and not where it must not).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removeInvisible, TerminalTextCleaner, type CleanerOptions } from '../../src/core/ansi';
import { BoundedCapture, type CaptureOptions } from '../../src/core/capture';
import { LegacyBoundedCapture } from '../reference/legacyCapture';
import { LegacyTerminalTextCleaner } from '../reference/legacyCleaner';
import { rng } from '../seededRandom';

const DIR = join(__dirname, '..', 'fixtures', 'logs');

/** Counts the chunks push() hands to the line-by-line path. */
class CountingCleaner extends TerminalTextCleaner {
  slow = 0;
  override pushLines(chunk: string, onLine: (line: string) => void): void {
    this.slow++;
    super.pushLines(chunk, onLine);
  }
}

/** Cuts text at random points into pieces of 1..max characters. */
function cut(text: string, rand: () => number, max: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** push() per chunk against pushLines() per chunk and the reference cleaner; returns how many chunks went slow. */
function checkCleaner(pieces: string[], opts: CleanerOptions, label: string): { slow: number; chunks: number } {
  const fast = new CountingCleaner(opts);
  const lines = new TerminalTextCleaner(opts);
  const legacy = new LegacyTerminalTextCleaner(opts);
  for (const [k, p] of pieces.entries()) {
    const got = fast.push(p);
    const collected: string[] = [];
    lines.pushLines(p, (l) => collected.push(l));
    const expected = collected.length ? removeInvisible(collected.join('\n') + '\n') : '';
    assert.equal(got, expected, `${label}: chunk ${k} ${JSON.stringify(p.slice(0, 80))}`);
    assert.equal(got, legacy.push(p), `${label}: chunk ${k} vs reference`);
  }
  const rest = fast.end();
  assert.equal(rest, lines.end(), `${label}: last line`);
  assert.equal(rest, legacy.end(), `${label}: last line vs reference`);
  return { slow: fast.slow, chunks: pieces.length };
}

function checkCapture(pieces: string[], opts: CaptureOptions, label: string): void {
  const got = new BoundedCapture(opts);
  const ref = new LegacyBoundedCapture(opts);
  for (const p of pieces) {
    got.push(p);
    ref.push(p);
  }
  assert.deepEqual(got.end(), ref.end(), label);
}

/** Plain log lines (no control characters), some with invisible ones, tabs, non-ASCII text and blank lines. */
const PLAIN = [
  "[12]\tvalid_0's auc: 0.93\ttraining's binary_logloss: 0.2\n",
  '[7]\ttrain-logloss:0.51\teval-auc:0.77\n',
  "{'eval_loss': 0.52, 'epoch': 1.0}\n",
  'Epoch 3/10\n',
  'loss: 0.31 - val_acc: 0.82\n',
  '[LightGBM] [Info] Number of positive: 10\n',
  'accuracy 0.95\n',
  '              precision    recall  f1-score   support\n',
  '\n',
  'val_loss=0.25 é 😀 █\n',
  'no newline yet ',
  'bell\x07 inside: 1\n',
  'nul\x00 and \x9b and \x0c: 2\n',
];
/** What sends a chunk down the slow path. */
const CONTROL = ['\r', '\r\n', '\x1b[32m', '\x1b[0m', '\x1b]633;A\x07', '\b', '50%|##  |\r', '\x1b'];

function generate(rand: () => number, pieces: number, controls: number): string {
  let text = '';
  for (let k = 0; k < pieces; k++) {
    text += rand() < controls ? CONTROL[Math.floor(rand() * CONTROL.length)] : PLAIN[Math.floor(rand() * PLAIN.length)];
  }
  return text;
}

describe('plain chunks: the fast path gives the line-by-line result', () => {
  it('takes the fast path for a plain chunk and gives its complete lines, the rest pending', () => {
    const c = new CountingCleaner();
    assert.equal(c.push('loss: 0.5\nacc: 0.9\npart'), 'loss: 0.5\nacc: 0.9\n');
    assert.equal(c.push('ial line\n'), 'partial line\n');
    assert.equal(c.push('a\x07b\n'), 'ab\n', 'invisible characters are removed on the fast path too');
    assert.equal(c.slow, 0);
    assert.equal(c.push('x\ry\n'), 'y\n');
    assert.equal(c.slow, 1, 'a "\\r" takes the line-by-line path');
    assert.equal(c.end(), '');
  });

  it('leaves to the slow path: a pending "\\r", an unfinished escape, a chunk with no newline, a line at the cap', () => {
    const cases: { name: string; before: string; chunk: string; opts?: CleanerOptions }[] = [
      { name: 'pending \\r', before: 'bar 50%\r', chunk: 'done: 1\n' },
      { name: 'pending \\r of a CRLF cut in two', before: 'loss: 1\r', chunk: '\nacc: 2\n' },
      { name: 'inside a colour code', before: 'a\x1b[3', chunk: '2mb: 1\n' },
      { name: 'right after ESC', before: 'a\x1b', chunk: '[0mb: 1\n' },
      { name: 'inside an OSC string', before: '\x1b]633;E;python train.py', chunk: ' --lr 1\nx: 1\n' },
      { name: 'no newline', before: '', chunk: 'still the same line' },
      { name: 'first line past the cap', before: 'abcdef', chunk: 'ghijk\nl\n', opts: { maxLineLength: 10 } },
      { name: 'chunk longer than the cap', before: '', chunk: 'ab\ncdefghijklmnop\n', opts: { maxLineLength: 10 } },
    ];
    for (const k of cases) {
      const pieces = k.before ? [k.before, k.chunk] : [k.chunk];
      const { slow } = checkCleaner(pieces, k.opts ?? {}, k.name);
      assert.equal(slow, pieces.length, `${k.name}: every chunk went line by line`);
    }
    // At the cap exactly: nothing is cut, so the fast path may take it.
    const { slow } = checkCleaner(['abcde', 'fghij\nk\n'], { maxLineLength: 10 }, 'first line at the cap');
    assert.equal(slow, 1, 'only the first chunk (no newline) went line by line');
  });

  it('random plain and mixed logs split at random points: same text as line by line and as the reference', () => {
    const rand = rng(20261206);
    let fastChunks = 0;
    let slowChunks = 0;
    for (let trial = 0; trial < 600; trial++) {
      const controls = trial % 3 === 0 ? 0 : trial % 3 === 1 ? 0.02 : 0.2;
      const text = generate(rand, 5 + Math.floor(rand() * 150), controls);
      const opts: CleanerOptions = trial % 4 === 0 ? { maxLineLength: 1 + Math.floor(rand() * 60) } : {};
      const pieces = cut(text, rand, 1 + Math.floor(rand() * 400));
      const r = checkCleaner(pieces, opts, `trial ${trial}: ${JSON.stringify(text)}`);
      slowChunks += r.slow;
      fastChunks += r.chunks - r.slow;
      checkCapture(pieces, trial % 5 === 0 ? { headChars: 50, tailChars: 120 } : {}, `capture trial ${trial}`);
    }
    assert.ok(fastChunks > 1000 && slowChunks > 1000, `both paths exercised (fast ${fastChunks}, slow ${slowChunks})`);
  });

  it('the real tool logs, in pipe-sized and random chunks: capture and cleaner match the reference', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.log'));
    assert.ok(files.length >= 10);
    let fastChunks = 0;
    for (const file of files) {
      const text = readFileSync(join(DIR, file), 'utf8');
      const rand = rng(file.length * 31);
      for (const max of [64, 700, 4096, 65_536]) {
        const pieces = cut(text, rand, max);
        const r = checkCleaner(pieces, {}, `${file} max ${max}`);
        fastChunks += r.chunks - r.slow;
        checkCapture(pieces, {}, `${file} max ${max}`);
        checkCapture(pieces, { headChars: 100, tailChars: 300, score: { maxLineLength: 20 } }, `${file} max ${max} small caps`);
      }
    }
    assert.ok(fastChunks > 0, 'some fixture chunks are plain');
  });
});
