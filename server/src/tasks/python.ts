/**
 * The ONE place that decides which Python interpreter runs task code (prepare.py, grade.py, solutions, the
 * bench's execute-python). Order: env IDEATOR_PYTHON, then the project's .venv (next to this package's
 * package.json, then in the current directory), then `python3` from PATH.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Directory holding this package's package.json (works from src via tsx and from the bundled dist/cli.js). */
export function packageRoot(from: string = __dirname): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
        if (name === 'mle-ideator') return dir;
      } catch {
        // an unreadable manifest is not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function resolvePython(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const fromEnv = env.IDEATOR_PYTHON?.trim();
  if (fromEnv) return fromEnv;
  const roots = [packageRoot(), cwd].filter((d): d is string => Boolean(d));
  for (const root of roots) {
    const candidate = join(root, '.venv', 'bin', 'python');
    if (existsSync(candidate)) return candidate;
  }
  return 'python3';
}
