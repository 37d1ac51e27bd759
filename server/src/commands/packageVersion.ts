/** This package's version (package.json), for /healthz and the workers' heartbeats; 0.0.0 when it cannot be read. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../tasks/python';

export function packageVersion(): string {
  try {
    const root = packageRoot();
    return root ? (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
