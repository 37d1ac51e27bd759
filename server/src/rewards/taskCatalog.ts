/**
 * The tasks a reward server will execute against, resolved by id only (never a client-supplied path: a request
 * must not be able to make the server import an arbitrary prepare.py). Wraps the task loader in server/src/tasks
 * with a cache of loaded tasks and prepared data, and lists the paths a sandboxed run must not see (the task
 * folder, the raw and private data: reading the answers would be reward hacking).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundledTasksDir, defaultDataDir, loadTask, type Task } from '../tasks/loader';
import { prepareTask } from '../tasks/prepare';

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ReadyTask {
  task: Task;
  dataDir: string;
  publicDir: string;
}

export class TaskCatalog {
  private readonly loaded = new Map<string, Promise<Task>>();
  private readonly prepared = new Map<string, Promise<ReadyTask>>();

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

  /** Loads and prepares (once per process; the preparer caches on disk too). */
  ready(id: string): Promise<ReadyTask> {
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
    return p;
  }

  /** Paths to hide from a run of this task: the task folder and its data folder (raw + private answers). */
  static hiddenPaths(ready: ReadyTask): string[] {
    return [...new Set([ready.task.dir, join(ready.dataDir, ready.task.id)].map((p) => resolve(p)))];
  }
}
