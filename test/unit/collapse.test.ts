import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  actionTokens,
  aggregateDiversity,
  describeDiversity,
  entropyBits,
  groupDiversity,
  jaccard,
  MAX_TYPE_ENTROPY,
  NEAR_DUPLICATE_JACCARD,
  normalizeAction,
  type GroupIdea,
} from '../../src/core/collapse';
import { GroupDiversitySchema, JobSchema } from '../../src/core/protocol';

const answer = (action: string) => `ANALYSIS_ON_CURRENT_PROGRESS:\nThe score is flat.\n\nACTION:\n${action}\n\nRATIONALE:\nIt should help.\n`;
const group = (actions: string[], rewards: (number | null)[]): GroupIdea[] => actions.map((a, i) => ({ raw: answer(a), reward: rewards[i] ?? null }));
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

const FE = 'Add ratio features: income divided by age, and one-hot encode the region column.';
const HP = 'Tune the learning rate and num_leaves of LightGBM with Optuna for 50 trials.';
const DP = 'Impute missing values in income with the median and drop rows with outliers in age.';
const MT = 'Use 5-fold stratified cross-validation with early stopping on the validation fold.';
const MA = 'Replace the logistic regression with a LightGBM ensemble stacked with a ridge meta-learner.';

test('all identical ideas: one distinct, zero entropy, G−1 of G near-duplicates, zero variance', () => {
  const d = groupDiversity(group([FE, FE, FE, FE], [0, 0, 0, 0]));
  assert.deepEqual(d, { size: 4, distinct: 1, distinctRatio: 0.25, typeEntropy: 0, nearDuplicateRate: 0.75, zeroVariance: true });
  assert.ok(GroupDiversitySchema.safeParse(d).success);
});

test('whitespace and case do not make an idea distinct', () => {
  const d = groupDiversity(group([FE, FE.toUpperCase(), FE.replace(/ /g, '\n   ')], [1, 0, 1]));
  assert.equal(d.distinct, 1);
  assert.equal(d.zeroVariance, false);
  assert.equal(normalizeAction('  Add   RATIO\n features '), 'add ratio features');
});

test('all different ideas of five types: all distinct, no near-duplicates, entropy log2(5)', () => {
  const d = groupDiversity(group([FE, HP, DP, MT, MA], [1, 0, 0, 1, -1]));
  assert.equal(d.distinct, 5);
  assert.equal(d.distinctRatio, 1);
  assert.equal(d.nearDuplicateRate, 0);
  assert.equal(d.zeroVariance, false);
  close(d.typeEntropy, Math.log2(5));
  assert.ok(d.typeEntropy <= MAX_TYPE_ENTROPY);
});

test('near-duplicates: a word changed is near-identical, a different idea is not; the first of a cluster does not count', () => {
  const nearFE = FE.replace('age', 'tenure'); // one token of ~15 swapped: Jaccard ≈ 0.88
  assert.ok(jaccard(actionTokens(FE), actionTokens(nearFE)) >= NEAR_DUPLICATE_JACCARD);
  assert.ok(jaccard(actionTokens(FE), actionTokens(HP)) < NEAR_DUPLICATE_JACCARD);
  const d = groupDiversity(group([FE, nearFE, HP, FE + ' Also keep the raw columns.'], [1, 1, 0, 1]));
  assert.equal(d.distinct, 4, 'near-duplicates are still distinct texts');
  // Four new tokens on 14 (Jaccard 14/18 ≈ 0.78) is below the threshold: an extension, not a copy.
  assert.ok(jaccard(actionTokens(FE), actionTokens(FE + ' Also keep the raw columns.')) < NEAR_DUPLICATE_JACCARD);
  assert.equal(d.nearDuplicateRate, 0.25);
});

test('mixed types: entropy of a 2–1–1 split is 1.5 bits', () => {
  const d = groupDiversity(group([FE, FE.replace('income', 'balance'), HP, DP], [1, 0, 0, 0]));
  close(d.typeEntropy, 1.5);
  close(entropyBits([2, 1, 1]), 1.5);
  assert.equal(entropyBits([3]), 0);
  assert.equal(entropyBits([]), 0);
});

test('parsed ACTIONs may be given; answers without an ACTION are compared on their whole text', () => {
  const given = groupDiversity([
    { raw: 'anything', action: FE, reward: 0 },
    { raw: 'else', action: FE, reward: 0 },
  ]);
  assert.equal(given.distinct, 1);
  const broken = groupDiversity([
    { raw: 'no format at all', reward: -1 },
    { raw: 'something else entirely different', reward: -1 },
  ]);
  assert.equal(broken.distinct, 2);
  assert.equal(broken.zeroVariance, true);
});

test('zero variance needs two known rewards; one idea or an empty group is not zero-variance', () => {
  assert.equal(groupDiversity(group([FE], [1])).zeroVariance, false);
  assert.equal(groupDiversity(group([FE, HP], [1, null])).zeroVariance, false);
  assert.equal(groupDiversity(group([FE, HP, DP], [0.5, null, 0.5])).zeroVariance, true);
  assert.deepEqual(groupDiversity([]), { size: 0, distinct: 0, distinctRatio: 1, typeEntropy: 0, nearDuplicateRate: 0, zeroVariance: false });
});

test('aggregateDiversity: means over groups, zero-variance share among groups of two or more', () => {
  const a = groupDiversity(group([FE, FE, FE, FE], [0, 0, 0, 0]));
  const b = groupDiversity(group([FE, HP, DP, MT], [1, 0, 0, 0]));
  const single = groupDiversity(group([MA], [0]));
  const w = aggregateDiversity([a, b, single]);
  assert.equal(w.groups, 3);
  close(w.meanDistinct, (1 + 4 + 1) / 3);
  close(w.meanDistinctRatio, (0.25 + 1 + 1) / 3);
  close(w.meanNearDuplicateRate, 0.75 / 3);
  close(w.meanTypeEntropy, (0 + 2 + 0) / 3);
  assert.equal(w.zeroVarianceShare, 0.5);
  assert.deepEqual(aggregateDiversity([]), { groups: 0, meanDistinct: 0, meanDistinctRatio: 0, meanTypeEntropy: 0, meanNearDuplicateRate: 0, zeroVarianceShare: 0 });
});

test('describeDiversity says it in words', () => {
  const line = describeDiversity(groupDiversity(group([FE, FE, HP], [0, 0, 0])));
  assert.match(line, /^2 distinct of 3 ideas, type entropy 0\.92 bits \(max 2\.58\), 1 near-duplicate \(33%\), all rewards equal: this group gives GRPO no signal$/);
  assert.match(describeDiversity(groupDiversity(group([FE, HP], [1, 0]))), /rewards vary/);
});

test('JobSchema: diversity is optional (older stores and servers)', () => {
  const base = { id: 'j', kind: 'reward', status: 'done', createdAt: 'x', updatedAt: 'x', progress: { done: 0, total: 0 }, results: [] };
  assert.ok(JobSchema.safeParse(base).success);
  assert.ok(JobSchema.safeParse({ ...base, diversity: groupDiversity([]) }).success);
});
