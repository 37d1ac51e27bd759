/**
 * The tasks a reward server will execute against, resolved by id only (never a client-supplied path: a request
 * must not be able to make the server import an arbitrary prepare.py). Wraps the task loader in server/src/tasks
 * with a cache of loaded tasks and prepared data, and lists the paths a sandboxed run must not see (the task
 * folder, the raw and private data: reading the answers would be reward hacking).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundledTasksDir, defaultDataDir, loadTask, type Task } from '../tasks/loader';
import { BUNDLE_MANIFEST, BundleManifestSchema, bundleEntries, entriesFingerprint } from '../tasks/bundle';
import { prepareTask, preparedPaths } from '../tasks/prepare';

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ReadyTask {
  task: Task;
  dataDir: string;
  publicDir: string;
  /**
   * What the task is made of, as one key: `bundle:<sha256>` for a task that came as a bundle (a Redis worker's task
   * cache: the server's bundle hash), else `files:<sha256>` of the same files a bundle would hold (sources and
   * prepared data: paths, sizes, modes, mtimes). Either changes when the task is edited or its data re-prepared, so
   * what is keyed by it (shared runs) never outlives the task it was measured on. Undefined when it cannot be told
   * (then nothing is shared).
   */
  contentKey?: string;
}

/** How long the files fingerprint of a task is trusted before its files are looked at again. */
const FINGERPRINT_MS = 5000;

export class TaskCatalog {
  private readonly loaded = new Map<string, Promise<Task>>();
  private readonly prepared = new Map<string, Promise<ReadyTask>>();
  private readonly fingerprints = new Map<string, { key: string | undefined; at: number }>();

  constructor(
    /** Folders holding task folders (<dir>/<id>/config.yaml); the bundled server/tasks by default. */
    readonly taskDirs: string[] = [bundledTasksDir()],
    readonly python?: string,
    /** Where prepared data goes; the loader's default (next to bundled tasks, IDEATOR_DATA_DIR) when unset. */
    readonly dataDir?: string,
  ) {}

  /** The folder of task `id`, or undefined when no configured folder has it. */
  locate(id: string): string | undefined {
    if (!TASK_ID.test(id)) return undefined;
    for (const root of this.taskDirs) {
      const dir = join(root, id);
      if (existsSync(join(dir, 'config.yaml'))) return dir;
    }
    return undefined;
  }

  /** Every task id the configured folders hold (the first folder holding an id wins, as in locate). */
  ids(): string[] {
    const ids = new Set<string>();
    for (const root of this.taskDirs) {
      if (!existsSync(root)) continue;
      for (const n of readdirSync(root)) if (TASK_ID.test(n) && existsSync(join(root, n, 'config.yaml'))) ids.add(n);
    }
    return [...ids].sort();
  }

  has(id: string): boolean {
    return this.locate(id) !== undefined;
  }

  load(id: string): Promise<Task> {
    let p = this.loaded.get(id);
    if (!p) {
      const dir = this.locate(id);
      p = dir ? loadTask(dir) : Promise.reject(new Error(`unknown task '${id}'`));
      this.loaded.set(id, p);
      p.catch(() => this.loaded.delete(id));
    }
    return p;
  }

  /** Loads and prepares (once per process; the preparer caches on disk too), with its current contentKey. */
  async ready(id: string): Promise<ReadyTask> {
    let p = this.prepared.get(id);
    if (!p) {
      p = (async () => {
        const task = await this.load(id);
        const dataDir = resolve(this.dataDir ?? defaultDataDir(task));
        const { publicDir } = await prepareTask(task, { python: this.python, dataDir });
        return { task, dataDir, publicDir };
      })();
      this.prepared.set(id, p);
      p.catch(() => this.prepared.delete(id));
    }
    const ready = await p;
    return { ...ready, contentKey: this.fingerprint(ready) };
  }

  /** `files:` + the fingerprint of what the task's bundle would hold, looked at again after FINGERPRINT_MS. */
  private fingerprint(ready: ReadyTask): string | undefined {
    const id = ready.task.id;
    const f = this.fingerprints.get(id);
    if (f && Date.now() - f.at < FINGERPRINT_MS) return f.key;
    let key: string | undefined;
    try {
      key = `files:${entriesFingerprint(bundleEntries(ready.task, ready.dataDir))}`;
    } catch {
      key = undefined;
    }
    this.fingerprints.set(id, { key, at: Date.now() });
    return key;
  }

  /** Paths to hide from a run of this task: the task folder and its data folder (raw + private answers). */
  static hiddenPaths(ready: ReadyTask): string[] {
    return [...new Set([ready.task.dir, join(ready.dataDir, ready.task.id)].map((p) => resolve(p)))];
  }
}

/**
 * The ReadyTask of an unpacked task bundle (tasks/bundle.ts; a Redis worker's task cache): the data in it is already
 * prepared (prepare's marker included), so nothing runs prepare.py here.
 */
export async function readyFromBundle(dir: string, hash?: string): Promise<ReadyTask> {
  const manifest = BundleManifestSchema.parse(JSON.parse(readFileSync(join(dir, BUNDLE_MANIFEST), 'utf8')));
  const task = await loadTask(join(dir, manifest.task));
  if (task.id !== manifest.id) throw new Error(`task bundle ${dir}: holds task '${task.id}', its manifest says '${manifest.id}'`);
  const dataDir = resolve(dir, manifest.data);
  const paths = preparedPaths(task, dataDir);
  if (!existsSync(paths.answersPath)) throw new Error(`task bundle ${dir}: no answers at ${paths.answersPath}`);
  return { task, dataDir, publicDir: paths.publicDir, ...(hash ? { contentKey: `bundle:${hash}` } : {}) };
}

/** A catalog whose tasks come ready from elsewhere (a worker's task bundles): ready(id) asks `resolveReady`. */
export class ReadyTaskCatalog extends TaskCatalog {
  constructor(private readonly resolveReady: (id: string) => Promise<ReadyTask>) {
    super([]);
  }

  override ready(id: string): Promise<ReadyTask> {
    return this.resolveReady(id);
  }

  override async load(id: string): Promise<Task> {
    return (await this.resolveReady(id)).task;
  }
}
