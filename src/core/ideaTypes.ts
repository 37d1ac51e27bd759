/**
 * The paper's six idea types: parsing an LLM's classification (TYPE / RATIONALE), a keyword fallback for when no
 * classifier model is configured or its answer is unusable, and per-type effectiveness statistics (how often an
 * idea of each type improved the score — the paper's Figure 4 question, asked of the user's own history).
 */
import { stripThinking } from './idea';
import { IdeaTypeSchema, type IdeaType } from './protocol';

export const IDEA_TYPES: readonly IdeaType[] = IdeaTypeSchema.options;

const norm = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');

/** Near names models use for a category, normalized (letters only). */
const ALIASES: [string, IdeaType][] = [
  ['datapreparation', 'Data Preparation'],
  ['datapreprocessing', 'Data Preparation'],
  ['datacleaning', 'Data Preparation'],
  ['dataaugmentation', 'Data Preparation'],
  ['featureengineering', 'Feature Engineering'],
  ['featureselection', 'Feature Engineering'],
  ['modelarchitecture', 'Model Architecture'],
  ['modelselection', 'Model Architecture'],
  ['architecture', 'Model Architecture'],
  ['hyperparametertuning', 'Hyperparameter Tuning'],
  ['hyperparameteroptimization', 'Hyperparameter Tuning'],
  ['hyperparameteroptimisation', 'Hyperparameter Tuning'],
  ['hyperparametersearch', 'Hyperparameter Tuning'],
  ['modeltraining', 'Model Training'],
  ['trainingprocess', 'Model Training'],
  ['training', 'Model Training'],
  ['others', 'Others'],
  ['other', 'Others'],
];

/** Maps a written category ("**feature engineering**.", "Hyperparameter optimisation") to an IdeaType. */
export function toIdeaType(written: string): IdeaType | null {
  const n = norm(written);
  if (!n) return null;
  for (const [alias, type] of ALIASES) if (n === alias) return type;
  // "Feature Engineering (new ratios)" or "Model Training - adds CV": the name followed by commentary.
  for (const [alias, type] of ALIASES) if (alias.length > 8 && n.startsWith(alias)) return type;
  return null;
}

const TYPE_LINE_RE = /^[\s>*_#-]*(?:idea[\s_-]*)?type[\s*_]*[:：-][\s*_"'`]*(.+?)[\s*_"'`.]*$/i;
const RATIONALE_LINE_RE = /^[\s>*_#-]*rationale[\s*_]*[:：][\s*_]*(.*)$/i;

/**
 * Parses a classifier answer `TYPE: <category>` / `RATIONALE: <text>` (thinking stripped, decoration and case
 * tolerated). Without a TYPE line, an answer naming exactly one category is accepted. Null when no category is
 * recognisable.
 */
export function parseClassification(raw: string): { type: IdeaType; rationale: string } | null {
  const text = stripThinking(String(raw ?? '')).answer;
  const lines = text.split('\n');
  let type: IdeaType | null = null;
  let rationale: string[] | null = null;
  for (const line of lines) {
    if (line.length > 2000) continue;
    const t = TYPE_LINE_RE.exec(line);
    if (t && type === null) {
      type = toIdeaType(t[1]);
      if (type) continue;
    }
    const r = RATIONALE_LINE_RE.exec(line);
    if (r && rationale === null) {
      rationale = r[1] ? [r[1]] : [];
      continue;
    }
    if (rationale !== null && !TYPE_LINE_RE.test(line)) rationale.push(line);
  }
  if (type === null) {
    const named = IDEA_TYPES.filter((c) => new RegExp(`\\b${c.replace(' ', '\\s+')}\\b`, 'i').test(text));
    if (named.length !== 1) return null;
    type = named[0];
  }
  const why = (rationale ?? []).join(' ').replace(/\s+/g, ' ').replace(/^[*_\s]+|[*_\s]+$/g, '');
  return { type, rationale: why };
}

// ---------------------------------------------------------------------------------------------------------------
// Keyword fallback
// ---------------------------------------------------------------------------------------------------------------

const MODEL_NAMES =
  'lightgbm|lgbm|xgboost|xgb|catboost|random\\s*forest|extra\\s*trees|gradient\\s*boosting|histgradientboosting|logistic\\s*regression|linear\\s*regression|ridge|lasso|svm|svc|svr|k-?nn|knn|naive\\s*bayes|neural\\s*net(?:work)?|mlp|cnn|rnn|lstm|gru|transformer|bert|roberta|deberta|distilbert|resnet\\d*|efficientnet(?:-?b\\d)?|convnext|vit|unet|u-net|tabnet';

/** [pattern, weight]: weights say how decisive a cue is; each pattern counts once per text. */
const CUES: Record<Exclude<IdeaType, 'Others'>, [RegExp, number][]> = {
  'Model Architecture': [
    [new RegExp(`\\b(?:switch|replace|swap|move|change|migrate|go)\\b[^.\\n]{0,40}\\b(?:${MODEL_NAMES})\\b`, 'i'), 3],
    [new RegExp(`\\b(?:${MODEL_NAMES})\\b[^.\\n]{0,30}\\b(?:instead of|in place of|rather than)\\b`, 'i'), 3],
    [new RegExp(`\\b(?:instead of|in place of|rather than)\\b[^.\\n]{0,30}\\b(?:${MODEL_NAMES})\\b`, 'i'), 3],
    [/\b(?:ensemble|stacking|stack(?:ed)? models?|blend(?:ing)?|meta-?learner|voting)\b/i, 2.5],
    [/\b(?:add|remove|insert)\w*\b[^.\n]{0,30}\b(?:layers?|heads?|blocks?)\b/i, 2.5],
    [/\b(?:architecture|backbone|pretrained|pre-trained|fine-?tune)\b/i, 2],
    [new RegExp(`\\b(?:${MODEL_NAMES})\\b`, 'i'), 0.5],
  ],
  'Hyperparameter Tuning': [
    [/\b(?:grid\s*search|random(?:ized)?\s*search|gridsearchcv|randomizedsearchcv|optuna|hyperopt|bayesian\s+optimi[sz]ation)\b/i, 3],
    [/\bhyper-?param(?:eter)?s?\b/i, 2.5],
    [/\b(?:tune|tuning)\b/i, 1.5],
    [/\b(?:learning[_\s]rate|lr|eta)\b/i, 1.5],
    [/\b(?:n_estimators|num_leaves|max_depth|min_child_(?:samples|weight)|subsample|colsample_bytree|reg_alpha|reg_lambda|lambda_l[12]|min_samples_(?:leaf|split)|max_features|tree\s+depth|number\s+of\s+(?:trees|leaves|estimators))\b/i, 2],
    [/\b(?:batch[_\s]size|weight[_\s]decay|dropout\s+rate|regulari[sz]ation\s+strength|C\s*=)\b/i, 1],
  ],
  'Data Preparation': [
    [/\b(?:imput(?:e|ation|er)|missing\s+values?|fillna|nan(?:s)?\b|null\s+values)/i, 3],
    // "fill missing Age values", "missing entries in income": the column name sits between the words.
    [/\b(?:fill\w*|replac\w*|handl\w*|treat\w*)\b[^.\n]{0,15}\bmissing\b|\bmissing\b[^.\n]{0,25}\b(?:values?|entries|data)\b/i, 3],
    [/\b(?:drop|remov|filter|exclud|discard)\w*\b[^.\n]{0,30}\brows?\b/i, 2],
    [/\b(?:outliers?|winsori[sz]|clip(?:ping)?\s+(?:extreme|outlier|the target))\b/i, 3],
    [/\b(?:augment(?:ation|ations|ed)?|mixup|cutmix|random(?:horizontal)?flip|randomrotation|colorjitter)\b/i, 3],
    [/\b(?:over-?sampl\w*|under-?sampl\w*|smote|resampl\w*|class\s+balanc\w*)\b/i, 2.5],
    [/\b(?:duplicates?|deduplicat\w*|mislabel\w*|noisy\s+labels?|clean(?:ing|up)?\s+(?:the\s+)?(?:data|text|labels))\b/i, 2.5],
    [/\b(?:external\s+data|pseudo-?label\w*|more\s+(?:training\s+)?data)\b/i, 2],
  ],
  'Feature Engineering': [
    [/\b(?:new|derived|additional|interaction|aggregate[ds]?|lag|rolling|ratio|date|time|text)\s+features?\b/i, 3],
    [/\bfeatures?\s+(?:engineering|selection|importance|crosses?|interactions?)\b/i, 3],
    [/\b(?:one-?hot|target\s+encod\w*|label\s+encod\w*|frequency\s+encod\w*|count\s+encod\w*|ordinal\s+encod\w*|encod(?:e|ing)\s+(?:the\s+)?categor\w*)\b/i, 3],
    [/\b(?:scal(?:e|ing)|standardi[sz]\w*|normali[sz]\w*|standardscaler|minmaxscaler|log[_\s-]?transform\w*|log1p|box-?cox|polynomial|binning|bins?)\b/i, 2],
    [/\b(?:tf-?idf|n-?grams?|word\s+embeddings?|embeddings?|pca|svd|aggregat\w*|groupby)\b/i, 2],
    [/\b(?:add|create|extract|compute|derive)\w*\b[^.\n]{0,40}\bfeatures?\b/i, 2.5],
  ],
  'Model Training': [
    [/\b(?:loss(?:\s+function)?|focal|cross-?entropy|huber|label\s+smoothing)\b/i, 2.5],
    [/\b(?:cross-?validation|k-?fold|stratifiedkfold|stratified\s+k?-?fold|groupkfold|\d+-fold|out-of-fold|oof|holdout|validation\s+(?:split|scheme|set))\b/i, 3],
    [/\b(?:early[_\s-]?stopping|early_stopping_rounds|patience)\b/i, 3],
    [/\b(?:epochs?|schedul\w*|warm-?up|cosine|one-?cycle|optimi[sz]er|adamw?|sgd|gradient\s+clipping|mixed\s+precision)\b/i, 2.5],
    [/\b(?:class[_\s]weights?|sample[_\s]weights?|scale_pos_weight|seed\s+averag\w*|multiple\s+seeds|eval(?:uation)?[_\s]metric)\b/i, 2],
  ],
};

const TIE_ORDER: IdeaType[] = ['Feature Engineering', 'Data Preparation', 'Model Architecture', 'Model Training', 'Hyperparameter Tuning'];

/** Scores of each type for a text (exported for tests and explanations). */
export function keywordScores(idea: { action: string; analysis?: string; rationale?: string }): Record<IdeaType, number> {
  const scores: Record<IdeaType, number> = { 'Data Preparation': 0, 'Feature Engineering': 0, 'Model Architecture': 0, 'Hyperparameter Tuning': 0, 'Model Training': 0, Others: 0 };
  // The ACTION says what will change; the analysis and rationale only colour it.
  const parts: [string, number][] = [
    [idea.action ?? '', 1],
    [idea.analysis ?? '', 0.3],
    [idea.rationale ?? '', 0.3],
  ];
  for (const [text, w] of parts) {
    if (!text) continue;
    const t = text.length > 20_000 ? text.slice(0, 20_000) : text;
    for (const [type, cues] of Object.entries(CUES) as [Exclude<IdeaType, 'Others'>, [RegExp, number][]][]) {
      for (const [re, weight] of cues) if (re.test(t)) scores[type] += weight * w;
    }
  }
  return scores;
}

/** Keyword fallback classifier: the type with the strongest cues, 'Others' when nothing points anywhere. */
export function classifyByKeywords(idea: { action: string; analysis?: string; rationale?: string }): IdeaType {
  const scores = keywordScores(idea);
  let best: IdeaType = 'Others';
  let bestScore = 0.9; // below this the cues are too weak to call (e.g. one bare model name)
  for (const type of TIE_ORDER) {
    if (scores[type] > bestScore) {
      best = type;
      bestScore = scores[type];
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------------------

export interface TypeStat {
  type: IdeaType;
  /** Ideas of this type. */
  count: number;
  /** Of those, ideas whose outcome is known (improved true or false). */
  judged: number;
  improved: number;
  /** improved / judged; null when nothing was judged. */
  rate: number | null;
}

/** Per-type counts and improvement rates, one row per type in the canonical order (zero rows included). */
export function typeStats(items: { type: IdeaType; improved: boolean | null }[]): TypeStat[] {
  const rows = new Map<IdeaType, TypeStat>(IDEA_TYPES.map((t) => [t, { type: t, count: 0, judged: 0, improved: 0, rate: null }]));
  for (const item of items) {
    const row = rows.get(item.type);
    if (!row) continue; // not one of the six: ignored rather than miscounted
    row.count++;
    if (item.improved === true || item.improved === false) {
      row.judged++;
      if (item.improved) row.improved++;
    }
  }
  for (const row of rows.values()) row.rate = row.judged > 0 ? row.improved / row.judged : null;
  return [...rows.values()];
}
