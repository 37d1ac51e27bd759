/**
 * Builds a bundled task's leaderboard.csv from its reference solutions, for real: each solutions/*.py runs in a
 * fresh workdir, its submission is graded by the task's grade.py, and the rows are written best first (the
 * order MLE-bench reads the direction from).
 *
 *   node --import tsx server/src/tasks/buildLeaderboard.ts server/tasks/<id>
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareBestFirst } from '../../../src/core/metric';
import { loadTask } from './loader';
import { resolvePython } from './python';
import { runSolution } from './layout';

export interface ReferenceResult {
  solution: string;
  score: number | null;
  seconds: number;
  reason?: string;
}

export async function runReferenceSolutions(taskDir: string, python = resolvePython()): Promise<ReferenceResult[]> {
  const task = await loadTask(taskDir, { allowMissingLeaderboard: true });
  const dir = join(task.dir, 'solutions');
  const files = readdirSync(dir).filter((f) => f.endsWith('.py')).sort();
  const results: ReferenceResult[] = [];
  for (const file of files) {
    const run = await runSolution(task, join(dir, file), { python });
    rmSync(run.workdir, { recursive: true, force: true });
    results.push({ solution: file, score: run.grade.score, seconds: run.durationMs / 1000, reason: run.grade.reason });
    process.stderr.write(`${task.id} ${file}: ${run.grade.valid ? run.grade.score : `INVALID ${run.grade.reason}\n${run.stderrTail}`} (${(run.durationMs / 1000).toFixed(1)} s)\n`);
  }
  return results;
}

export function leaderboardCsv(results: ReferenceResult[], lowerIsBetter: boolean): string {
  const valid = results.filter((r): r is ReferenceResult & { score: number } => r.score !== null);
  valid.sort((a, b) => compareBestFirst(a.score, b.score, lowerIsBetter ? 'lower' : 'higher'));
  const rows = valid.map((r) => `${r.solution.replace(/\.py$/, '')},${r.score},${r.seconds.toFixed(1)}`);
  return ['teamName,score,seconds', ...rows].join('\n') + '\n';
}

async function main(): Promise<void> {
  const taskDir = resolve(process.argv[2] ?? '');
  const task = await loadTask(taskDir, { allowMissingLeaderboard: true });
  const results = await runReferenceSolutions(taskDir);
  const failed = results.filter((r) => r.score === null);
  if (failed.length) throw new Error(`reference solutions failed: ${failed.map((r) => r.solution).join(', ')}`);
  writeFileSync(join(task.dir, 'leaderboard.csv'), leaderboardCsv(results, task.lowerIsBetter));
  process.stdout.write(leaderboardCsv(results, task.lowerIsBetter));
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
