/** RunShare: one execution per key, waiters share it, an aborted run is never shared, the cache stays bounded. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { CodeRun } from '../../server/src/rewards/runCode';
import { DEFAULT_LIMITS } from '../../server/src/exec/sandbox';
import { RunShare, RunShareView } from '../../server/src/rewards/runShare';
import type { ReadyTask } from '../../server/src/rewards/taskCatalog';

const result = (score: number, aborted = false) => ({ run: { aborted }, timedOut: false, ok: true, score, stages: [], timeoutSec: 60 }) as unknown as CodeRun;

describe('RunShare', () => {
  it('runs once for concurrent and later callers of the same key; other keys run their own', async () => {
    const share = new RunShare();
    let starts = 0;
    const start = (score: number) => async () => {
      starts++;
      await new Promise((r) => setTimeout(r, 30));
      return result(score);
    };
    const [a, b] = await Promise.all([share.run('k', start(1)), share.run('k', start(2))]);
    const c = await share.run('k', start(3));
    const d = await share.run('other', start(4));
    assert.deepEqual([a.score, b.score, c.score, d.score], [1, 1, 1, 4]);
    assert.equal(starts, 2);
    assert.equal(share.shared, 2);
  });

  it('does not share an aborted run: the next caller runs again', async () => {
    const share = new RunShare();
    const first = await share.run('k', async () => result(0, true));
    assert.equal(first.run.aborted, true);
    const again = await share.run('k', async () => result(7));
    assert.equal(again.score, 7);
    assert.equal(share.shared, 0);
  });

  it('a run that throws is forgotten; the key includes everything that changes the run or its score', async () => {
    const share = new RunShare();
    await assert.rejects(share.run('k', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal((await share.run('k', async () => result(5))).score, 5);
    const ready = (contentKey?: string) => ({ task: {}, dataDir: '/d', publicDir: '/p', ...(contentKey ? { contentKey } : {}) }) as unknown as ReadyTask;
    const env = { limits: DEFAULT_LIMITS, defaultTimeoutSec: undefined, maxTimeoutSec: 3600 };
    const base = { code: 'print(1)', codePath: 'a.py', task: 't', ready: ready('bundle:aaa'), timeoutSec: 60, metric: 'acc', direction: 'higher', env, slot: { cudaVisibleDevices: '' } };
    const keys = new Set([
      RunShare.key(base),
      RunShare.key({ ...base, code: 'print(2)' }),
      RunShare.key({ ...base, codePath: 'b.py' }),
      RunShare.key({ ...base, task: undefined, ready: undefined }),
      // The same task id with other files or data (edited on the server mid-training) is another run.
      RunShare.key({ ...base, ready: ready('bundle:bbb') }),
      RunShare.key({ ...base, timeoutSec: 61 }),
      RunShare.key({ ...base, metric: 'auc' }),
      RunShare.key({ ...base, direction: 'lower' }),
      RunShare.key({ ...base, env: { ...env, limits: { ...DEFAULT_LIMITS, memoryMb: 8192 } } }),
      RunShare.key({ ...base, env: { ...env, maxTimeoutSec: 60 } }),
      RunShare.key({ ...base, slot: { cudaVisibleDevices: '0' } }),
    ]);
    assert.equal(keys.size, 11);
    assert.ok(!keys.has(undefined));
    assert.equal(RunShare.key(base), RunShare.key({ ...base, ready: ready('bundle:aaa') }));
    // Which GPU does not matter, whether there is one does.
    assert.equal(RunShare.key({ ...base, slot: { cudaVisibleDevices: '0' } }), RunShare.key({ ...base, slot: { cudaVisibleDevices: '3' } }));
    // A task whose content cannot be told is never shared.
    assert.equal(RunShare.key({ ...base, ready: ready() }), undefined);
  });

  it('a per-idea view shares the same runs and says whether its idea took another run', async () => {
    const share = new RunShare();
    const a = new RunShareView(share);
    const b = new RunShareView(share);
    assert.equal((await a.run('k', async () => result(3))).score, 3);
    assert.equal((await b.run('k', async () => result(4))).score, 3);
    assert.deepEqual([a.used, b.used, share.shared], [false, true, 1]);
  });
});
