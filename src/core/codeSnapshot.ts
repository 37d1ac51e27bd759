/**
 * The code a run executed: content hash and the unified diff against the previous run of the same file. Kept free
 * of 'vscode' so it is unit-testable; files are read with node:fs (the extension host sees the workspace's disk).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { createTwoFilesPatch } from 'diff';
import type { CodeSnapshot } from './protocol';

/** Scripts bigger than this are hashed but neither stored nor diffed (a generated file, not the user's code). */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface PreviousCode {
  hash: string;
  content: string | undefined;
}

/**
 * Content is stored only when it changed since the previous run of this path (the store recovers unchanged
 * content by hash); the diff is present only when there was a previous version and it differs.
 */
export function makeSnapshot(relPath: string, content: string, previous: PreviousCode | undefined): CodeSnapshot {
  const hash = sha256(content);
  const tooBig = Buffer.byteLength(content) > MAX_SNAPSHOT_BYTES;
  const snap: CodeSnapshot = { path: relPath, hash };
  if (previous?.hash === hash) return snap;
  if (!tooBig) snap.content = content;
  if (previous?.content !== undefined && !tooBig) {
    snap.diffFromPrevious = createTwoFilesPatch(`a/${relPath}`, `b/${relPath}`, previous.content, content, undefined, undefined, { context: 3 });
  }
  return snap;
}

export async function readScript(absPath: string): Promise<string | undefined> {
  try {
    const stat = await fs.stat(absPath);
    if (!stat.isFile() || stat.size > 8 * MAX_SNAPSHOT_BYTES) return undefined;
    return await fs.readFile(absPath, 'utf8');
  } catch {
    return undefined;
  }
}
