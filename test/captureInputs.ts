/**
 * Inputs for the capture tests (capture.differential, captureThread): generated terminal output with every kind of
 * piece the cleaner and the extractor handle, the bench's redraw-heavy shape, chunkings and capture options.
 */
import type { CaptureOptions } from '../src/core/capture';

/** Cuts text into pieces: a fixed size, or random sizes up to `max` when size is 0. */
export function chunks(text: string, size: number, rand: () => number, max = 97): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = size > 0 ? size : 1 + Math.floor(rand() * max);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Pieces a generated log is assembled from: text, metric lines, redraws, escapes, controls. */
export const PIECES = [
  // metric lines of the shapes the extractor reads
  'loss: 0.31 - val_acc: 0.82\n',
  "[12]\tvalid_0's auc: 0.93\ttraining's binary_logloss: 0.2\n",
  '[7]\ttrain-logloss:0.51\teval-auc:0.77\n',
  "{'eval_loss': 0.52, 'epoch': 1.0, 'learning_rate': 5e-05}\n",
  '{"auc": 0.9, "step": 30}\n',
  'accuracy 0.95\n',
  'Best params: {"C": 1.0, "gamma": 0.1}\n',
  '[CV 1/5] END C=0.1, gamma=0.01;, score=0.823 total time=0.1s\n',
  'Epoch 3/10\n',
  '              precision    recall  f1-score   support\n\n           0       0.95      0.97      0.96        50\n    accuracy                           0.95       100\n   macro avg       0.95      0.95      0.95       100\n\n',
  'UserWarning: loss: 3.2\n',
  'ROC AUC = 0.91\n',
  // redraws
  ' 50%|###   | 5/10 [loss=0.5]',
  '100%|######| 10/10 [loss=0.2, acc=0.9]',
  '\r',
  '\r',
  '\r\n',
  '\n',
  '\n',
  // escapes
  '\x1b[32m',
  '\x1b[0m',
  '\x1b[1;31m',
  '\x1b[38;5;196m',
  '\x1b[2K',
  '\x1b[1G',
  '\x1b[G',
  '\x1b[K',
  '\x1b[?25l',
  '\x1b(B',
  '\x1b7',
  '\x1b]633;A\x07',
  '\x1b]633;E;python train.py;nonce\x07',
  '\x1b]633;D;0\x07',
  '\x1b]133;D;0\x1b\\',
  '\x1b]0;title with \r inside\x07',
  '\x1b]0;unterminated title',
  '\x1bP+q544e\x1b\\',
  '\x1b',
  // controls and other characters
  '\b',
  '\b\b\b',
  '\x07',
  '\x00',
  '\x9b',
  '\t',
  '█',
  'é',
  '😀',
  'x',
  ' ',
  'val_loss=',
  '0.25',
  'epoch 3 ',
];

export function generate(rand: () => number, pieces: number): string {
  let text = '';
  for (let k = 0; k < pieces; k++) text += PIECES[Math.floor(rand() * PIECES.length)];
  return text;
}

/** The bench's shape: uncoloured bars redrawn with "\r", then a coloured metric line. */
export function benchShape(lines: number): string {
  let text = '';
  for (let i = 0; i < lines; i++) {
    for (let b = 1; b < 10; b++) text += `${String((i * 10 + b) % 100).padStart(3)}%|${'#'.repeat(b)}${' '.repeat(20 - b)}| ${b}/100\r`;
    text += `\x1b[32mepoch ${i}\x1b[0m loss: ${(1 / (i + 1)).toFixed(5)} - val_acc: ${(0.5 + i * 1e-3).toFixed(5)}\n`;
  }
  return text;
}

export const CAPTURE_OPTIONS: CaptureOptions[] = [
  {},
  { headChars: 100, tailChars: 300 },
  { headChars: 0, tailChars: 1 },
  { headChars: 7, tailChars: 50, score: { maxLineLength: 20 } },
  { score: { primaryMetric: 'auc', maxSeries: 4 } },
];
