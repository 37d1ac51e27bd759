/**
 * The working-directory convention every executor shares (reference solutions, the reward sandbox, the bench):
 * the public data is copied to ./data/ (a copy, so a solution cannot damage the cached dataset) and the
 * solution writes ./submission.csv. `WORKDIR_LAYOUT` is the sentence agents are told.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { GradeResult } from '../../../src/core/protocol';
import { gradeSubmission } from './grade';
import type { Task } from './loader';
import { prepareTask } from './prepare';
import { resolvePython } from './python';
import { runPythonCode } from './pythonProcess';

export const DATA_SUBDIR = 'data';
export const SUBMISSION_FILE = 'submission.csv';
export const WORKDIR_LAYOUT =
  'The public data files are in ./data/ (relative to the working directory). Write your predictions for the test set to ./submission.csv in the format of ./data/sample_submission.csv.';

export interface WorkdirOptions {
  python?: string;
  dataDir?: string;
  /** Use this folder (created if needed) instead of a fresh temporary one. */
  dir?: string;
}

/** A folder holding ./data/ (the task's public files); returns its absolute path. */
export async function createWorkdir(task: Task, options: WorkdirOptions = {}): Promise<string> {
  const { publicDir } = await prepareTask(task, { python: options.python, dataDir: options.dataDir });
  const dir = options.dir ? resolve(options.dir) : mkdtempSync(join(tmpdir(), `ideator-${task.id}-`));
  mkdirSync(dir, { recursive: true });
  cpSync(publicDir, join(dir, DATA_SUBDIR), { recursive: true });
  return dir;
}

export interface SolutionRun {
  workdir: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
  grade: GradeResult;
}

/** Runs one solution script in a fresh workdir and grades the submission.csv it leaves. */
export async function runSolution(
  task: Task,
  solutionFile: string,
  options: WorkdirOptions & { timeoutMs?: number } = {},
): Promise<SolutionRun> {
  const python = options.python ?? resolvePython();
  const workdir = await createWorkdir(task, { ...options, python });
  const script = join(workdir, basename(solutionFile));
  cpSync(solutionFile, script);
  // `python -c` with runpy keeps one spawn helper; __name__ is "__main__" as when run as a script.
  const code = 'import runpy, sys; sys.argv = [sys.argv[1]]; runpy.run_path(sys.argv[0], run_name="__main__")';
  const run = await runPythonCode(python, code, [script], {
    cwd: workdir,
    timeoutMs: options.timeoutMs ?? task.solutionTimeoutSec * 1000,
  });
  const submission = join(workdir, SUBMISSION_FILE);
  let grade: GradeResult;
  if (run.timedOut) grade = { valid: false, score: null, normalized: null, reason: 'the solution timed out' };
  else if (!existsSync(submission)) {
    grade = { valid: false, score: null, normalized: null, reason: `no ${SUBMISSION_FILE} written (exit ${run.exitCode})` };
  } else grade = await gradeSubmission(task, submission, { python, dataDir: options.dataDir });
  return {
    workdir,
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    durationMs: run.durationMs,
    stdoutTail: run.stdout.slice(-4000),
    stderrTail: run.stderr.slice(-4000),
    grade,
  };
}

/** Convenience for tests and READMEs: the sample submission's header line. */
export function sampleSubmissionHeader(workdir: string): string {
  return readFileSync(join(workdir, DATA_SUBDIR, 'sample_submission.csv'), 'utf8').split(/\r?\n/)[0];
}
