/**
 * The noise-aware reward (#14) on a REAL graded task whose training is genuinely stochastic, through a real
 * `ideator serve` and the bundled digits-multiclass task (MLE-bench layout: prepare.py, grade.py on the private
 * answers), copied with `ideator: {baseline_seeds: 3}` in its config.yaml:
 *  - C_t trains a small random forest on a random 30 % of the training images, both seeded from IDEATOR_SEED
 *    (the project's .venv scikit-learn). The request names no k: the task's 3 applies. The 3 graded accuracies
 *    differ (about 0.36 / 0.34 / 0.32: real run-to-run noise), p_t is their mean.
 *  - a do-nothing idea (a comment) runs at seed 3 and happens to grade above p_t — a +1 under the paper's single
 *    comparison — but inside the noise: 0. A really better model (an RBF SVM, ~0.74) earns +1.
 * Then an attacker:
 *  - the "seed-k trick": code that reads IDEATOR_SEED and, in the idea's run, replays one of C_t's own seeds
 *    (hoping to have picked the luckiest): it reproduces that baseline run exactly and earns 0 whichever seed it
 *    picks. With k ≤ 3 and z ≥ 1 no replayed baseline run can ever clear the threshold (one of n scores lies at
 *    most s·(n−1)/√n from their mean, and the threshold is z·s·√(1 + 1/n) ≥ that for n ≤ 3);
 *  - a gain inside the noise never pays, however the idea prints its metric (the grader decides);
 *  - the idea cannot learn k, or anything of p_t's runs, from anything but IDEATOR_SEED: a C_t that tries to leave
 *    its seed and score behind (in /tmp, $HOME, /dev/shm, /var/tmp, its work folder and the one above it) leaves
 *    nothing the idea's run can find, and the idea's environment names no other seed or baseline figure.
 */
import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RewardResult } from '../../src/core/protocol';
import { api, ideaWithScript, removeDir, REPO, serverForSuite, tempDir } from './serverHarness';

const TASK = 'digits-multiclass';

/** C_t: a quick forest on a random 30 % of the training images; the sample and the trees follow the seed. */
const CT = (seedLine = 'seed = int(os.environ.get("IDEATOR_SEED", "0"))', note = '') =>
  [
    '"""Digits, current version: a small random forest on a random 30% of the training images."""',
    'import os',
    '',
    'import pandas as pd',
    'from sklearn.ensemble import RandomForestClassifier',
    '',
    seedLine,
    ...(note ? [note] : []),
    'train = pd.read_csv("data/train.csv")',
    'test = pd.read_csv("data/test.csv")',
    'pixels = [c for c in train.columns if c.startswith("px")]',
    'sub = train.sample(frac=0.3, random_state=seed)',
    'model = RandomForestClassifier(n_estimators=20, max_depth=8, random_state=seed).fit(sub[pixels], sub["label"])',
    'pd.DataFrame({"id": test["id"], "label": model.predict(test[pixels])}).to_csv("submission.csv", index=False)',
    '',
  ].join('\n');

const SVM = readFileSync(join(REPO, 'server', 'tasks', TASK, 'solutions', '04_svm_rbf.py'), 'utf8');

describe('noise-aware reward on a real, stochastic, graded task (the task\'s baseline_seeds)', () => {
  const root = tempDir('ideator-noise-task-');
  const tasks = join(root, 'tasks');
  cpSync(join(REPO, 'server', 'tasks', TASK), join(tasks, TASK), { recursive: true });
  const config = join(tasks, TASK, 'config.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace('ideator:\n', 'ideator:\n  baseline_seeds: 3\n'));
  const server = serverForSuite({ args: ['--slots', '2', '--tasks-dir', tasks, '--task-data-dir', join(root, 'data')] });
  after(() => removeDir(root));

  const state = { taskId: TASK, taskDescription: 'Noisy 8x8 digits: predict the label of each test image.', score: { value: 0.34, direction: 'higher' }, code: CT(), codePath: 'solution.py' };
  let measured: NonNullable<RewardResult['baseline']>;

  it('k from the task: 3 different graded scores; a do-nothing idea above p_t but inside the noise gets 0, a better model +1', { timeout: 240_000 }, async () => {
    const doNothing = ideaWithScript(CT(undefined, '# Tidy-up: the columns are named once below.'), 'The code could be tidier.');
    const r = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=230', { state, ideas: [doNothing, ideaWithScript(SVM, 'A forest on 30% of the data is weak for images.')] });
    assert.equal(r.status, 200, r.text);
    const [nothing, better] = r.json.results;
    const b = nothing.baseline!;
    measured = b;
    assert.equal(b.k, 3, 'the task\'s ideator.baseline_seeds, the request named none');
    assert.equal(b.scores.length, 3);
    assert.ok(b.scores.every((s) => typeof s === 'number' && s > 0.2 && s < 0.5), JSON.stringify(b.scores));
    assert.equal(new Set(b.scores).size, 3, `three seeds, three graded accuracies: ${JSON.stringify(b.scores)}`);
    assert.ok(b.std > 0.005, `real run-to-run noise: ${JSON.stringify(b)}`);
    assert.ok(Math.abs(b.threshold - b.std * Math.sqrt(4 / 3)) < 1e-12);
    assert.deepEqual(better.baseline, b, 'one measurement for the group');
    assert.equal(nothing.selfReported, false, 'graded by grade.py');
    assert.equal(nothing.scoreBefore, b.mean);
    // The do-nothing idea's own seed-3 run grades above p_t: the paper's p_{t+1} > p_t would pay it +1 …
    assert.ok(nothing.scoreAfter! > b.mean!, `seed 3 above the mean: ${nothing.scoreAfter} vs ${b.mean}`);
    // … but the gain is inside the measured noise.
    assert.ok(nothing.scoreAfter! - b.mean! <= b.threshold, `${nothing.scoreAfter! - b.mean!} vs threshold ${b.threshold}`);
    assert.deepEqual([nothing.status, nothing.reward], ['not_improved', 0]);
    assert.ok(better.scoreAfter! - b.mean! > 10 * b.threshold, JSON.stringify(better));
    assert.deepEqual([better.status, better.reward], ['improved', 1]);
    console.log(`${TASK}, k = 3: ${JSON.stringify(b.scores)}, p_t ${b.mean!.toFixed(4)} ± ${b.std.toFixed(4)} (improvement needs > ${b.threshold.toFixed(4)}); do-nothing ${nothing.scoreAfter} → 0, SVM ${better.scoreAfter} → +1`);
  });

  it('attacker: replaying one of C_t\'s own seeds in the idea\'s run (the seed-k trick) never pays, nor does a loud printed metric', { timeout: 240_000 }, async () => {
    assert.ok(measured, 'the first test measured p_t');
    // An attacker's idea: "in the evaluation run (IDEATOR_SEED is the one after the baseline's), train with a seed
    // the baseline used — with luck, its best one". One idea per baseline seed, so one of them replays the best.
    const replay = (s: number) =>
      ideaWithScript(
        CT(['seed = int(os.environ.get("IDEATOR_SEED", "0"))', `if seed >= 3:  # the idea's run: replay baseline seed ${s}`, `    seed = ${s}`].join('\n')),
        `Seed ${s} looked lucky.`,
      );
    // And one that prints a brilliant metric of its own choosing, per seed: only the grader counts.
    const loud = ideaWithScript(CT(undefined, 'print(f"accuracy: {0.99 - 0.01 * seed:.3f}")'), 'Report the accuracy.');
    const r = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=230', { state, ideas: [replay(0), replay(1), replay(2), loud] });
    assert.equal(r.status, 200, r.text);
    const results = r.json.results;
    for (const x of results) assert.deepEqual(x.baseline, measured, 'p_t is not measured again');
    const replayed = results.slice(0, 3).map((x) => x.scoreAfter);
    assert.deepEqual(replayed, measured.scores, 'each replay reproduces that baseline run exactly');
    const best = Math.max(...(measured.scores as number[]));
    assert.ok(best - measured.mean! <= measured.threshold, 'even the luckiest baseline run is inside the threshold (k = 3, z = 1)');
    for (const x of results.slice(0, 3)) assert.deepEqual([x.status, x.reward], ['not_improved', 0], JSON.stringify(x));
    const [loudResult] = results.slice(3);
    assert.equal(loudResult.selfReported, false);
    assert.ok(loudResult.scoreAfter! < 0.5, `graded, not the printed 0.96: ${loudResult.scoreAfter}`);
    assert.deepEqual([loudResult.status, loudResult.reward], ['not_improved', 0]);
  });

  it('attacker: a C_t that leaves its seed and score behind for the idea leaves nothing the idea\'s run can find', { timeout: 120_000 }, async () => {
    const places = ['/tmp', '/var/tmp', '/dev/shm', '~', '.', '..', 'data', '.tmp', '.home', '$TMPDIR'];
    const leaker = [
      'import os, random',
      'seed = os.environ.get("IDEATOR_SEED", "none")',
      'random.seed(int(seed) if seed.isdigit() else 0)',
      'score = round(0.5 + random.random() * 0.1, 4)',
      `for d in ${JSON.stringify(places)}:`,
      '    for name in (f"leak-{seed}.txt", ".ideator-baseline"):',
      '        try:',
      '            with open(os.path.join(os.path.expandvars(os.path.expanduser(d)), name), "a") as f:',
      '                f.write(f"{seed} {score}\\n")',
      '        except OSError:',
      '            pass',
      'print("acc:", score)',
      '',
    ].join('\n');
    const leakState = { taskDescription: 'noisy toy that tries to leak', score: { value: 0.5, direction: 'higher', metric: 'acc' }, code: leaker, codePath: 'solution.py' };
    const finder = [
      'import os',
      'found = []',
      `for d in ${JSON.stringify(places)}:`,
      '    d = os.path.expandvars(os.path.expanduser(d))',
      '    try:',
      '        names = os.listdir(d)',
      '    except OSError:',
      '        continue',
      '    found += [os.path.join(d, n) for n in names if "leak" in n or "baseline" in n]',
      'print("found:", sorted(found))',
      'print("cwd:", sorted(os.listdir(".")))',
      'print("env:", sorted(k + "=" + v for k, v in os.environ.items() if any(w in (k + v).upper() for w in ("SEED", "IDEATOR", "BASELINE", "LEAK"))))',
      'print("acc: 0.001")',
      '',
    ].join('\n');
    const r = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=110', { state: leakState, allowPrintedScore: true, ideas: [ideaWithScript(finder, 'Look around first.')], baselineSeeds: 3 });
    assert.equal(r.status, 200, r.text);
    const [x] = r.json.results;
    assert.equal(x.baseline?.k, 3);
    assert.equal(new Set(x.baseline?.scores).size, 3, 'the three baseline runs ran (and tried to leak)');
    assert.match(x.outputTail, /^found: \[\]$/m, x.outputTail);
    // A fresh work folder: the idea's code and the run's own empty home and temp folders.
    assert.match(x.outputTail, /^cwd: \['\.home', '\.tmp', 'solution\.py'\]$/m, x.outputTail);
    assert.match(x.outputTail, /^env: \['IDEATOR_SEED=3', 'PYTHONHASHSEED=3'\]$/m, x.outputTail);
    assert.deepEqual([x.status, x.reward], ['not_improved', 0]);
  });
});
