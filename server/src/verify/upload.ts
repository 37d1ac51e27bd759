/**
 * A workspace sent to a companion server (#16), once, content-addressed: the source files of the workspace plan
 * (verify/workspace.ts `copies` — never data, never hidden entries or key files) as a deterministic gzipped ustar
 * (tasks/bundle.ts writer: entries sorted, mtime 0, modes 0644/0755), named by the sha256 of its bytes.
 *
 *   packWorkspace(dir, copies)   the client side: the archive file, its sha256 and size
 *   WorkspaceStore               the server side: <dataDir>/workspaces/<sha256>/{files/…, manifest.json}; put() checks
 *                                the hash and unpacks with limits (regular files and folders only, no absolute or `..`
 *                                path, no link, device or setuid bit), so an upload is either whole or absent
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { extractBundle, writeBundle, type BundleEntry } from '../tasks/bundle';
import { TaskError } from '../tasks/loader';

/** Uploads taken at once (each holds its body, up to 64 MiB, in memory while it is checked and unpacked). */
export const MAX_CONCURRENT_UPLOADS = 4;
/** An unpacking folder (.tmp-*) older than this at server start is a leftover of a server that died: removed. */
export const STALE_UPLOAD_MS = 60 * 60 * 1000;

/** Largest upload (the gzipped archive). */
export const MAX_WORKSPACE_UPLOAD_BYTES = 64 * 1024 * 1024;
/** Most entries (files and folders) an upload unpacks to. */
export const MAX_WORKSPACE_ENTRIES = 5000;
/** Most bytes an upload unpacks to. */
export const MAX_WORKSPACE_BYTES = 256 * 1024 * 1024;

export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex digits');

/** What the server keeps of an upload, and answers about it. */
export const WorkspaceInfoSchema = z.object({
  sha256: Sha256Schema,
  /** Its files, workspace-relative posix paths, sorted. */
  files: z.array(z.string()),
  /** Their bytes, all together. */
  bytes: z.number().int().nonnegative(),
});
export type WorkspaceInfo = z.infer<typeof WorkspaceInfoSchema>;

const toPosix = (p: string) => p.split(sep).join('/');

/** The archive of `copies` (workspace-relative paths of the plan) at `file`: its sha256 and size. */
export async function packWorkspace(dir: string, copies: readonly string[], file: string): Promise<{ hash: string; size: number }> {
  const entries: BundleEntry[] = [...copies]
    .map((rel) => {
      const st = lstatSync(join(dir, rel));
      return { path: toPosix(rel), source: join(dir, rel), size: st.size, mode: st.mode & 0o100 ? 0o755 : 0o644, mtimeMs: st.mtimeMs };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return writeBundle(entries, file);
}

/** An upload refused: its message is one line for the client (a 4xx). */
export class UploadError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** Uploaded workspaces under one folder of the server's data dir. */
export class WorkspaceStore {
  private uploading = 0;
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    // A server killed while unpacking leaves its .tmp-* folder behind: removed once it is old enough that no live
    // upload of another server process on this folder can be using it.
    for (const name of readdirSync(root)) {
      if (!name.startsWith('.tmp-')) continue;
      const p = join(root, name);
      try {
        if (Date.now() - lstatSync(p).mtimeMs > STALE_UPLOAD_MS) rmSync(p, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
    }
  }

  /** Holds one of the MAX_CONCURRENT_UPLOADS places, or undefined when all are taken; call the release once done. */
  beginUpload(): (() => void) | undefined {
    if (this.uploading >= MAX_CONCURRENT_UPLOADS) return undefined;
    this.uploading++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.uploading--;
    };
  }

  /** The folder holding an upload's files (exists only once the upload is whole). */
  filesDir(sha256: string): string {
    return join(this.root, Sha256Schema.parse(sha256), 'files');
  }

  info(sha256: string): WorkspaceInfo | undefined {
    if (!Sha256Schema.safeParse(sha256).success) return undefined;
    const manifest = join(this.root, sha256, 'manifest.json');
    if (!existsSync(manifest)) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(manifest, 'utf8'));
    } catch {
      return undefined;
    }
    const parsed = WorkspaceInfoSchema.safeParse(raw);
    return parsed.success && parsed.data.sha256 === sha256 ? parsed.data : undefined;
  }

  /**
   * Stores `body` (a gzipped tar) as `sha256`: refused unless its bytes hash to it; unpacked into a temporary sibling
   * with limits, then renamed into place. Returns the info and whether it was new.
   */
  async put(sha256: string, body: Buffer): Promise<{ info: WorkspaceInfo; created: boolean }> {
    const known = this.info(sha256);
    if (known) return { info: known, created: false };
    if (body.length > MAX_WORKSPACE_UPLOAD_BYTES) throw new UploadError(413, 'payload_too_large', `the workspace archive is ${body.length} bytes (at most ${MAX_WORKSPACE_UPLOAD_BYTES})`);
    const actual = createHash('sha256').update(body).digest('hex');
    if (actual !== sha256) throw new UploadError(400, 'hash_mismatch', `the workspace archive's sha256 is ${actual}, not ${sha256}`);
    const tmp = join(this.root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, { mode: 0o700 });
    try {
      const archive = join(tmp, 'archive.tar.gz');
      await writeFile(archive, body);
      const files = join(tmp, 'files');
      try {
        await extractBundle(archive, files, { maxEntries: MAX_WORKSPACE_ENTRIES, maxBytes: MAX_WORKSPACE_BYTES, what: 'the workspace archive' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (err instanceof TaskError) throw new UploadError(400, 'invalid_archive', err.message);
        if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') throw new UploadError(400, 'invalid_archive', 'the workspace archive holds one path twice, or a file where a folder is');
        if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || /incorrect header check|unexpected end of file/i.test((err as Error).message)) throw new UploadError(400, 'invalid_archive', 'the workspace archive is not a gzipped tar');
        throw err;
      }
      await rm(archive, { force: true });
      const list = listFiles(files);
      const info: WorkspaceInfo = { sha256, files: list.map((f) => f.rel).sort(), bytes: list.reduce((n, f) => n + f.size, 0) };
      writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(info));
      try {
        await rename(tmp, join(this.root, sha256));
      } catch (err) {
        // Another upload of the same bytes finished first: same content, keep that one.
        const again = this.info(sha256);
        if (again) return { info: again, created: false };
        throw err;
      }
      return { info, created: true };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}

function listFiles(root: string, dir = root, out: { rel: string; size: number }[] = []): { rel: string; size: number }[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(root, p, out);
    else if (e.isFile()) out.push({ rel: toPosix(relative(root, p)), size: lstatSync(p).size });
  }
  return out;
}
