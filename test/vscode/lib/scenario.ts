/**
 * The frame of one e2e file: the packaged extension built (unless --no-build and it exists), one scenario run in a
 * fresh browser with its ✓/✗ line and time (a `<shotPrefix>-FAILED` screenshot when it fails), everything closed,
 * the `<suite>: N passed, M failed` line the e2e runner reads, and the exit code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, ROOT } from './codeServer';
import { shot } from './workbench';

export const VSIX = join(ROOT, 'dist/mle-ideator.vsix');

/** `npm run package`, unless --no-build was passed and the package is there. */
export function packageExtension(): void {
  if (!process.argv.includes('--no-build') || !existsSync(VSIX)) {
    const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run package failed');
  }
}

export interface ScenarioRun {
  /** The summary line's name, e.g. 'vscode-e2e-ideas'. */
  suite: string;
  /** The ✓/✗ line's words, e.g. 'ideas'. */
  label: string;
  /** The failure screenshot's name before '-FAILED'. */
  shotPrefix: string;
  /** Closed after the browser, in order (code-server, test servers). */
  cleanup: (() => Promise<unknown>)[];
}

/** Runs `scenario` in a fresh browser page and reports it; 0 when it passed. */
export async function runScenario(run: ScenarioRun, scenario: (page: Page) => Promise<void>): Promise<number> {
  const { page, close } = await launchBrowser();
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  try {
    await scenario(page);
    passed++;
    console.log(`  ✓ e2e ${run.label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed++;
    await shot(page, `${run.shotPrefix}-FAILED`).catch(() => undefined);
    console.log(`  ✗ e2e ${run.label}: ${(err as Error).message.split('\n').slice(0, 8).join('\n    ')}`);
  } finally {
    await close();
    for (const stop of run.cleanup) await stop();
  }
  console.log(`${run.suite}: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

/** Exits with main's code; a crash outside the scenario counts as one failure in the summary line. */
export function exitWith(suite: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      console.log(`${suite}: 0 passed, 1 failed`);
      process.exit(1);
    },
  );
}
