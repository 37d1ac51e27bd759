/**
 * The reward server as users run it: a real `ideator serve` process on 127.0.0.1, real SQLite, real sandboxed
 * python runs. Happy path (toy ideas scored from printed metrics — opted in with allowPrintedScore — and the bundled
 * churn-binary task graded by its grade.py), printed scores refused without the opt-in (400 no_grader), the
 * reward-hacking guard's flags in results and /metrics, malformed / oversized / unauthenticated requests,
 * idempotent resubmission, health, metrics, OpenAPI.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { api, ideaWithScript, printsAcc, REPO, serverForSuite, toyState } from './serverHarness';

const CHURN = join(REPO, 'server', 'tasks', 'churn-binary');

/** The value of one sample line of the Prometheus text (`name` includes its labels). */
function gauge(res: { text: string }, name: string): number {
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe('reward server (open, loopback)', () => {
  const server = serverForSuite({ args: ['--slots', '2'] });

  it('scores a group of ideas: improved +1, not improved 0, crash 0, format error −1', async () => {
    const ideas = [printsAcc(0.9), printsAcc(0.3), ideaWithScript('import sys\nraise RuntimeError("boom")'), 'just try harder'];
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas });
    assert.equal(r.status, 200, r.text);
    const job = r.json as Job;
    assert.equal(job.status, 'done');
    assert.deepEqual(job.progress, { done: 4, total: 4 });
    assert.deepEqual(
      job.results.map((x) => [x.index, x.status, x.reward]),
      [
        [0, 'improved', 1],
        [1, 'not_improved', 0],
        [2, 'exec_failed', 0],
        [3, 'format_error', -1],
      ],
    );
    assert.equal(job.results[0].scoreBefore, 0.5);
    assert.equal(job.results[0].scoreAfter, 0.9);
    // Collapse monitor figures of the group (core/collapse.ts), on the done job.
    assert.equal(job.diversity?.size, 4);
    assert.equal(job.diversity?.distinct, 4);
    assert.equal(job.diversity?.zeroVariance, false);
    assert.match(job.results[0].codeDiff, /^-print\("acc: 0.5"\)$/m);
    assert.match(job.results[0].codeDiff, /^\+print\("acc: 0.9"\)$/m);
    assert.match(job.results[2].error ?? '', /RuntimeError: boom/);
    assert.match(job.results[2].outputTail, /Traceback/);
    assert.ok(job.results[3].formatErrors.length > 0);
    // GET gives the same record.
    const again = await api(server, 'GET', `/v1/jobs/${job.id}`);
    assert.equal(again.status, 200);
    assert.deepEqual(again.json.results, job.results);
  });

  it('a run whose metric ends in NaN diverged: no score, not an improvement, and the reason says so', async () => {
    const ideas = [ideaWithScript('import sys\nprint("acc: 0.9")\nprint("acc: nan")'), printsAcc(0.9)];
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas });
    assert.equal(r.status, 200, r.text);
    const [diverged, fine] = r.json.results;
    assert.equal(diverged.status, 'exec_failed', JSON.stringify(diverged));
    assert.equal(diverged.reward, 0);
    assert.match(diverged.error ?? '', /diverged \(NaN\/inf printed after 0\.9\)/);
    assert.equal(fine.status, 'improved');
  });

  it('settles format errors on arrival, without executing or queueing them', async () => {
    const r = await api(server, 'POST', '/v1/rewards', { state: toyState(0.5), allowPrintedScore: true, ideas: ['no fields at all', 'ACTION: only one'] });
    assert.equal(r.status, 202);
    assert.equal(r.json.status, 'done', 'done in the accept response itself');
    assert.deepEqual(
      r.json.results.map((x) => [x.status, x.reward, x.durationMs]),
      [
        ['format_error', -1, 0],
        ['format_error', -1, 0],
      ],
    );
  });

  it('honours the scheme: partial credit and sigmoid', async () => {
    const ideas = [printsAcc(0.55), ideaWithScript('import sys\nprint("starting")\nraise SystemExit(1)')];
    const partial = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas, scheme: 'partial' });
    assert.equal(partial.json.results[0].reward, 1);
    const failed = partial.json.results[1].reward;
    assert.ok(failed > -0.5 && failed < 0, `partial credit for a run that started: ${failed}`);
    const sig = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas: [printsAcc(0.55)], scheme: 'sigmoid' });
    assert.ok(Math.abs(sig.json.results[0].reward - 1 / (1 + Math.exp(-1))) < 1e-9, String(sig.json.results[0].reward));
  });

  it('grades a real MLE-bench-format task with its grade.py and hides the private answers', async () => {
    const baseline = readFileSync(join(CHURN, 'solutions', '01_constant.py'), 'utf8');
    const better = readFileSync(join(CHURN, 'solutions', '04_logistic_features.py'), 'utf8');
    const leaderboard = readFileSync(join(CHURN, 'leaderboard.csv'), 'utf8');
    const expected = Number(/04_logistic_features,([\d.]+)/.exec(leaderboard)![1]);
    const cheat = [
      'import pandas as pd',
      `answers = pd.read_csv(${JSON.stringify(join(CHURN, 'prepared', 'private', 'test.csv'))})`,
      'answers.to_csv("submission.csv", index=False)',
    ].join('\n');
    const state = { taskId: 'churn-binary', taskDescription: 'churn', score: { value: 0.5, direction: 'higher' }, code: baseline };
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [ideaWithScript(better), ideaWithScript(cheat)] });
    assert.equal(r.status, 200, r.text);
    const [good, hack] = r.json.results;
    assert.equal(good.status, 'improved', JSON.stringify(good));
    assert.equal(good.reward, 1);
    assert.ok(Math.abs((good.scoreAfter ?? 0) - expected) < 1e-4, `grader score ${good.scoreAfter} vs leaderboard ${expected}`);
    assert.equal(hack.status, 'exec_failed', JSON.stringify(hack));
    assert.match(hack.error ?? '', /No such file|not found|Permission|Read-only/i);
    // The guard saw it too: the private answers, read from an absolute path (one under /tmp, as in a CI clone, is
    // scratch space to the guard: then only the answers' name flags it).
    assert.deepEqual(hack.guardFlags, CHURN.startsWith('/tmp/') ? ['touches_evaluation'] : ['touches_evaluation', 'reads_outside_data']);
    assert.deepEqual(good.guardFlags, []);
  });

  it('measures p_t by running C_t through the same sandbox and grader (once per code), not the state\'s own number', async () => {
    const baseline = readFileSync(join(CHURN, 'solutions', '01_constant.py'), 'utf8');
    const better = readFileSync(join(CHURN, 'solutions', '03_logistic_onehot.py'), 'utf8');
    // The state claims 0.95 (say, an optimistic validation metric); the grader gives C_t 0.5.
    const state = { taskId: 'churn-binary', taskDescription: 'churn', score: { value: 0.95, direction: 'higher' }, code: baseline };
    const same = `${baseline}\nprint("nothing else changed")\n`;
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [ideaWithScript(better), ideaWithScript(same)] });
    assert.equal(r.status, 200, r.text);
    const [good, tie] = r.json.results;
    assert.equal(good.scoreBefore, 0.5, 'p_t is the grader on C_t');
    assert.equal(good.status, 'improved');
    assert.equal(tie.scoreBefore, 0.5);
    assert.equal(tie.scoreAfter, 0.5);
    assert.equal(tie.status, 'not_improved');
    const py = spawnSync(
      join(REPO, '.venv', 'bin', 'python'),
      ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from baselines where score = 0.5").fetchone()[0])', join(server.dataDir, 'store', 'ideator.sqlite')],
      { encoding: 'utf8' },
    );
    assert.equal(py.stdout.trim(), '1', 'one baseline run shared by the group');
  });

  it('answers malformed requests with JSON errors naming the problem', async () => {
    const badJson = await api(server, 'POST', '/v1/rewards', '{"state": ');
    assert.equal(badJson.status, 400);
    assert.equal((badJson.json as unknown as { error: { code: string } }).error.code, 'invalid_json');

    const schema = await api(server, 'POST', '/v1/rewards', { state: toyState(), ideas: [] });
    assert.equal(schema.status, 400);
    const e = (schema.json as unknown as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'invalid_request');
    assert.match(e.message, /body\/ideas/);

    const scheme = await api(server, 'POST', '/v1/rewards', { state: toyState(), ideas: ['x'], scheme: 'nope' });
    assert.equal(scheme.status, 400);
    assert.match(scheme.text, /scheme/);

    const task = await api(server, 'POST', '/v1/rewards', { state: toyState(), ideas: ['x'], task: '../../etc' });
    assert.equal(task.status, 400);
    assert.match(task.text, /unknown_task/);

    const missing = await api(server, 'GET', '/v1/jobs/job_nope');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /"code":"not_found"/);

    const route = await api(server, 'GET', '/v2/nothing');
    assert.equal(route.status, 404);
  });

  it('never runs a resubmitted request twice (content key, client key, header key, concurrent retries)', async () => {
    const body = { state: toyState(0.41), allowPrintedScore: true, ideas: [printsAcc(0.42), printsAcc(0.43)] };
    const first = await api(server, 'POST', '/v1/rewards?wait=1', body);
    const second = await api(server, 'POST', '/v1/rewards?wait=1', body);
    assert.equal(second.json.id, first.json.id);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(second.json.results, first.json.results);

    // Ten concurrent retries of one new request → one job.
    const racing = { state: toyState(0.44), allowPrintedScore: true, ideas: [printsAcc(0.45)], idempotencyKey: 'race-1' };
    const ids = new Set((await Promise.all(Array.from({ length: 10 }, () => api(server, 'POST', '/v1/rewards', racing)))).map((r) => r.json.id));
    assert.equal(ids.size, 1);

    // A client key reused for different content is a conflict, not a silent replay.
    const conflict = await api(server, 'POST', '/v1/rewards', { ...racing, ideas: [printsAcc(0.46)] });
    assert.equal(conflict.status, 409);
    assert.match(conflict.text, /idempotency_conflict/);

    // The Idempotency-Key header works like the body field.
    const h1 = await api(server, 'POST', '/v1/rewards', { state: toyState(0.47), allowPrintedScore: true, ideas: [printsAcc(0.48)] }, { 'idempotency-key': 'hdr-1' });
    const h2 = await api(server, 'POST', '/v1/rewards', { state: toyState(0.47), allowPrintedScore: true, ideas: [printsAcc(0.48)] }, { 'idempotency-key': 'hdr-1' });
    assert.equal(h1.json.id, h2.json.id);

    // Every idea row ran at most once (attempts ≤ 1), whatever the number of submissions.
    await api(server, 'GET', `/v1/jobs/${h1.json.id}?wait=1`);
    await api(server, 'GET', `/v1/jobs/${[...ids][0]}?wait=1`);
    const py = spawnSync(
      join(REPO, '.venv', 'bin', 'python'),
      [
        '-c',
        `import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute("select count(*), max(attempts), min(attempts), sum(attempts > 0 and json_extract(result, '$.status') = 'format_error') from ideas where status = 'done'").fetchone()))`,
        join(server.dataDir, 'store', 'ideator.sqlite'),
      ],
      { encoding: 'utf8' },
    );
    const [, maxAttempts, minAttempts, formatErrorsRun] = JSON.parse(py.stdout) as number[];
    assert.equal(maxAttempts, 1, py.stderr);
    assert.equal(minAttempts, 0, 'format errors are settled at submission, never executed');
    assert.equal(formatErrorsRun, 0);
  });

  it('refuses a state no task grades unless printed scores are allowed (400 no_grader): a forged print cannot earn +1', async () => {
    const jobsBefore = gauge(await api(server, 'GET', '/metrics'), 'ideator_jobs');
    const forged = [ideaWithScript("import sys\nprint('score: 999')")];
    const state = { ...toyState(0.5), score: { value: 0.5, direction: 'higher', metric: 'score' }, code: 'import sys\nprint("score: 0.5")\n' };
    for (const body of [{ state, ideas: forged }, { state, ideas: forged, allowPrintedScore: false }]) {
      const r = await api(server, 'POST', '/v1/rewards?wait=1', body);
      assert.equal(r.status, 400, r.text);
      const e = (r.json as unknown as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'no_grader');
      assert.match(e.message, /^the state names no task \(state\.taskId\) and the request names none: .*allowPrintedScore: true.*self-reported, forgeable/);
      assert.doesNotMatch(e.message, /\n/);
    }
    const workspace = await api(server, 'POST', '/v1/rewards', { state: { ...state, taskId: 'my-workspace' }, ideas: forged });
    assert.equal(workspace.status, 400);
    assert.match(workspace.text, /"code":"no_grader"/);
    assert.match(workspace.text, /task 'my-workspace' has no grader on this server: name one of its tasks in `task`, or set allowPrintedScore: true/);
    // An explicitly named unknown task stays unknown_task, opt-in or not.
    const named = await api(server, 'POST', '/v1/rewards', { state, ideas: forged, task: 'my-workspace', allowPrintedScore: true });
    assert.equal(named.status, 400);
    assert.match(named.text, /"code":"unknown_task"/);
    assert.equal(gauge(await api(server, 'GET', '/metrics'), 'ideator_jobs'), jobsBefore, 'no job was recorded, nothing ran');

    // Opting in scores the printed metric: every outcome says selfReported, and the forged print is flagged.
    const computed = ideaWithScript('import statistics\nscore = statistics.mean([0.7, 0.7])\nprint(f"score: {score:.3f}")');
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [...forged, computed, 'no format'], allowPrintedScore: true });
    assert.equal(r.status, 200, r.text);
    const [forgedResult, computedResult, formatError] = r.json.results;
    assert.deepEqual(
      r.json.results.map((x) => [x.status, x.reward, x.selfReported, x.guardFlags]),
      [
        ['improved', 1, true, ['prints_metric']],
        ['improved', 1, true, []],
        ['format_error', -1, true, []],
      ],
    );
    assert.equal(forgedResult.scoreAfter, 999);
    assert.deepEqual(forgedResult.guard, [{ flag: 'prints_metric', reason: 'prints a literal score (score: 999)', lines: ["L2: print('score: 999')"] }]);
    assert.deepEqual(computedResult.guard, []);
    assert.deepEqual(formatError.guard, []);
  });

  it('graded ideas are not self-reported; a symlinked submission is flagged and counted in /metrics', async () => {
    const before = await api(server, 'GET', '/metrics');
    const baseline = readFileSync(join(CHURN, 'solutions', '01_constant.py'), 'utf8');
    const better = readFileSync(join(CHURN, 'solutions', '04_logistic_features.py'), 'utf8');
    const symlinked = better.replace('.to_csv("submission.csv", index=False)', '.to_csv("preds.csv", index=False)\nimport os\nos.symlink("preds.csv", "submission.csv")');
    assert.notEqual(symlinked, better);
    const state = { taskId: 'churn-binary', taskDescription: 'churn', score: { value: 0.5, direction: 'higher' }, code: baseline };
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [ideaWithScript(better), ideaWithScript(symlinked)] });
    assert.equal(r.status, 200, r.text);
    const [good, linked] = r.json.results;
    assert.equal(good.status, 'improved', JSON.stringify(good));
    assert.equal(good.selfReported, false);
    assert.deepEqual(good.guardFlags, []);
    assert.equal(linked.selfReported, false);
    assert.deepEqual(linked.guardFlags, ['submission_path'], JSON.stringify(linked));
    assert.match(linked.guard[0].reason, /creates a symlink/);
    assert.deepEqual(linked.guard[0].lines, [`L${symlinked.split('\n').indexOf('os.symlink("preds.csv", "submission.csv")') + 1}: os.symlink("preds.csv", "submission.csv")`]);
    // allowPrintedScore changes nothing when a task grades the state: the same job, still not self-reported.
    const again = await api(server, 'POST', '/v1/rewards?wait=1', { state, ideas: [ideaWithScript(better), ideaWithScript(symlinked)], allowPrintedScore: true });
    assert.equal(again.json.id, r.json.id);
    assert.deepEqual(again.json.results, r.json.results);

    const after = await api(server, 'GET', '/metrics');
    const flag = (m: typeof after, f: string) => gauge(m, `ideator_guard_flags_total{flag="${f}"}`);
    assert.equal(flag(after, 'submission_path') - flag(before, 'submission_path'), 1);
    assert.equal(flag(after, 'prints_metric') - flag(before, 'prints_metric'), 0);
    assert.equal(gauge(after, 'ideator_ideas_guard_flagged_total') - gauge(before, 'ideator_ideas_guard_flagged_total'), 1);
    assert.equal(gauge(after, 'ideator_ideas_self_reported_total') - gauge(before, 'ideator_ideas_self_reported_total'), 0);
    assert.ok(flag(after, 'prints_metric') >= 1, 'the forged print of the previous test');
    assert.ok(gauge(after, 'ideator_ideas_self_reported_total') >= 3);
  });

  it('reports health, isolation, Prometheus metrics and its OpenAPI document', async () => {
    const h = await api(server, 'GET', '/healthz');
    assert.equal(h.status, 200);
    const health = h.json as unknown as { status: string; isolation: { mode: string }; slots: number; tasks: string[] };
    assert.equal(health.status, 'ok');
    assert.equal(health.slots, 2);
    assert.ok(health.tasks.includes('churn-binary'));
    assert.ok(['bubblewrap', 'none'].includes(health.isolation.mode));

    const m = await api(server, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(m.text, /^ideator_queue_depth \d+$/m);
    assert.match(m.text, /^ideator_ideas_done_total\{status="improved"\} \d+$/m);
    assert.match(m.text, /^ideator_idea_duration_seconds_count\{status="improved"\} \d+$/m);
    for (const f of ['touches_evaluation', 'prints_metric', 'submission_path', 'reads_outside_data']) {
      assert.match(m.text, new RegExp(`^ideator_guard_flags_total\\{flag="${f}"\\} \\d+$`, 'm'));
    }
    assert.match(m.text, /^# TYPE ideator_guard_flags_total counter$/m);
    assert.match(m.text, /^ideator_ideas_self_reported_total \d+$/m);
    // Collapse monitor: every gauge, over the finished jobs of this suite (at least one by now).
    assert.ok(Number(/^ideator_collapse_window_jobs (\d+)$/m.exec(m.text)?.[1]) >= 1, m.text);
    for (const g of ['distinct_ratio', 'type_entropy_bits', 'near_duplicate_rate', 'zero_variance_share']) {
      assert.match(m.text, new RegExp(`^ideator_collapse_${g} [0-9.e-]+$`, 'm'));
    }

    const o = await api(server, 'GET', '/openapi.json');
    assert.equal(o.status, 200);
    const doc = o.json as unknown as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/v1/rewards', '/v1/jobs/{id}', '/v1/ideate', '/healthz', '/metrics']) assert.ok(doc.paths[p], `missing ${p}`);
    // The trust contract is documented: the opt-in, the 400 codes, and the always-present result fields.
    const post = JSON.stringify((doc.paths['/v1/rewards'] as { post: unknown }).post);
    assert.match(post, /"allowPrintedScore":\{[^}]*"type":"boolean"/);
    assert.match(post, /no_grader/);
    const job = JSON.stringify((doc.paths['/v1/jobs/{id}'] as { get: { responses: Record<string, unknown> } }).get.responses['200']);
    for (const field of ['selfReported', 'guardFlags', 'guard']) assert.match(job, new RegExp(`"required":\\[[^\\]]*"${field}"`));
    assert.match(job, /"touches_evaluation","prints_metric","submission_path","reads_outside_data"/);
  });
});

describe('reward server (token, body limit)', () => {
  const server = serverForSuite({ args: ['--body-limit-mb', '1', '--slots', '1'], env: { IDEATOR_SERVER_TOKEN: 'sekrit-token' } });

  it('requires the bearer token once one is configured (health stays open)', async () => {
    const body = { state: toyState(), allowPrintedScore: true, ideas: ['nope'] };
    const none = await api(server, 'POST', '/v1/rewards', body);
    assert.equal(none.status, 401);
    assert.match(none.text, /"code":"unauthorized"/);
    const wrong = await api(server, 'POST', '/v1/rewards', body, { authorization: 'Bearer wrong' });
    assert.equal(wrong.status, 401);
    const jobs = await api(server, 'GET', '/v1/jobs/x');
    assert.equal(jobs.status, 401);
    const ok = await api(server, 'POST', '/v1/rewards', body, { authorization: 'Bearer sekrit-token' });
    assert.equal(ok.status, 202);
    assert.equal((await api(server, 'GET', '/healthz')).status, 200);
  });

  it('rejects bodies over the limit with 413', async () => {
    const big = { state: { ...toyState(), code: 'x'.repeat(1_200_000) }, ideas: ['x'] };
    const r = await api(server, 'POST', '/v1/rewards', big, { authorization: 'Bearer sekrit-token' });
    assert.equal(r.status, 413);
    assert.match(r.text, /"code":"payload_too_large"/);
  });

  it('refuses to bind beyond loopback without a token', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'serve', '--host', '192.0.2.1', '--port', '0'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, IDEATOR_SERVER_TOKEN: '' },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /IDEATOR_SERVER_TOKEN/);
  });
});
