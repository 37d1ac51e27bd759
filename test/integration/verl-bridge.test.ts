/**
 * The VeRL bridge (server/python/ideator_reward.py) run by the SYSTEM python (/usr/bin/python3: standard library
 * only) against a real `ideator serve`: every entry point (sync keyword call with VeRL's extra kwargs, async,
 * legacy batch), same keys every sample (guard and self_reported keys included, aligned across results), retries on
 * 5xx, never raising by default, raise mode, the noise-aware reward's baseline_* keys (IDEATOR_REWARD_BASELINE_SEEDS), printed scores only when opted in (400 no_grader otherwise, not retried),
 * and the time budget: a server that accepts connections and never answers (or a job that never finishes) costs
 * `timeout` seconds, not the poll time plus a margin per attempt.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO, serverForSuite } from './serverHarness';

const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe('VeRL reward bridge', () => {
  const server = serverForSuite({ args: ['--slots', '2'] });

  it('passes its unittest suite with the system python against the real server', { timeout: 180_000 }, () => {
    const r = spawnSync(SYSTEM_PYTHON, ['-I', join(REPO, 'server', 'python', 'test_ideator_reward.py')], {
      cwd: REPO,
      encoding: 'utf8',
      // -I (isolated) plus a clean env: no venv, no user site packages — standard library only.
      env: { PATH: '/usr/bin:/bin', IDEATOR_TEST_SERVER_URL: server.url },
      timeout: 180_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, out);
    assert.match(out, /Ran 19 tests/);
    assert.match(out, /\nOK\s*$/);
    assert.doesNotMatch(out, /skipped/);
  });
});
