import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatIdea, parseIdea, stripThinking } from '../../src/core/idea';
import { prng } from '../../src/core/prng';
import { ParsedIdeaSchema } from '../../src/core/protocol';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'ideas', `${name}.txt`), 'utf8');

/** Seeded so fuzz failures reproduce. */
const rng = prng;

test('well-formed answer is ok and fields are exact', () => {
  const r = parseIdea(fixture('well-formed'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.deepEqual(r.errors, []);
  assert.match(r.analysis, /^Keep the current LightGBM pipeline/);
  assert.match(r.action, /^Add per-user aggregate features/);
  assert.match(r.rationale, /aggregates of this kind usually move AUC/);
  assert.equal(r.thinking, undefined);
  assert.deepEqual(r.codeBlocks, []);
  assert.ok(ParsedIdeaSchema.safeParse(r).success);
});

test('decoration is tolerated: bold headers with inline content, ## headers, lower case, trailing spaces', () => {
  const bold = parseIdea(fixture('bold-decorated'));
  assert.equal(bold.ok, true, bold.errors.join('; '));
  assert.match(bold.action, /^Add `RandomHorizontalFlip\(\)`/);
  assert.ok(!bold.action.includes('**'));
  const heads = parseIdea(fixture('headings-lowercase'));
  assert.equal(heads.ok, true, heads.errors.join('; '));
  assert.match(heads.action, /^Replace `Ridge/);
  assert.match(heads.rationale, /^House prices/);
});

test('other decorations: numbered list markers, no colon, spaces for underscores, CRLF', () => {
  const text = '1. **Analysis on current progress**\nKeep going.\r\n\r\n2. **Action**\r\nAdd a feature.\r\n\r\n3. **Rationale**\r\nIt helps.\r\n';
  const r = parseIdea(text);
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.equal(r.analysis, 'Keep going.');
  assert.equal(r.action, 'Add a feature.');
  assert.equal(r.rationale, 'It helps.');
});

test('a header word followed by prose without a colon is not a header', () => {
  const r = parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\nFine.\n\nACTION:\nAction items are below.\nRationale behind it follows.\n\nRATIONALE:\nBecause.');
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.equal(r.action, 'Action items are below.\nRationale behind it follows.');
});

test('<think> blocks are stripped and returned as thinking', () => {
  const r = parseIdea(fixture('with-think'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.match(r.thinking ?? '', /extracting titles/);
  assert.ok(!r.analysis.includes('think'));
  assert.match(r.action, /str\.extract/);
});

test('a stray leading </think> (Qwen3 template) splits reasoning from the answer', () => {
  const r = parseIdea(fixture('stray-close-think'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.match(r.thinking ?? '', /data-side change is needed/);
  assert.match(r.analysis, /^Keep the current TF-IDF/);
});

test('an unclosed <think> fails with a clear error and shows any drafted fields', () => {
  const r = parseIdea(fixture('unclosed-think'));
  assert.equal(r.ok, false);
  assert.match(r.errors[0], /<think> is never closed/);
  assert.ok(r.errors.includes('missing ACTION'));
  assert.match(r.thinking ?? '', /lag features/);
  assert.equal(r.analysis, 'Keep the XGBoost model but');
  const bare = parseIdea('<think>I am still thinking about it');
  assert.equal(bare.ok, false);
  assert.equal(bare.thinking, 'I am still thinking about it');
});

test('empty think block (thinking disabled) leaves no thinking', () => {
  const r = parseIdea(`<think>\n\n</think>\n\n${fixture('well-formed')}`);
  assert.equal(r.ok, true);
  assert.equal(r.thinking, undefined);
});

test('stripThinking handles <thinking> and several leading blocks', () => {
  const s = stripThinking('<thinking>a</thinking>\n<think>b</think>answer');
  assert.equal(s.answer, 'answer');
  assert.equal(s.thinking, 'a\n\nb');
  assert.equal(s.unclosed, false);
});

test('a unified diff in ACTION is kept verbatim and listed as a diff block', () => {
  const raw = fixture('with-diff');
  const r = parseIdea(raw);
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.equal(r.codeBlocks.length, 1);
  assert.equal(r.codeBlocks[0].lang, 'diff');
  assert.equal(r.codeBlocks[0].isDiff, true);
  assert.match(r.codeBlocks[0].code, /^--- a\/train\.py\n\+\+\+ b\/train\.py\n@@ -41,7 \+41,10 @@/);
  // Verbatim: the ACTION text contains the fence exactly as written, indentation included.
  const fenced = raw.slice(raw.indexOf('```diff'), raw.lastIndexOf('```') + 3);
  assert.ok(r.action.includes(fenced));
});

test('diff detection from content when the fence has no diff tag', () => {
  const r = parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\nok\n\nACTION:\n```\n@@ -1,2 +1,2 @@\n-a\n+b\n```\n\nRATIONALE:\nr');
  assert.equal(r.codeBlocks[0].isDiff, true);
  const py = parseIdea(fixture('full-script'));
  assert.equal(py.codeBlocks[0].isDiff, false);
});

test('a full script in ACTION: one python block, exact code, ok', () => {
  const r = parseIdea(fixture('full-script'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.equal(r.codeBlocks.length, 1);
  assert.equal(r.codeBlocks[0].lang, 'python');
  assert.match(r.codeBlocks[0].code, /^import numpy as np\n/);
  assert.match(r.codeBlocks[0].code, /to_csv\("submission\.csv", index=False\)$/);
  assert.match(r.codeBlocks[0].code, /\n {4}out\["FamilySize"\]/);
});

test('two code blocks in ACTION (the paper\'s own example shape) are both listed', () => {
  const r = parseIdea(fixture('paper-two-blocks'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.equal(r.codeBlocks.length, 2);
  assert.match(r.codeBlocks[1].code, /hour_of_day/);
});

test('nested fences: header-like lines inside a longer fence are code, not fields', () => {
  const r = parseIdea(fixture('nested-fences'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.equal(r.codeBlocks.length, 1);
  assert.equal(r.codeBlocks[0].lang, 'markdown');
  assert.match(r.codeBlocks[0].code, /```yaml\nlr: 0\.001/);
  assert.match(r.rationale, /^Writing the config down/);
});

test('an unterminated fence does not swallow RATIONALE but fails ok', () => {
  const r = parseIdea(fixture('unterminated-fence'));
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors, ['1 code fence(s) never closed']);
  assert.match(r.rationale, /^A cosine schedule/);
  assert.match(r.codeBlocks[0].code, /scheduler\.step\(\)$/);
});

test('an answer wrapped in one fence is unwrapped as decoration', () => {
  const r = parseIdea(fixture('wrapped-in-fence'));
  assert.equal(r.ok, true, r.errors.join('; '));
  assert.match(r.action, /^Lower the decision threshold/);
});

const failures: [string, RegExp][] = [
  ['with-preamble', /^text before the first field: "Here is my suggestion/],
  ['with-alternatives', /^offers alternatives \("Alternatively, keep ResNet18/],
  ['with-options', /^offers alternatives \("Option 1:/],
  ['missing-rationale', /^missing RATIONALE$/],
  ['duplicated-action', /^ACTION appears 2 times/],
  ['empty-action', /^ACTION is empty$/],
  ['short-names', /^"ANALYSIS" is not a field name: write ANALYSIS_ON_CURRENT_PROGRESS$/],
  ['out-of-order', /^fields out of order \(ACTION, ANALYSIS_ON_CURRENT_PROGRESS, RATIONALE\)/],
  ['extra-section', /^extra section "EXPECTED_IMPROVEMENT"/],
  ['closing-remark', /^closing remark after the fields: "Let me know/],
];
for (const [name, re] of failures) {
  test(`format error is precise: ${name}`, () => {
    const r = parseIdea(fixture(name));
    assert.equal(r.ok, false);
    assert.equal(r.errors.length, 1, `expected exactly one error, got: ${r.errors.join(' | ')}`);
    assert.match(r.errors[0], re);
    assert.ok(ParsedIdeaSchema.safeParse(r).success);
  });
}

test('failed answers still display their fields (tolerant display)', () => {
  const short = parseIdea(fixture('short-names'));
  assert.match(short.analysis, /^Keep refining/);
  const dup = parseIdea(fixture('duplicated-action'));
  assert.equal(dup.action, 'Increase `num_leaves` from 31 to 127.');
  const pre = parseIdea(fixture('with-preamble'));
  assert.match(pre.action, /^Tune `max_depth`/);
});

test('template placeholders copied back count as errors', () => {
  const r = parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\n<say whether to keep refining>\n\nACTION:\nDo x.\n\nRATIONALE:\nBecause.');
  assert.equal(r.ok, false);
  assert.match(r.errors[0], /ANALYSIS_ON_CURRENT_PROGRESS still holds a template placeholder/);
});

test('an extra markdown section parallel to ## field headers is an error; sub-headings inside are not', () => {
  const extra = parseIdea('## ANALYSIS_ON_CURRENT_PROGRESS\na\n## ACTION\nb\n## RATIONALE\nc\n## Expected impact\n+1%');
  assert.equal(extra.ok, false);
  assert.match(extra.errors.join(), /extra section "Expected impact"/);
  const sub = parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\na\n\nACTION:\n### Step 1\nload\n### Step 2\nfit\n\nRATIONALE:\nc');
  assert.equal(sub.ok, true, sub.errors.join('; '));
  assert.match(sub.action, /### Step 2\nfit$/);
});

test('metric lines like "AUC: 0.81" inside a field are not extra sections', () => {
  const r = parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\nAUC: 0.81 now, RMSE: 0.2 before.\n\nACTION:\nAdd lags.\n\nRATIONALE:\nTime matters.');
  assert.equal(r.ok, true, r.errors.join('; '));
});

test('empty and whitespace input', () => {
  for (const s of ['', '   \n\n ', '<think>x</think>']) {
    const r = parseIdea(s);
    assert.equal(r.ok, false);
    assert.match(r.errors[0], /^empty answer/);
  }
  const prose = parseIdea('I think you should add more features.');
  assert.equal(prose.ok, false);
  assert.ok(prose.errors.includes('missing ACTION'));
});

test('formatIdea renders the canonical text and round-trips through parseIdea', () => {
  const idea = { analysis: 'Keep refining.', action: '```python\nx = 1\n```', rationale: 'Cheap and safe.' };
  const text = formatIdea(idea);
  assert.equal(text, 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep refining.\n\nACTION:\n```python\nx = 1\n```\n\nRATIONALE:\nCheap and safe.');
  const r = parseIdea(text);
  assert.equal(r.ok, true);
  assert.deepEqual({ analysis: r.analysis, action: r.action, rationale: r.rationale }, idea);
  // Every fixture that parses ok survives re-formatting with identical fields.
  for (const name of ['well-formed', 'bold-decorated', 'with-diff', 'full-script', 'paper-two-blocks', 'nested-fences']) {
    const a = parseIdea(fixture(name));
    const b = parseIdea(formatIdea(a));
    assert.equal(b.ok, true, name);
    assert.deepEqual([b.analysis, b.action, b.rationale], [a.analysis, a.action, a.rationale], name);
    assert.deepEqual(b.codeBlocks, a.codeBlocks, name);
  }
});

test('fuzz: random strings and mutated answers never throw and always match the schema', () => {
  const rand = rng(42);
  const alphabet = ['A', 'x', ' ', '\n', '`', '```', '~~~', '*', '#', ':', '<think>', '</think>', 'ACTION:', 'RATIONALE:', 'ANALYSIS_ON_CURRENT_PROGRESS:', '\r', '\t', '\u0000', 'é', '😀', '@@', '---', '+++', '1.', '-', '>', '\\'];
  const base = fixture('with-diff');
  for (let i = 0; i < 1500; i++) {
    let s: string;
    if (i % 3 === 0) {
      s = Array.from({ length: Math.floor(rand() * 200) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    } else if (i % 3 === 1) {
      // Cut, duplicate and splice pieces of a real answer.
      const a = Math.floor(rand() * base.length);
      const b = Math.floor(rand() * base.length);
      s = base.slice(0, Math.min(a, b)) + base.slice(Math.max(a, b)) + base.slice(a, a + Math.floor(rand() * 50));
    } else {
      s = String.fromCharCode(...Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 0xd7ff)));
    }
    const r = parseIdea(s);
    const check = ParsedIdeaSchema.safeParse(r);
    assert.ok(check.success, `input #${i} gave an invalid shape`);
    if (r.ok) assert.deepEqual(r.errors, []);
    else assert.ok(r.errors.length > 0, `input #${i} failed without saying why`);
  }
  // Non-string input from JS callers must not throw either.
  assert.equal(parseIdea(undefined as unknown as string).ok, false);
  assert.equal(parseIdea(12 as unknown as string).ok, false);
});

test('huge inputs parse in linear time', () => {
  const script = fixture('full-script');
  const bigCode = 'x = 1  # ' + 'y'.repeat(60) + '\n';
  const huge = `ANALYSIS_ON_CURRENT_PROGRESS:\nok\n\nACTION:\n\`\`\`python\n${bigCode.repeat(60_000)}\`\`\`\n\nRATIONALE:\nr`;
  let t = performance.now();
  const r = parseIdea(huge);
  const bigMs = performance.now() - t;
  assert.equal(r.ok, true);
  assert.equal(r.codeBlocks[0].code.length, bigCode.length * 60_000 - 1);
  // A single 3 MB line of spaces and of header-like noise (regex backtracking traps).
  for (const s of [' '.repeat(3_000_000), 'ACTION:' + ' '.repeat(1_000_000) + 'x', '**'.repeat(500_000), script.repeat(300)]) {
    t = performance.now();
    const out = parseIdea(s);
    assert.equal(typeof out.ok, 'boolean');
    assert.ok(performance.now() - t < 3000, `took ${performance.now() - t} ms`);
  }
  assert.ok(bigMs < 3000, `4 MB answer took ${bigMs} ms`);
});

test('many unterminated fences are handled without blow-up', () => {
  const s = 'ANALYSIS_ON_CURRENT_PROGRESS:\na\nACTION:\n' + '```py\ncode\n'.repeat(2000) + 'RATIONALE:\nr';
  const t = performance.now();
  const r = parseIdea(s);
  assert.equal(r.ok, false);
  assert.ok(performance.now() - t < 3000);
});

test('a closing remark on the last line, without a blank line before it, is still caught', () => {
  const r = parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\na\n\nACTION:\nb\n\nRATIONALE:\nBecause it helps.\nHope this helps!');
  assert.equal(r.ok, false);
  assert.match(r.errors[0], /^closing remark after the fields: "Hope this helps!"/);
  // A rationale that merely continues on a second line is fine.
  assert.equal(parseIdea('ANALYSIS_ON_CURRENT_PROGRESS:\na\n\nACTION:\nb\n\nRATIONALE:\nBecause it helps\nthe model generalise.').ok, true);
});

test('bold or heading commentary labels and "or you could…" alternatives are caught', () => {
  const base = 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep going.\n\nACTION:\nAdd lag features of sales at 7 and 14 days.\n\nRATIONALE:\nSales are seasonal.\n\n';
  const impact = parseIdea(`${base}**Expected impact:** +0.02 AUC`);
  assert.equal(impact.ok, false);
  assert.match(impact.errors.join(), /extra section "Expected impact"/);
  assert.match(parseIdea(`${base}### Notes\nRun it twice.`).errors.join(), /extra section "Notes"/);
  assert.match(parseIdea(base.replace('Sales are seasonal.', 'Sales are seasonal. You could also try a rolling mean.')).errors.join(), /offers alternatives/);
  assert.match(parseIdea(base.replace('14 days.', '14 days.\nOr you could use weekly aggregates.')).errors.join(), /offers alternatives/);
  // Prose that merely mentions notes or options stays fine, and so does a bold sub-label inside ACTION.
  assert.equal(parseIdea(base.replace('Keep going.', 'Note: the last run improved. The options tried so far all tuned trees.')).ok, true);
  assert.equal(parseIdea(base.replace('Add lag features', '**Code:**\nAdd lag features')).ok, true);
});
