/**
 * `ideator demo` is the README's main command: the bundled state and 8 ideas through the real pipeline. It must
 * finish well under 3 minutes and give every kind of outcome — improved, not improved, failed, format error —
 * with the paper's rewards and VeRL's GRPO advantages.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { grpoAdvantages } from '../../src/core/rewards';
import { REPO } from './serverHarness';

describe('ideator demo', () => {
  it('runs 8 bundled ideas end to end and prints rewards and GRPO advantages', { timeout: 180_000 }, () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'demo', '--json'], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { job: Job; ideas: string[]; advantages: number[]; seconds: number };
    assert.equal(out.ideas.length, 8);
    assert.equal(out.job.status, 'done');
    const byName = Object.fromEntries(out.job.results.map((x) => [out.ideas[x.index], x]));
    for (const good of ['01-one-hot-categoricals', '02-churn-shaped-features', '03-gradient-boosting']) {
      assert.equal(byName[good].status, 'improved', `${good}: ${JSON.stringify(byName[good])}`);
      assert.equal(byName[good].reward, 1);
    }
    for (const useless of ['04-stronger-regularisation', '05-fewer-features', '06-inspect-the-data']) {
      assert.equal(byName[useless].status, 'not_improved', `${useless}: ${JSON.stringify(byName[useless])}`);
      assert.equal(byName[useless].reward, 0);
    }
    assert.equal(byName['07-plan-type-feature'].status, 'exec_failed');
    assert.match(byName['07-plan-type-feature'].error ?? '', /plan_type/);
    assert.equal(byName['08-unformatted'].status, 'format_error');
    assert.equal(byName['08-unformatted'].reward, -1);
    // The diff-carrying idea was applied as a diff.
    assert.match(byName['04-stronger-regularisation'].codeDiff, /^\+.*C=0\.002/m);
    assert.deepEqual(out.advantages, grpoAdvantages(out.job.results.map((x) => x.reward)));
    assert.ok(Date.now() - t0 < 180_000);
    assert.match(r.stderr, /8\/8/);
  });
});
