/**
 * Loads an MLE-bench-format competition folder into a `Task`: validated config.yaml, description text,
 * leaderboard bounds and direction (read off the row order, exactly as MLE-bench does), and where the grader
 * and preparer modules live.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Direction } from '../../../src/core/protocol';
import { parseCsvObjects } from './csv';
import { parseFunctionRef, TaskConfigSchema, type TaskConfig, type TaskKind } from './config';
import { packageRoot } from './python';

export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}

export interface PythonFunctionRef {
  /** Directory put first on sys.path so that `module` imports. */
  root: string;
  module: string;
  fn: string;
  /** The .py file the module resolves to (hashing, error messages). */
  file: string;
}

export interface Leaderboard {
  /** Scores as listed, best first (non-numeric rows dropped). */
  scores: number[];
  best: number;
  worst: number;
  teams: number;
}

export interface Task {
  id: string;
  name: string;
  /** The competition folder (holds config.yaml). */
  dir: string;
  config: TaskConfig;
  description: string;
  kind: TaskKind;
  lowerIsBetter: boolean;
  direction: Direction;
  leaderboard: Leaderboard;
  grader: PythonFunctionRef;
  preparer: PythonFunctionRef | null;
  /** True for tasks shaped like ours (modules next to config.yaml); false for an MLE-bench checkout. */
  selfContained: boolean;
  /** Wall-clock budget of one reasonable solution, seconds. */
  solutionTimeoutSec: number;
  /** Seeded runs of C_t that measure p_t when a reward request names none (config ideator.baseline_seeds). */
  baselineSeeds?: number;
  /** z of the noise threshold when a request names none (config ideator.noise_z). */
  noiseZ?: number;
}

/** Finds `a.b.c` as a/b/c.py or a/b/c/__init__.py under the task folder or one of its ancestors. */
function resolveModule(taskDir: string, ref: string, what: string): PythonFunctionRef {
  const { module, fn } = parseFunctionRef(ref);
  const rel = module.split('.').join(sep);
  let dir = taskDir;
  for (;;) {
    for (const file of [join(dir, `${rel}.py`), join(dir, rel, '__init__.py')]) {
      if (existsSync(file)) return { root: dir, module, fn, file };
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new TaskError(`${what} module '${module}' (from '${ref}') not found under ${taskDir} or its parents`);
}

function parseLeaderboard(text: string, file: string): Leaderboard {
  // MLE-bench keeps leaderboards in Git LFS: a checkout without `git lfs pull` holds a 3-line pointer instead.
  if (text.startsWith('version https://git-lfs.github.com/spec/')) {
    throw new TaskError(`${file} is a Git LFS pointer, not the leaderboard: run 'git lfs pull' in the MLE-bench checkout`);
  }
  const rows = parseCsvObjects(text);
  if (!rows.length || !('score' in rows[0])) throw new TaskError(`${file}: needs a 'score' column and at least one row`);
  const scores = rows.map((r) => r.score.trim()).filter((s) => s !== '').map(Number).filter((n) => Number.isFinite(n));
  if (scores.length < 2) throw new TaskError(`${file}: needs at least two numeric scores (best first, worst last)`);
  return { scores, best: scores[0], worst: scores[scores.length - 1], teams: scores.length };
}

async function readDescription(taskDir: string, roots: string[], rel: string): Promise<string> {
  const candidates = [...roots.map((r) => resolve(r, rel)), resolve(taskDir, rel), join(taskDir, basename(rel))];
  for (const file of candidates) if (existsSync(file)) return readFile(file, 'utf8');
  throw new TaskError(`description '${rel}' not found (looked at ${[...new Set(candidates)].join(', ')})`);
}

export interface LoadOptions {
  /** Allow a task without leaderboard.csv (only while building one); bounds are then NaN. */
  allowMissingLeaderboard?: boolean;
}

export async function loadTask(dir: string, options: LoadOptions = {}): Promise<Task> {
  const taskDir = resolve(dir);
  const configFile = join(taskDir, 'config.yaml');
  if (!existsSync(configFile)) throw new TaskError(`${taskDir} is not a task folder: no config.yaml`);
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(configFile, 'utf8'));
  } catch (err) {
    throw new TaskError(`${configFile}: invalid YAML: ${(err as Error).message}`);
  }
  const parsed = TaskConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TaskError(`${configFile}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const config = parsed.data;
  const grader = resolveModule(taskDir, config.grader.grade_fn, 'grader');
  const preparer = config.preparer ? resolveModule(taskDir, config.preparer, 'preparer') : null;
  const leaderboardFile = join(taskDir, 'leaderboard.csv');
  const declared = config.ideator?.lower_is_better;
  let leaderboard: Leaderboard;
  let lowerIsBetter: boolean;
  if (existsSync(leaderboardFile)) {
    leaderboard = parseLeaderboard(await readFile(leaderboardFile, 'utf8'), leaderboardFile);
    // MLE-bench: lower is better when the first (best) row scores below the last one.
    lowerIsBetter = leaderboard.best < leaderboard.worst;
    if (declared !== undefined && declared !== lowerIsBetter) {
      throw new TaskError(`${leaderboardFile}: row order says lower_is_better=${lowerIsBetter}, config.yaml says ${declared}`);
    }
  } else if (options.allowMissingLeaderboard && declared !== undefined) {
    leaderboard = { scores: [], best: Number.NaN, worst: Number.NaN, teams: 0 };
    lowerIsBetter = declared;
  } else throw new TaskError(`${taskDir}: no leaderboard.csv`);
  const description = await readDescription(taskDir, [grader.root], config.description);
  return {
    id: config.id,
    name: config.name,
    dir: taskDir,
    config,
    description,
    kind: config.ideator?.kind ?? 'other',
    lowerIsBetter,
    direction: lowerIsBetter ? 'lower' : 'higher',
    leaderboard,
    grader,
    preparer,
    selfContained: grader.root === taskDir,
    solutionTimeoutSec: config.ideator?.solution_timeout_sec ?? 300,
    ...(config.ideator?.baseline_seeds !== undefined ? { baselineSeeds: config.ideator.baseline_seeds } : {}),
    ...(config.ideator?.noise_z !== undefined ? { noiseZ: config.ideator.noise_z } : {}),
  };
}

/** Folder of the tasks shipped with this package (server/tasks). */
export function bundledTasksDir(): string {
  const root = packageRoot();
  if (!root) throw new TaskError('cannot locate the mle-ideator package root to find server/tasks');
  return join(root, 'server', 'tasks');
}

export async function listBundledTasks(dir: string = bundledTasksDir()): Promise<Task[]> {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory() && existsSync(join(dir, n, 'config.yaml')))
    .sort();
  return Promise.all(names.map((n) => loadTask(join(dir, n))));
}

/** A task folder path, or the id of a bundled task. */
export async function findTask(idOrDir: string): Promise<Task> {
  if (existsSync(join(idOrDir, 'config.yaml'))) return loadTask(idOrDir);
  const bundled = join(bundledTasksDir(), idOrDir);
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(idOrDir) && existsSync(join(bundled, 'config.yaml'))) return loadTask(bundled);
  throw new TaskError(`no task '${idOrDir}': not a folder with config.yaml, nor a bundled task id`);
}

/**
 * Where prepared data lives when the caller does not say: IDEATOR_DATA_DIR, else next to the bundled task
 * (server/tasks/<id>/prepared, git-ignored) for self-contained tasks, else MLE-bench's own cache.
 */
export function defaultDataDir(task: Task, env: NodeJS.ProcessEnv = process.env): string {
  if (env.IDEATOR_DATA_DIR?.trim()) return resolve(env.IDEATOR_DATA_DIR.trim());
  if (task.selfContained) return dirname(task.dir);
  return join(homedir(), '.cache', 'mle-bench', 'data');
}
