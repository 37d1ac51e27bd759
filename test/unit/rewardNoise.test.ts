/**
 * The noise-aware comparison (issue #14): p_t measured over k seeds, an idea improved only beyond the measured
 * run-to-run noise. Pure: metric.ts improves(…, margin), rewards.ts baselineNoise and the schemes with a margin.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { improves } from '../../src/core/metric';
import { BaselineNoiseSchema, RewardRequestSchema } from '../../src/core/protocol';
import { baselineNoise, computeReward, outcomeStatus, relativeImprovement, sigmoidReward, type RewardInput } from '../../src/core/rewards';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

describe('baselineNoise', () => {
  it('mean, sample std (n − 1) and threshold z · std · √(1 + 1/n) of k seeded scores', () => {
    const b = baselineNoise([0.7, 0.8, 0.9]);
    assert.equal(b.k, 3);
    assert.deepEqual(b.scores, [0.7, 0.8, 0.9]);
    close(b.mean!, 0.8);
    close(b.std, 0.1);
    assert.equal(b.z, 1);
    close(b.threshold, 0.1 * Math.sqrt(1 + 1 / 3));
    close(baselineNoise([0.7, 0.8, 0.9], 2).threshold, 2 * 0.1 * Math.sqrt(4 / 3));
    assert.ok(BaselineNoiseSchema.safeParse(b).success);
  });

  it('k = 1 or a deterministic C_t: std 0, threshold 0 (the paper\'s comparison)', () => {
    const one = baselineNoise([0.61]);
    assert.deepEqual(one, { k: 1, scores: [0.61], mean: 0.61, std: 0, z: 1, threshold: 0 });
    const same = baselineNoise([0.61, 0.61, 0.61, 0.61]);
    assert.equal(same.std, 0);
    assert.equal(same.threshold, 0);
    assert.equal(same.mean, 0.61);
  });

  it('failed seeds count in k but not in the mean or the noise; none valid → mean null', () => {
    const b = baselineNoise([0.5, null, 0.7]);
    assert.equal(b.k, 3);
    close(b.mean!, 0.6);
    close(b.std, Math.SQRT2 * 0.1);
    close(b.threshold, Math.SQRT2 * 0.1 * Math.sqrt(1.5));
    const lone = baselineNoise([null, 0.4, null]);
    assert.equal(lone.mean, 0.4);
    assert.equal(lone.threshold, 0, 'one valid score says nothing about the noise');
    assert.deepEqual(baselineNoise([null, null]), { k: 2, scores: [null, null], mean: null, std: 0, z: 1, threshold: 0 });
  });
});

describe('improves with a noise margin', () => {
  it('an idea that replays a baseline seed is never beyond the threshold (k = 3, z = 1: exactly on it), whatever the rounding', () => {
    // Two seeds equal, the third replayed by the idea: its gain over the mean equals z · std · √(1 + 1/k) in exact
    // arithmetic; before the rounding slack about one such case in ten paid +1.
    let state = 12345;
    const rnd = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    let wins = 0;
    for (let i = 0; i < 20000; i++) {
      const a = Math.round(rnd() * 1e4) / 1e4;
      const b = Math.round(rnd() * 1e4) / 1e4;
      const noise = baselineNoise([a, a, b]);
      for (const dir of ['higher', 'lower'] as const) if (improves(noise.mean, b, dir, noise.threshold)) wins++;
    }
    assert.equal(wins, 0);
    const n = baselineNoise([0.5, 0.5, 0.6]);
    assert.equal(improves(n.mean, n.mean! + n.threshold * 1.000001, 'higher', n.threshold), true, 'a real gain just past the threshold still counts');
    assert.equal(improves(n.mean, n.mean! - n.threshold * 1.000001, 'lower', n.threshold), true);
  });
  it('higher is better: a gain inside the margin is not an improvement, beyond it is', () => {
    assert.equal(improves(0.8, 0.83, 'higher', 0.05), false);
    assert.equal(improves(0.8, 0.85, 'higher', 0.05), false, 'exactly the margin is not beyond it');
    assert.equal(improves(0.8, 0.86, 'higher', 0.05), true);
    assert.equal(improves(0.8, 0.7, 'higher', 0.05), false);
  });

  it('lower is better: the same, mirrored', () => {
    assert.equal(improves(1.0, 0.97, 'lower', 0.05), false);
    assert.equal(improves(1.0, 0.94, 'lower', 0.05), true);
    assert.equal(improves(1.0, 1.2, 'lower', 0.05), false);
  });

  it('margin 0 (k = 1) is exactly the paper\'s test; no p_t and no p_{t+1} keep their meaning', () => {
    for (const [prev, next, dir] of [
      [0.8, 0.81, 'higher'],
      [0.8, 0.8, 'higher'],
      [0.8, 0.79, 'higher'],
      [0.5, 0.4, 'lower'],
      [0.5, 0.5, 'lower'],
    ] as const) {
      assert.equal(improves(prev, next, dir, 0), improves(prev, next, dir));
    }
    assert.equal(improves(0.8, 0.81, 'higher', 0), true);
    assert.equal(improves(0.8, 0.8, 'higher', 0), false);
    assert.equal(improves(null, 0.1, 'higher', 0.5), true, 'the first valid score still improves');
    assert.equal(improves(0.8, null, 'higher', 0.5), false);
    assert.equal(improves(0.8, Number.NaN, 'higher', 0), false);
  });
});

describe('reward schemes with a margin', () => {
  const inside = { formatOk: true, before: 0.8, after: 0.83, direction: 'higher', margin: 0.05 } as const;
  const beyond = { ...inside, after: 0.9 } as const;

  it('outcomeStatus: inside the noise → not_improved, beyond → improved, both directions', () => {
    assert.equal(outcomeStatus(inside), 'not_improved');
    assert.equal(outcomeStatus({ ...inside, margin: 0 }), 'improved', 'the same gain without noise is an improvement');
    assert.equal(outcomeStatus(beyond), 'improved');
    assert.equal(outcomeStatus({ formatOk: true, before: 0.3, after: 0.28, direction: 'lower', margin: 0.05 }), 'not_improved');
    assert.equal(outcomeStatus({ formatOk: true, before: 0.3, after: 0.2, direction: 'lower', margin: 0.05 }), 'improved');
  });

  it('paper and partial reward inside-noise gains as not improved (0), failures as before', () => {
    for (const scheme of ['paper', 'partial'] as const) {
      const status = outcomeStatus(inside);
      assert.equal(computeReward(scheme, { ...inside, status }), 0);
      assert.equal(computeReward(scheme, { ...beyond, status: outcomeStatus(beyond) }), 1);
    }
    const failed: RewardInput = { status: 'exec_failed', before: 0.8, after: null, direction: 'higher', stages: ['implemented', 'started'], margin: 0.05 };
    assert.equal(computeReward('partial', failed), computeReward('partial', { ...failed, margin: 0 }));
  });

  it('sigmoid: a change inside the noise is "no change" (0.5); beyond it only the excess counts, both ways', () => {
    assert.equal(sigmoidReward({ status: 'not_improved', before: 0.8, after: 0.83, direction: 'higher', margin: 0.05 }), 0.5);
    assert.equal(sigmoidReward({ status: 'not_improved', before: 0.8, after: 0.77, direction: 'higher', margin: 0.05 }), 0.5);
    close(relativeImprovement(0.8, 0.9, 'higher', 0.05), 0.05 / 0.8);
    close(relativeImprovement(0.8, 0.7, 'higher', 0.05), -0.05 / 0.8);
    close(relativeImprovement(1.0, 0.8, 'lower', 0.05), 0.15);
    const up = sigmoidReward({ status: 'improved', before: 0.8, after: 0.9, direction: 'higher', margin: 0.05 });
    close(up, 1 / (1 + Math.exp(-10 * (0.05 / 0.8))));
    // margin 0: unchanged from the paper-free sigmoid.
    close(relativeImprovement(0.8, 0.9, 'higher', 0), relativeImprovement(0.8, 0.9, 'higher'));
  });
});

describe('request fields', () => {
  const state = { taskDescription: 't', score: { value: 0.5, direction: 'higher' }, code: 'print(1)' };
  it('baselineSeeds is 1…16 and noiseZ 0…10; both optional (absent = the task\'s, else 1)', () => {
    const ok = RewardRequestSchema.parse({ state, ideas: ['x'], baselineSeeds: 5, noiseZ: 2 });
    assert.equal(ok.baselineSeeds, 5);
    assert.equal(ok.noiseZ, 2);
    const none = RewardRequestSchema.parse({ state, ideas: ['x'] });
    assert.equal(none.baselineSeeds, undefined);
    assert.equal(none.noiseZ, undefined);
    for (const bad of [{ baselineSeeds: 0 }, { baselineSeeds: 17 }, { baselineSeeds: 2.5 }, { noiseZ: -1 }, { noiseZ: 11 }]) {
      assert.equal(RewardRequestSchema.safeParse({ state, ideas: ['x'], ...bad }).success, false, JSON.stringify(bad));
    }
  });
});
