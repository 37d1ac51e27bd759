/**
 * Per-run working folders under the server's data dir. Each is named after the owning process so that a restart
 * can sweep the folders of a process that was killed (-9 leaves them behind) without touching the folders of
 * workers that are still alive and share the data dir.
 *
 * As root each folder is a tmpfs of a fixed size (the run's disk cap); removing it is an unmount. Otherwise it is a
 * plain folder removed by `rm -rf` in a child process (iterative, off the event loop: a 3,000-deep chain or 200k
 * files never block or crash the server). A folder that cannot be removed is moved to `<root>/../quarantine/`
 * and reported, never thrown: clean-up and start-up do not fail because of what a run left behind.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, statSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Workdir paths go into argv and /proc/self/mounts: keep them to plain characters. */
const SAFE_PATH = /^[A-Za-z0-9_./+@:-]+$/;

export function assertSafeRoot(root: string): void {
  if (!SAFE_PATH.test(root)) {
    throw new Error(`the work folder path '${root}' must contain only letters, digits and _ . / + @ : - (no spaces)`);
  }
}

/** A fresh run folder; with `tmpfsMb` (root only) a tmpfs of that size is mounted on it (off the event loop). */
export async function createRunDir(root: string, tag: string, tmpfsMb?: number): Promise<string> {
  mkdirSync(root, { recursive: true });
  const clean = tag.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 24) || 'run';
  const dir = mkdtempSync(join(root, `${process.pid}-${clean}-`));
  if (tmpfsMb && tmpfsMb > 0) {
    // -n: no mtab/utab bookkeeping; -i: no mount helper lookup.
    const m = await run('mount', ['-n', '-i', '-t', 'tmpfs', '-o', `size=${Math.ceil(tmpfsMb)}m,mode=0700,nosuid,nodev`, 'ideator-run', dir]);
    if (!m.ok) {
      await rmdir(dir).catch(() => undefined);
      throw new Error(`cannot mount the run's tmpfs on ${dir}: ${m.err}`);
    }
  }
  return dir;
}

function isMountPoint(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(dirname(dir)).dev;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    child.on('error', (e) => resolve({ ok: false, err: e.message }));
    child.on('close', (code) => resolve({ ok: code === 0, err: err.trim() }));
  });
}

export interface RemoveResult {
  removed: boolean;
  /** Where the folder went when it could not be removed. */
  quarantined?: string;
  error?: string;
}

/** Removes a run folder (unmounting its tmpfs first); never throws. */
export async function removeRunDir(dir: string): Promise<RemoveResult> {
  if (isMountPoint(dir)) {
    const u = await run('umount', ['-n', '-i', dir]);
    if (!u.ok) await run('umount', ['-n', '-i', '--lazy', dir]);
    // Unmounting discarded the run's files at once: what is left is the empty mount point.
    else if (await rmdir(dir).then(() => true, () => false)) return { removed: true };
  }
  let r = await run('rm', ['-rf', '--one-file-system', '--', dir]);
  if (!r.ok) {
    // Immutable or append-only files (a run can no longer set them, but an older one could have).
    await run('chattr', ['-R', '-i', '-a', '--', dir]);
    r = await run('rm', ['-rf', '--one-file-system', '--', dir]);
  }
  if (r.ok) return { removed: true };
  const qdir = join(dirname(dirname(dir)), 'quarantine');
  try {
    mkdirSync(qdir, { recursive: true });
    const to = join(qdir, `${basename(dir)}-${Date.now()}`);
    renameSync(dir, to);
    return { removed: false, quarantined: to, error: r.err.split('\n')[0] };
  } catch (err) {
    return { removed: false, error: `${r.err.split('\n')[0]}; cannot quarantine it either: ${(err as Error).message}` };
  }
}

/** Whether a process with this pid exists (EPERM counts as alive). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes run folders left by processes that no longer exist; never throws. */
export async function sweepRunDirs(root: string, log?: (m: string) => void): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    const r = await removeRunDir(join(root, name));
    if (r.removed) removed++;
    else log?.(`cannot remove the leftover work folder ${name}: ${r.error}${r.quarantined ? ` (moved to ${r.quarantined})` : ''}`);
  }
  return removed;
}
