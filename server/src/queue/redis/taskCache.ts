/**
 * A Redis worker's task cache: <data-dir>/task-cache/<sha256>/ holds one unpacked task bundle (tasks/bundle.ts) —
 * sources, prepared public data and the answers its grader sandbox reads. An idea of task T with bundle hash H runs
 * against <cache>/<H>/: used as it is when present, else downloaded from the server (GET /v1/tasks/T/bundle with the
 * bearer token), its sha256 checked against H (a mismatch is refused and nothing is unpacked), unpacked into a
 * temporary folder and renamed into place (atomic; slots of this process wanting the same H share one download, other
 * processes on the same folder lose the rename race harmlessly). The most recently used KEEP entries stay (each use
 * touches its folder); older ones go once no job of this process uses them.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BUNDLE_MANIFEST, extractBundle, verifyBundle } from '../../tasks/bundle';
import { readyFromBundle, type ReadyTask } from '../../rewards/taskCatalog';

export const TASK_CACHE_KEEP = 16;
const HASH = /^[0-9a-f]{64}$/;
/** Temporary folders and files older than this are a killed process's leftovers. */
const STALE_TMP_MS = 3600_000;

export interface TaskCacheOptions {
  /** <data-dir>/task-cache */
  dir: string;
  /** The server (`--server URL`, no trailing slash). */
  serverUrl: string;
  token?: string;
  keep?: number;
  /** Tries per download (transient trouble: the server restarting), 1 s apart, doubling. */
  tries?: number;
  log?: (message: string) => void;
  fetchImpl?: typeof fetch;
}

export class TaskCache {
  /** Bundles downloaded by this process (tests, logs). */
  downloads = 0;
  private readonly fetching = new Map<string, Promise<string>>();
  private readonly inUse = new Map<string, number>();
  private readonly ready = new Map<string, Promise<ReadyTask>>();

  constructor(private readonly opts: TaskCacheOptions) {
    mkdirSync(opts.dir, { recursive: true });
  }

  entryDir(hash: string): string {
    return join(this.opts.dir, hash);
  }

  /**
   * The ReadyTask of task `id` from bundle `hash` (downloaded if needed), held for the caller until release(hash):
   * pruning never removes a bundle in use.
   */
  async acquire(id: string, hash: string): Promise<ReadyTask> {
    if (!HASH.test(hash)) throw new Error(`task ${id}: '${hash}' is not a sha256`);
    this.inUse.set(hash, (this.inUse.get(hash) ?? 0) + 1);
    try {
      const dir = await this.ensure(id, hash);
      const now = new Date();
      try {
        utimesSync(dir, now, now);
      } catch {
        // pruned by another process between the check and now: the next use downloads it again
      }
      let r = this.ready.get(hash);
      if (!r) {
        r = readyFromBundle(dir, hash);
        this.ready.set(hash, r);
        r.catch(() => this.ready.delete(hash));
      }
      const ready = await r;
      if (ready.task.id !== id) throw new Error(`task bundle ${hash.slice(0, 12)} holds task '${ready.task.id}', the idea names '${id}'`);
      return ready;
    } catch (err) {
      this.release(hash);
      throw err;
    }
  }

  release(hash: string): void {
    const n = (this.inUse.get(hash) ?? 0) - 1;
    if (n > 0) this.inUse.set(hash, n);
    else this.inUse.delete(hash);
  }

  private async ensure(id: string, hash: string): Promise<string> {
    const dir = this.entryDir(hash);
    if (existsSync(join(dir, BUNDLE_MANIFEST))) return dir;
    let p = this.fetching.get(hash);
    if (!p) {
      p = this.download(id, hash).finally(() => this.fetching.delete(hash));
      this.fetching.set(hash, p);
    }
    return p;
  }

  private async download(id: string, hash: string): Promise<string> {
    const tries = Math.max(1, this.opts.tries ?? 3);
    for (let i = 1; ; i++) {
      try {
        return await this.downloadOnce(id, hash);
      } catch (err) {
        // A wrong hash or a missing task does not heal by retrying.
        if (i >= tries || (err as { permanent?: boolean }).permanent) throw err;
        this.opts.log?.(`task ${id}: bundle download failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (i - 1)));
      }
    }
  }

  private async downloadOnce(id: string, hash: string): Promise<string> {
    const url = `${this.opts.serverUrl}/v1/tasks/${encodeURIComponent(id)}/bundle`;
    const t0 = Date.now();
    const res = await (this.opts.fetchImpl ?? fetch)(url, {
      headers: this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {},
      signal: AbortSignal.timeout(30 * 60_000),
    });
    if (!res.ok || !res.body) {
      const text = (await res.text().catch(() => '')).slice(0, 300);
      throw Object.assign(new Error(`GET ${url} answered ${res.status} ${text}`), { permanent: res.status === 401 || res.status === 403 || res.status === 404 });
    }
    const announced = res.headers.get('x-content-sha256');
    if (announced && announced !== hash) {
      await res.body.cancel().catch(() => undefined);
      throw Object.assign(new Error(`the server's bundle of task ${id} is now ${announced.slice(0, 12)}…, this idea was dispatched with ${hash.slice(0, 12)}… (the task changed on the server)`), {
        permanent: true,
      });
    }
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const file = join(this.opts.dir, `.download-${hash}-${tag}.tar.gz`);
    const tmpDir = join(this.opts.dir, `.tmp-${hash}-${tag}`);
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
      try {
        await verifyBundle(file, hash);
      } catch (err) {
        throw Object.assign(err as Error, { permanent: true });
      }
      await extractBundle(file, tmpDir);
      const dir = this.entryDir(hash);
      try {
        renameSync(tmpDir, dir);
      } catch (err) {
        // Another process on this cache folder unpacked the same bundle first: theirs is the same bytes.
        if (!existsSync(join(dir, BUNDLE_MANIFEST))) throw err;
      }
      this.downloads++;
      this.opts.log?.(`task ${id}: bundle ${hash.slice(0, 12)} fetched from the server (${(statSync(file).size / 1024).toFixed(0)} KiB, ${Date.now() - t0} ms) into ${dir}`);
      this.prune();
      return dir;
    } finally {
      rmSync(file, { force: true });
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }

  /** Keeps the `keep` most recently used bundles and those in use; removes the rest and stale temporary leftovers. */
  prune(): void {
    const keep = this.opts.keep ?? TASK_CACHE_KEEP;
    const entries: { name: string; mtimeMs: number }[] = [];
    for (const name of readdirSync(this.opts.dir)) {
      const abs = join(this.opts.dir, name);
      let mtimeMs: number;
      try {
        mtimeMs = statSync(abs).mtimeMs;
      } catch {
        continue;
      }
      if (HASH.test(name)) entries.push({ name, mtimeMs });
      else if ((name.startsWith('.tmp-') || name.startsWith('.download-') || name.startsWith('.old-')) && Date.now() - mtimeMs > STALE_TMP_MS) rmSync(abs, { recursive: true, force: true });
    }
    entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const e of entries.slice(keep)) {
      if (this.inUse.has(e.name)) continue;
      this.ready.delete(e.name);
      // Renamed first: a reader never sees a half-removed bundle under its hash.
      const old = join(this.opts.dir, `.old-${e.name}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(join(this.opts.dir, e.name), old);
      } catch {
        continue;
      }
      rmSync(old, { recursive: true, force: true });
      this.opts.log?.(`task cache: removed bundle ${e.name.slice(0, 12)} (least recently used of ${entries.length})`);
    }
  }
}
