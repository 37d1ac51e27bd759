/**
 * Mocha entry point loaded by VS Code's extension host (code-server, via the `extensionTestsPath` payload).
 * Runs every *.test.js next to it and writes {passed, failed, failures[]} to $IDEATOR_VSCODE_RESULT so the runner
 * does not depend on scraping the browser console.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: false, reporter: 'spec' });
  const grep = process.env.IDEATOR_VSCODE_GREP;
  if (grep) mocha.grep(grep);
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  const failures: { title: string; error: string }[] = [];
  let passed = 0;
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => passed++);
    runner.on('fail', (t, err: Error) => failures.push({ title: t.fullTitle(), error: String(err?.stack ?? err) }));
  });
  const result = { passed, failed: failures.length, failures };
  console.log(`IDEATOR_SUITE_RESULT ${JSON.stringify(result)}`);
  if (process.env.IDEATOR_VSCODE_RESULT) writeFileSync(process.env.IDEATOR_VSCODE_RESULT, JSON.stringify(result, null, 2));
  if (failures.length) throw new Error(`${failures.length} extension-host test(s) failed`);
}
