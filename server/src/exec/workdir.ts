/**
 * Per-run working folders under the server's data dir. Each is named after the owning process so that a restart
 * can sweep the folders of a process that was killed (-9 leaves them behind) without touching the folders of
 * workers that are still alive and share the data dir.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Workdir paths go into the sandbox's shell script and /proc/self/mounts: keep them to plain characters. */
const SAFE_PATH = /^[A-Za-z0-9_./+@:-]+$/;

export function assertSafeRoot(root: string): void {
  if (!SAFE_PATH.test(root)) {
    throw new Error(`the work folder path '${root}' must contain only letters, digits and _ . / + @ : - (no spaces)`);
  }
}

export function createRunDir(root: string, tag: string): string {
  mkdirSync(root, { recursive: true });
  const clean = tag.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 24) || 'run';
  return mkdtempSync(join(root, `${process.pid}-${clean}-`));
}

export function removeRunDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes run folders left by processes that no longer exist; returns how many. */
export function sweepRunDirs(root: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    removeRunDir(join(root, name));
    removed++;
  }
  return removed;
}
