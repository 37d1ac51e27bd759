/**
 * Identical implemented code is executed once: three ideas worded differently whose ACTION carries the same script
 * (a collapsed policy's favourite change) share one run on a one-slot server — the group takes about one run's
 * time, every result is the same, /metrics counts the two shared ones. A different script still runs on its own.
 */
import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { api, ideaWithScript, removeDir, REPO, serverForSuite, tempDir, toyState } from './serverHarness';

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

/**
 * Shared runs are keyed by what the task is made of, not its id: the same code after the task's grader was edited on
 * the server (here: it now scores 1 − AUC) runs again and is graded by the new grader, instead of taking the run made
 * against the old files.
 */
describe('a task edited mid-training is not answered from its old runs', () => {
  const root = tempDir('ideator-edited-task-');
  const tasks = join(root, 'tasks');
  cpSync(join(REPO, 'server', 'tasks', 'churn-binary'), join(tasks, 'churn-binary'), { recursive: true });
  const server = serverForSuite({ args: ['--slots', '1', '--tasks-dir', tasks, '--task-data-dir', join(root, 'data')] });
  after(() => removeDir(root));

  it('reruns the same code once the grader changed', { timeout: 240_000 }, async () => {
    const solutions = join(REPO, 'server', 'tasks', 'churn-binary', 'solutions');
    const state = { taskId: 'churn-binary', taskDescription: 'churn', score: { value: 0.5, direction: 'higher' }, code: readFileSync(join(solutions, '01_constant.py'), 'utf8') };
    const better = readFileSync(join(solutions, '03_logistic_onehot.py'), 'utf8');
    const first = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [ideaWithScript(better, 'One wording.'), ideaWithScript(better, 'Another wording.')] });
    assert.equal(first.status, 200, first.text);
    const [a, b] = first.json.results;
    assert.ok(typeof a.scoreAfter === 'number' && a.scoreAfter > 0.6, JSON.stringify(a));
    assert.equal(b.scoreAfter, a.scoreAfter);
    assert.match((await api(server, 'GET', '/metrics')).text, /^ideator_runs_shared_total 1$/m);
    // The task changes on the server: same id, another grader.
    const grade = join(tasks, 'churn-binary', 'grade.py');
    writeFileSync(grade, readFileSync(grade, 'utf8').replace('return float(roc_auc_score(', 'return 1.0 - float(roc_auc_score('));
    // The files are looked at again within 5 s.
    await new Promise((r) => setTimeout(r, 5500));
    const again = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [ideaWithScript(better, 'A third wording.')] });
    assert.equal(again.status, 200, again.text);
    const c = again.json.results[0];
    assert.ok(Math.abs((c.scoreAfter ?? 0) - (1 - a.scoreAfter)) < 1e-9, `graded by the edited grader: ${JSON.stringify(c)}`);
    assert.match((await api(server, 'GET', '/metrics')).text, /^ideator_runs_shared_total 1$/m, 'nothing shared across the edit');
  });
});
