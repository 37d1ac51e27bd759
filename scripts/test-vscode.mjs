#!/usr/bin/env node
// The real-VS-Code tests in one command (called by `npm test` through scripts/test-all.mjs):
//   1. scripts/install-vscode.sh (fast no-op when code-server, Chromium and playwright-core are in place),
//   2. the extension-host mocha suite inside code-server (test/vscode/runSuite.ts),
//   3. the Playwright e2e on the packaged .vsix (test/vscode/runE2E.ts; builds the .vsix with `npm run package`),
//   4. every other UI end-to-end file test/vscode/e2e/*.e2e.ts (run with --no-build: it reuses that .vsix).
// Closing line: "vscode: N passed, M failed"; exit code non-zero on any failure.
// Usage: node scripts/test-vscode.mjs [--skip-install] [suite] [e2e] [test/vscode/e2e/NAME.e2e.ts]   (IDEATOR_SKIP_VSCODE=1 skips)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const wanted = args.filter((a) => !a.startsWith('--'));
const extraE2E = existsSync(join(root, 'test/vscode/e2e'))
  ? readdirSync(join(root, 'test/vscode/e2e')).filter((f) => f.endsWith('.e2e.ts')).sort().map((f) => `test/vscode/e2e/${f}`)
  : [];
const parts = wanted.length ? wanted : ['suite', 'e2e', ...extraE2E];

// Same opt-out as scripts/setup.sh, for machines that cannot install code-server/Chromium: says so, counts nothing.
if (process.env.IDEATOR_SKIP_VSCODE === '1') {
  console.log('vscode: 0 passed, 0 failed (skipped: IDEATOR_SKIP_VSCODE=1)');
  process.exit(0);
}

if (!args.includes('--skip-install')) {
  const r = spawnSync('bash', ['scripts/install-vscode.sh'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.log('vscode: 0 passed, 1 failed');
    process.exit(1);
  }
}

function run(file, extra = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => {
      out += b.toString();
      process.stdout.write(b);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

let passed = 0;
let failed = 0;
let bad = false;
for (const part of parts) {
  const file = part === 'suite' ? 'test/vscode/runSuite.ts' : part === 'e2e' ? 'test/vscode/runE2E.ts' : part.endsWith('.e2e.ts') ? part : undefined;
  if (!file) {
    console.error(`unknown part '${part}' (suite | e2e | test/vscode/e2e/NAME.e2e.ts)`);
    process.exit(2);
  }
  // The .vsix is built once, by runE2E.ts (or by npm run package when only a later file is asked for).
  let r = await run(file, part.endsWith('.e2e.ts') ? ['--no-build'] : []);
  // Browser-driven UI scenarios can lose to the headless browser (dropped keystrokes, a terminal that misses a
  // command under load). One fresh retry of a failed UI file, said out loud; its assertions are unchanged and only
  // the retry's result counts. The extension-host suite is never retried.
  if (r.code !== 0 && part !== 'suite') {
    console.log(`test-vscode: ${part} failed; retrying it once in a fresh code-server`);
    r = await run(file, ['--no-build']);
  }
  const m = [...r.out.matchAll(/^vscode-[\w-]+: (\d+) passed, (\d+) failed/gm)].pop();
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  } else {
    failed += 1;
  }
  if (r.code !== 0) bad = true;
}
console.log(`vscode: ${passed} passed, ${failed} failed`);
process.exit(bad || failed > 0 ? 1 : 0);
