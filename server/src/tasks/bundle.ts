/**
 * Task bundles: everything a machine needs to run and grade ideas of one task without its own copy of the task —
 * the task folder's source files (config.yaml, grade.py, prepare.py, description, leaderboard, and for a task
 * inside an MLE-bench checkout the grader's package) and the PREPARED data, public and private. The receiver never
 * runs prepare.py: the bundle carries prepare's result and its marker, so prepareTask() finds the cache valid.
 *
 * The archive is a deterministic gzipped ustar (our own writer: entries sorted by path, mtime 0, uid/gid 0, modes
 * 0644/0755, PAX records for long names) — the same inputs give the same bytes on one machine, so its sha256 is the
 * bundle's content hash. Layout inside:
 *   bundle.json                    {"v":1,"id","task":"src/<rel>","data":"data"}
 *   src/<rel>/config.yaml, …       the sources, relative to the grader's import root (<rel> is "." when self-contained)
 *   data/<id>/prepared/{public,private,.ideator-prepared.json}
 * The reader refuses anything but regular files and folders, absolute paths and `..`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { z } from 'zod';
import { TaskError, type Task } from './loader';
import { preparedKey, preparedPaths } from './prepare';

export const BUNDLE_MANIFEST = 'bundle.json';
const MARKER = '.ideator-prepared.json';

export const BundleManifestSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1),
  /** The task folder inside the bundle (posix path). */
  task: z.string().min(1),
  /** The data dir inside the bundle (<data>/<id>/prepared/…). */
  data: z.string().min(1),
});
export type BundleManifest = z.infer<typeof BundleManifestSchema>;

export interface BundleEntry {
  /** Posix path inside the archive. */
  path: string;
  /** File on disk, or the bytes themselves. */
  source: string | Buffer;
  size: number;
  mode: number;
  /** mtime (ms) of the source file, for fingerprints only (never written). */
  mtimeMs: number;
}

/** Folder names never bundled from a task folder: data, caches, reference solutions, VCS. */
const SKIP_DIRS = new Set(['prepared', 'raw', 'solutions', '__pycache__', 'node_modules']);

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

/** Regular files under `root` (symlinked files followed, symlinked folders not), skipping hidden names and `skip`. */
function walk(root: string, skip: (abs: string, name: string, isDir: boolean) => boolean, out: { abs: string; st: Stats }[] = []): { abs: string; st: Stats }[] {
  for (const name of readdirSync(root)) {
    if (name.startsWith('.')) continue;
    const abs = join(root, name);
    const l = lstatSync(abs);
    if (l.isDirectory()) {
      if (!skip(abs, name, true)) walk(abs, skip, out);
      continue;
    }
    let st: Stats;
    try {
      st = l.isSymbolicLink() ? statSync(abs) : l;
    } catch {
      continue; // dangling link
    }
    if (st.isFile() && !skip(abs, name, false)) out.push({ abs, st });
  }
  return out;
}

const modeOf = (st: Stats) => (st.mode & 0o100 ? 0o755 : 0o644);

/**
 * What the bundle of a prepared task holds, sorted by path. `dataDir` is where the task was prepared (the
 * catalog's ReadyTask.dataDir): its <id>/prepared folder goes in whole, and the answers file too if it lies elsewhere
 * under dataDir.
 */
export function bundleEntries(task: Task, dataDir: string): BundleEntry[] {
  const paths = preparedPaths(task, resolve(dataDir));
  const srcRoot = task.grader.root;
  const taskRel = relative(srcRoot, task.dir);
  if (taskRel.startsWith('..')) throw new TaskError(`task ${task.id}: its grader root ${srcRoot} is not above the task folder`);
  const entries = new Map<string, BundleEntry>();
  const add = (path: string, abs: string, st: Stats) => entries.set(path, { path, source: abs, size: st.size, mode: modeOf(st), mtimeMs: st.mtimeMs });
  const dataRoots = [paths.root, join(resolve(dataDir), task.id, 'raw')];
  const skipTask = (abs: string, name: string, isDir: boolean) => isDir && (SKIP_DIRS.has(name) || name === 'data' || dataRoots.includes(abs));
  for (const f of walk(task.dir, skipTask)) add(toPosix(join('src', relative(srcRoot, f.abs))), f.abs, f.st);
  if (!task.selfContained) {
    // A task inside an MLE-bench checkout: the grader imports its package (mlebench.grade_helpers, …).
    const top = task.grader.module.split('.')[0];
    const pkg = join(srcRoot, top);
    const onlyPy = (_abs: string, name: string, isDir: boolean) => (isDir ? SKIP_DIRS.has(name) || name === 'data' : !name.endsWith('.py'));
    if (existsSync(pkg) && statSync(pkg).isDirectory()) for (const f of walk(pkg, onlyPy)) add(toPosix(join('src', relative(srcRoot, f.abs))), f.abs, f.st);
    else if (existsSync(`${pkg}.py`)) add(toPosix(join('src', `${top}.py`)), `${pkg}.py`, statSync(`${pkg}.py`));
  }
  if (!existsSync(paths.answersPath)) throw new TaskError(`task ${task.id}: no prepared answers at ${paths.answersPath}`);
  const dataRel = (abs: string) => {
    const rel = relative(resolve(dataDir), abs);
    if (rel.startsWith('..') || rel === '') throw new TaskError(`task ${task.id}: ${abs} is not under its data dir ${dataDir}`);
    return toPosix(join('data', rel));
  };
  if (existsSync(paths.root)) for (const f of walk(paths.root, () => false)) add(dataRel(f.abs), f.abs, f.st);
  add(dataRel(paths.answersPath), paths.answersPath, statSync(paths.answersPath));
  // prepare's marker, normalized (no timestamp): prepareTask() on the receiver finds the data ready and runs nothing.
  const marker = Buffer.from(JSON.stringify({ key: preparedKey(task) }) + '\n');
  const markerPath = dataRel(join(paths.root, MARKER));
  entries.set(markerPath, { path: markerPath, source: marker, size: marker.length, mode: 0o644, mtimeMs: 0 });
  const manifest: BundleManifest = { v: 1, id: task.id, task: toPosix(join('src', taskRel)), data: 'data' };
  const m = Buffer.from(JSON.stringify(manifest) + '\n');
  entries.set(BUNDLE_MANIFEST, { path: BUNDLE_MANIFEST, source: m, size: m.length, mode: 0o644, mtimeMs: 0 });
  return [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A cheap summary of the entries (paths, sizes, mtimes, inline bytes): a changed file changes it. */
export function entriesFingerprint(entries: BundleEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) {
    h.update(`${e.path}\0${e.size}\0${e.mode}\0${e.mtimeMs}\0`);
    if (typeof e.source !== 'string') h.update(e.source);
  }
  return h.digest('hex');
}

// ---- ustar writing ----

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mode: number, type: '0' | 'x'): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  b.write(octal(mode, 8), 100, 'ascii');
  b.write(octal(0, 8), 108, 'ascii');
  b.write(octal(0, 8), 116, 'ascii');
  b.write(octal(Math.min(size, MAX_OCTAL_SIZE), 12), 124, 'ascii');
  b.write(octal(0, 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(type, 156, 'ascii');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return b;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

async function* tarStream(entries: BundleEntry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const long = Buffer.byteLength(e.path) > 100 || !/^[\x20-\x7e]*$/.test(e.path);
    if (long || e.size > MAX_OCTAL_SIZE) {
      const pax = Buffer.from((long ? paxRecord('path', e.path) : '') + (e.size > MAX_OCTAL_SIZE ? paxRecord('size', String(e.size)) : ''));
      yield header('PaxHeader', pax.length, 0o644, 'x');
      yield pax;
      yield padding(pax.length);
    }
    yield header(long ? e.path.replace(/[^\x20-\x7e]/g, '_').slice(0, 99) : e.path, e.size, e.mode, '0');
    if (typeof e.source !== 'string') yield e.source;
    else {
      let n = 0;
      for await (const chunk of createReadStream(e.source, { highWaterMark: 1 << 20 })) {
        n += (chunk as Buffer).length;
        if (n > e.size) throw new TaskError(`${e.source} grew while being bundled`);
        yield chunk as Buffer;
      }
      if (n !== e.size) throw new TaskError(`${e.source} changed size while being bundled`);
    }
    yield padding(e.size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes the archive of `entries` to `file` (atomically: a temporary sibling renamed); returns its sha256 and size. */
export async function writeBundle(entries: BundleEntry[], file: string): Promise<{ hash: string; size: number }> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    // Level and strategy fixed, no file name or mtime in the gzip header: same entries, same bytes.
    await pipeline(Readable.from(tarStream(entries)), createGzip({ level: 6 }), createWriteStream(tmp));
    const hash = await sha256File(tmp);
    const size = statSync(tmp).size;
    await rename(tmp, file);
    return { hash, size };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The bundle's bytes are not the ones its hash names: refused, never unpacked. */
export class BundleHashMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`task bundle refused: its sha256 is ${actual}, expected ${expected}`);
    this.name = 'BundleHashMismatch';
  }
}

/** Throws BundleHashMismatch unless the file's sha256 is `expected`. */
export async function verifyBundle(file: string, expected: string): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== expected.toLowerCase()) throw new BundleHashMismatch(expected, actual);
}

// ---- reading ----

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  private read = 0;
  constructor(
    private readonly it: AsyncIterator<Buffer>,
    private readonly what = 'task bundle',
    /** Decompressed bytes read, at most: past it the archive is refused (a gzip bomb is not inflated to its end). */
    private readonly maxRead = Infinity,
  ) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.read += r.value.length;
        if (this.read > this.maxRead) throw new TaskError(`${this.what} unpacks to more than ${Math.round(this.maxRead / 1024 / 1024)} MiB of tar data`);
        this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
      }
    }
    return this.buf.length >= n;
  }

  async exact(n: number): Promise<Buffer> {
    if (!(await this.fill(n))) throw new TaskError(`${this.what} is truncated`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Up to `max` bytes (at least 1), for streaming a file's body. */
  async some(max: number): Promise<Buffer> {
    if (!this.buf.length && !(await this.fill(1))) throw new TaskError(`${this.what} is truncated`);
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

function cString(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? s.length : end).toString('utf8');
}

function safeRelPath(p: string, what = 'task bundle'): string {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (!p || p.startsWith('/') || p.includes('\0') || parts.length === 0 || parts.some((x) => x === '..')) throw new TaskError(`${what} holds an unsafe path '${p}'`);
  return parts.join(sep);
}

/** Bounds on what an archive may unpack to (an upload from a client: a gzip bomb, a million tiny files). */
export interface ExtractLimits {
  /** Entries (files and folders), at most; extended headers too, counted apart (a file with a long path has one). */
  maxEntries?: number;
  /**
   * Bytes of all files and extended headers together, at most. With maxEntries, the decompressed tar read is capped
   * too: maxBytes + TAR_OVERHEAD_PER_ENTRY per entry and per extended header.
   */
  maxBytes?: number;
  /** What the archive is called in errors (default 'task bundle'). */
  what?: string;
}

/**
 * Decompressed tar bytes per entry beside its data, at most: its 512-byte header and the padding of its data to a
 * block (under 512). The final zero block counts as one more entry.
 */
export const TAR_OVERHEAD_PER_ENTRY = 1024;

/** Largest PAX header read (a path and a size record need far less). */
const MAX_PAX_BYTES = 64 * 1024;

/**
 * Unpacks a gzipped bundle into `dest` (created; must not hold the same paths already). Regular files and folders
 * only; with `limits`, more entries or bytes than allowed stop it with a TaskError.
 */
export async function extractBundle(file: string, dest: string, limits: ExtractLimits = {}): Promise<void> {
  const what = limits.what ?? 'task bundle';
  let entries = 0;
  let bytes = 0;
  await mkdir(dest, { recursive: true });
  const gunzip = createGunzip();
  const source = createReadStream(file);
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const maxRead = limits.maxBytes !== undefined && limits.maxEntries !== undefined ? limits.maxBytes + (2 * limits.maxEntries + 1) * TAR_OVERHEAD_PER_ENTRY : Infinity;
  const reader = new ByteReader(gunzip[Symbol.asyncIterator](), what, maxRead);
  let extended = 0;
  // Extended headers count too, apart from the entries (an archive of nothing but them was parsed to its end).
  const count = (size: number, header = false) => {
    if (limits.maxEntries !== undefined && (header ? ++extended : ++entries) > limits.maxEntries) throw new TaskError(`${what} holds more than ${limits.maxEntries} ${header ? 'extended headers' : 'entries'}`);
    if (limits.maxBytes !== undefined && (bytes += size) > limits.maxBytes) throw new TaskError(`${what} unpacks to more than ${Math.round(limits.maxBytes / 1024 / 1024)} MiB`);
  };
  let pax: Record<string, string> = {};
  try {
    for (;;) {
      const h = await reader.exact(BLOCK);
      if (h.every((x) => x === 0)) break;
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
      if (parseInt(cString(h, 148, 8).trim(), 8) !== sum) throw new TaskError(`${what}: bad tar header checksum`);
      const type = String.fromCharCode(h[156] || 48);
      let size = parseInt(cString(h, 124, 12).trim() || '0', 8);
      const prefix = cString(h, 345, 155);
      let name = (prefix ? `${prefix}/` : '') + cString(h, 0, 100);
      if (pax.path) name = pax.path;
      if (pax.size) size = Number(pax.size);
      const mode = parseInt(cString(h, 100, 8).trim() || '644', 8) & 0o777;
      if (!Number.isSafeInteger(size) || size < 0) throw new TaskError(`${what} holds '${name}' of an unreadable size`);
      if (type === 'x' || type === 'g') {
        if (size > MAX_PAX_BYTES) throw new TaskError(`${what} holds an extended header of ${size} bytes (at most ${MAX_PAX_BYTES})`);
        count(size, true);
        const body = await reader.exact(size);
        await reader.exact((BLOCK - (size % BLOCK)) % BLOCK);
        if (type === 'x') {
          pax = {};
          for (let i = 0; i < body.length; ) {
            const sp = body.indexOf(0x20, i);
            const len = sp < 0 ? NaN : Number(body.subarray(i, sp).toString('ascii'));
            if (!(len > 0)) break;
            const kv = body.subarray(sp + 1, i + len - 1).toString('utf8');
            const eq = kv.indexOf('=');
            pax[kv.slice(0, eq)] = kv.slice(eq + 1);
            i += len;
          }
        }
        continue;
      }
      pax = {};
      const target = join(dest, safeRelPath(name, what));
      count(size);
      if (type === '5') {
        // Its data blocks would be read as headers next.
        if (size !== 0) throw new TaskError(`${what} holds the folder '${name}' with ${size} bytes of data (a folder has none)`);
        await mkdir(target, { recursive: true });
        continue;
      }
      if (type !== '0') throw new TaskError(`${what} holds '${name}' of tar type '${type}' (only files and folders are allowed)`);
      await mkdir(dirname(target), { recursive: true });
      const fh = await open(target, 'wx', mode & 0o100 ? 0o755 : 0o644);
      try {
        for (let left = size; left > 0; ) {
          const chunk = await reader.some(Math.min(left, 1 << 20));
          await fh.write(chunk);
          left -= chunk.length;
        }
      } finally {
        await fh.close();
      }
      await reader.exact((BLOCK - (size % BLOCK)) % BLOCK);
    }
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}
