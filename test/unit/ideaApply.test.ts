import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { formatIdea, parseIdea } from '../../src/core/idea';
import { alreadyApplied, applyDiff, applyEdits, changeCounts, codeFromAnswer, directImplementation, fencedBlocks, isCompleteScript, largeDeletion, minimalEdits, proposeFromCodeBlocks } from '../../src/core/ideaApply';
import { prng } from '../../src/core/prng';

const TRAIN = readFileSync(join(__dirname, '../vscode/demo-workspace/train.py'), 'utf8');

/** A reward-service C_t: it writes a submission. */
const CURRENT = [
  'import pandas as pd',
  'train = pd.read_csv("data/train.csv")',
  '',
  'model = Model(c=1.0)',
  'model.fit(train)',
  '',
  'model.predict().to_csv("submission.csv")',
  '',
].join('\n');

function idea(action: string) {
  const parsed = parseIdea(formatIdea({ analysis: 'a', action, rationale: 'r' }));
  assert.equal(parsed.ok, true, parsed.errors.join('; '));
  return parsed;
}

// The editor's apply action (proposeFromCodeBlocks)

test('a code block redefining a function replaces it and adds its imports', () => {
  const code = [
    'from sklearn.pipeline import make_pipeline',
    'from sklearn.preprocessing import StandardScaler',
    '',
    '',
    'def build_model():',
    '    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))',
  ].join('\n');
  const p = proposeFromCodeBlocks(TRAIN, [{ lang: 'python', code, isDiff: false }]);
  assert.ok(p);
  assert.equal(p.via, 'replace-definitions');
  assert.match(p.summary, /build_model\(\), adds 2 imports/);
  assert.match(p.content, /from sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n/);
  assert.match(p.content, /def build_model\(\):\n {4}return make_pipeline\(StandardScaler\(\), LogisticRegression\(C=0.5, max_iter=1000\)\)\n\n\ndef main\(\):/);
  assert.doesNotMatch(p.content, /LogisticRegression\(max_iter=200\)/);
  // The rest of the file is untouched.
  assert.ok(p.content.includes(TRAIN.slice(TRAIN.indexOf('def main():'))));
});

test('a unified diff (even without file headers) is applied', () => {
  const patch = ['@@ -14,2 +14,2 @@', ' def build_model():', '-    return LogisticRegression(max_iter=200)', '+    return LogisticRegression(max_iter=2000, C=0.3)'].join('\n');
  const p = proposeFromCodeBlocks(TRAIN, [{ lang: 'diff', code: patch, isDiff: true }]);
  assert.ok(p);
  assert.equal(p.via, 'diff');
  assert.match(p.content, /LogisticRegression\(max_iter=2000, C=0.3\)/);
});

test('a diff that does not fit, and a snippet naming nothing in the file, yield no proposal', () => {
  const bad = ['@@ -1,1 +1,1 @@', '-import torch', '+import jax'].join('\n');
  assert.equal(proposeFromCodeBlocks(TRAIN, [{ lang: 'diff', code: bad, isDiff: true }]), undefined);
  assert.equal(proposeFromCodeBlocks(TRAIN, [{ lang: 'python', code: 'model.fit(X, y, sample_weight=w)', isDiff: false }]), undefined);
  assert.equal(proposeFromCodeBlocks(TRAIN, [{ lang: 'bash', code: 'pip install lightgbm', isDiff: false }]), undefined);
});

test('a block that repeats most of the file replaces the whole file', () => {
  const rewritten = TRAIN.replace('LogisticRegression(max_iter=200)', 'LogisticRegression(max_iter=500)');
  const p = proposeFromCodeBlocks(TRAIN, [{ lang: 'python', code: rewritten, isDiff: false }]);
  assert.ok(p);
  assert.equal(p.via, 'full-file');
  assert.equal(p.content, rewritten);
});

test('constants and methods keep the indentation of the file', () => {
  const file = 'N_ESTIMATORS = 100\n\nclass M:\n    def fit(self):\n        return 1\n\n    def score(self):\n        return 2\n';
  const p = proposeFromCodeBlocks(file, [{ lang: 'py', code: 'N_ESTIMATORS = 400\n\ndef fit(self):\n    return 3\n', isDiff: false }]);
  assert.ok(p);
  assert.equal(p.content, 'N_ESTIMATORS = 400\n\nclass M:\n    def fit(self):\n        return 3\n\n    def score(self):\n        return 2\n');
});

test('implementer answers: the longest fenced block, or bare code', () => {
  assert.deepEqual(codeFromAnswer('Here:\n```python\nx = 1\ny = 2\n```\nand ```\nz\n```', ''), { code: 'x = 1\ny = 2\n' });
  assert.deepEqual(codeFromAnswer('import os\nprint(1)', ''), { code: 'import os\nprint(1)\n' });
  assert.ok('error' in codeFromAnswer('Sorry, I cannot do that.', ''));
});

test('a snippet sharing a line with a small file replaces the definition, never the whole file', () => {
  const small = 'import os\n\ndef build_model():\n    return 1\n\nprint(build_model())\n';
  const p = proposeFromCodeBlocks(small, [{ lang: 'python', code: 'def build_model():\n    return 2\n', isDiff: false }]);
  assert.ok(p);
  assert.equal(p.via, 'replace-definitions');
  assert.equal(p.content, 'import os\n\ndef build_model():\n    return 2\n\nprint(build_model())\n');
  // Notebook cells never take a whole-file replacement.
  const cell = 'x = 1\ny = 2\n';
  assert.equal(proposeFromCodeBlocks(cell, [{ lang: 'python', code: 'x = 1\ny = 2\nz = 3\n', isDiff: false }], { allowFullFile: false }), undefined);
  assert.equal(proposeFromCodeBlocks(cell, [{ lang: 'python', code: 'x = 1\ny = 2\nz = 3\n', isDiff: false }])?.via, 'full-file');
});

test('imports and definitions alone are a patch, not a script, however long: the rest of the file stays', () => {
  const code = [
    'from sklearn.pipeline import make_pipeline',
    'from sklearn.preprocessing import StandardScaler',
    'from sklearn.metrics import roc_auc_score',
    '',
    'def build_model():',
    '    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))',
    '',
    'def main():',
    '    X_train, X_val, y_train, y_val = load_data()',
    '    model = build_model().fit(X_train, y_train)',
    '    proba = model.predict_proba(X_val)[:, 1]',
    '    print(f"val_auc={roc_auc_score(y_val, proba):.4f}")',
  ].join('\n');
  const block = { lang: 'python', code, isDiff: false };
  assert.equal(isCompleteScript(block, TRAIN), false);
  const p = proposeFromCodeBlocks(TRAIN, [block]);
  assert.equal(p?.via, 'replace-definitions');
  assert.match(p.content, /def load_data\(\):/);
  assert.match(p.content, /if __name__ == "__main__":\n {4}main\(\)\n$/);
  // The same block with an entry point is a program of its own.
  assert.equal(isCompleteScript({ ...block, code: `${code}\n\n\nmain()\n` }, TRAIN), true);
  assert.equal(proposeFromCodeBlocks(TRAIN, [{ ...block, code: `${code}\n\n\nmain()\n` }])?.via, 'full-file');
});

test("an idea's diffs apply in order, and a CRLF file takes an LF diff", () => {
  const first = ['@@ -14,2 +14,2 @@', ' def build_model():', '-    return LogisticRegression(max_iter=200)', '+    return LogisticRegression(max_iter=2000)'].join('\n');
  const second = ['@@ -14,2 +14,2 @@', ' def build_model():', '-    return LogisticRegression(max_iter=2000)', '+    return LogisticRegression(max_iter=2000, C=0.3)'].join('\n');
  const p = proposeFromCodeBlocks(TRAIN, [{ lang: 'diff', code: first, isDiff: true }, { lang: 'diff', code: second, isDiff: true }]);
  assert.equal(p?.via, 'diff');
  assert.equal(p.summary, "applies the idea's diff (2 hunks)");
  assert.match(p.content, /LogisticRegression\(max_iter=2000, C=0\.3\)/);
  assert.equal(applyDiff('a\r\nb\r\nc\r\n', '@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n'), 'a\r\nB\r\nc\r\n');
});

test('a short fragment is no complete script, even when it writes the submission', () => {
  const current = ['import pandas as pd', ...Array.from({ length: 18 }, (_, i) => `x${i} = ${i}`), 'pd.DataFrame().to_csv("submission.csv")', ''].join('\n');
  const fragment = { lang: 'python', code: 'import numpy as np\nsub = pd.DataFrame({"y": np.zeros(3)})\nsub.to_csv("submission.csv")', isDiff: false };
  assert.equal(isCompleteScript(fragment, current), false);
  assert.deepEqual(directImplementation({ codeBlocks: [fragment] }, current), { kind: 'none' });
});

// The reward service's implementer (directImplementation, codeFromAnswer)

describe('direct implementation', () => {
  it('applies a unified diff, tolerating stripped blank context lines and miscounted hunk headers', () => {
    const patch = [
      '--- a/solution.py',
      '+++ b/solution.py',
      '@@ -3,9 +3,9 @@', // wrong counts on purpose
      '',
      '-model = Model(c=1.0)',
      '+model = Model(c=0.1)',
      ' model.fit(train)',
    ].join('\n');
    const r = directImplementation(idea('Lower c:\n```diff\n' + patch + '\n```'), CURRENT);
    assert.equal(r.kind, 'diff');
    assert.ok(r.kind === 'diff' && r.code.includes('Model(c=0.1)') && !r.code.includes('Model(c=1.0)'));
  });

  it('reports a diff that does not apply instead of guessing', () => {
    const patch = '--- a/x\n+++ b/x\n@@ -1,1 +1,1 @@\n-something else entirely\n+new\n';
    const r = directImplementation(idea('```diff\n' + patch + '```'), CURRENT);
    assert.deepEqual(r, { kind: 'error', error: 'the diff in the idea does not apply to the current code' });
  });

  it('takes a complete script, and leaves a snippet to the model', () => {
    const script = 'import pandas as pd\ntrain = pd.read_csv("data/train.csv")\npd.DataFrame().to_csv("submission.csv")';
    const r = directImplementation(idea('Rewrite:\n```python\n' + script + '\n```'), CURRENT);
    assert.equal(r.kind, 'script');
    assert.equal(r.kind === 'script' && r.code, script + '\n');
    const snippet = directImplementation(idea('Use:\n```python\nmodel = Model(c=0.1)\n```'), CURRENT);
    assert.deepEqual(snippet, { kind: 'none' });
    assert.deepEqual(directImplementation(idea('Just tune c, no code.'), CURRENT), { kind: 'none' });
  });

  it('judges completeness against what C_t produces', () => {
    const block = { lang: 'python', code: 'import os\nprint(1)', isDiff: false };
    assert.equal(isCompleteScript(block, 'print(0)\n'), true);
    assert.equal(isCompleteScript(block, CURRENT), false, 'C_t writes a submission; the block does not');
    assert.equal(isCompleteScript({ ...block, lang: 'bash' }, 'print(0)'), false);
  });

  it('applyDiff accepts a headerless hunk', () => {
    assert.equal(applyDiff('a\nb\nc\n', '@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n'), 'a\nB\nc\n');
  });
});

describe('model answers', () => {
  it('reads the longest code block of the answer, or applies its diff', () => {
    assert.deepEqual(fencedBlocks('x\n```py\na\n```\n~~~\nb\nc\n~~~'), [
      { lang: 'py', code: 'a' },
      { lang: '', code: 'b\nc' },
    ]);
    assert.deepEqual(codeFromAnswer('Here:\n```python\nprint(1)\n```\nand\n```python\nprint(1)\nprint(2)\n```', 'x'), { code: 'print(1)\nprint(2)\n' });
    assert.deepEqual(codeFromAnswer('```diff\n@@ -1 +1 @@\n-a\n+b\n```', 'a\n'), { code: 'b\n' });
    assert.ok('error' in codeFromAnswer('no code at all', 'a'));
    // A truncated answer (no closing fence) still yields its code.
    assert.deepEqual(codeFromAnswer('```python\nprint(3)', ''), { code: 'print(3)\n' });
  });

  it('takes a bare diff, and refuses empty blocks rather than keeping C_t', () => {
    assert.deepEqual(codeFromAnswer('@@ -1 +1 @@\n-a\n+b\n', 'a\n'), { code: 'b\n' });
    assert.deepEqual(codeFromAnswer('```python\n\n```', 'a\n'), { error: 'the implementer answered with empty code blocks' });
  });

});

describe('before writing: already applied, large deletions, minimal edits', () => {
  const GOOD = idea('Scale the features:\n\n```python\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n\n\ndef build_model():\n    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))\n```');
  const applied = proposeFromCodeBlocks(TRAIN, GOOD.codeBlocks)!.content;

  it("an idea whose code is already in the file is recognised (and proposes nothing), one that is not is not", () => {
    assert.equal(alreadyApplied(TRAIN, GOOD.codeBlocks), false);
    assert.equal(proposeFromCodeBlocks(applied, GOOD.codeBlocks), undefined, 'the second apply proposes nothing');
    assert.equal(alreadyApplied(applied, GOOD.codeBlocks), true);
    // Blank lines, comments and indentation of the snippet do not matter; an edited line does.
    assert.equal(alreadyApplied(applied, idea('```python\n# the model\ndef build_model():\n  return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))\n```').codeBlocks), true);
    assert.equal(alreadyApplied(applied, idea('```python\ndef build_model():\n    return make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=1000))\n```').codeBlocks), false);
    // "..." elides the rest of a body: each stretch must be there.
    assert.equal(alreadyApplied(TRAIN, idea('```python\ndef main():\n    X_train, X_val, y_train, y_val = load_data()\n    ...\n    print(f"val_auc={roc_auc_score(y_val, proba):.4f}")\n```').codeBlocks), true);
    // Too little to tell, or no code at all.
    assert.equal(alreadyApplied(TRAIN, idea('```python\nmain()\n```').codeBlocks), false);
    assert.equal(alreadyApplied(TRAIN, idea('Use more trees.').codeBlocks), false);
  });

  it('a diff already applied is recognised; one that still applies, or fits nowhere, is not', () => {
    const diff = '```diff\n@@ -14,2 +14,2 @@\n def build_model():\n-    return LogisticRegression(max_iter=200)\n+    return LogisticRegression(max_iter=2000)\n```';
    const blocks = idea(`Let it converge:\n\n${diff}`).codeBlocks;
    assert.equal(alreadyApplied(TRAIN, blocks), false);
    const after = applyDiff(TRAIN, blocks[0].code)!;
    assert.ok(after.includes('max_iter=2000'));
    assert.equal(alreadyApplied(after, blocks), true);
    assert.equal(alreadyApplied('x = 1\n', blocks), false);
  });

  it('a snippet taken for the whole file is a large deletion; ordinary edits are not', () => {
    const snippet = 'def build_model():\n    return make_pipeline(StandardScaler(), LogisticRegression())\n';
    const loss = largeDeletion(TRAIN, snippet);
    assert.ok(loss, 'replacing the script with a snippet must be flagged');
    assert.equal(loss.total, 18);
    assert.ok(loss.deleted >= 16, JSON.stringify(loss));
    assert.equal(loss.after, 2);
    assert.equal(largeDeletion(TRAIN, applied), undefined);
    assert.equal(largeDeletion('a = 1\nb = 2\n', 'c = 3\n'), undefined, 'tiny files are rewritten freely');
    assert.deepEqual(changeCounts(TRAIN, applied), { added: 3, removed: 1 });
  });

  it('minimal edits: one per changed stretch, applied from the end they give the new text', () => {
    const edits = minimalEdits(TRAIN, applied);
    assert.equal(edits.length, 2, JSON.stringify(edits));
    assert.equal(applyEdits(TRAIN, edits), applied);
    assert.ok(edits[0].end <= edits[1].start);
    assert.deepEqual(minimalEdits(TRAIN, TRAIN), []);
    // Random line edits (and a missing final newline) always round-trip.
    const rand = prng(7);
    const lines = TRAIN.split('\n');
    for (let n = 0; n < 200; n++) {
      const next = lines.flatMap((l) => {
        const r = rand();
        return r < 0.08 ? [] : r < 0.16 ? [l, `x${n} = ${Math.floor(rand() * 100)}`] : r < 0.22 ? [`${l}  # changed`] : [l];
      });
      const after = rand() < 0.3 ? next.join('\n').replace(/\n+$/, '') : next.join('\n');
      assert.equal(applyEdits(TRAIN, minimalEdits(TRAIN, after)), after);
    }
  });
});
