/**
 * `npm run bench`: runs every bench/*.ts (except this file) that exports `run()`, one after another, in one process.
 * Each bench prints its figures as ratios measured side by side in the same run (never absolute goals in tests).
 *   npm run bench                # all
 *   npm run bench -- scores      # only bench/scores.ts
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
    .filter((f) => only.length === 0 || only.includes(basename(f, '.ts')))
    .sort();
  if (files.length === 0) {
    console.error(`no bench matches ${only.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const mod = (await import(join(__dirname, file))) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') continue;
    console.log(`\n=== bench/${file} ===`);
    const started = Date.now();
    await mod.run();
    console.log(`(bench/${file}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
