/** Builds what the real-VS-Code tests load: the extension bundle (npm run build) and the mocha suite bundle. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './codeServer';

export const SUITE_OUT = join(ROOT, 'out/test/vscode/suite');

export function buildExtension(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/** Each *.test.ts plus index.ts becomes one CommonJS file; 'vscode' and 'mocha' come from the host / node_modules. */
export async function buildSuite(): Promise<string> {
  const dir = join(ROOT, 'test/vscode/suite');
  const entryPoints = readdirSync(dir)
    .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
  await build({
    entryPoints,
    outdir: SUITE_OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  return join(SUITE_OUT, 'index.js');
}
