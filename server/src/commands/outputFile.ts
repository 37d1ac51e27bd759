/**
 * Writing files the user named (--out, --out-dir, --png). What the OS refuses (a missing folder, no permission,
 * a path through a file, a directory in the way, a full disk) is the user's to fix, so it becomes a UsageError —
 * one line, exit 2 — instead of an internal error with a stack trace. Folders of --out files are not created:
 * a typo in a path should not leave new folders behind (only --out-dir, which names a folder, is created).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './common';

const REASONS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOSPC: 'no space left on the device',
  EEXIST: 'a file is in the way of a folder on the path',
};

/** An fs error as a short reason, or null for anything that is not an OS error (a bug, kept as such). */
function osReason(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return null;
  return REASONS[code] ?? (err as Error).message;
}

/** Runs `write`, which writes `file` (and maybe more); OS errors become UsageErrors naming `file`. */
export async function writeOutput<T>(file: string, write: (absolute: string) => T | Promise<T>): Promise<T> {
  const absolute = resolve(file);
  try {
    return await write(absolute);
  } catch (err) {
    const reason = osReason(err);
    if (reason === null) throw err;
    throw new UsageError(`cannot write ${absolute}: ${reason}`);
  }
}

/** `mkdir -p` for an output folder, with the same one-line errors. */
export function makeOutputDir(dir: string): string {
  const absolute = resolve(dir);
  try {
    mkdirSync(absolute, { recursive: true });
  } catch (err) {
    const reason = osReason(err);
    if (reason === null) throw err;
    throw new UsageError(`cannot create ${absolute}: ${reason}`);
  }
  return absolute;
}
