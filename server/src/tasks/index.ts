/**
 * MLE-bench-format tasks: load, prepare, run, grade. The public API other parts of the server use.
 *
 *   loadTask(dir: string, opts?: { allowMissingLeaderboard?: boolean }): Promise<Task>
 *       Reads <dir>/config.yaml (zod-validated), description, leaderboard.csv. `task.lowerIsBetter` is read off
 *       the leaderboard row order (first row best), exactly as MLE-bench does; `task.leaderboard.{best,worst}`
 *       are the first/last rows. Works on our bundled tasks (server/tasks/<id>/, modules `grade:grade`) and on a
 *       real MLE-bench checkout's competition folder (modules like `mlebench.competitions.<id>.grade:grade`,
 *       resolved against the folder's ancestors).
 *   findTask(idOrDir: string): Promise<Task>            a folder, or the id of a bundled task
 *   listBundledTasks(dir?: string): Promise<Task[]>      every task under server/tasks
 *   prepareTask(task, { python?, dataDir?, force? }): Promise<{ publicDir, privateDir, answersPath, ran }>
 *       Calls prepare(raw=, public=, private=) with keywords into <dataDir>/<id>/prepared/{public,private};
 *       deterministic and cached (hash of config + preparer). Default dataDir: env IDEATOR_DATA_DIR, else
 *       server/tasks (prepared/ is git-ignored) for bundled tasks, else ~/.cache/mle-bench/data.
 *   gradeSubmission(task, submissionCsv: string, { python?, dataDir?, timeoutMs? }): Promise<GradeResult>
 *       { valid, score, normalized, reason? } (GradeResultSchema in src/core/protocol.ts). Any grader exception,
 *       an unreadable/missing file, or a NaN/inf score → valid:false with the reason. Scores rounded to 5
 *       decimals; normalized = max(0, 100·(s−worst)/(best−worst)) (src/core/grading.ts). Prepares if needed.
 *       Throws TaskError only when the task itself is broken (grader not importable, answers unreadable).
 *   gradeSubmissions(task, files: string[], opts): Promise<GradeResult[]>   same, one Python process for all.
 *   createWorkdir(task, { python?, dataDir?, dir? }): Promise<string>
 *       A folder with the public data copied into ./data/; solutions write ./submission.csv (WORKDIR_LAYOUT is
 *       the sentence to tell agents).
 *   runSolution(task, solutionFile, { python?, dataDir?, timeoutMs? }): Promise<SolutionRun>
 *       Runs one script in a fresh workdir and grades what it wrote.
 *   resolvePython(): string   env IDEATOR_PYTHON, else <package root>/.venv/bin/python, else ./.venv, else python3.
 */
export { TaskConfigSchema, TaskKindSchema, type TaskConfig, type TaskKind } from './config';
export { bundledTasksDir, defaultDataDir, findTask, listBundledTasks, loadTask, TaskError, type Leaderboard, type LoadOptions, type Task } from './loader';
export { prepareTask, preparedPaths, type PrepareOptions, type PreparedData } from './prepare';
export { gradeSubmission, gradeSubmissions, type GradeOptions } from './grade';
export { createWorkdir, runSolution, DATA_SUBDIR, SUBMISSION_FILE, WORKDIR_LAYOUT, type SolutionRun, type WorkdirOptions } from './layout';
export { packageRoot, resolvePython } from './python';
export { checkPython } from './pythonProcess';
