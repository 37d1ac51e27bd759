/**
 * The server's task bundles (tasks/bundle.ts) for Redis workers: each task of the catalog prepared once here, then
 * archived to <data-dir>/task-bundles/<id>-<sha256>.tar.gz; the sha256 is the hash the dispatcher puts on every
 * idea of that task and the worker checks. Built on first need, kept for the process; a change to a bundled file
 * (size, mtime, mode, path) is noticed within CHECK_MS and makes a new bundle with a new hash.
 */
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundleEntries, entriesFingerprint, writeBundle } from '../tasks/bundle';
import type { TaskCatalog } from './taskCatalog';

export interface TaskBundle {
  id: string;
  hash: string;
  /** The archive on this machine. */
  file: string;
  size: number;
}

const CHECK_MS = 2000;

interface Built {
  bundle: TaskBundle;
  fingerprint: string;
  checkedAt: number;
}

export class TaskBundles {
  private readonly built = new Map<string, Built>();
  private readonly building = new Map<string, Promise<TaskBundle>>();

  constructor(
    readonly catalog: TaskCatalog,
    /** Where the archives go (the server's <data-dir>/task-bundles). */
    readonly dir: string,
    private readonly log?: (message: string) => void,
  ) {}

  /** The current bundle of task `id` (prepared and archived on first need). Rejects for an unknown or broken task. */
  get(id: string): Promise<TaskBundle> {
    const b = this.built.get(id);
    if (b && Date.now() - b.checkedAt < CHECK_MS) return Promise.resolve(b.bundle);
    let p = this.building.get(id);
    if (!p) {
      p = this.build(id).finally(() => this.building.delete(id));
      this.building.set(id, p);
    }
    return p;
  }

  /** Every task with its hash; a task whose bundle cannot be made has hash null and the reason. */
  async list(): Promise<{ id: string; hash: string | null; size?: number; error?: string }[]> {
    const out = [];
    for (const id of this.catalog.ids()) {
      try {
        const b = await this.get(id);
        out.push({ id, hash: b.hash, size: b.size });
      } catch (err) {
        out.push({ id, hash: null, error: (err as Error).message.slice(0, 500) });
      }
    }
    return out;
  }

  private async build(id: string): Promise<TaskBundle> {
    const ready = await this.catalog.ready(id);
    const entries = bundleEntries(ready.task, ready.dataDir);
    const fingerprint = entriesFingerprint(entries);
    const prev = this.built.get(id);
    if (prev && prev.fingerprint === fingerprint) {
      prev.checkedAt = Date.now();
      return prev.bundle;
    }
    const t0 = Date.now();
    const tmpName = join(this.dir, `${id}.building`);
    const { hash, size } = await writeBundle(entries, tmpName);
    const file = join(this.dir, `${id}-${hash}.tar.gz`);
    renameSync(tmpName, file);
    // Older archives of this task: a download already streaming one keeps its open file.
    for (const n of readdirSync(this.dir)) if (n.startsWith(`${id}-`) && n.endsWith('.tar.gz') && n !== `${id}-${hash}.tar.gz` && /^[0-9a-f]{64}$/.test(n.slice(id.length + 1, -7))) rmSync(join(this.dir, n), { force: true });
    const bundle = { id, hash, file, size };
    this.built.set(id, { bundle, fingerprint, checkedAt: Date.now() });
    if (prev?.bundle.hash !== hash) this.log?.(`task ${id}: bundle ${hash.slice(0, 12)} (${entries.length} files, ${(size / 1024).toFixed(0)} KiB, ${Date.now() - t0} ms)`);
    return bundle;
  }
}
