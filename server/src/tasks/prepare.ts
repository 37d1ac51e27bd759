/**
 * Prepares a task's data: calls the task's `prepare(raw=, public=, private=)` (keyword arguments, pathlib
 * paths, as MLE-bench does) into <dataDir>/<id>/prepared/{public,private}. Cached by a hash of the preparer and
 * config; built in a temporary sibling folder and renamed into place so concurrent callers never see half a
 * dataset. Data an MLE-bench checkout prepared itself (no marker of ours) is used as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultDataDir, TaskError, type Task } from './loader';
import { resolvePython } from './python';
import { runPythonCode } from './pythonProcess';

export interface PrepareOptions {
  python?: string;
  dataDir?: string;
  /** Re-run prepare even when a matching cache exists. */
  force?: boolean;
  timeoutMs?: number;
  /**
   * Only the answers are needed (grading): prepared data whose answers file exists is used even without
   * prepared/public, as MLE-bench's grade_csv does (it checks the private answers only).
   */
  gradingOnly?: boolean;
}

export interface PreparedData {
  publicDir: string;
  privateDir: string;
  /** Absolute path of the answers file (config dataset.answers under the data dir). */
  answersPath: string;
  /** False when the cache was used. */
  ran: boolean;
}

const MARKER = '.ideator-prepared.json';

const PREPARE_SNIPPET = `
import importlib, json, sys
from pathlib import Path
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["root"])
fn = getattr(importlib.import_module(spec["module"]), spec["fn"])
for key in ("raw", "public", "private"):
    Path(spec[key]).mkdir(parents=True, exist_ok=True)
fn(raw=Path(spec["raw"]), public=Path(spec["public"]), private=Path(spec["private"]))
`;

/** The key prepare's marker records: a hash of config.yaml and the preparer (task bundles carry it). */
export function preparedKey(task: Task): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(task.dir, 'config.yaml')));
  if (task.preparer) h.update(readFileSync(task.preparer.file));
  return h.digest('hex').slice(0, 16);
}

export function preparedPaths(task: Task, dataDir: string): { root: string; publicDir: string; privateDir: string; answersPath: string } {
  const root = join(dataDir, task.id, 'prepared');
  return {
    root,
    publicDir: join(root, 'public'),
    privateDir: join(root, 'private'),
    answersPath: resolve(dataDir, task.config.dataset.answers),
  };
}

function readMarker(root: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(root, MARKER), 'utf8')) as { key?: string }).key;
  } catch {
    return undefined;
  }
}

export async function prepareTask(task: Task, options: PrepareOptions = {}): Promise<PreparedData> {
  const dataDir = resolve(options.dataDir ?? defaultDataDir(task));
  const paths = preparedPaths(task, dataDir);
  const key = preparedKey(task);
  const ready = existsSync(paths.answersPath) && (options.gradingOnly === true || existsSync(paths.publicDir));
  const marker = readMarker(paths.root);
  if (ready && !options.force && (marker === key || (marker === undefined && !task.selfContained))) {
    return { publicDir: paths.publicDir, privateDir: paths.privateDir, answersPath: paths.answersPath, ran: false };
  }
  if (!task.preparer) throw new TaskError(`task ${task.id}: data not prepared under ${paths.root} and config.yaml names no preparer`);

  const taskData = join(dataDir, task.id);
  mkdirSync(taskData, { recursive: true });
  const tmp = join(taskData, `.prepared.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const spec = {
    root: task.preparer.root,
    module: task.preparer.module,
    fn: task.preparer.fn,
    raw: join(taskData, 'raw'),
    public: join(tmp, 'public'),
    private: join(tmp, 'private'),
  };
  try {
    const result = await runPythonCode(options.python ?? resolvePython(), PREPARE_SNIPPET, [JSON.stringify(spec)], {
      cwd: task.dir,
      timeoutMs: options.timeoutMs ?? 10 * 60_000,
    });
    if (result.timedOut || result.exitCode !== 0) {
      const why = result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`;
      // Grading needs only the answers: say where they were looked for before the preparer's own output.
      const missing = options.gradingOnly && !existsSync(paths.answersPath) ? `no answers at ${paths.answersPath} to grade with, and ` : '';
      throw new TaskError(`${missing}prepare for ${task.id} ${why}:\n${result.stderr.slice(-4000)}`);
    }
    writeFileSync(join(tmp, MARKER), JSON.stringify({ key, preparedAt: new Date().toISOString() }) + '\n');
    // Replace a stale cache; if another process renamed its copy first, keep theirs when it matches.
    if (existsSync(paths.root)) {
      if (readMarker(paths.root) === key && !options.force) {
        rmSync(tmp, { recursive: true, force: true });
        return { publicDir: paths.publicDir, privateDir: paths.privateDir, answersPath: paths.answersPath, ran: false };
      }
      const old = `${paths.root}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(paths.root, old);
        rmSync(old, { recursive: true, force: true });
      } catch {
        // someone else moved it already
      }
    }
    try {
      renameSync(tmp, paths.root);
    } catch (err) {
      if (readMarker(paths.root) !== key) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(paths.answersPath)) {
    throw new TaskError(`prepare for ${task.id} did not write the answers file ${paths.answersPath} (config dataset.answers)`);
  }
  return { publicDir: paths.publicDir, privateDir: paths.privateDir, answersPath: paths.answersPath, ran: true };
}
