/** A fresh copy of the demo workspace per run, so tests can edit files freely. */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './codeServer';

export const DEMO_WORKSPACE = join(ROOT, 'test/vscode/demo-workspace');

export function copyDemoWorkspace(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ideator-ws-')), 'demo');
  cpSync(DEMO_WORKSPACE, dir, { recursive: true });
  return dir;
}
