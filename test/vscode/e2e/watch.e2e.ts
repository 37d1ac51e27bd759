/**
 * Run watching end to end in a real VS Code UI (code-server + Chromium): the packaged extension is installed, a
 * user types training commands in a bash terminal, the Run History tree and the Score Chart fill in, a plateau
 * prompt appears after three runs without a new best, and runs after applied ideas get coloured outcome markers
 * whose hover shows the idea's ACTION. Screenshots: test-results/watch-*.png.
 *
 * The two ideas are written into the history journal (as Ask Ideator + Apply would) and the window is reloaded, so
 * the test does not depend on a model; everything else is the real UI.
 * Usage: node --import tsx test/vscode/e2e/watch.e2e.ts [--no-build]      Last line: "vscode-e2e-watch: N passed, M failed".
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { launchBrowser, ROOT, startCodeServer } from '../lib/codeServer';
import { openWorkbench, runCommand, shot, toast, until } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';

const VSIX = join(ROOT, 'dist/mle-ideator.vsix');
const PYTHON = process.env.IDEATOR_PYTHON || 'python3';
const EVIL_ACTION = 'Use <img src=x onerror=alert(1)> label smoothing & a cosine LR schedule';

const TRAIN_PY = `import sys, time
score = float(sys.argv[1])
for e in range(1, 4):
    print(f"Epoch {e}/3 - loss: {1 / e:.4f} - val_acc: {score - (3 - e) * 0.01:.4f}", flush=True)
    time.sleep(0.1)
`;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function findHistory(dir: string): string | undefined {
  for (const f of readdirSync(dir, { recursive: true }).map(String)) {
    if (f.endsWith(join('run-history', 'history.jsonl'))) return join(dir, f);
  }
  return undefined;
}

function runCount(file: string | undefined): number {
  if (!file || !existsSync(file)) return 0;
  const ids = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.includes('"kind":"run"')) ids.add((JSON.parse(line) as { run: { id: string } }).run.id);
  }
  return ids.size;
}

async function newTerminal(page: Page): Promise<void> {
  await runCommand(page, 'Terminal: Create New Terminal');
  await page.locator('.terminal-wrapper.active .xterm').first().waitFor({ timeout: 20_000 });
  // Give bash a moment to load VS Code's shell integration script.
  await page.waitForTimeout(2_500);
}

async function typeRun(page: Page, userData: string, score: string): Promise<void> {
  const before = runCount(findHistory(userData));
  await page.locator('.terminal-wrapper.active .xterm').first().click();
  await page.keyboard.type(`${PYTHON} e2e_train.py ${score}`);
  await page.keyboard.press('Enter');
  await until(() => runCount(findHistory(userData)) > before, 30_000, `run with score ${score} recorded`);
}

async function chartFrame(page: Page): Promise<Frame> {
  let found: Frame | undefined;
  await until(
    async () => {
      for (const f of page.frames()) {
        if (await f.locator('svg.score-chart').count().catch(() => 0)) {
          found = f;
          return true;
        }
      }
      return false;
    },
    20_000,
    'the score chart webview',
  );
  return found!;
}

async function scenario(page: Page, serverUrl: string, workspace: string, userData: string): Promise<void> {
  await openWorkbench(page, serverUrl, workspace);
  await newTerminal(page);
  for (const score of ['0.80', '0.85', '0.83', '0.84']) await typeRun(page, userData, score);
  // Three finished runs since the best (0.85): the plateau prompt, non-modal.
  await typeRun(page, userData, '0.82');
  const plateau = toast(page, /runs without beating the best val_acc/);
  await plateau.waitFor({ timeout: 15_000 });
  await page.waitForTimeout(800); // let the toast finish sliding in before the screenshot
  await shot(page, 'watch-1-plateau-prompt');

  // Two ideas asked and applied (as Ask Ideator + Apply record them), then reload so the store re-reads its journal.
  const history = findHistory(userData)!;
  const now = Date.now();
  const idea = (id: string, action: string, t: number) =>
    JSON.stringify({
      kind: 'idea',
      idea: {
        id, createdAt: new Date(t).toISOString(), raw: `ANALYSIS: plateau\nACTION: ${action}\nRATIONALE: regularise`, type: 'Model Training',
        parsed: { ok: true, analysis: 'plateau', action, rationale: 'regularise', codeBlocks: [], errors: [] },
      },
    });
  const applied = (id: string, t: number) => JSON.stringify({ kind: 'applied', applied: { ideaId: id, path: 'e2e_train.py', at: new Date(t).toISOString() } });
  appendFileSync(history, `${idea('e2e-idea-1', EVIL_ACTION, now)}\n${applied('e2e-idea-1', now + 1)}\n`);
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForTimeout(2_000);
  await openWorkbench(page, serverUrl, workspace);
  await newTerminal(page);
  await typeRun(page, userData, '0.87');
  await toast(page, /improved the score/).waitFor({ timeout: 15_000 });

  const t2 = Date.now();
  appendFileSync(history, `${idea('e2e-idea-2', 'Switch the optimiser to plain SGD without momentum', t2)}\n${applied('e2e-idea-2', t2 + 1)}\n`);
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForTimeout(2_000);
  await openWorkbench(page, serverUrl, workspace);
  await newTerminal(page);
  await typeRun(page, userData, '0.84');
  await toast(page, /did not improve the score/).waitFor({ timeout: 15_000 });

  // The views.
  await runCommand(page, 'Focus on Run History View');
  const rows = page.locator('.monaco-list-row', { hasText: /^#\d/ });
  await until(async () => (await page.locator('.monaco-list-row', { hasText: '#7' }).count()) > 0, 15_000, 'run #7 in the tree');
  const labels = await page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row .label-name').allInnerTexts();
  assert(labels.length >= 7, `tree rows: ${labels.join(' | ')}`);
  assert(labels[0].startsWith('#7') && labels[0].includes('▼'), `newest first with ▼: ${labels[0]}`);
  assert(labels.some((l) => l.startsWith('#6') && l.includes('▲')), `#6 a new best ▲: ${labels.join(' | ')}`);
  void rows;
  await runCommand(page, 'Focus on Score Chart View');
  const chart = await chartFrame(page);
  await shot(page, 'watch-2-tree-and-chart');
  assert((await chart.locator('g.pt').count()) === 7, 'seven points');
  assert((await chart.locator('g.pt.idea.improved').count()) === 1, 'one improved idea marker');
  assert((await chart.locator('g.pt.idea.not-improved').count()) === 1, 'one not-improved idea marker');
  assert((await chart.locator('polyline.best-line').count()) === 1, 'best-so-far line');
  assert((await chart.locator('img').count()) === 0, 'the ACTION was injected as markup');
  await chart.locator('g.pt.idea.improved').hover();
  const tip = chart.locator('#tip');
  await tip.waitFor({ state: 'visible', timeout: 5_000 });
  const tipText = await tip.innerText();
  assert(tipText.includes(EVIL_ACTION), `tooltip shows the ACTION as text: ${tipText}`);
  await shot(page, 'watch-3-chart-hover');

  // Context menu on the newest run: open its output.
  await page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row', { hasText: '#7' }).first().click({ button: 'right' });
  await page.locator('.context-view .action-label', { hasText: 'Open Run Output' }).first().click();
  await page.locator('.tabs-container .tab', { hasText: 'output.log' }).first().waitFor({ timeout: 10_000 });
  await page.locator('.editor-instance .view-line', { hasText: 'val_acc: 0.8400' }).first().waitFor({ timeout: 10_000 });
  await shot(page, 'watch-4-run-output');
}

async function main(): Promise<number> {
  if (!process.argv.includes('--no-build') || !existsSync(VSIX)) {
    const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run package failed');
  }
  const workspace = copyDemoWorkspace();
  writeFileSync(join(workspace, 'e2e_train.py'), TRAIN_PY);
  const server = await startCodeServer({
    workspace,
    vsix: [VSIX],
    settings: { 'terminal.integrated.defaultProfile.linux': 'bash', 'ideator.provider': 'template-null', 'ideator.watch.plateauCooldownMinutes': 0 },
  });
  const { page, close } = await launchBrowser();
  const t0 = Date.now();
  try {
    await scenario(page, server.url, workspace, server.dirs.userData);
    console.log(`  ✓ e2e watch (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    console.log('vscode-e2e-watch: 1 passed, 0 failed');
    return 0;
  } catch (err) {
    await shot(page, 'watch-FAILED').catch(() => undefined);
    console.log(`  ✗ e2e watch: ${(err as Error).message.split('\n').slice(0, 8).join('\n    ')}`);
    console.log('vscode-e2e-watch: 0 passed, 1 failed');
    return 1;
  } finally {
    await close();
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log('vscode-e2e-watch: 0 passed, 1 failed');
    process.exit(1);
  },
);
