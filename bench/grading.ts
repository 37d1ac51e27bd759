/**
 * Grading cost: N submissions of a bundled task graded one Python process each (what a naive loop does) vs
 * in one batched process (gradeSubmissions). Prints both times and their ratio, measured side by side.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTask, gradeSubmission, gradeSubmissions, prepareTask } from '../server/src/tasks';

export async function run(): Promise<void> {
  const n = 8;
  const dir = mkdtempSync(join(tmpdir(), 'ideator-bench-grading-'));
  try {
    const task = await findTask('churn-binary');
    const { publicDir } = await prepareTask(task, { dataDir: dir });
    const sample = readFileSync(join(publicDir, 'sample_submission.csv'), 'utf8');
    const files = Array.from({ length: n }, (_, i) => {
      const f = join(dir, `s${i}.csv`);
      writeFileSync(f, sample);
      return f;
    });
    let t = Date.now();
    for (const f of files) await gradeSubmission(task, f, { dataDir: dir });
    const single = Date.now() - t;
    t = Date.now();
    const batched = await gradeSubmissions(task, files, { dataDir: dir });
    const batch = Date.now() - t;
    if (batched.some((g) => !g.valid)) throw new Error('a sample submission graded invalid');
    console.log(`grading ${n} submissions of ${task.id}: one process each ${single} ms, one batch ${batch} ms`);
    console.log(`ratio one-each / batched: ${(single / Math.max(1, batch)).toFixed(1)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
