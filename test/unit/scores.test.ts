/** Score extraction rules: formats, false positives, directions, primary selection, bounds. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MetricSchema, PrimaryScoreSchema } from '../../src/core/protocol';
import { extractScores, guessDirection, isValidationName, ScoreExtractor } from '../../src/core/scores';
import { NameMemo, scanPairs } from '../../src/core/scores/lineScanner';

function values(text: string): Record<string, number> {
  return Object.fromEntries(extractScores(text).metrics.map((m) => [m.name, m.last]));
}

describe('guessDirection / isValidationName', () => {
  it('lower for losses and errors, higher for accuracies and scores', () => {
    for (const n of ['loss', 'val_loss', 'eval_loss', 'valid_0 binary_logloss', 'validation_1-mlogloss', 'rmse', 'MAE', 'mse', 'train-error', 'perplexity', 'wer', 'mean_squared_error', 'valloss', 'l2', 'multi_error', 'brier_score'])
      assert.equal(guessDirection(n), 'lower', n);
    for (const n of ['accuracy', 'val_acc', 'eval-auc', 'f1', 'macro avg f1-score', 'r2 score', 'map@5', 'ndcg@10', 'precision', 'recall', 'CV score', 'iou', 'dice', 'neg_log_loss', 'neg_mean_squared_error', 'my_custom_metric'])
      assert.equal(guessDirection(n), 'higher', n);
  });

  it('validation-like names', () => {
    for (const n of ['val_loss', 'valid_0 auc', 'validation_1-logloss', 'eval_accuracy', 'eval-auc', 'test accuracy', 'cv score', 'oof auc', 'valAcc', 'public lb score'])
      assert.ok(isValidationName(n), n);
    for (const n of ['loss', 'training auc', 'train-logloss', 'accuracy', 'interval', 'value', 'evaluator_loss_x'])
      assert.ok(!isValidationName(n), n);
  });
});

describe('formats', () => {
  it('key=value and key: value pairs, scientific notation, signs', () => {
    assert.deepEqual(values('step 10 loss=1.5e-3 acc=0.91\nval_loss: 2.5E+00, val_acc: .75; r2 = -0.12\n'), {
      loss: 0.0015,
      acc: 0.91,
      val_loss: 2.5,
      val_acc: 0.75,
      r2: -0.12,
    });
  });

  it('multi-word names from sklearn-style prints', () => {
    assert.deepEqual(values('ROC AUC = 0.9\nCV score: 0.82 +/- 0.01\nMean CV AUC: 0.88 ± 0.02\nTest accuracy: 0.95.\nFold 3 AUC: 0.87\n'), {
      'roc auc': 0.9,
      'cv score': 0.82,
      'mean cv auc': 0.88,
      'test accuracy': 0.95,
      auc: 0.87,
    });
  });

  it('percentages keep the printed number', () => {
    assert.deepEqual(values('acc: 93.5%\n(val_acc=88%)\n'), { acc: 93.5, val_acc: 88 });
  });

  it('numpy and torch scalar reprs, quoted numbers in dicts', () => {
    assert.deepEqual(values("{'auc': np.float64(0.91), 'loss': tensor(0.25, device='cuda:0'), 'f1': '0.8'}\n"), { auc: 0.91, loss: 0.25, f1: 0.8 });
  });

  it('print("accuracy", acc) style: a whole short line "name number" when the name is a known metric', () => {
    assert.deepEqual(values('accuracy 0.95\nValidation AUC 0.91\nTest accuracy 95.2%\n  f1 0.8  \nrmse 1e-3\n'), {
      accuracy: 0.95,
      'validation auc': 0.91,
      'test accuracy': 95.2,
      f1: 0.8,
      rmse: 0.001,
    });
    assert.deepEqual(values('Epoch 3\nTotal Bins 5100\nshard 3\nFold 2 AUC 0.9\nloss 0.3 acc 0.9\nPython 3.11\nversion 4.7.0\nstep 100\nparams auc 0.9\n'), {});
  });

  it('JSON lines with nested objects', () => {
    assert.deepEqual(values('{"epoch": 2, "metrics": {"val_auc": 0.93, "val_loss": 0.21}, "name": "run-3"}\n'), { val_auc: 0.93, val_loss: 0.21 });
  });

  it('classification_report summary rows, not per-class rows', () => {
    const report = [
      '              precision    recall  f1-score   support',
      '',
      '         cat       0.90      0.80      0.85        10',
      '         dog       0.70      0.90      0.79        10',
      '',
      '    accuracy                           0.85        20',
      '   macro avg       0.80      0.85      0.82        20',
      'weighted avg       0.80      0.85      0.82        20',
      '',
      'kappa: 1',
    ].join('\n');
    const v = values(report);
    assert.equal(v.accuracy, 0.85);
    assert.equal(v['macro avg f1-score'], 0.82);
    assert.equal(v['weighted avg recall'], 0.85);
    assert.ok(!Object.keys(v).some((k) => k.includes('cat') || k.includes('dog') || k.includes('support')));
    assert.equal(v.kappa, 1); // normal parsing resumes after the table
  });
});

describe('other common prints', () => {
  it('PyTorch Lightning bar postfix (v_num is a version, not a metric)', () => {
    assert.deepEqual(values('Epoch 0: 100%|██████████| 50/50 [00:01<00:00, 30.12it/s, v_num=0, train_loss=0.512, val_loss=0.498, val_acc=0.84]\n'), {
      train_loss: 0.512,
      val_loss: 0.498,
      val_acc: 0.84,
    });
  });

  it('GridSearchCV verbose lines: the score, not the hyper-parameters', () => {
    assert.deepEqual(values('[CV 1/5] END ....C=0.1, gamma=0.01;, score=0.823 total time=   0.1s\n'), { score: 0.823 });
    assert.deepEqual(values('Best score: 0.91 with C=1\n'), { 'best score': 0.91 });
  });

  it('PyTorch examples and sklearn MLP verbose output', () => {
    assert.deepEqual(values('Train Epoch: 1 [640/60000 (1%)]\tLoss: 2.283\nTest set: Average loss: 0.0339, Accuracy: 9890/10000 (99%)\nIteration 1, loss = 0.69314718\n'), {
      loss: 0.69314718,
      'average loss': 0.0339,
    });
  });
});

describe('false positives', () => {
  const noise = [
    '2024-05-01 12:30:45,123 - INFO - starting',
    '[12:30:45] WARNING: some xgboost warning',
    'lightgbm 4.7.0, xgboost==3.2.0, Version: 4.7.0',
    '  File "/home/u/train.py", line 42, in <module>',
    '/home/u/train.py:42: UserWarning: value=3 is odd',
    'Serving on http://localhost:8080 and 127.0.0.1:9000',
    '[LightGBM] [Info] Number of positive: 10, number of negative: 10',
    '[LightGBM] [Info] [binary:BoostFromScore]: pavg=0.500000 -> initscore=0.000000',
    'Epoch 3/10',
    'epoch=3 step=1200 global_step: 1200 iteration: 5 lr=0.001 learning_rate: 3e-4 grad_norm: 1.2',
    '100%|██████████| 50/50 [00:01<00:00, 45.23it/s]',
    '32/32 [==============================] - 1s 15ms/step',
    "Best params: {'C': 1.0, 'gamma': 0.1}",
    'LGBMClassifier(learning_rate=0.05, subsample=0.8, colsample_bytree=0.7)',
    'train size: 8000 rows: 10000 num_features=20 batch_size=64 seed=42',
    'elapsed time: 12.5s eta: 3:02 throughput: 100 samples_per_second=5.5 train_runtime: 30.2',
    'if a == 1 and b >= 2 and c <= 3 and d != 4:',
    'CV scores: [0.81 0.83 0.85]',
    'loss: nan acc: inf',
    'Date: 2024-05-01',
    'Restoring model weights from the end of the best epoch: 3.',
    'Device: cuda:0, rank: 1, local_rank=0',
    'Progress: 45% Downloading: 80% done: 3',
    'loss std: 0.01',
    'test_score_std: 0.02',
  ].join('\n');

  it('finds no metric in timestamps, versions, paths, counters, settings, sizes, arrays', () => {
    const r = extractScores(noise);
    assert.deepEqual(r.metrics.map((m) => m.name), []);
    assert.equal(r.primary, null);
  });

  it('keeps counters as context', () => {
    const ex = new ScoreExtractor();
    ex.push(noise + '\n[50]\tvalid_0\'s auc: 0.9\n');
    ex.end();
    const ctx = ex.context();
    assert.equal(ctx.step, 1200);
    assert.equal(ctx.iteration, 50);
    assert.equal(ctx.epoch, 3);
  });
});

describe('primary score', () => {
  const log = "loss=0.5 val_auc=0.80 val_loss=0.40\nloss=0.4 val_auc=0.85 val_loss=0.42\ntrain_acc: 0.99\n";

  it('defaults to the last validation-like metric printed', () => {
    assert.deepEqual(extractScores(log).primary, { name: 'val_loss', value: 0.42, direction: 'lower' });
  });

  it('falls back to the last metric when nothing looks like validation', () => {
    assert.deepEqual(extractScores('loss=0.5 acc=0.7\nloss=0.4\n').primary, { name: 'loss', value: 0.4, direction: 'lower' });
  });

  it('uses a configured name: exact, then case-insensitive, then suffix on a word boundary', () => {
    assert.equal(extractScores(log, { primaryMetric: 'val_auc' }).primary?.value, 0.85);
    assert.equal(extractScores(log, { primaryMetric: 'VAL_AUC' }).primary?.name, 'val_auc');
    const lgb = "[10]\ttraining's auc: 0.99\tvalid_0's auc: 0.91\n[20]\ttraining's auc: 0.995\tvalid_0's auc: 0.92\ttraining's aucpr: 0.5\n";
    assert.deepEqual(extractScores(lgb, { primaryMetric: 'auc' }).primary, { name: 'valid_0 auc', value: 0.92, direction: 'higher' });
    assert.equal(extractScores(lgb, { primaryMetric: "valid_0's auc" }).primary?.name, 'valid_0 auc');
    assert.equal(extractScores(lgb, { primaryMetric: 'uc' }).primary, null);
  });

  it('a configured metric that never appears gives null, not another metric', () => {
    assert.equal(extractScores(log, { primaryMetric: 'map@5' }).primary, null);
  });

  it('a configured direction overrides the guess, for the primary and its best', () => {
    const r = extractScores('val_score=0.3\nval_score=0.2\nval_score=0.25\n', { primaryMetric: 'val_score', primaryDirection: 'lower' });
    assert.deepEqual(r.primary, { name: 'val_score', value: 0.25, direction: 'lower' });
    assert.equal(r.metrics[0].best, 0.2);
    assert.equal(r.metrics[0].direction, 'lower');
    assert.equal(extractScores('val_score=0.3\nval_score=0.2\n').metrics[0].best, 0.3);
  });
});

describe('bounds', () => {
  it('caps a series as a uniform sample that ends with the last value; count stays true', () => {
    const ex = new ScoreExtractor({ maxSeries: 100 });
    for (let i = 0; i < 10_000; i++) ex.push(`val_loss: ${i}\n`);
    ex.end();
    const [m] = ex.metrics();
    assert.equal(m.count, 10_000);
    assert.ok(m.series.length <= 100 && m.series.length >= 50, `length ${m.series.length}`);
    assert.equal(m.series[0], 0);
    assert.equal(m.series[m.series.length - 1], 9999);
    const steps = new Set(m.series.slice(1, -1).map((v, i) => v - m.series[i]));
    assert.equal(steps.size, 1, 'evenly spaced');
    assert.equal(m.best, 0);
    assert.equal(m.last, 9999);
    assert.equal(ex.lines, 10_000);
  });

  it('caps the number of distinct metrics', () => {
    const ex = new ScoreExtractor();
    for (let i = 0; i < 2000; i++) ex.push(`metric_${i}_score: 0.5\n`);
    ex.end();
    assert.equal(ex.metrics().length, 512);
  });

  it('a 50 MB line without newline does not grow memory, and parsing continues after it', () => {
    const ex = new ScoreExtractor();
    const chunk = 'z'.repeat(1 << 20);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 50; i++) ex.push(chunk);
    const grown = process.memoryUsage().heapUsed - before;
    ex.push(' auc: 0.5\nval_auc: 0.7\n');
    ex.end();
    assert.ok(grown < 16 * 1024 * 1024, `heap grew ${grown} bytes`);
    assert.deepEqual(ex.primary(), { name: 'val_auc', value: 0.7, direction: 'higher' });
    assert.equal(ex.lines, 2);
  });

  it('counts the final unterminated line', () => {
    const ex = new ScoreExtractor();
    ex.push('ab: 1\nval_f1: 0.5');
    assert.equal(ex.lines, 1);
    assert.equal(ex.primary()?.name, 'ab');
    ex.end();
    assert.equal(ex.lines, 2);
    assert.deepEqual(ex.primary(), { name: 'val_f1', value: 0.5, direction: 'higher' });
  });
});

describe('robustness', () => {
  it('never throws on random input, always returns schema-valid metrics, and chunking never changes the result', () => {
    let seed = 99;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const atoms = ['loss', 'val_auc', "'", '"', ':', '=', ' ', '\t', '\n', '\r', '\r\n', '0.5', '-1e-3', '12:30', '%', '[', ']', '{', '}', '(', ')',
      '\x1b[', '\x1b]633;A', '\x07', '\x1b\\', '\b', 'np.float64(', 'tensor(', '.', ',', 'nan', '9'.repeat(30), 'é', '█', 'Epoch 1/3', '[LightGBM]',
      '              precision    recall  f1-score   support', '  accuracy    0.5   10'];
    for (let trial = 0; trial < 400; trial++) {
      let text = '';
      const count = Math.floor(rand() * 80);
      for (let k = 0; k < count; k++) text += atoms[Math.floor(rand() * atoms.length)];
      const whole = extractScores(text);
      for (const m of whole.metrics) {
        MetricSchema.parse(m);
        assert.ok(m.series.length <= m.count);
      }
      if (whole.primary) PrimaryScoreSchema.parse(whole.primary);
      const ex = new ScoreExtractor();
      const size = 1 + Math.floor(rand() * 7);
      for (let i = 0; i < text.length; i += size) ex.push(text.slice(i, i + size));
      ex.end();
      assert.deepEqual({ primary: ex.primary(), metrics: ex.metrics() }, whole, JSON.stringify(text));
    }
  });
});

describe('NameMemo (the names at each place of recent lines)', () => {
  it('never changes the pairs scanPairs finds, whatever comes before a remembered name', () => {
    let seed = 2026;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pick = (xs: string[]) => xs[Math.floor(rand() * xs.length)];
    // Words that join a name or stop it (stop words, non-letters, nan/inf, paths), and what may sit between them.
    const words = ['loss', 'val_loss', "valid_0's", 'auc', 'ROC', 'INFO', 'the', 'nan', 'inf', 'infinity', 'Inf', '10', '-', 'x', 'a.b', '/src/train.py',
      'C:\\dir', 'np', 'tensor', 'epoch', "'", '"', '(', ')', 'f(', 'k@5', 'é', '_'];
    const gaps = [' ', ' ', '  ', '\t', ', ', ' | ', '/', '\\', '', ' - ', '{', "'", '(', '='];
    const seps = [': ', ':', '=', ' = ', ' : ', '=='];
    const values = ['0.5', '1', '-2e-3', 'nan', '93.5%', "'0.25'", 'np.float64(0.1)', '12:30', 'x', 'inf'];
    const memo = new NameMemo<string>();
    let hits = 0;
    for (let shape = 0; shape < 3000; shape++) {
      // One line shape (its names), printed again and again with other words and gaps before the names.
      const names = Array.from({ length: 1 + Math.floor(rand() * 5) }, () =>
        Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(words)).join(pick([' ', ' ', '_', "'s "])),
      );
      for (let again = 0; again < 4; again++) {
        let line = '';
        for (const name of names) line += pick(gaps) + (rand() < 0.4 ? pick(words) + pick([' ', ' ', '\t', '']) : '') + name + pick(seps) + pick(values);
        const plain: unknown[] = [];
        scanPairs(line, (_t, s, e, v, p) => plain.push([s, e, v, p]));
        const withMemo: unknown[] = [];
        scanPairs(
          line,
          (t, s, e, v, p, place, known) => {
            withMemo.push([s, e, v, p]);
            if (known) {
              hits++;
              assert.equal(memo.values[place!], t.slice(s, e));
            } else if (rand() < 0.9) memo.set(place!, t, s, e, t.slice(s, e)); // the extractor skips vetoed lines
          },
          memo,
        );
        assert.deepEqual(withMemo, plain, JSON.stringify(line));
      }
    }
    assert.ok(hits > 1000, `only ${hits} memo hits`);
  });

  it('a log whose lines repeat their shape gives the same metrics as one whose lines never do', () => {
    const lines: string[] = [];
    for (let i = 1; i <= 50; i++) {
      lines.push(`[${i}]\ttraining's auc: 0.${i}\tvalid_1's auc: 0.${i + 1}`, `epoch ${i} loss: ${1 / i} - val_acc: 0.${i}`);
      lines.push(`INFO loss: ${i} the val_acc: 0.${i}`, `path/loss: ${i} x loss: ${i * 2}`, `nan loss: ${i} roc auc: 0.${i}`);
    }
    const repeated = extractScores(lines.join('\n'));
    // Each line alone (a fresh extractor, so nothing remembered) must agree, line by line, on every value.
    const alone = lines.map((l) => extractScores(l).metrics.map((m) => [m.name, m.last]));
    const expected = new Map<string, number>();
    for (const pairs of alone) for (const [name, last] of pairs) expected.set(name as string, last as number);
    assert.deepEqual(new Map(repeated.metrics.map((m) => [m.name, m.last])), expected);
    assert.equal(repeated.metrics.find((m) => m.name === 'training auc')?.count, 50);
  });
});

describe('number parsing', () => {
  it('reads every printed number exactly as Number() would (fast path and fallback)', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const texts: string[] = ['0', '-0.0', '+3', '.5', '5.', '1e-7', '2.5E+10', '123456789012345678', '0.1234567890123456789', '1e300', '-7.0000000000000001e-22', '4.5e-05'];
    for (let i = 0; i < 3000; i++) {
      const v = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
      const forms = [String(v), v.toFixed(Math.floor(rand() * 10)), v.toPrecision(1 + Math.floor(rand() * 20)), v.toExponential(Math.floor(rand() * 16))];
      texts.push(forms[i % forms.length]);
    }
    const ex = new ScoreExtractor({ maxSeries: 10_000 });
    for (const t of texts) ex.push(`val_metric: ${t}\n`);
    ex.end();
    const [m] = ex.metrics();
    assert.equal(m.count, texts.length);
    texts.forEach((t, i) => assert.ok(Object.is(m.series[i], Number(t)) || (m.series[i] === 0 && Number(t) === 0), `${t}: ${m.series[i]} != ${Number(t)}`));
  });
});

describe('NaN and infinity (a run that diverged)', () => {
  it('reads nan / inf in every value shape, never as a value, and marks the metric and the primary diverged', () => {
    for (const line of [
      'val_loss: nan',
      'val_loss=NaN',
      'val_loss = -inf',
      "{'val_loss': nan, 'epoch': 3}",
      "{'val_loss': 'nan'}",
      '{"val_loss": Infinity}',
      'val_loss: tensor(nan, device=\'cuda:0\')',
      'val_loss: np.float64(nan)',
      'Epoch 4/10 - loss: nan - val_loss: nan',
    ]) {
      const r = extractScores(`val_loss: 0.52\nval_loss: 0.48\n${line}\n`);
      const m = r.metrics.find((x) => x.name === 'val_loss');
      assert.ok(m, line);
      MetricSchema.parse(m);
      assert.equal(m.last, 0.48, line);
      assert.equal(m.count, 2, line);
      assert.deepEqual(m.series, [0.52, 0.48], line);
      assert.equal(m.nonFinite, 1, line);
      assert.equal(m.diverged, true, line);
      assert.deepEqual(PrimaryScoreSchema.parse(r.primary), { name: 'val_loss', value: 0.48, direction: 'lower', diverged: true }, line);
    }
  });

  it('a finite value after a NaN recovers the metric; a NaN-only name is never a metric', () => {
    const r = extractScores('acc: 0.7\nacc: nan\nacc: 0.75\ngrad_norm: nan\nweird_metric: nan\n');
    const acc = r.metrics.find((m) => m.name === 'acc')!;
    assert.equal(acc.nonFinite, 1);
    assert.equal(acc.diverged, false);
    assert.deepEqual(r.primary, { name: 'acc', value: 0.75, direction: 'higher' });
    assert.ok(!r.metrics.some((m) => m.name === 'weird_metric'));
  });

  it('two non-finite pairs on one line are two values, and words that merely start alike are not values', () => {
    const r = extractScores('loss=1.0 val_loss=0.9\nloss=inf val_loss=nan\nnanny: 3\ninfo: 4 files\n');
    assert.equal(r.metrics.find((m) => m.name === 'loss')?.nonFinite, 1);
    assert.equal(r.metrics.find((m) => m.name === 'val_loss')?.nonFinite, 1);
    assert.ok(!r.metrics.some((m) => /^(inf|nan) /.test(m.name)), JSON.stringify(r.metrics.map((m) => m.name)));
    assert.equal(values('accuracy: info\n').accuracy, undefined);
    assert.equal(values('accuracy: nanometers\n').accuracy, undefined);
  });

  it('a number too large for a double is infinite, not a score', () => {
    const r = extractScores('train_loss: 3.2\ntrain_loss: 1e999\n');
    assert.equal(r.metrics[0].last, 3.2);
    assert.equal(r.metrics[0].diverged, true);
  });
});

describe('memory', () => {
  it('the name caches do not keep whole lines alive (names printed at the end of 60K-character lines)', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const word = (i: number) => {
      let s = '';
      do {
        s += String.fromCharCode(97 + (i % 26));
        i = Math.floor(i / 26);
      } while (i > 0);
      return s;
    };
    const pad = 'x '.repeat(30_000);
    gc();
    const base = process.memoryUsage().heapUsed;
    const ex = new ScoreExtractor();
    for (let i = 0; i < 1000; i++) ex.push(`${pad}- validation_${word(i)}_accuracy: 0.5\n`);
    gc();
    const retainedMB = (process.memoryUsage().heapUsed - base) / 1e6;
    assert.equal(ex.metrics().length, 512, 'distinct metrics are capped');
    // 1000 lines of 120 KB each: a cache entry pinning its line would retain ~60-120 MB.
    assert.ok(retainedMB < 16, `retained ${retainedMB.toFixed(1)} MB`);
  });
});
