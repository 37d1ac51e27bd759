/**
 * Score extraction on logs produced by the real tools (LightGBM, XGBoost, scikit-learn, tqdm on a pty; see
 * test/fixtures/logs/README.md) and on hand-written Keras / HF Trainer / JSON-lines logs. Every expected number
 * comes from the sidecar the generating script wrote from the library's own results (evals_result_, best_score,
 * classification_report(output_dict=True), ...), never from our extractor.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MetricSchema, PrimaryScoreSchema, type Metric } from '../../src/core/protocol';
import { extractScores, ScoreExtractor } from '../../src/core/scores';

const DIR = join(__dirname, '..', 'fixtures', 'logs');

interface Expected {
  metrics: Record<string, { last: number; count: number; best?: number; tol?: number; nonFinite?: number }>;
  primary: { name: string; value: number; direction: 'higher' | 'lower'; diverged?: boolean };
  not_metrics?: string[];
  context?: Record<string, number>;
}

/** Printed numbers are rounded (LightGBM %g, XGBoost %.5f): allow that rounding unless the sidecar says more. */
function close(actual: number, expected: number, tol?: number): boolean {
  return Math.abs(actual - expected) <= (tol ?? 5e-6 * Math.max(1, Math.abs(expected)) + 1e-12);
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.log'))
  .sort();

function byName(metrics: Metric[]): Map<string, Metric> {
  return new Map(metrics.map((m) => [m.name, m]));
}

describe('score extraction on tool fixtures', () => {
  it('has the real-tool and hand-written fixtures', () => {
    for (const name of ['lightgbm_binary', 'lightgbm_sklearn_regression', 'xgboost_train', 'xgboost_sklearn', 'sklearn_prints', 'tqdm_postfix', 'keras2_tty', 'keras3_tty', 'hf_trainer_floats', 'hf_trainer_strings', 'jsonl_metrics', 'diverging_numpy']) {
      assert.ok(fixtures.includes(`${name}.log`), `missing fixture ${name}.log`);
    }
  });

  for (const file of fixtures) {
    const text = readFileSync(join(DIR, file), 'utf8');
    const expected = JSON.parse(readFileSync(join(DIR, file.replace(/\.log$/, '.expected.json')), 'utf8')) as Expected;

    it(`${file}: every metric the tool printed, with its last value, count and best`, () => {
      const result = extractScores(text);
      const got = byName(result.metrics);
      for (const m of result.metrics) MetricSchema.parse(m);
      for (const [name, exp] of Object.entries(expected.metrics)) {
        const m = got.get(name);
        assert.ok(m, `${file}: metric '${name}' not found; got ${[...got.keys()].join(', ')}`);
        assert.ok(close(m.last, exp.last, exp.tol), `${file}: ${name} last ${m.last} != ${exp.last}`);
        assert.equal(m.count, exp.count, `${file}: ${name} count`);
        if (exp.best !== undefined) assert.ok(close(m.best, exp.best, exp.tol), `${file}: ${name} best ${m.best} != ${exp.best}`);
        assert.equal(m.series.length, m.count, `${file}: ${name} series length`);
        assert.ok(close(m.series[m.series.length - 1], exp.last, exp.tol));
        // NaN / inf printed: counted apart, never a value (the sidecar counts what the loop really produced).
        assert.equal(m.nonFinite ?? 0, exp.nonFinite ?? 0, `${file}: ${name} non-finite values`);
      }
      for (const name of expected.not_metrics ?? []) assert.ok(!got.has(name), `${file}: '${name}' is context, not a metric`);
    });

    it(`${file}: the primary score`, () => {
      const { primary } = extractScores(text);
      assert.ok(primary, `${file}: no primary score`);
      PrimaryScoreSchema.parse(primary);
      assert.equal(primary.name, expected.primary.name);
      assert.equal(primary.direction, expected.primary.direction);
      const tol = expected.metrics[expected.primary.name]?.tol;
      assert.ok(close(primary.value, expected.primary.value, tol), `${file}: primary ${primary.value} != ${expected.primary.value}`);
      assert.equal(primary.diverged ?? false, expected.primary.diverged ?? false, `${file}: primary diverged`);
    });

    it(`${file}: identical when streamed in small, odd-sized chunks`, () => {
      const whole = extractScores(text);
      for (const size of [1, 7, 333, 4096]) {
        const ex = new ScoreExtractor();
        for (let i = 0; i < text.length; i += size) ex.push(text.slice(i, i + size));
        ex.end();
        assert.deepEqual({ primary: ex.primary(), metrics: ex.metrics() }, whole, `${file}: chunk size ${size}`);
      }
    });
  }

  it('keeps Keras epoch counters as context', () => {
    const ex = new ScoreExtractor();
    ex.push(readFileSync(join(DIR, 'keras2_tty.log'), 'utf8'));
    ex.end();
    assert.equal(ex.context().epoch, 4);
    assert.ok(!ex.metrics().some((m) => m.name.includes('epoch')));
  });

  it('the tqdm fixture really holds redraw noise, and only the final bar states count', () => {
    const text = readFileSync(join(DIR, 'tqdm_postfix.log'), 'utf8');
    const redraws = text.split('\r').length - 1;
    assert.ok(redraws > 300, `expected many \\r redraws, got ${redraws}`);
    const expected = JSON.parse(readFileSync(join(DIR, 'tqdm_postfix.expected.json'), 'utf8'));
    const loss = extractScores(text).metrics.find((m) => m.name === 'loss')!;
    assert.deepEqual(loss.series, expected.metrics.loss.printed.map(Number));
  });

  it('ignores LightGBM [Info] chatter and warnings in the real logs', () => {
    const names = extractScores(readFileSync(join(DIR, 'lightgbm_binary.log'), 'utf8')).metrics.map((m) => m.name);
    assert.deepEqual(names.sort(), ['training auc', 'training binary_logloss', 'valid_1 auc', 'valid_1 binary_logloss']);
    const sk = extractScores(readFileSync(join(DIR, 'sklearn_prints.log'), 'utf8')).metrics.map((m) => m.name);
    for (const bad of ['status', 'max_iter', 'cv scores', 'n_iter_i']) assert.ok(!sk.includes(bad), bad);
  });
});
