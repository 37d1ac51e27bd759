/**
 * Differential tests for the extractor's in-place line reading (ScoreExtractor.pushText, scanPairsIn), which
 * BoundedCapture uses on every chunk: reading the lines of one joined text in place must give exactly what feeding
 * the same lines one by one gives (pushLine, scanPairs on the cut-out line), whatever the neighbouring lines hold
 * and however the text is split into pushText() calls.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stripAnsi } from '../../src/core/ansi';
import { ScoreExtractor, type ScoreOptions } from '../../src/core/scores';
import { CodeUnits, cursorOut, scanPairs, scanPairsIn } from '../../src/core/scores/lineScanner';
import { rng } from '../seededRandom';

const DIR = join(__dirname, '..', 'fixtures', 'logs');

/** Lines of every shape the extractor treats specially, and lines whose ends could run into the next line. */
const LINES = [
  'loss: 0.31 - val_acc: 0.82',
  "[12]\tvalid_0's auc: 0.93\ttraining's binary_logloss: 0.2",
  '[7]\ttrain-logloss:0.51\teval-auc:0.77',
  '[123456789012345]\tauc: 0.5',
  '[LightGBM] [Info] Number of positive: 10',
  "{'eval_loss': 0.52, 'epoch': 1.0, 'learning_rate': 5e-05}",
  "{'eval_loss': '0.5234', 'epoch': '1'}",
  '{"auc": 0.9, "step": 30}',
  'accuracy 0.95',
  'Val AUC 0.91',
  'accuracy 0.95%',
  'Best params: {"C": 1.0, "gamma": 0.1}',
  'hyperparameters: lr=0.1',
  '[CV 1/5] END C=0.1, gamma=0.01;, score=0.823 total time=0.1s',
  '[CV] END ....... score: 0.5',
  'Epoch 3/10',
  'Epoch 4/10 loss: 0.2',
  'Eval auc: 0.7',
  '              precision    recall  f1-score   support',
  '',
  '           0       0.95      0.97      0.96        50',
  '    accuracy                           0.95       100',
  '   macro avg       0.95      0.95      0.95       100',
  '  weighted avg       0.9      0.9      0.9       100',
  'UserWarning: loss: 3.2',
  'ROC AUC = 0.91',
  'LGBMClassifier(learning_rate=0.05) score=0.7',
  'f(x) = 3 and y=2',
  'a == 1, b != 2, c <= 3, d >= 4, e => 5',
  'loss=nan val_loss=nan acc=inf',
  'val_loss: -inf',
  'rmse: Infinity',
  'rmse: infinit',
  'loss: tensor(0.93, device=\'cuda:0\')',
  'loss: tensor(0.93,',
  ") auc: 0.5",
  'acc: np.float64(0.93)',
  'acc: np.float',
  '64(0.93)',
  'loss: inf',
  'inity: 3',
  'score: 0.5.',
  'version: 4.7.0',
  '12:30:45 step=3',
  '/src/train.py:42: warn',
  'train.py:42',
  'http://host:8080',
  'the best epoch: 3 INFO loss: 0.2',
  'loss:',
  ':0.5',
  '=0.5',
  'x:1',
  'ab',
  'a',
  'é: 0.5 ação: 0.7',
  '█ loss: 0.1',
  "valid_0's auc: 0.8",
  'loss : 0.5',
  'loss:        0.5',
  'auc: 1e-3 f1: 2E+2 x: 3epochs',
  'auc: 12345678901234567890.5',
  '  loss: 0.4',
  'loss: 0.3 (best: 0.2)',
  "'quoted: 0.5",
  'a "b": 0.3',
  'x' + ' loss: 0.1'.repeat(30),
  'Param: 1 loss: 2',
];

function pick<T>(rand: () => number, xs: T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

function fixtureLines(): string[] {
  const out: string[] = [];
  for (const f of readdirSync(DIR).filter((f) => f.endsWith('.log')).sort()) {
    out.push(...stripAnsi(readFileSync(join(DIR, f), 'utf8')).split('\n'));
  }
  return out;
}

function state(ex: ScoreExtractor) {
  return { metrics: ex.metrics(), primary: ex.primary(), context: ex.context(), lines: ex.lines };
}

function byLine(lines: string[], opts?: ScoreOptions) {
  const ex = new ScoreExtractor(opts);
  for (const l of lines) ex.pushLine(l);
  ex.end();
  return state(ex);
}

/** The same lines through pushText(), split into texts of random numbers of lines. */
function byText(lines: string[], rand: () => number, opts?: ScoreOptions) {
  const ex = new ScoreExtractor(opts);
  for (let i = 0; i < lines.length; ) {
    const n = 1 + Math.floor(rand() * 12);
    ex.pushText(lines.slice(i, i + n).join('\n') + '\n');
    i += n;
  }
  ex.end();
  return state(ex);
}

const OPTIONS: (ScoreOptions | undefined)[] = [undefined, { maxLineLength: 20 }, { maxLineLength: 3 }, { primaryMetric: 'auc', maxSeries: 4 }];

describe('ScoreExtractor.pushText (lines read in place)', () => {
  it('gives what pushLine() gives for the same lines: shaped lines in random order', () => {
    const rand = rng(12);
    for (let round = 0; round < 400; round++) {
      const lines = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => pick(rand, LINES));
      const opts = pick(rand, OPTIONS);
      assert.deepEqual(byText(lines, rand, opts), byLine(lines, opts), JSON.stringify({ lines, opts }));
    }
  });

  it('gives what pushLine() gives on the real tool logs', () => {
    const rand = rng(7);
    const lines = fixtureLines();
    for (const opts of OPTIONS) assert.deepEqual(byText(lines, rand, opts), byLine(lines, opts), JSON.stringify(opts));
  });

  it('scanPairsIn() finds in place the pairs scanPairs() finds in the cut-out line', () => {
    const rand = rng(99);
    const pool = [...LINES, ...fixtureLines().slice(0, 400)];
    for (let round = 0; round < 300; round++) {
      const lines = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => pick(rand, pool));
      const text = lines.join('\n') + '\n';
      const codes = new CodeUnits().of(text);
      let colon = text.indexOf(':');
      let equals = text.indexOf('=');
      let from = 0;
      for (const line of lines) {
        const to = from + line.length;
        if (colon >= 0 && colon < from) colon = text.indexOf(':', from);
        if (equals >= 0 && equals < from) equals = text.indexOf('=', from);
        const inPlace: unknown[] = [];
        scanPairsIn(text, codes, from, to, colon, equals, (t, s, e, v, p) => inPlace.push([t.slice(s, e), v, p]));
        colon = cursorOut[0];
        equals = cursorOut[1];
        assert.ok(colon < 0 || (colon >= to && text.indexOf(':', to) === colon), 'colon cursor');
        assert.ok(equals < 0 || (equals >= to && text.indexOf('=', to) === equals), 'equals cursor');
        const cut: unknown[] = [];
        scanPairs(line, (t, s, e, v, p) => cut.push([t.slice(s, e), v, p]));
        assert.deepEqual(inPlace, cut, JSON.stringify(line));
        from = to + 1;
      }
    }
  });
});
