import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { editorTrajectory } from '../../bench/prompt-tokens';
import { compactOutput, compactSteps, danglingReferences, isErrorLine, lostInvariants, metricValues } from '../../src/core/compact';
import { expandStepTexts, expandTables, formReferences, newFormsShown, referForms, tabulate } from '../../src/core/compactTable';
import { prng } from '../../src/core/prng';
import { buildIdeatorPrompt } from '../../src/core/promptCost';
import type { Step } from '../../src/core/protocol';
import { cleanOutput, renderTrajectory } from '../../src/core/trajectory';

const LOGS = join(__dirname, '..', 'fixtures', 'logs');
const realLogs = readdirSync(LOGS)
  .filter((f) => f.endsWith('.log'))
  .map((f) => ({ name: f, text: cleanOutput(readFileSync(join(LOGS, f), 'utf8')) }));

/** Random output lines: metric lines of a few shapes, in records of 1-3 lines, with noise, errors and odd numbers. */
function randomOutput(rand: () => number): string {
  const num = () => {
    const r = rand();
    if (r < 0.1) return String(Math.floor(rand() * 1000) - 300);
    if (r < 0.15) return pick(['inf', '-inf', 'nan', 'NaN']);
    if (r < 0.25) return (rand() * 10).toExponential(1 + Math.floor(rand() * 4));
    if (r < 0.3) return `.${Math.floor(rand() * 1000)}`;
    return (rand() * (rand() < 0.8 ? 1 : 3000) - (rand() < 0.1 ? 1 : 0)).toFixed(Math.floor(rand() * 7));
  };
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const shapes: (() => string)[] = [
    () => `[${Math.floor(rand() * 500)}]\ttrain-auc:${num()}\teval-auc:${num()}\teval-error:${num()}`,
    () => `Epoch ${Math.floor(rand() * 9)}/8`,
    () => `8/8 [==============================] - 1s ${Math.floor(rand() * 200)}ms/step - loss: ${num()} - val_loss: ${num()}`,
    () => `{'loss': ${num()}, 'grad_norm': ${num()}, 'learning_rate': ${num()}, 'epoch': ${num()}}`,
    () => `fold ${Math.floor(rand() * 5)}: valid_1's auc ${num()} {} x${num()}`,
    () => `python3.11 lightgbm-4.7.0 ${num()} ${num()}-${num()} ${num()}e`,
    () => '',
    () => pick(['ValueError: bad input 0.5', 'RuntimeError: CUDA out of memory at 3', '[… printed 3 times, one row of values each, filling the {} in order: "{}" …]', 'loading 1 2 3']),
  ];
  const out: string[] = [];
  const n = 1 + Math.floor(rand() * 60);
  while (out.length < n) {
    const k = 1 + Math.floor(rand() * 3);
    const record = Array.from({ length: k }, () => pick(shapes));
    const times = 1 + Math.floor(rand() * 8);
    for (let t = 0; t < times; t++) for (const s of record) out.push(s());
  }
  return out.join('\n');
}

test('property: tables are lossless: expanding gives every fixture log and 1,000 random outputs back byte for byte', () => {
  let tabled = 0;
  const texts = realLogs.map((l) => l.text);
  const rand = prng(1616);
  for (let i = 0; i < 1000; i++) texts.push(randomOutput(rand));
  for (const text of texts) {
    const lines = text.split('\n');
    const stats = { tables: 0, rows: 0 };
    const out = tabulate(lines, (i) => isErrorLine(lines[i]), stats).join('\n');
    if (text.split('\n').some((l) => l.startsWith('[… printed '))) continue; // the output itself holds a header-like line: see below
    assert.equal(expandTables(out), text, out.slice(0, 600));
    if (stats.tables > 0) tabled++;
    // Error lines are never in a table: each is still a line of the compact text.
    const outLines = new Set(out.split('\n'));
    for (const l of lines) if (isErrorLine(l)) assert.ok(outLines.has(l), `error line in a table: ${l}`);
  }
  assert.ok(tabled > 300, `only ${tabled} outputs got a table`);
});

test('property: compactOutput keeps every metric value of 1,000 random outputs, read through its tables', () => {
  const rand = prng(77);
  for (let i = 0; i < 1000; i++) {
    const text = randomOutput(rand);
    const before = metricValues(text);
    const out = compactOutput(text);
    const after = metricValues(expandTables(cleanOutput(out)));
    for (const k of before) assert.ok(after.has(k), `seed ${i}: lost ${k.replace('\u0000', '=')}\n${out.slice(0, 800)}`);
  }
});

test('a table: one header with the form, a row of values per line; shared integer parts and constant numbers stay in the form', () => {
  const log = realLogs.find((l) => l.name === 'xgboost_train.log')!.text;
  const out = compactOutput(log);
  const lines = out.split('\n');
  assert.equal(lines[0], '[… printed 12 times, one row of values each, filling the {} in order: "[{}]\ttrain-logloss:0{}\ttrain-auc:0{}\teval-logloss:0{}\teval-auc:0{}" …]');
  assert.equal(lines[1], '0 .65964 .83964 .66089 .82240');
  assert.equal(lines[12], '101 .23591 .98520 .41553 .89502');
  assert.equal(expandTables(out), log);
  // Keras: "Epoch N/4" and its metrics line are one record; "/4" and "8/8" are the same on every row and stay.
  const keras = ['Epoch 1/4', '8/8 - 1s - loss: 0.6100 - val_loss: 0.6600', 'Epoch 2/4', '8/8 - 1s - loss: 0.4720 - val_loss: 0.5220', 'Epoch 3/4', '8/8 - 1s - loss: 0.3616 - val_loss: 0.4116'];
  const k = tabulate(keras);
  assert.deepEqual(k, ['[… printed 3 times, one row of values each, filling the {} in order: "Epoch {}/4" ⏎ "8/8 - 1s - loss: 0{} - val_loss: 0{}" …]', '1 .6100 .6600', '2 .4720 .5220', '3 .3616 .4116']);
  assert.equal(expandTables(k.join('\n')), keras.join('\n'));
  // Mixed integer parts: the numbers stay whole. Two rows: no table.
  const l2 = (v: string) => `[LightGBM] round done, training's l2: ${v}, valid_1's l2: ${v}`;
  assert.deepEqual(tabulate([l2('1.5'), l2('0.5'), l2('2.25')]).slice(1), ['1.5 1.5', '0.5 0.5', '2.25 2.25']);
  assert.deepEqual(tabulate([l2('1.5'), l2('0.5')]), [l2('1.5'), l2('0.5')]);
  // Short lines, where the header costs more than it saves, stay.
  assert.deepEqual(tabulate(['l2: 1.5', 'l2: 0.5', 'l2: 2.25']), ['l2: 1.5', 'l2: 0.5', 'l2: 2.25']);
});

test('the checker is not weakened: a table that lost a value, a row or its form reads as a lost value', () => {
  const steps: Step[] = editorTrajectory(2); // XGBoost runs: tables with references to step 1
  const c = compactSteps(steps).steps;
  assert.deepEqual(lostInvariants(steps, c), { values: [], errors: [], finalCode: [] });
  const at = c.findIndex((s) => /^\[… printed \d+ times/m.test(s.observation ?? ''));
  const damage = (f: (o: string) => string) => c.map((s, i) => (i === at ? { ...s, observation: f(s.observation!) } : s));
  // A value dropped from a row, a row dropped, the form changed: the table no longer expands, its values are lost.
  for (const broken of [
    damage((o) => o.replace(/^(\d+ \S+) \S+/m, '$1')),
    damage((o) => o.replace(/^\d+ [^\n]*\n/m, '')),
    damage((o) => o.replace('train-auc:0{}', 'train-acc:0{}')),
  ]) {
    const lost = lostInvariants(steps, broken);
    assert.ok(lost.values.length > 0, JSON.stringify(broken[at].observation).slice(0, 300));
  }
  // A reference to a step that shows no form does not expand.
  const refAt = c.findIndex((s) => /form shown in step 1 …\]/.test(s.observation ?? ''));
  assert.ok(refAt > at);
  const pointedElsewhere = c.map((s, i) => (i === refAt ? { ...s, observation: s.observation!.replace('form shown in step 1', 'form shown in step 2') } : s));
  assert.ok(lostInvariants(steps, pointedElsewhere).values.length > 0);
});

test('a later run with the same form points to the step that shows it; the prompt drops the pointers when the budget cuts that step', () => {
  const shown = newFormsShown();
  const run = (v: number) => tabulate(Array.from({ length: 5 }, (_, i) => `[${i * 10}]\tvalid_0's auc: ${(v + i / 100).toFixed(5)}`)).join('\n');
  const s1 = referForms(run(0.8), 1, shown);
  const s3 = referForms(run(0.7), 3, shown);
  assert.match(s1, /filling the \{\} in order: "\[\{\}\]\\?\tvalid_0's auc: 0\{\}" …\]/);
  assert.match(s3, /^\[… printed 5 times, one row of values each, filling the \{\} of the form shown in step 1 …\]$/m);
  assert.deepEqual(formReferences(s3), [{ step: 1, nth: 1 }]);
  // A pointer resolves only to a step shown with that form: not when the step is missing or trimmed inside.
  const rendered = (one: string) => `--- Step 1 (execute) ---\nObservation:\n${one}\n\n--- Step 3 (execute) ---\nObservation:\n${s3}`;
  assert.equal(danglingReferences(rendered(s1)), false);
  assert.equal(danglingReferences(rendered('[… 14 lines omitted (~300 tokens) …]')), true);
  assert.equal(danglingReferences(`--- Step 3 (execute) ---\nObservation:\n${s3}`), true);
  const expanded = expandStepTexts([s1, 'no table', s3]);
  assert.equal(expanded[2], Array.from({ length: 5 }, (_, i) => `[${i * 10}]\tvalid_0's auc: ${(0.7 + i / 100).toFixed(5)}`).join('\n'));
  // Two forms in one step: the pointer names which.
  const other = (v: number) => tabulate(Array.from({ length: 12 }, (_, i) => `cross-validation fold ${i}: validation rmse ${(v + i / 7).toFixed(4)}, validation mae ${(v / 2 + i / 9).toFixed(4)}`)).join('\n');
  const shown2 = newFormsShown();
  const two = referForms([run(0.8), 'x', other(1.5)].join('\n'), 1, shown2);
  assert.equal((two.match(/in order:/g) ?? []).length, 2);
  assert.match(referForms(other(2.5), 2, shown2), /of the 2nd form shown in step 1 …\]/);
  assert.match(referForms(run(0.6), 3, shown2), /of the 1st form shown in step 1 …\]/);

  // In a prompt: a budget that cuts step 1 leaves no pointer to it.
  const rand = prng(5);
  const word = () => Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
  const filler = () => Array.from({ length: 60 }, () => `${word()} ${word()} ${word()}`).join('\n');
  const rounds = (k: number) => Array.from({ length: 12 }, (_, i) => `[${i}]\teval-auc:0.${700 + i + k}34\ttrain-auc:0.${800 + i + k}56`).join('\n');
  const steps: Step[] = [{ kind: 'execute', action: 'ls', observation: 'data', exitCode: 0 }];
  for (let k = 0; k < 12; k++) steps.push({ kind: 'execute', action: `python train.py --seed ${k}`, observation: `${filler()}\n${rounds(k)}`, exitCode: 0 });
  const unbudgeted = renderTrajectory(compactSteps(steps).steps, { budgetTokens: 1e9 }).text;
  assert.match(unbudgeted, /form shown in step 2 …\]/);
  const state = { taskDescription: 'x', trajectory: steps, score: { value: 0.8, direction: 'higher' as const }, code: '' };
  const p = buildIdeatorPrompt(state, { trajectoryMode: 'compact', budgetTokens: 4000 });
  const text = p.messages.map((m) => m.content).join('\n');
  assert.doesNotMatch(text, /--- Step 2 \(/, 'the budget cut step 2');
  assert.equal(danglingReferences(text), false);
  for (const { step } of formReferences(text)) assert.match(text, new RegExp(`--- Step ${step} \\(`), `step ${step} is referred to but not in the prompt`);
  assert.ok(p.compact!.fallbacks >= 1);
});

test('XGBoost "-error:" columns are metric values, not error lines; real errors still are', () => {
  assert.equal(isErrorLine('[0]\tvalidation_0-logloss:0.65149\tvalidation_0-error:0.19867'), false);
  assert.equal(isErrorLine('[3]\ttrain-merror:0.12\teval-error@0.6:0.2'), false);
  for (const l of ['xgboost.core.XGBoostError: [08:14:31] Check failed', 'ERROR: could not open file', 'error: 3 files failed', '[0]\teval-error:0.2 RuntimeError: worker died', 'Mean squared error: 25'])
    assert.equal(isErrorLine(l), true, l);
});

test('an output that prints a line like a table header gets no tables of its own', () => {
  const text = ['[… printed 2 times, one row of values each, filling the {} in order: "a {}" …]', '1', '2', ...Array.from({ length: 6 }, (_, i) => `loss: 0.${i}1`)].join('\n');
  assert.equal(compactOutput(text), text);
  const steps: Step[] = [{ kind: 'execute', action: 'python t.py', observation: text, exitCode: 0 }];
  // The checker reads such a line as a table, in the original as in the compact text: nothing reads as lost.
  assert.deepEqual(lostInvariants(steps, compactSteps(steps).steps), { values: [], errors: [], finalCode: [] });
});
