#!/usr/bin/env node
// The README's test command (`npm test`): builds, then runs every suite and prints one closing summary line.
//   node scripts/test-all.mjs [unit] [integration] [vscode]     (default: all three)
// Suites: test/unit/**/*.test.ts and test/integration/**/*.test.ts with node:test (through tsx), then the real
// VS Code suites (code-server) via scripts/test-vscode.mjs when present.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const suites = wanted.length ? wanted : ['unit', 'integration', 'vscode'];

function findTests(dir) {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();
}

/** Runs a command, echoing its output, and returns {code, output}. */
function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (stream) => (buf) => {
      output += buf.toString();
      if (output.length > 4_000_000) output = output.slice(-2_000_000);
      stream.write(buf);
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

function lastCount(output, re) {
  const all = [...output.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : 0;
}

const totals = { passed: 0, failed: 0 };
let failed = false;

const build = await run('node', ['scripts/build.mjs']);
if (build.code !== 0) {
  console.error('build failed');
  process.exit(1);
}

for (const suite of suites) {
  if (suite === 'unit' || suite === 'integration') {
    const files = findTests(`test/${suite}`);
    if (files.length === 0) continue;
    const concurrency = suite === 'unit' ? '2' : '1';
    const r = await run('node', ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...files]);
    const pass = lastCount(r.output, /^(?:ℹ|#) pass (\d+)/gm);
    const fail = lastCount(r.output, /^(?:ℹ|#) fail (\d+)/gm);
    totals.passed += pass;
    totals.failed += fail;
    console.log(`${suite}: ${pass} passed, ${fail} failed`);
    if (r.code !== 0) failed = true;
  } else if (suite === 'vscode') {
    if (!existsSync(join(root, 'scripts/test-vscode.mjs'))) continue;
    const r = await run('node', ['scripts/test-vscode.mjs']);
    const m = [...r.output.matchAll(/^vscode: (\d+) passed, (\d+) failed/gm)].pop();
    if (m) {
      totals.passed += Number(m[1]);
      totals.failed += Number(m[2]);
    }
    if (r.code !== 0 || !m) failed = true;
  } else {
    console.error(`unknown suite '${suite}' (unit | integration | vscode)`);
    process.exit(2);
  }
}

console.log(`\nall: ${totals.passed} passed, ${totals.failed} failed`);
process.exit(failed || totals.failed > 0 ? 1 : 0);
