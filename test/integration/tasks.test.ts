/**
 * Every bundled task, for real: loads, prepares deterministically (cached), its best reference solution
 * reproduces its leaderboard score, and its grader turns broken submissions into `valid:false` with a reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCsv } from '../../server/src/tasks/csv';
import { normalizedScore } from '../../src/core/grading';
import { gradeSubmission, gradeSubmissions, listBundledTasks, prepareTask, runSolution, type Task } from '../../server/src/tasks';

const dataDir = mkdtempSync(join(tmpdir(), 'ideator-tasks-test-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function toCsv(rows: string[][]): string {
  return rows.map((r) => r.map((f) => (/[",\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')).join('\n') + '\n';
}

/** Broken variants of the (valid) sample submission. */
function brokenVariants(sample: string[][]): Record<string, string[][]> {
  const [header, ...rows] = sample;
  return {
    'wrong columns': [[...header.slice(0, -1), 'prediction'], ...rows],
    'missing column': [header.slice(0, -1), ...rows.map((r) => r.slice(0, -1))],
    'too few rows': [header, ...rows.slice(0, -1)],
    'too many rows': [header, ...rows, rows[0]],
    'NaN value': [header, [...rows[0].slice(0, -1), ''], ...rows.slice(1)],
    'missing id': [header, ['no-such-id', ...rows[0].slice(1)], ...rows.slice(1)],
    'header only': [header],
  };
}

describe('bundled tasks', async () => {
  const tasks = await listBundledTasks();
  it('there are at least four, of different kinds, with both metric directions', () => {
    assert.ok(tasks.length >= 4, `only ${tasks.length} tasks`);
    const kinds = new Set(tasks.map((t) => t.kind));
    for (const k of ['binary-classification', 'multiclass-classification', 'regression', 'text-classification']) {
      assert.ok(kinds.has(k as Task['kind']), `no ${k} task`);
    }
    assert.ok(tasks.some((t) => t.lowerIsBetter) && tasks.some((t) => !t.lowerIsBetter));
  });

  for (const task of tasks) {
    describe(task.id, () => {
      let publicDir = '';
      let sample: string[][] = [];
      before(async () => {
        const prepared = await prepareTask(task, { dataDir });
        publicDir = prepared.publicDir;
        sample = parseCsv(readFileSync(join(publicDir, 'sample_submission.csv'), 'utf8'));
      });

      it('loads with a description, leaderboard bounds and a direction', () => {
        assert.ok(task.description.length > 200);
        assert.ok(task.leaderboard.teams >= 3);
        assert.equal(task.lowerIsBetter, task.leaderboard.best < task.leaderboard.worst);
      });

      it('prepares deterministically and uses its cache', async () => {
        const first = readFileSync(join(publicDir, 'train.csv'));
        const again = await prepareTask(task, { dataDir });
        assert.equal(again.ran, false);
        const forced = await prepareTask(task, { dataDir, force: true });
        assert.equal(forced.ran, true);
        assert.ok(first.equals(readFileSync(join(forced.publicDir, 'train.csv'))), 'train.csv changed between runs');
      });

      it('a reference solution reproduces its leaderboard score exactly', async () => {
        // The quickest non-trivial row (not the floor), to keep the suite fast; the README commands rebuild all.
        const rows = parseCsv(readFileSync(join(task.dir, 'leaderboard.csv'), 'utf8')).slice(1, -1);
        const [name, score] = rows.sort((a, b) => Number(a[2]) - Number(b[2]))[0];
        const run = await runSolution(task, join(task.dir, 'solutions', `${name}.py`), { dataDir });
        rmSync(run.workdir, { recursive: true, force: true });
        assert.equal(run.grade.valid, true, run.grade.reason);
        assert.equal(run.grade.score, Number(score));
        const expected = Math.round(normalizedScore(Number(score), task.leaderboard) * 1e4) / 1e4;
        assert.equal(run.grade.normalized, expected);
        assert.ok(expected > 0 && expected <= 100);
      });

      it('grades the sample submission as valid', async () => {
        const file = join(dataDir, `${task.id}-sample.csv`);
        writeFileSync(file, toCsv(sample));
        const result = await gradeSubmission(task, file, { dataDir });
        assert.equal(result.valid, true, result.reason);
        assert.equal(typeof result.score, 'number');
        assert.ok(result.normalized !== null && result.normalized >= 0);
      });

      it('reports broken submissions as invalid with a reason', async () => {
        const variants = Object.entries(brokenVariants(sample));
        const files = variants.map(([, rows], i) => {
          const file = join(dataDir, `${task.id}-broken-${i}.csv`);
          writeFileSync(file, toCsv(rows));
          return file;
        });
        const empty = join(dataDir, `${task.id}-empty.csv`);
        writeFileSync(empty, '');
        const valid = join(dataDir, `${task.id}-valid.csv`);
        writeFileSync(valid, toCsv(sample));
        const results = await gradeSubmissions(task, [...files, empty, join(dataDir, 'absent.csv'), valid], { dataDir });
        variants.forEach(([name], i) => {
          assert.equal(results[i].valid, false, `${name} was accepted (score ${results[i].score})`);
          assert.equal(results[i].score, null);
          assert.ok(results[i].reason && results[i].reason!.length > 5, `${name}: no reason`);
        });
        assert.equal(results[variants.length].valid, false, 'an empty file was accepted');
        assert.match(results[variants.length + 1].reason ?? '', /not found/);
        // A valid file in the same batch still gets its score: one bad file does not poison the batch.
        assert.equal(results[variants.length + 2].valid, true);
      });
    });
  }
});
