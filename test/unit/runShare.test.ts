/** RunShare: one execution per key, waiters share it, an aborted run is never shared, the cache stays bounded. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { CodeRun } from '../../server/src/rewards/runCode';
import { RunShare } from '../../server/src/rewards/runShare';

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
    const base = { code: 'print(1)', codePath: 'a.py', task: 't', timeoutSec: 60, metric: 'acc', direction: 'higher' };
    const keys = new Set([
      RunShare.key(base),
      RunShare.key({ ...base, code: 'print(2)' }),
      RunShare.key({ ...base, codePath: 'b.py' }),
      RunShare.key({ ...base, task: undefined }),
      RunShare.key({ ...base, timeoutSec: 61 }),
      RunShare.key({ ...base, metric: 'auc' }),
      RunShare.key({ ...base, direction: 'lower' }),
    ]);
    assert.equal(keys.size, 7);
    assert.equal(RunShare.key(base), RunShare.key({ ...base }));
  });
});
