import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractImplementerCode, proposeFromCodeBlocks } from '../../src/core/ideaEdit';

const TRAIN = readFileSync(join(__dirname, '../vscode/demo-workspace/train.py'), 'utf8');

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
  assert.equal(extractImplementerCode('Here:\n```python\nx = 1\ny = 2\n```\nand ```\nz\n```'), 'x = 1\ny = 2\n');
  assert.equal(extractImplementerCode('import os\nprint(1)'), 'import os\nprint(1)\n');
  assert.equal(extractImplementerCode('Sorry, I cannot do that.'), undefined);
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
