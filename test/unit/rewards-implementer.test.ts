/**
 * The reward pipeline's implementer: code an idea carries is applied directly, else the model is asked. What counts
 * as carried code and how an answer becomes C_{t+1} is core's, tested in ideaApply.test.ts.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatIdea, parseIdea } from '../../src/core/idea';
import type { Completion, IdeatorState } from '../../src/core/protocol';
import type { Provider } from '../../src/core/providers/types';
import { codeDiff, implementIdea } from '../../server/src/implementer/index';
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

describe('model implementation', () => {
  it("applies the idea's own diff without asking the model, and reports one that does not apply", async () => {
    const provider: Provider = {
      kind: 'openai',
      label: 'must not be called',
      complete: async () => {
        throw new Error('called');
      },
    };
    const diff = idea('Lower c:\n```diff\n@@ -4 +4 @@\n-model = Model(c=1.0)\n+model = Model(c=0.1)\n```');
    assert.deepEqual(await implementIdea(state, diff, { provider }), { ok: true, code: CURRENT.replace('c=1.0', 'c=0.1'), via: 'diff' });
    const bad = idea('```diff\n@@ -1 +1 @@\n-nothing like it\n+new\n```');
    assert.deepEqual(await implementIdea(state, bad, { provider }), { ok: false, error: 'the diff in the idea does not apply to the current code', via: 'diff' });
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
