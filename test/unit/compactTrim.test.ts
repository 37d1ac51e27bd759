/**
 * Compact tables under the budget's trimming (issue #16): a step too big for its share is trimmed head + tail
 * (core/trajectory.ts trimToTokens); a table cut there must never leave rows of bare numbers without their form.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { pool } from '../../bench/prompt-tokens';
import { compactOutput, compactSteps, danglingReferences, orphanTableRows } from '../../src/core/compact';
import { expandStepTexts, expandTables, formReferences, isTableHeaderLike, isTableRowLike, newFormsShown, referForms, tabulate } from '../../src/core/compactTable';
import { buildIdeatorPrompt } from '../../src/core/promptCost';
import type { Step } from '../../src/core/protocol';
import { estimateTokens } from '../../src/core/tokens';
import { renderTrajectory, trimToTokens, TRIM_MARKER_RE } from '../../src/core/trajectory';

/** A LightGBM-like run: a preamble, `rounds` per-round lines (one record of 1 or 2 lines), a closing summary. */
function runLog(rounds: number, twoLines = false, shift = 0): string {
  const lines = ['[LightGBM] [Info] Number of positive: 4127, number of negative: 5873', '[LightGBM] [Info] Total Bins 6120', 'Training until validation scores don\'t improve for 50 rounds'];
  for (let i = 1; i <= rounds; i++) {
    const auc = (0.7 + (0.2 * i) / rounds + shift).toFixed(6);
    const loss = (0.69 - (0.3 * i) / rounds).toFixed(6);
    if (twoLines) lines.push(`Epoch ${i}/${rounds}`, `loss: ${loss} - val_auc: ${auc}`);
    else lines.push(`[${i}]\ttraining's binary_logloss: ${loss}\tvalid_1's auc: ${auc}`);
  }
  lines.push('Early stopping, best iteration is:', `[${rounds}]\tvalid_1's auc: ${(0.9 + shift).toFixed(6)}`, 'Final validation AUC: 0.9012');
  return lines.join('\n');
}

/**
 * Every line of bare numbers in `text` belongs to a table: going up through such lines reaches a table's header
 * (its form, a pointer to it, or its continuation after a trim), never a trim marker or other text.
 */
function everyRowHasItsForm(text: string): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!isTableRowLike(lines[i])) continue;
    let k = i - 1;
    while (k >= 0 && isTableRowLike(lines[k])) k--;
    assert.ok(k >= 0 && isTableHeaderLike(lines[k]), `row ${i} "${lines[i]}" has no form above it:\n${lines.slice(Math.max(0, k - 2), i + 1).join('\n')}`);
  }
  assert.equal(orphanTableRows(text), 0);
}

test('a long table trimmed at any budget: rows never without their form; the kept end reads back as the output\'s last lines', () => {
  for (const twoLines of [false, true]) {
    const raw = runLog(400, twoLines);
    const compact = compactOutput(raw);
    assert.match(compact, /^\[… printed 400 times/m, 'the rounds are one table');
    const rawLines = raw.split('\n');
    const compactLines = compact.split('\n');
    let continued = 0;
    for (let max = 100; max <= 4000; max = Math.ceil(max * 1.15)) {
      const t = trimToTokens(compact, max);
      assert.ok(t.trimmed);
      everyRowHasItsForm(t.text);
      assert.ok(estimateTokens(t.text) <= max, `${estimateTokens(t.text)} tokens for ${max}`);
      const lines = t.text.split('\n');
      const marker = lines.findIndex((l) => TRIM_MARKER_RE.test(l));
      assert.ok(marker >= 0);
      // The head is the output's beginning, the tail its end: read through the tables, line for line.
      const head = expandTables(lines.slice(0, marker).join('\n'));
      const tail = expandTables(lines.slice(marker + 1).join('\n'));
      if (lines[marker + 1]?.startsWith('[… table continued: ')) {
        continued++;
        assert.match(lines[marker + 1], /^\[… table continued: the last \d+ of its 400 rows, filling the \{\} in order: ".*" …\]$/);
      }
      if (tail !== '') assert.ok(raw.endsWith(`\n${tail}`), `the tail at ${max} is not the output's end:\n${tail.slice(0, 300)}`);
      // The head is the compact output's beginning: a head that ends inside the table keeps its header (which says
      // how many rows there were) and its first rows.
      assert.deepEqual(lines.slice(0, marker), compactLines.slice(0, marker), `the head at ${max}`);
      if (!head.includes('[… printed ')) assert.deepEqual(head.split('\n'), rawLines.slice(0, marker));
      assert.ok(!isTableHeaderLike(lines[marker - 1] ?? ''), 'the head does not end on a table header alone');
    }
    assert.ok(continued >= 5, `the tail started inside the table ${continued} times`);
  }
});

test('a continued table that points to an earlier step\'s form points there again, and the pointer is checked', () => {
  const shown = newFormsShown();
  const s1 = referForms(compactOutput(runLog(30)), 1, shown);
  const s2 = referForms(compactOutput(runLog(300, false, 0.01)), 2, shown);
  assert.match(s2, /^\[… printed 300 times, one row of values each, filling the \{\} of the form shown in step 1 …\]$/m);
  const t = trimToTokens(s2, 600);
  everyRowHasItsForm(t.text);
  assert.match(t.text, /^\[… table continued: the last \d+ of its 300 rows, filling the \{\} of the form shown in step 1 …\]$/m);
  assert.deepEqual(formReferences(t.text), [{ step: 1, nth: 1 }, { step: 1, nth: 1 }]);
  // Read through step 1's form, the continued rows are the output's last rounds.
  const [, expanded] = expandStepTexts([s1, t.text]);
  const tail = expanded.split('\n').slice(expanded.split('\n').findIndex((l) => TRIM_MARKER_RE.test(l)) + 1).join('\n');
  assert.ok(runLog(300, false, 0.01).endsWith(tail));
  const rendered = (one: string) => `--- Step 1 (execute) ---\nObservation:\n${one}\n\n--- Step 2 (execute) ---\nObservation:\n${t.text}`;
  assert.equal(danglingReferences(rendered(s1)), false);
  assert.equal(danglingReferences(rendered('no table')), true, 'the continuation\'s pointer is checked too');
});

test('a pointer to a form of a step trimmed inside is trusted only above the trim: the forms below may have shifted', () => {
  const form = (name: string, v: number) => tabulate(Array.from({ length: 8 }, (_, i) => `[${i}]\t${name}: ${(v + i / 100).toFixed(5)}`)).join('\n');
  const s3 = `--- Step 3 (execute) ---\nObservation:\n${form('eval-rmse', 0.5)}`;
  const pointer = (nth: number) => `[… printed 8 times, one row of values each, filling the {} of the ${nth === 1 ? '1st' : '2nd'} form shown in step 1 …]\n${Array.from({ length: 8 }, (_, i) => `${i} .${50 + i}`).join('\n')}`;
  const step1 = (body: string) => `--- Step 1 (execute) ---\nAction:\npython t.py\nObservation:\n${body}`;
  const whole = step1(`${form('valid auc', 0.8)}\n${form('valid logloss', 0.4)}`);
  // Untrimmed: both forms are shown, in order.
  assert.equal(danglingReferences(`${whole}\n\n${s3}\n${pointer(2)}`), false);
  // Trimmed between them (a third form may have gone with the removed lines): the 1st is safe, the 2nd is not.
  const trimmed = step1(`${form('valid auc', 0.8)}\n[… 40 lines omitted (~600 tokens) …]\n${form('valid logloss', 0.4)}`);
  assert.equal(danglingReferences(`${trimmed}\n\n${s3}\n${pointer(1)}`), false);
  assert.equal(danglingReferences(`${trimmed}\n\n${s3}\n${pointer(2)}`), true);
});

test('whole trajectories with long tables at small budgets: no row without its form, the budget kept', () => {
  const steps: Step[] = [{ kind: 'execute', action: 'ls data', observation: 'train.csv\ntest.csv', exitCode: 0 }];
  for (let k = 0; k < 8; k++) steps.push({ kind: 'execute', action: `python train.py --seed ${k}`, observation: runLog(120 + 60 * k, k % 2 === 1, k / 1000), exitCode: 0, score: 0.9 });
  const compact = compactSteps(steps).steps;
  for (const budget of [300, 600, 1000, 2000, 4000, 8000]) {
    const r = renderTrajectory(compact, { budgetTokens: budget });
    assert.ok(r.tokens <= budget);
    everyRowHasItsForm(r.text);
  }
});

test('the bench pools at 8k and 32k: no trimmed step shows table rows without their form (it did 2 / 9 times at 8k)', () => {
  for (const kind of ['editor', 'agent'] as const) {
    for (const steps of pool(kind, 60)) {
      const state = { taskDescription: 'Predict the target.', trajectory: steps, score: { value: 0.8, direction: 'higher' as const, metric: 'auc' }, code: '' };
      for (const budgetTokens of [8_000, 32_000]) {
        const p = buildIdeatorPrompt(state, { trajectoryMode: 'compact', budgetTokens });
        const text = p.messages.map((m) => m.content).join('\n');
        assert.equal(orphanTableRows(text), 0, `${kind} at ${budgetTokens}`);
        assert.equal(danglingReferences(text), false);
      }
    }
  }
});
