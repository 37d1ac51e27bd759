/**
 * The noise-aware reward (#14) on the cluster path, against the REAL processes: a `redis-server` of the test's own,
 * `ideator serve --redis` and two `ideator worker --redis`. A request with baselineSeeds 3 on a C_t whose printed
 * score follows IDEATOR_SEED: both workers need p_t at once, one measures it over the 3 seeds for the whole cluster
 * (the other waits for it), every result carries the same baseline block, the server keeps the 3 scores, a gain
 * inside the noise earns 0, and a later group is not measured again. Skipped, saying why, without redis-server.
 */
import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { LEASE, REDIS_SKIP, startRedis } from './redisHarness';
import { api, ideaWithScript, removeDir, REPO, startServer, tempDir, until, type RunningServer } from './serverHarness';

const CODE = ['import os, random', "random.seed(int(os.environ.get('IDEATOR_SEED', '0')))", "print('acc:', round(0.5 + random.random() * 0.1, 4))"].join('\n');
const state = { taskDescription: 'noisy toy', score: { value: 0.5, direction: 'higher', metric: 'acc' }, code: CODE, codePath: 'solution.py' };

describe('noise-aware reward on a Redis cluster (serve --redis + 2 workers)', { skip: REDIS_SKIP }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('p_t over 3 seeds measured once for the cluster; every result carries it; a gain inside the noise earns 0', { timeout: 120_000 }, async () => {
    const redis = await startRedis(cleanups, tempDir('ideator-redis-'));
    const dataDir = tempDir();
    const server = await startServer({ dataDir, args: ['--redis', redis.url, ...LEASE] });
    const workers: RunningServer[] = [];
    cleanups.push(async () => {
      for (const w of workers) {
        await w.stop();
        removeDir(w.dataDir);
      }
      await server.stop();
      removeDir(dataDir);
    });
    for (let i = 0; i < 2; i++) workers.push(await startServer({ command: 'worker', args: ['--redis', redis.url, '--server', server.url, '--slots', '1', ...LEASE] }));
    await until('2 live workers', async () => (/^ideator_workers 2$/m.test((await api(server, 'GET', '/metrics')).text) ? true : undefined), 30_000);

    // Seeds 0, 1, 2 print 0.5844, 0.5134, 0.5956: p_t 0.5645, noise 0.0446, threshold 0.0515.
    const spy = "import os\nprint('env:', sorted(k + '=' + v for k, v in os.environ.items() if 'SEED' in k or 'IDEATOR' in k))\nprint('acc: 0.58')";
    const ideas = [ideaWithScript(spy), ideaWithScript("import os\nprint('acc: 0.7')\nprint('a')"), ideaWithScript("import os\nprint('acc: 0.58')\nprint('b')"), ideaWithScript("import os\nprint('acc: 0.61')\nprint('c')")];
    const r = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=110', { state, allowPrintedScore: true, ideas, baselineSeeds: 3 });
    assert.equal(r.status, 200, r.text);
    const results = r.json.results;
    const b = results[0].baseline!;
    assert.equal(b.k, 3);
    assert.deepEqual(b.scores, [0.5844, 0.5134, 0.5956]);
    assert.ok(Math.abs(b.mean! - 0.5645) < 1e-4 && Math.abs(b.std - 0.0446) < 1e-4 && Math.abs(b.threshold - 0.0515) < 1e-4, JSON.stringify(b));
    for (const x of results) assert.deepEqual(x.baseline, b, 'one measurement for the whole group');
    assert.deepEqual(
      results.map((x) => [x.scoreAfter, x.status, x.reward]),
      [
        [0.58, 'not_improved', 0],
        [0.7, 'improved', 1],
        [0.58, 'not_improved', 0],
        [0.61, 'not_improved', 0],
      ],
    );
    assert.match(results[0].outputTail, /env: \['IDEATOR_SEED=3', 'PYTHONHASHSEED=3'\]/, 'the idea runs with seed k on a worker too');
    const measuring = workers.map((w) => (w.stderr().match(/p_t \w+: measuring it for the cluster/g) ?? []).length);
    assert.equal(measuring.reduce((a, c) => a + c, 0), 1, `one measurement in the cluster: ${JSON.stringify(measuring)}`);
    const db = new Database(join(dataDir, 'store', 'ideator.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT score, scores FROM baselines').all() as { score: number; scores: string }[];
      assert.equal(rows.length, 1, 'the server keeps the worker\'s p_t');
      assert.deepEqual(JSON.parse(rows[0].scores), [0.5844, 0.5134, 0.5956]);
    } finally {
      db.close();
    }
    // A later group of the same state and k: p_t comes with the idea (or from the cluster's cache); nobody measures again.
    const again = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=60', { state, allowPrintedScore: true, ideas: [ideaWithScript("import os\nprint('acc: 0.9')\nprint('d')")], baselineSeeds: 3 });
    assert.deepEqual([again.json.results[0].baseline, again.json.results[0].status], [b, 'improved']);
    assert.equal(workers.reduce((a, w) => a + (w.stderr().match(/measuring it for the cluster/g) ?? []).length, 0), 1);
  });

  it("a task's own baseline_seeds: the server hands its stored p_t to later ideas (not measured again once the cluster's cache is gone)", { timeout: 180_000 }, async () => {
    const root = tempDir('ideator-noise-cluster-task-');
    const tasks = join(root, 'tasks');
    const TASK = 'digits-multiclass';
    cpSync(join(REPO, 'server', 'tasks', TASK), join(tasks, TASK), { recursive: true });
    const config = join(tasks, TASK, 'config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('ideator:\n', 'ideator:\n  baseline_seeds: 2\n'));
    const redis = await startRedis(cleanups, tempDir('ideator-redis-'));
    const dataDir = tempDir();
    const server = await startServer({ dataDir, args: ['--redis', redis.url, '--tasks-dir', tasks, '--task-data-dir', join(root, 'data'), ...LEASE] });
    const worker = await startServer({ command: 'worker', args: ['--redis', redis.url, '--server', server.url, '--slots', '2', ...LEASE] });
    cleanups.push(async () => {
      await worker.stop();
      removeDir(worker.dataDir);
      await server.stop();
      removeDir(dataDir);
      removeDir(root);
    });
    await until('a live worker', async () => (/^ideator_workers 1$/m.test((await api(server, 'GET', '/metrics')).text) ? true : undefined), 30_000);
    const code = [
      'import os',
      'import pandas as pd',
      'from sklearn.ensemble import RandomForestClassifier',
      'seed = int(os.environ.get("IDEATOR_SEED", "0"))',
      'train = pd.read_csv("data/train.csv")',
      'test = pd.read_csv("data/test.csv")',
      'px = [c for c in train.columns if c.startswith("px")]',
      'sub = train.sample(frac=0.3, random_state=seed)',
      'model = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=seed).fit(sub[px], sub["label"])',
      'pd.DataFrame({"id": test["id"], "label": model.predict(test[px])}).to_csv("submission.csv", index=False)',
      '',
    ].join('\n');
    const taskState = { taskId: TASK, taskDescription: 'digits', score: { value: 0.3, direction: 'higher' }, code, codePath: 'solution.py' };
    const measurements = () => (worker.stderr().match(/p_t \w+: measuring it for the cluster/g) ?? []).length;
    // The request names no k: the task's 2 applies on the worker.
    const first = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=150', { state: taskState, ideas: [ideaWithScript(`${code}# a\n`)] });
    assert.equal(first.status, 200, first.text);
    const b = first.json.results[0].baseline!;
    assert.equal(b.k, 2, JSON.stringify(first.json.results[0]));
    assert.equal(measurements(), 1);
    // The cluster's cached p_t is gone (its 6 h expiry, or a Redis flush): the server's stored p_t must reach the
    // next idea with its job, under the key the worker uses (the task's k), so nobody measures it again.
    const conn = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null });
    try {
      const keys = await conn.keys('ideator:baseline:*');
      assert.ok(keys.length >= 1, 'the cluster cached p_t');
      await conn.del(...keys);
    } finally {
      conn.disconnect();
    }
    const second = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=150', { state: taskState, ideas: [ideaWithScript(`${code}# b\n`)] });
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(second.json.results[0].baseline, b);
    assert.equal(measurements(), 1, 'p_t came from the server with the job');
  });
});
