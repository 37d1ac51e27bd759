/**
 * The .vsix's files without packaging it: the paths .vscodeignore re-includes (`!path`, `!dir/**`), copied from the
 * repository as vsce would package them (tests of what the extension ships: agentToolsVsix, captureBundle).
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..');

/** Copies them under `to`; returns the re-included paths (as written in .vscodeignore, without a trailing /**). */
export function copyPackagedFiles(to: string): string[] {
  const included = readFileSync(join(root, '.vscodeignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/\*\*$/, ''));
  for (const rel of included) {
    const from = join(root, rel);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(to, rel)), { recursive: true });
    cpSync(from, join(to, rel), { recursive: true });
  }
  return included;
}
