/**
 * Which of the paper's six idea types (Fig. 3/4) an Ideator answer is, by keywords on its ACTION and ANALYSIS:
 * cheap, deterministic and offline, good enough to chart distributions; an LLM classifier can replace it.
 * Ordered rules: the first type whose words appear in ACTION wins; ANALYSIS breaks ties when ACTION is silent.
 */
import type { IdeaType } from '../../../src/core/protocol';

const RULES: [IdeaType, RegExp][] = [
  ['Hyperparameter Tuning', /\b(learning[_ ]rate|n_estimators|max_depth|num_leaves|regulari[sz]ation strength|hyper-?parameter|grid ?search|optuna|random(ized)? ?search|\bC=|alpha=|tune|tuning)\b/i],
  ['Feature Engineering', /\b(feature|interaction|ratio|polynomial|encod(e|ing)|tf-?idf|n-?gram|embedding|log[- ]transform|bin(ning)?|aggregate|derived)\b/i],
  ['Data Preparation', /\b(impute|imputation|missing|clean|outlier|normali[sz]e|standardi[sz]e|scal(e|ing)|augment|resampl|oversampl|undersampl|dedup|split|stratif)\w*/i],
  ['Model Architecture', /\b(lightgbm|xgboost|catboost|random ?forest|gradient ?boost|svm|svc|neural|mlp|cnn|transformer|logistic|ridge|lasso|ensemble|stack(ing)?|blend(ing)?|model)\b/i],
  ['Model Training', /\b(early[_ ]stopping|cross[- ]?validation|k-?fold|epoch|batch|optimizer|seed|class[_ ]weight|loss|retrain|full training)\b/i],
];

export function classifyIdeaType(action: string, analysis = ''): IdeaType {
  for (const text of [action, analysis]) {
    for (const [type, re] of RULES) if (re.test(text)) return type;
  }
  return 'Others';
}
