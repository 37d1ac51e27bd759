/**
 * What a metric's name tells us: its direction (is bigger better?), whether it is measured on held-out data, and
 * whether it is a metric at all (an epoch counter, a learning rate or a sample count is context, not a score).
 *
 * All decisions are made on the name's tokens (split on anything that is not a letter, digit or '@'), so
 * "val_loss", "valid_0 binary_logloss", "eval-auc" and "Mean squared error" are read the same way.
 */
import type { Direction } from '../protocol';

/** Tokens of metrics where smaller is better (losses, errors, divergences, costs). */
const LOWER = new Set([
  'loss', 'losses', 'error', 'errors', 'err', 'rmse', 'mae', 'mse', 'msle', 'rmsle', 'logloss', 'mlogloss', 'merror',
  'nloglik', 'perplexity', 'ppl', 'wer', 'cer', 'ter', 'mape', 'smape', 'mad', 'medae', 'nll', 'ce', 'bce', 'xent',
  'xentropy', 'entropy', 'deviance', 'brier', 'fid', 'kid', 'lpips', 'l1', 'l2', 'huber', 'fair', 'poisson', 'gamma',
  'tweedie', 'quantile', 'hamming', 'distance', 'dist', 'regret', 'ece', 'mphe', 'cost', 'risk', 'eer', 'fpr', 'fnr',
  'kl', 'kld', 'divergence', 'mase', 'wape', 'rae', 'rse', 'logcosh',
]);

/** Tokens of well-known metrics where larger is better (used to recognise a metric printed without ':' or '='). */
const HIGHER = new Set([
  'acc', 'accuracy', 'auc', 'aucpr', 'roc', 'f1', 'f2', 'fscore', 'r2', 'map', 'precision', 'recall', 'score', 'ndcg',
  'iou', 'miou', 'dice', 'bleu', 'rouge', 'rougel', 'meteor', 'chrf', 'kappa', 'qwk', 'mcc', 'gini', 'psnr', 'ssim',
  'spearman', 'pearson', 'top1', 'top5', 'mrr', 'jaccard', 'specificity', 'sensitivity',
]);

/**
 * Tokens that make a name context rather than a score: counters (epoch, step), optimiser settings (lr), sizes and
 * counts ("Number of positive: 10"), timings and throughput ("train_samples_per_second"), resources.
 */
const NOT_METRIC = new Set([
  'epoch', 'epochs', 'step', 'steps', 'iter', 'iters', 'iteration', 'iterations', 'it', 'its', 'batch', 'batches',
  'round', 'rounds', 'fold', 'folds', 'trial', 'trials', 'lr', 'learning', 'seed', 'random', 'pid', 'port',
  'version', 'id', 'size', 'sizes', 'rows', 'cols', 'columns', 'samples', 'count', 'counts', 'num', 'n', 'number',
  'total', 'length', 'len', 'shape', 'dim', 'dims', 'features', 'classes', 'params', 'parameters', 'workers',
  'threads', 'jobs', 'time', 'runtime', 'elapsed', 'eta', 'duration', 'sec', 'secs', 'second', 'seconds', 'ms', 'mins', 'minutes', 'hours', 'memory', 'mem', 'gpu', 'cpu', 'ram', 'rss', 'bytes', 'kb', 'mb', 'gb', 'flos', 'flops',
  'grad', 'gradient', 'momentum', 'decay', 'warmup', 'patience', 'depth', 'leaves', 'bins', 'estimators', 'width',
  'height', 'line', 'lines', 'index', 'idx', 'positive', 'negative', 'points', 'throughput', 'speed', 'tokens', 'per',
  'ntree', 'trees', 'verbosity', 'verbose', 'dropout', 'temperature', 'instances', 'nrounds',
  // Spreads, progress and devices: "std: 0.01", "Progress: 45%", "Downloading: 80%", "Device: cuda:0", "rank: 1".
  'std', 'stdev', 'stddev', 'progress', 'downloading', 'downloaded', 'download', 'uploading', 'upload', 'done',
  'complete', 'completed', 'percent', 'cuda', 'mps', 'tpu', 'xla', 'device', 'devices', 'rank', 'node', 'nodes',
  'host', 'worker',
]);

/** Context counters worth remembering (the latest value), keyed by a canonical name. */
const CONTEXT_KEYS: Record<string, string> = {
  epoch: 'epoch',
  step: 'step',
  global_step: 'step',
  iteration: 'iteration',
  iter: 'iteration',
  it: 'iteration',
  batch: 'batch',
  round: 'round',
  fold: 'fold',
  trial: 'trial',
};

/** Tokens that mark a metric measured on held-out data. */
const VALIDATION = new Set(['val', 'valid', 'validation', 'eval', 'evaluation', 'test', 'testing', 'cv', 'dev', 'holdout', 'heldout', 'oof', 'lb', 'leaderboard']);

/** Splits a name into lower-case tokens; "ndcg@10" keeps its '@' so "map@5" stays one token. */
export function nameTokens(name: string): string[] {
  return name.toLowerCase().split(/[^a-z0-9@]+/).filter(Boolean);
}

/** 'lower' for losses and errors, 'higher' otherwise (accuracy, AUC, F1, R², mAP, score, and unknown names). */
export function guessDirection(name: string): Direction {
  const tokens = nameTokens(name);
  // sklearn scorer names negate losses ("neg_log_loss") precisely so that higher is better.
  if (tokens[0] === 'neg' || tokens[0] === 'negative') return 'higher';
  for (const t of tokens) {
    const base = t.includes('@') ? t.slice(0, t.indexOf('@')) : t;
    if (LOWER.has(base)) return 'lower';
  }
  // One-word names glued together ("valloss", "trainerror"): look inside.
  const flat = name.toLowerCase();
  if (flat.includes('loss') || flat.includes('error') || flat.includes('rmse') || flat.includes('mse')) return 'lower';
  return 'higher';
}

/** True for names measured on held-out data: val_*, valid_0 *, validation_1-*, eval_*, test *, CV *, oof *. */
export function isValidationName(name: string): boolean {
  for (const t of nameTokens(name)) {
    if (VALIDATION.has(t)) return true;
  }
  const lower = name.toLowerCase();
  // Glued forms such as "valloss" / "valacc" / "val_acc" written "valAcc".
  return /^val(?:loss|acc|auc|err|f1|score)/.test(lower);
}

/** True when one of the name's tokens is a well-known metric ("Validation AUC", "test accuracy", "val loss"). */
export function isKnownMetricName(name: string): boolean {
  for (const t of nameTokens(name)) {
    const base = t.includes('@') ? t.slice(0, t.indexOf('@')) : t;
    if (LOWER.has(base) || HIGHER.has(base)) return true;
  }
  return false;
}

/** True when a name is a counter, a setting or a size rather than a score. */
export function isContextName(name: string): boolean {
  for (const t of nameTokens(name)) {
    if (NOT_METRIC.has(t)) return true;
  }
  return false;
}

/** Canonical context key for a counter name ("global_step" → "step"), or undefined if not one we keep. */
export function contextKey(name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(CONTEXT_KEYS, name) ? CONTEXT_KEYS[name] : undefined;
}
