import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  computeReward,
  grpoAdvantages,
  outcomeStatus,
  partialReward,
  relativeImprovement,
  sigmoidReward,
  type RewardInput,
} from '../../src/core/rewards';

const base = { before: 0.8, after: 0.85, direction: 'higher' } as const;

describe('outcomeStatus', () => {
  it('orders format error, timeout, failure, then comparison', () => {
    assert.equal(outcomeStatus({ formatOk: false, ...base }), 'format_error');
    assert.equal(outcomeStatus({ formatOk: true, timedOut: true, ...base }), 'timeout');
    assert.equal(outcomeStatus({ formatOk: true, failed: true, ...base }), 'exec_failed');
    assert.equal(outcomeStatus({ formatOk: true, ...base, after: null }), 'exec_failed');
    assert.equal(outcomeStatus({ formatOk: true, ...base }), 'improved');
    assert.equal(outcomeStatus({ formatOk: true, ...base, after: 0.8 }), 'not_improved');
  });
});

describe('paper scheme (Eq. 1)', () => {
  const r = (status: RewardInput['status']) => computeReward('paper', { ...base, status });
  it('+1 / 0 / 0 / 0 / −1', () => {
    assert.equal(r('improved'), 1);
    assert.equal(r('not_improved'), 0);
    assert.equal(r('exec_failed'), 0);
    assert.equal(r('timeout'), 0);
    assert.equal(r('format_error'), -1);
  });
});

describe('partial scheme', () => {
  it('failed runs earn more for each stage passed, but stay below a valid non-improving run', () => {
    const none = partialReward({ ...base, status: 'exec_failed', stages: [] });
    const two = partialReward({ ...base, status: 'exec_failed', stages: ['implemented', 'started'] });
    const all = partialReward({ ...base, status: 'timeout', stages: ['implemented', 'started', 'metric', 'submission'] });
    assert.equal(none, -0.5);
    assert.ok(two > none && all > two, `${none} < ${two} < ${all}`);
    assert.ok(all < 0);
    assert.ok(all > -1);
    assert.equal(partialReward({ ...base, status: 'not_improved' }), 0);
    assert.equal(partialReward({ ...base, status: 'improved' }), 1);
    assert.equal(partialReward({ ...base, status: 'format_error' }), -1);
  });
  it('duplicate stages are counted once', () => {
    assert.equal(
      partialReward({ ...base, status: 'exec_failed', stages: ['started', 'started'] }),
      partialReward({ ...base, status: 'exec_failed', stages: ['started'] }),
    );
  });
});

describe('sigmoid scheme', () => {
  it('no change is 0.5, gains above, losses below, bounded', () => {
    assert.equal(sigmoidReward({ ...base, after: 0.8, status: 'not_improved' }), 0.5);
    const gain = sigmoidReward({ ...base, after: 0.88, status: 'improved' });
    assert.ok(Math.abs(gain - 1 / (1 + Math.exp(-1))) < 1e-9, String(gain));
    const loss = sigmoidReward({ ...base, after: 0.4, status: 'not_improved' });
    assert.ok(loss > 0 && loss < 0.5);
  });
  it('is direction-aware', () => {
    const lower = sigmoidReward({ before: 1.0, after: 0.9, direction: 'lower', status: 'improved' });
    assert.ok(lower > 0.5);
    assert.ok(relativeImprovement(1.0, 0.9, 'lower') > 0);
    assert.ok(relativeImprovement(1.0, 0.9, 'higher') < 0);
  });
  it('corner cases take fixed values', () => {
    assert.equal(sigmoidReward({ ...base, status: 'exec_failed' }), 0);
    assert.equal(sigmoidReward({ ...base, status: 'timeout' }), 0);
    assert.equal(sigmoidReward({ ...base, status: 'format_error' }), -1);
    assert.equal(sigmoidReward({ ...base, before: null, status: 'improved' }), 1);
    assert.ok(Number.isFinite(sigmoidReward({ before: 0, after: 1, direction: 'higher', status: 'improved' })));
  });
});

describe('grpoAdvantages (VeRL formula)', () => {
  it('normalises by the unbiased std with epsilon 1e-6', () => {
    const rewards = [1, 0, 0, 0, 1, -1, 0, 1];
    const n = rewards.length;
    const mean = rewards.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1));
    const adv = grpoAdvantages(rewards);
    adv.forEach((a, i) => assert.ok(Math.abs(a - (rewards[i] - mean) / (std + 1e-6)) < 1e-12));
    // Known value: [1, 0] → mean 0.5, unbiased std √0.5 → ±0.70710628…
    const two = grpoAdvantages([1, 0]);
    assert.ok(Math.abs(two[0] - 0.5 / (Math.SQRT1_2 + 1e-6)) < 1e-12);
    assert.ok(Math.abs(two[0] + two[1]) < 1e-12);
  });
  it('without std normalisation is r − mean', () => {
    assert.deepEqual(grpoAdvantages([1, 0, 0, 1], { normByStd: false }), [0.5, -0.5, -0.5, 0.5]);
  });
  it('an all-tied group gives zero advantage', () => {
    assert.deepEqual(grpoAdvantages([1, 1, 1, 1]), [0, 0, 0, 0]);
  });
  it('a group of one uses mean 0, std 1 as VeRL does', () => {
    assert.deepEqual(grpoAdvantages([0]), [0]);
    assert.ok(Math.abs(grpoAdvantages([1])[0] - 1 / (1 + 1e-6)) < 1e-12);
    assert.deepEqual(grpoAdvantages([]), []);
  });
});
