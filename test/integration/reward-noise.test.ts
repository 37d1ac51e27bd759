/**
 * Noise-aware reward (#14) through a real `ideator serve`: a C_t whose printed score depends on IDEATOR_SEED is
 * measured over k = 3 seeds once for the group (three distinct scores, noise > 0, stored once), a gain inside the
 * noise earns 0 while a large one earns +1, and the idea's code sees only its own seed (k), nothing of p_t's runs.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../cliHarness';
import { api, ideaWithScript, removeDir, REPO, serverForSuite, tempDir } from './serverHarness';

const CODE = [
  'import os, random',
  "random.seed(int(os.environ.get('IDEATOR_SEED', '0')))",
  "print('acc:', round(0.5 + random.random() * 0.1, 4))",
].join('\n');

const state = { taskDescription: 'noisy toy', score: { value: 0.5, direction: 'higher', metric: 'acc' }, code: CODE, codePath: 'solution.py' };

describe('noise-aware reward (baselineSeeds)', () => {
  const server = serverForSuite({ args: ['--slots', '2'] });

  it('measures p_t over k seeds once per group and rewards only gains beyond the noise', { timeout: 120_000 }, async () => {
    const spy = ideaWithScript(
      ["import os", "print('env:', sorted(k + '=' + v for k, v in os.environ.items() if 'IDEATOR' in k or 'SEED' in k))", "print('acc: 0.001')"].join('\n'),
    );
    const ideas = [ideaWithScript("import os\nprint('acc: 0.58')\nprint('x')"), ideaWithScript("import os\nprint('acc: 0.9')\nprint('x')"), spy];
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state, allowPrintedScore: true, ideas, baselineSeeds: 3 });
    assert.equal(r.status, 200, r.text);
    const [small, large, seen] = r.json.results;
    const b = small.baseline!;
    assert.equal(b.k, 3);
    assert.equal(new Set(b.scores).size, 3, `three seeds, three scores: ${JSON.stringify(b.scores)}`);
    assert.ok(b.std > 0 && b.threshold > 0, JSON.stringify(b));
    assert.deepEqual(large.baseline, b, 'one measurement shared by the group');
    assert.equal(small.scoreBefore, b.mean);
    assert.ok(small.scoreAfter! > b.mean!, 'a gain …');
    assert.ok(small.scoreAfter! - b.mean! <= b.threshold, '… inside the noise');
    assert.equal(small.status, 'not_improved');
    assert.equal(small.reward, 0);
    assert.equal(large.status, 'improved');
    assert.equal(large.reward, 1);
    // The idea's run sees its own seed (k) and nothing of p_t's runs.
    assert.match(seen.outputTail, /env: \['IDEATOR_SEED=3', 'PYTHONHASHSEED=3'\]/);

    // Another group of the same state and k: p_t is not measured again.
    const again = await api(server, 'POST', '/v1/rewards?wait=1', { state, allowPrintedScore: true, ideas: [ideaWithScript("import os\nprint('acc: 0.7')\nprint('y')")], baselineSeeds: 3 });
    assert.deepEqual(again.json.results[0].baseline, b);
    const py = spawnSync(
      join(REPO, '.venv', 'bin', 'python'),
      ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from baselines where scores is not null").fetchone()[0])', join(server.dataDir, 'store', 'ideator.sqlite')],
      { encoding: 'utf8' },
    );
    assert.equal(py.stdout.trim(), '1');
  });
});

describe('ideator reward --baseline-seeds K', () => {
  const server = serverForSuite({ args: ['--slots', '2'] });
  const dir = tempDir('ideator-reward-noise-cli-');
  after(() => removeDir(dir));

  it('prints p_t ± its noise over K seeds and the bar an idea must clear, the same line as ideator demo', { timeout: 120_000 }, async () => {
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    writeFileSync(join(dir, 'ideas.json'), JSON.stringify([ideaWithScript("import os\nprint('acc: 0.58')\nprint('cli')"), ideaWithScript("import os\nprint('acc: 0.9')\nprint('cli')")]));
    const r = await runCli(['reward', '--server', server.url, '--state', join(dir, 'state.json'), '--ideas-json', join(dir, 'ideas.json'), '--allow-printed-score', '--baseline-seeds', '3']);
    assert.equal(r.code, 0, r.stderr);
    // random.seed(0 / 1 / 2) → 0.5844, 0.5134, 0.5956: mean 0.5645, std 0.0446, threshold 0.0515.
    assert.match(r.stdout, /^p_t 0\.5645 ± 0\.0446 over 3 seeds \(improvement needs > 0\.0515\)$/m, r.stdout);
    assert.match(r.stdout, /^1 +idea 1 +not_improved +0\.58000\* +\+0 /m);
    assert.match(r.stdout, /^2 +idea 2 +improved +0\.90000\* +\+1 /m);
  });
});
