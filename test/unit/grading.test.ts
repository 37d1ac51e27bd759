import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avgAtK, bestAtK, medalThresholds, normalizedScore, validRate } from '../../src/core/grading';

describe('normalizedScore', () => {
  it('higher-is-better: worst → 0, best → 100, linear between, beyond best above 100, below worst clamped', () => {
    const lb = { best: 0.9, worst: 0.5 };
    assert.equal(normalizedScore(0.5, lb), 0);
    assert.equal(normalizedScore(0.9, lb), 100);
    assert.ok(Math.abs(normalizedScore(0.7, lb) - 50) < 1e-9);
    assert.ok(Math.abs(normalizedScore(0.94, lb) - 110) < 1e-9);
    assert.equal(normalizedScore(0.3, lb), 0);
  });
  it('lower-is-better (best < worst) needs no flag', () => {
    const lb = { best: 0.14, worst: 0.45 };
    assert.equal(normalizedScore(0.45, lb), 0);
    assert.equal(normalizedScore(0.14, lb), 100);
    assert.ok(Math.abs(normalizedScore(0.295, lb) - 50) < 1e-9);
    assert.equal(normalizedScore(0.9, lb), 0, 'worse than the worst row is 0, not negative');
    assert.ok(normalizedScore(0.1, lb) > 100);
  });
  it('non-finite scores and degenerate leaderboards', () => {
    assert.equal(normalizedScore(Number.NaN, { best: 1, worst: 0 }), 0);
    assert.equal(normalizedScore(Infinity, { best: 1, worst: 0 }), 0);
    assert.equal(normalizedScore(0.5, { best: 0.5, worst: 0.5 }), 100);
    assert.equal(normalizedScore(0.4, { best: 0.5, worst: 0.5 }), 0);
  });
});

describe('Avg@K / Best@K', () => {
  it('average over valid runs only; all failed → 0', () => {
    assert.equal(avgAtK([40, null, 80]), 60);
    assert.equal(avgAtK([null, null, null]), 0);
    assert.equal(avgAtK([]), 0);
    assert.equal(avgAtK([0, 0, 30]), 10, 'a valid 0 counts (it is not a failure)');
  });
  it('best of the valid runs; all failed → 0', () => {
    assert.equal(bestAtK([40, null, 80]), 80);
    assert.equal(bestAtK([null, undefined]), 0);
    assert.equal(bestAtK([Number.NaN, 12]), 12);
  });
  it('valid rate', () => {
    assert.equal(validRate([1, null, 3, null]), 0.5);
    assert.equal(validRate([]), 0);
  });
});

describe('medalThresholds (Kaggle rules as in MLE-bench)', () => {
  it('small leaderboards: top 10/20/40 % by rank, at least rank 1', () => {
    const scores = Array.from({ length: 50 }, (_, i) => 1 - i / 100); // 1.00 … 0.51, higher better
    const t = medalThresholds(scores);
    assert.equal(t.gold, scores[4]);
    assert.equal(t.silver, scores[9]);
    assert.equal(t.bronze, scores[19]);
    assert.equal(t.lowerIsBetter, false);
    assert.ok(Math.abs(t.median - 0.755) < 1e-9);
    const tiny = medalThresholds([0.1, 0.2, 0.3]);
    assert.equal(tiny.gold, 0.1);
    assert.equal(tiny.lowerIsBetter, true);
  });
  it('large leaderboards: fixed ranks', () => {
    const scores = Array.from({ length: 2000 }, (_, i) => i); // lower better
    const t = medalThresholds(scores);
    assert.equal(t.gold, 13); // rank 10 + floor(2000 * 0.002) = 14 → index 13
    assert.equal(t.silver, 99);
    assert.equal(t.bronze, 199);
    assert.equal(t.lowerIsBetter, true);
    const mid = medalThresholds(Array.from({ length: 300 }, (_, i) => i));
    assert.equal(mid.silver, 49);
    assert.equal(mid.bronze, 99);
  });
  it('refuses an empty leaderboard', () => {
    assert.throws(() => medalThresholds([]));
  });
});
