/**
 * Identical implemented code is executed once: three ideas worded differently whose ACTION carries the same script
 * (a collapsed policy's favourite change) share one run on a one-slot server — the group takes about one run's
 * time, every result is the same, /metrics counts the two shared ones. A different script still runs on its own.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { api, ideaWithScript, serverForSuite, toyState } from './serverHarness';

describe('identical code runs once', () => {
  const server = serverForSuite({ args: ['--slots', '1'] });
  const script = 'import time\ntime.sleep(2.5)\nprint("acc: 0.71")';

  it('shares one run between ideas whose implementation is the same code', { timeout: 120_000 }, async () => {
    const ideas = ['Use a bigger model.', 'Try a wider model.', 'Scale the model up.'].map((analysis) => ideaWithScript(script, analysis));
    const t0 = Date.now();
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas: [...ideas, ideaWithScript(script.replace('0.71', '0.72'))] });
    const took = Date.now() - t0;
    assert.equal(r.status, 200, r.text);
    const [a, b, c, other] = r.json.results;
    for (const x of [a, b, c]) {
      assert.equal(x.status, 'improved', JSON.stringify(x));
      assert.equal(x.scoreAfter, 0.71);
    }
    assert.equal(other.scoreAfter, 0.72);
    // Four ideas, two distinct scripts of 2.5 s on one slot: about two runs, not four.
    assert.ok(took < 4 * 2500, `took ${took} ms`);
    const metrics = (await api(server, 'GET', '/metrics')).text;
    assert.match(metrics, /^ideator_runs_shared_total 2$/m);
  });
});
