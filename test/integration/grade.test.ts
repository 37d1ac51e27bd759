/**
 * `ideator grade` end to end through the CLI entry point, on a bundled task and on a tiny fake MLE-bench
 * checkout (repo-root-relative description, dotted/hyphenated grade_fn module, mlebench helper import, data
 * prepared by MLE-bench itself under --data-dir, leaderboard in MLE-bench's column layout, lower is better).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isOneLineUserError, runCli } from '../cliHarness';
import { findTask, loadTask, prepareTask } from '../../server/src/tasks';

const root = mkdtempSync(join(tmpdir(), 'ideator-grade-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args);

function write(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

/** A fake checkout shaped like openai/mle-bench, plus a data dir prepared "by MLE-bench". */
function fakeMleBench(): { repo: string; comp: string; data: string } {
  const repo = join(root, 'mle-bench');
  const comp = join(repo, 'mlebench', 'competitions', 'toy-rmse');
  write(join(repo, 'mlebench', '__init__.py'), '');
  write(join(repo, 'mlebench', 'competitions', '__init__.py'), '');
  write(join(repo, 'mlebench', 'grade_helpers.py'), 'class InvalidSubmissionError(Exception):\n    pass\n');
  write(
    join(comp, 'config.yaml'),
    [
      'id: toy-rmse',
      'name: Toy RMSE',
      'competition_type: simple',
      'awards_medals: true',
      'prizes: null',
      'description: mlebench/competitions/toy-rmse/description.md',
      '',
      'dataset:',
      '  answers: toy-rmse/prepared/private/test.csv',
      '  sample_submission: toy-rmse/prepared/public/sample_submission.csv',
      '',
      'grader:',
      '  name: rmse',
      '  grade_fn: mlebench.competitions.toy-rmse.grade:grade',
      '',
      'preparer: mlebench.competitions.toy-rmse.prepare:prepare',
      '',
    ].join('\n'),
  );
  write(join(comp, 'description.md'), '# Toy RMSE\n\nPredict y for each id. Scored by RMSE, lower is better.\n');
  write(
    join(comp, 'grade.py'),
    [
      'import numpy as np',
      'from mlebench.grade_helpers import InvalidSubmissionError',
      '',
      'def grade(submission, answers):',
      '    if list(submission.columns) != ["id", "y"]:',
      '        raise InvalidSubmissionError("columns must be id,y")',
      '    if len(submission) != len(answers):',
      '        raise InvalidSubmissionError("row count mismatch")',
      '    merged = answers.merge(submission, on="id", suffixes=("_true", ""))',
      '    return float(np.sqrt(np.mean((merged["y"] - merged["y_true"]) ** 2)))',
      '',
    ].join('\n'),
  );
  // Needs Kaggle raw data; must never be called when the data is already prepared.
  write(join(comp, 'prepare.py'), 'def prepare(raw, public, private):\n    raise RuntimeError("raw data required")\n');
  write(
    join(comp, 'leaderboard.csv'),
    'scoreNullable,teamId,hasTeamName,submissionDate,score,teamName\n1.0,1,True,2020-01-01,1.0,"Best, Inc."\n2.0,2,True,2020-01-01,2.0,mid\n3.0,3,True,2020-01-01,3.0,last\n',
  );
  const data = join(root, 'mle-data');
  write(join(data, 'toy-rmse', 'prepared', 'public', 'sample_submission.csv'), 'id,y\na,0\nb,0\n');
  write(join(data, 'toy-rmse', 'prepared', 'private', 'test.csv'), 'id,y\na,1\nb,3\n');
  return { repo, comp, data };
}

describe('ideator grade', () => {
  it('grades a fake MLE-bench competition folder with --data-dir (same code path)', async () => {
    const { comp, data, repo } = fakeMleBench();
    const task = await loadTask(comp);
    assert.equal(task.lowerIsBetter, true);
    assert.equal(task.selfContained, false);
    assert.equal(task.grader.root, repo);
    assert.match(task.description, /Toy RMSE/);
    assert.deepEqual([task.leaderboard.best, task.leaderboard.worst], [1, 3]);

    const good = join(root, 'good.csv');
    writeFileSync(good, 'id,y\nb,2\na,1\n'); // errors 1 and 0 → RMSE sqrt(0.5)
    const r = await cli(['grade', '--task', comp, '--submission', good, '--data-dir', data, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(body).sort(), ['normalized', 'score', 'valid']);
    assert.equal(body.valid, true);
    assert.equal(body.score, 0.70711);
    assert.ok(Math.abs(body.normalized - (100 * (0.70711 - 3)) / (1 - 3)) < 1e-3);

    const bad = join(root, 'bad.csv');
    writeFileSync(bad, 'id,prediction\na,1\nb,2\n');
    const rb = await cli(['grade', '--task', comp, '--submission', bad, '--data-dir', data, '--json']);
    assert.equal(rb.code, 0);
    assert.deepEqual(JSON.parse(rb.stdout), { valid: false, score: null, normalized: null, reason: 'InvalidSubmissionError: columns must be id,y' });
  });

  it('grades a bundled task by id, human-readable and JSON', async () => {
    const sub = join(root, 'const.csv');
    const data = join(root, 'bundled-data');
    // The sample submission is valid by construction; use it through the task's own prepared data.
    const task = await findTask('churn-binary');
    const { publicDir } = await prepareTask(task, { dataDir: data });
    writeFileSync(sub, readFileSync(join(publicDir, 'sample_submission.csv')));
    const r = await cli(['grade', '--task', 'churn-binary', '--submission', sub, '--data-dir', data, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { valid: true, score: 0.5, normalized: 0 });
    const h = await cli(['grade', '--task', 'churn-binary', '--submission', sub, '--data-dir', data]);
    assert.match(h.stdout, /^valid: score 0.5 \(higher is better\), normalized 0/);
  });

  it('a submission not named *.csv is no submission, as in MLE-bench (invalid, exit 0, the grader never sees it)', async () => {
    const { comp, data } = fakeMleBench();
    for (const name of ['good.txt', 'good.parquet', 'good']) {
      const file = join(root, name);
      writeFileSync(file, 'id,y\nb,2\na,1\n'); // a perfectly valid CSV body
      const r = await cli(['grade', '--task', comp, '--submission', file, '--data-dir', data, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const body = JSON.parse(r.stdout);
      assert.deepEqual([body.valid, body.score], [false, null], name);
      assert.match(body.reason, new RegExp(`${name.replace('.', '\\.')} is not a \\.csv file: MLE-bench grades CSV submissions only`));
    }
    const upper = join(root, 'GOOD.CSV');
    writeFileSync(upper, 'id,y\nb,2\na,1\n');
    const r = await cli(['grade', '--task', comp, '--submission', upper, '--data-dir', data, '--json']);
    assert.equal(JSON.parse(r.stdout).valid, true, 'the suffix is compared case-insensitively, as MLE-bench does');
  });

  it('grades with a data dir that holds only prepared/private (MLE-bench needs no public data to grade)', async () => {
    const { comp } = fakeMleBench();
    const privateOnly = join(root, 'private-only');
    write(join(privateOnly, 'toy-rmse', 'prepared', 'private', 'test.csv'), 'id,y\na,1\nb,3\n');
    const sub = join(root, 'private-only.csv');
    writeFileSync(sub, 'id,y\na,2\nb,2\n'); // errors 1 and 1: RMSE 1, the leaderboard's best
    const r = await cli(['grade', '--task', comp, '--submission', sub, '--data-dir', privateOnly, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { valid: true, score: 1, normalized: 100 });
  });

  it('no answers at all: prepare.py fails and the user gets one line naming the answers and the exception', async () => {
    const { comp } = fakeMleBench();
    const empty = join(root, 'empty-data');
    mkdirSync(empty, { recursive: true });
    const sub = join(root, 'no-answers.csv');
    writeFileSync(sub, 'id,y\na,1\nb,3\n');
    const r = await cli(['grade', '--task', comp, '--submission', sub, '--data-dir', empty]);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /no answers at .*toy-rmse\/prepared\/private\/test\.csv to grade with, and prepare for toy-rmse exited with 1: RuntimeError: raw data required\n$/);
    assert.doesNotMatch(r.stderr, /Traceback/);
  });

  it('says so when an MLE-bench leaderboard is still a Git LFS pointer', async () => {
    const { comp } = fakeMleBench();
    writeFileSync(join(comp, 'leaderboard.csv'), 'version https://git-lfs.github.com/spec/v1\noid sha256:e071\nsize 125841\n');
    await assert.rejects(loadTask(comp), /Git LFS pointer.*git lfs pull/);
  });

  it('user errors exit 2 with one line: missing flags, unknown task, broken grader', async () => {
    assert.equal((await cli(['grade', '--task', 'x'])).code, 2);
    const unknown = await cli(['grade', '--task', 'no-such-task', '--submission', 'x.csv']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no task 'no-such-task'/);
    // A submission path typed wrong is the user's mistake, not an invalid submission with exit 0.
    const typo = await cli(['grade', '--task', 'churn-binary', '--submission', join(root, 'no-such.csv')]);
    assert.ok(isOneLineUserError(typo), JSON.stringify(typo));
    assert.match(typo.stderr, /no such file: .*no-such\.csv/);
    const folder = await cli(['grade', '--task', 'churn-binary', '--submission', root]);
    assert.ok(isOneLineUserError(folder), JSON.stringify(folder));
    assert.match(folder.stderr, /is a directory/);

    const { comp, data } = fakeMleBench();
    writeFileSync(join(comp, 'grade.py'), 'def grade(submission, answers)\n    return 1\n');
    const sub = join(root, 'any.csv');
    writeFileSync(sub, 'id,y\na,1\nb,2\n');
    const broken = await cli(['grade', '--task', comp, '--submission', sub, '--data-dir', data, '--json']);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /cannot import the grader of toy-rmse.*SyntaxError/s);
    assert.equal(broken.stdout, '');
  });
});
