/**
 * The same extension-host suite on desktop VS Code through @vscode/test-electron, for developers with internet
 * access (it downloads a VS Code build into .vscode-test/ on first use). CI uses runSuite.ts (code-server) instead.
 * Usage: npm run test:electron [-- --grep TEXT]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { debugpyPython } from './fixtures/debugpyShim';
import { buildExtension, buildSuite } from './lib/build';
import { ROOT } from './lib/codeServer';
import { copyDemoWorkspace } from './lib/workspace';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const grepAt = args.indexOf('--grep');
  buildExtension();
  const suiteIndex = await buildSuite();
  const workspace = copyDemoWorkspace();
  const userData = mkdtempSync(join(tmpdir(), 'ideator-electron-'));
  const resultFile = join(userData, 'result.json');
  try {
    const code = await runTests({
      // The debugpy shim stands in for the Python Debugger extension (desktop VS Code loads several dev paths).
      extensionDevelopmentPath: [ROOT, join(ROOT, 'test/vscode/fixtures/debugpy-shim')],
      extensionTestsPath: suiteIndex,
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', `--user-data-dir=${userData}`],
      extensionTestsEnv: {
        IDEATOR_VSCODE_RESULT: resultFile,
        IDEATOR_DEBUGPY_PYTHON: debugpyPython(),
        ...(grepAt >= 0 && args[grepAt + 1] ? { IDEATOR_VSCODE_GREP: args[grepAt + 1] } : {}),
      },
    });
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { passed: number; failed: number };
    console.log(`vscode-electron: ${result.passed} passed, ${result.failed} failed`);
    return code;
  } finally {
    rmSync(userData, { recursive: true, force: true });
    rmSync(join(workspace, '..'), { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
