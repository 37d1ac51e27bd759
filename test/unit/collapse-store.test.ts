/**
 * The collapse monitor in the job store: a done job carries its group's `diversity` (absent while it runs), and
 * recentDiversity() aggregates the last finished jobs for /metrics.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { JobSchema, RewardRequestSchema } from '../../src/core/protocol';
import type { JobStore } from '../../server/src/jobs/store';
import { Metrics } from '../../server/src/queue/metrics';
import { outcome, storeFactory } from './storeFixtures';

const open = storeFactory('ideator-collapse-');
const answer = (action: string) => `ANALYSIS_ON_CURRENT_PROGRESS:\nFlat.\n\nACTION:\n${action}\n\nRATIONALE:\nShould help.\n`;
const req = (ideas: string[], tag: string) =>
  RewardRequestSchema.parse({ state: { taskDescription: `t ${tag}`, score: { value: 0.5, direction: 'higher' }, code: 'print(1)' }, ideas });
/** Runs every queued idea of the store, rewards by `rewardOf(raw)`. */
function drain(s: JobStore, rewardOf: (raw: string) => number): void {
  for (let w = s.claim('elsewhere:1:a', 60_000); w; w = s.claim('elsewhere:1:a', 60_000)) assert.ok(s.complete(w.key, 'elsewhere:1:a', outcome(rewardOf(w.raw))));
}

const FE = 'Add ratio features: income divided by age, and one-hot encode the region column.';
const HP = 'Tune the learning rate and num_leaves of LightGBM with Optuna for 50 trials.';

describe('collapse monitor in the store', () => {
  it('a done job carries its diversity; a running one does not', () => {
    const s = open();
    const { job } = s.submit(req([answer(FE), answer(FE + ' '), answer(HP)], 'a'));
    assert.equal(job.diversity, undefined);
    drain(s, (raw) => (raw.includes('Optuna') ? 1 : 0));
    const done = s.getJob(job.id)!;
    assert.equal(done.status, 'done');
    assert.deepEqual(done.diversity, { size: 3, distinct: 2, distinctRatio: 2 / 3, typeEntropy: done.diversity!.typeEntropy, nearDuplicateRate: 1 / 3, zeroVariance: false });
    assert.ok(Math.abs(done.diversity!.typeEntropy - 0.9182958340544896) < 1e-9);
    assert.ok(JobSchema.safeParse(done).success);
    assert.deepEqual(s.getJob(job.id)!.diversity, done.diversity, 'cached figures are the same');
    s.close();
  });

  it('recentDiversity aggregates the last finished jobs; /metrics shows the gauges', () => {
    const s = open();
    const empty = new Metrics().render(s, undefined);
    assert.match(empty, /^ideator_collapse_window_jobs 0$/m);
    assert.match(empty, /^ideator_collapse_zero_variance_share 0$/m);
    s.submit(req([answer(FE), answer(FE), answer(FE), answer(FE)], 'collapsed'));
    s.submit(req([answer(FE), answer(HP)], 'varied'));
    drain(s, (raw) => (raw.includes('Optuna') ? 1 : 0));
    s.submit(req([answer(HP), answer(FE)], 'still running'));
    const w = s.recentDiversity(64);
    assert.equal(w.groups, 2, 'the unfinished job is not in the window');
    assert.equal(w.zeroVarianceShare, 0.5);
    assert.equal(w.meanDistinctRatio, (0.25 + 1) / 2);
    assert.equal(w.meanNearDuplicateRate, 0.75 / 2);
    assert.equal(s.recentDiversity(1).groups, 1);
    const text = new Metrics().render(s, undefined);
    assert.match(text, /^ideator_collapse_window_jobs 2$/m);
    assert.match(text, /^ideator_collapse_distinct_ratio 0\.625$/m);
    assert.match(text, /^ideator_collapse_type_entropy_bits 0\.5$/m);
    assert.match(text, /^ideator_collapse_near_duplicate_rate 0\.375$/m);
    assert.match(text, /^ideator_collapse_zero_variance_share 0\.5$/m);
    assert.match(text, /^# TYPE ideator_collapse_zero_variance_share gauge$/m);
    s.close();
  });
});
