/**
 * Runs the extension-host mocha suite (test/vscode/suite) inside code-server: the extension is loaded from this
 * checkout as a development extension and the suite as `extensionTestsPath`, both passed in the page URL's payload
 * (code-server refuses them on its command line). test/vscode/fixtures/debugpy-shim (the real debugpy adapter for the
 * debug watcher's test) is installed as a .vsix beside it. Chromium only hosts the workbench; results come back through a
 * JSON file the suite writes, and codeAutomationExit.
 * Usage: node --import tsx test/vscode/runSuite.ts [--no-build] [--grep TEXT]
 * Last line: "vscode-suite: N passed, M failed".
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packDebugpyShim, debugpyPython } from './fixtures/debugpyShim';
import { buildExtension, buildSuite } from './lib/build';
import { launchBrowser, RESULTS_DIR, ROOT, startCodeServer } from './lib/codeServer';
import { copyDemoWorkspace } from './lib/workspace';

/**
 * The whole suite's wall-clock limit. It runs in about 2 min on an idle or loaded 2-core machine, but 7 min with the
 * workbench 4x slower (IDEATOR_TEST_CPU_THROTTLE=4; the terminal that prints 20 MB alone took 62 s): 8 min left no room
 * for a slow CI machine, and every test has its own, named limit anyway.
 */
const TIMEOUT_MS = 900_000;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const grepAt = args.indexOf('--grep');
  if (!args.includes('--no-build')) buildExtension();
  const suiteIndex = await buildSuite();
  const workspace = copyDemoWorkspace();
  const resultFile = join(tmpdir(), `ideator-suite-${process.pid}-${Date.now()}.json`);
  const env: Record<string, string> = { IDEATOR_VSCODE_RESULT: resultFile, IDEATOR_DEBUGPY_PYTHON: debugpyPython() };
  if (grepAt >= 0 && args[grepAt + 1]) env.IDEATOR_VSCODE_GREP = args[grepAt + 1];
  // The test-only 'debugpy' debug type (the Python Debugger extension cannot be installed here).
  const shimVsix = packDebugpyShim();
  const server = await startCodeServer({ workspace, env, vsix: [shimVsix] }).finally(() => rmSync(dirname(shimVsix), { recursive: true, force: true }));
  const { page, close } = await launchBrowser();
  const consoleLines: string[] = [];
  try {
    let exitCode: number | undefined;
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const line = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      consoleLines.push(`[${type}] ${line}`);
      if (process.env.IDEATOR_TEST_VERBOSE === '1') console.log(line);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      exitCode = code;
    });
    const payload = [
      ['extensionDevelopmentPath', `vscode-remote://remote${ROOT}`],
      ['extensionTestsPath', `vscode-remote://remote${suiteIndex}`],
    ];
    const url = `${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    const started = Date.now();
    const deadline = started + TIMEOUT_MS;
    while (exitCode === undefined && !existsSync(resultFile) && Date.now() < deadline) await page.waitForTimeout(250);
    // The result file is written just before the runner reports its exit; give it a moment to land.
    const t0 = Date.now();
    while (!existsSync(resultFile) && Date.now() - t0 < 5_000) await page.waitForTimeout(100);
    console.log(`  the suite ran ${((Date.now() - started) / 1000).toFixed(0)} s of its ${TIMEOUT_MS / 1000} s limit`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, 'suite-final.png') }).catch(() => undefined);
    writeFileSync(join(RESULTS_DIR, 'suite-console.log'), consoleLines.join('\n'));
    writeFileSync(join(RESULTS_DIR, 'suite-code-server.log'), server.logs());
    if (!existsSync(resultFile)) {
      console.error(`vscode-suite: no result (exit code ${exitCode ?? 'none'}, ${Date.now() > deadline ? 'timed out' : 'runner stopped'}); logs in test-results/`);
      console.error(consoleLines.slice(-40).join('\n'));
      console.log('vscode-suite: 0 passed, 1 failed');
      return 1;
    }
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { passed: number; failed: number; failures: { title: string; error: string }[] };
    for (const f of result.failures) console.error(`  ✗ ${f.title}\n    ${f.error.split('\n').slice(0, 6).join('\n    ')}`);
    // CI keeps only this output: the workbench's last words before a failure say more than the assertion alone.
    if (result.failed > 0) console.error(`  last lines of the workbench console:\n${consoleLines.slice(-30).join('\n')}`);
    console.log(`vscode-suite: ${result.passed} passed, ${result.failed} failed`);
    return result.failed === 0 && result.passed > 0 ? 0 : 1;
  } finally {
    await close();
    await server.stop();
    rmSync(resultFile, { force: true });
    rmSync(join(workspace, '..'), { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log('vscode-suite: 0 passed, 1 failed');
    process.exit(1);
  },
);
