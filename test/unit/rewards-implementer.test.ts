/**
 * The reward pipeline's implementer: code an idea carries (a complete script or a unified diff) is applied
 * directly; snippets are left to the model; the model's answer is turned into C_{t+1}.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatIdea, parseIdea } from '../../src/core/idea';
import type { Completion, IdeatorState } from '../../src/core/protocol';
import type { Provider } from '../../src/core/providers/types';
import { applyDiff, directImplementation, isCompleteScript } from '../../server/src/implementer/direct';
import { codeDiff, implementIdea } from '../../server/src/implementer/index';
import { codeFromAnswer, fencedBlocks } from '../../server/src/implementer/llm';
import { safeCodePath } from '../../server/src/rewards/evaluate';

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

const state: IdeatorState = {
  taskDescription: 't',
  trajectory: [],
  score: { value: 0.5, direction: 'higher' },
  code: CURRENT,
  codePath: 'solution.py',
};

function idea(action: string) {
  const parsed = parseIdea(formatIdea({ analysis: 'a', action, rationale: 'r' }));
  assert.equal(parsed.ok, true, parsed.errors.join('; '));
  return parsed;
}

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

describe('model implementation', () => {
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

  it('without a model, an idea without code is an implementation failure that says why', async () => {
    const r = await implementIdea(state, idea('Lower c to 0.1.'));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /no implementer model is configured/);
  });

  it('asks the configured model and uses its script', async () => {
    const seen: string[] = [];
    const provider: Provider = {
      kind: 'openai',
      label: 'fake',
      async complete(messages): Promise<Completion> {
        seen.push(messages.map((m) => m.content).join('\n'));
        return { text: 'Sure:\n```python\nimport pandas as pd\nprint("new")\n```', model: 'fake' };
      },
    };
    const r = await implementIdea(state, idea('Lower c to 0.1.'), { provider });
    assert.deepEqual(r, { ok: true, code: 'import pandas as pd\nprint("new")\n', via: 'model' });
    assert.equal(seen.length, 1);
    assert.match(seen[0], /Lower c to 0\.1/);
    assert.match(seen[0], /Model\(c=1\.0\)/, 'the prompt carries the current code');
  });

  it('a failing model becomes an implementation failure, not a crash', async () => {
    const provider: Provider = {
      kind: 'openai',
      label: 'down',
      complete: async () => {
        throw new Error('connection refused');
      },
    };
    const r = await implementIdea(state, idea('Lower c.'), { provider });
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /connection refused/);
  });
});

describe('helpers', () => {
  it('codeDiff is a unified diff, empty when unchanged', () => {
    assert.equal(codeDiff('s.py', 'a\n', 'a\n'), '');
    assert.match(codeDiff('s.py', 'a\n', 'b\n'), /^-a$[\s\S]*^\+b$/m);
  });
  it('safeCodePath keeps the code inside the workdir', () => {
    assert.equal(safeCodePath('train.py'), 'train.py');
    assert.equal(safeCodePath('src/train.py'), 'train.py');
    assert.equal(safeCodePath('../../etc/passwd'), 'passwd');
    assert.equal(safeCodePath('/abs/x.py'), 'x.py');
    assert.equal(safeCodePath('..'), 'solution.py');
    assert.equal(safeCodePath(''), 'solution.py');
  });
});
