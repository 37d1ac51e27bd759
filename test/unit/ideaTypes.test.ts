import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseIdea } from '../../src/core/idea';
import { classifyByKeywords, IDEA_TYPES, keywordScores, parseClassification, toIdeaType, typeStats } from '../../src/core/ideaTypes';
import type { IdeaType } from '../../src/core/protocol';

test('parseClassification reads TYPE / RATIONALE, tolerating decoration, quotes, case and thinking', () => {
  assert.deepEqual(parseClassification('TYPE: Feature Engineering\nRATIONALE: It creates ratio features from raw counts.'), {
    type: 'Feature Engineering',
    rationale: 'It creates ratio features from raw counts.',
  });
  assert.deepEqual(parseClassification('<think>Hmm, tuning or training?</think>\n**TYPE:** "hyperparameter tuning".\n**RATIONALE:**\nIt only changes\nlearning_rate.'), {
    type: 'Hyperparameter Tuning',
    rationale: 'It only changes learning_rate.',
  });
  assert.equal(parseClassification('Type - Model Training (adds 5-fold CV)\nRationale: changes the validation scheme')?.type, 'Model Training');
  assert.equal(parseClassification('TYPE: Hyperparameter Optimization\nRATIONALE: x')?.type, 'Hyperparameter Tuning');
  assert.equal(parseClassification('TYPE: Other\nRATIONALE: post-processing')?.type, 'Others');
  assert.equal(parseClassification('TYPE: data preprocessing')?.rationale, '');
});

test('parseClassification without a TYPE line accepts exactly one category name, else null', () => {
  assert.equal(parseClassification('This is clearly Data Preparation, since it imputes ages.')?.type, 'Data Preparation');
  assert.equal(parseClassification('Either Feature Engineering or Model Training.'), null);
  assert.equal(parseClassification('TYPE: Reinforcement\nRATIONALE: x'), null);
  assert.equal(parseClassification(''), null);
  assert.equal(parseClassification(undefined as unknown as string), null);
});

test('toIdeaType maps the six names and near names', () => {
  for (const t of IDEA_TYPES) assert.equal(toIdeaType(t), t);
  assert.equal(toIdeaType('feature-engineering'), 'Feature Engineering');
  assert.equal(toIdeaType('MODEL ARCHITECTURE'), 'Model Architecture');
  assert.equal(toIdeaType('banana'), null);
});

const cases: [string, IdeaType][] = [
  ['Switch the model from LightGBM to XGBoost with the same features.', 'Model Architecture'],
  ['Replace the random forest with a 3-layer MLP in PyTorch.', 'Model Architecture'],
  ['Build a stacking ensemble of LightGBM, CatBoost and logistic regression with a ridge meta-learner.', 'Model Architecture'],
  ['Use an EfficientNet-B3 backbone pretrained on ImageNet instead of ResNet18.', 'Model Architecture'],
  ['Lower learning_rate to 0.02 and raise n_estimators to 3000.', 'Hyperparameter Tuning'],
  ['Run a grid search over max_depth in [4, 6, 8] and min_child_weight in [1, 5].', 'Hyperparameter Tuning'],
  ['Tune num_leaves and feature_fraction with Optuna for 50 trials.', 'Hyperparameter Tuning'],
  ['Impute missing Age values with the median per Pclass and Sex.', 'Data Preparation'],
  ['Fill missing Age values with the median per Pclass and drop the Cabin column.', 'Data Preparation'],
  ['Replace missing entries in income by 0 and add an is_missing flag column.', 'Data Preparation'],
  ['Drop the 12 training rows whose target is negative.', 'Data Preparation'],
  ['Remove outliers where GrLivArea > 4000 from the training set.', 'Data Preparation'],
  ['Add data augmentation: random flips, rotations and color jitter.', 'Data Preparation'],
  ['Oversample the minority class with SMOTE before fitting.', 'Data Preparation'],
  ['Create new features: karma_ratio, activity_ratio and text length.', 'Feature Engineering'],
  ['One-hot encode Embarked and target-encode the city column.', 'Feature Engineering'],
  ['Standardize numeric columns with StandardScaler and log-transform the skewed ones.', 'Feature Engineering'],
  ['Add character n-gram TF-IDF features alongside the word features.', 'Feature Engineering'],
  ['Use focal loss instead of cross-entropy.', 'Model Training'],
  ['Switch to 5-fold stratified cross-validation and average the fold predictions.', 'Model Training'],
  ['Add early stopping with patience 10 on the validation loss.', 'Model Training'],
  ['Train for 30 epochs with a cosine learning rate schedule and warmup.', 'Model Training'],
  ['Round the predictions to the nearest allowed value before writing the submission.', 'Others'],
];
for (const [action, expected] of cases) {
  test(`classifyByKeywords: ${expected} ← ${action.slice(0, 50)}`, () => {
    assert.equal(classifyByKeywords({ action }), expected, JSON.stringify(keywordScores({ action })));
  });
}

test('classifyByKeywords weighs ACTION over analysis and rationale', () => {
  const idea = {
    analysis: 'Hyperparameter tuning has stalled; learning_rate changes did nothing.',
    action: 'Create aggregate features per user: mean and count of amount.',
    rationale: 'Tuning more will not help.',
  };
  assert.equal(classifyByKeywords(idea), 'Feature Engineering');
  assert.equal(classifyByKeywords({ action: '' }), 'Others');
  // The fixtures: real-looking answers land where a reader would put them.
  const fx = (n: string) => parseIdea(readFileSync(join(__dirname, '..', 'fixtures', 'ideas', `${n}.txt`), 'utf8'));
  assert.equal(classifyByKeywords(fx('well-formed')), 'Feature Engineering');
  assert.equal(classifyByKeywords(fx('bold-decorated')), 'Data Preparation');
  assert.equal(classifyByKeywords(fx('with-diff')), 'Model Training');
  assert.equal(classifyByKeywords(fx('headings-lowercase')), 'Model Architecture');
  assert.equal(classifyByKeywords(fx('short-names')), 'Feature Engineering');
});

test('typeStats: one row per type in canonical order, judged only counts known outcomes', () => {
  const stats = typeStats([
    { type: 'Feature Engineering', improved: true },
    { type: 'Feature Engineering', improved: false },
    { type: 'Feature Engineering', improved: true },
    { type: 'Feature Engineering', improved: null },
    { type: 'Hyperparameter Tuning', improved: false },
    { type: 'Others', improved: null },
  ]);
  assert.deepEqual(stats.map((s) => s.type), [...IDEA_TYPES]);
  const fe = stats.find((s) => s.type === 'Feature Engineering');
  assert.deepEqual(fe, { type: 'Feature Engineering', count: 4, judged: 3, improved: 2, rate: 2 / 3 });
  assert.deepEqual(stats.find((s) => s.type === 'Hyperparameter Tuning'), { type: 'Hyperparameter Tuning', count: 1, judged: 1, improved: 0, rate: 0 });
  assert.deepEqual(stats.find((s) => s.type === 'Others'), { type: 'Others', count: 1, judged: 0, improved: 0, rate: null });
  assert.deepEqual(stats.find((s) => s.type === 'Data Preparation'), { type: 'Data Preparation', count: 0, judged: 0, improved: 0, rate: null });
  assert.equal(typeStats([]).length, 6);
});
