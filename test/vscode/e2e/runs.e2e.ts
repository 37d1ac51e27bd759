/**
 * The run itself (#15) end to end in a real VS Code UI (code-server + Chromium, the packaged .vsix): three real runs
 * of an epoch-printing script typed in a bash terminal (the script edited between runs), then
 *   - the Score Chart's runs view (its subtitle says which epoch is each run's score; the legend fits the default
 *     view height),
 *   - a run clicked in the Run History: the chart shows its per-epoch curves (train dashed, validation solid, the
 *     x axis named "epoch"), "All runs" goes back,
 *   - two runs selected (Ctrl+click) and "Compare Runs" from the context menu: the comparison page in the editor
 *     area, and its "Show code diff" link opens VS Code's diff editor between the two runs' code,
 * each screenshot in the dark and the light theme (whichever code-server starts with first) (test-results/runs-*.png).
 * Usage: node --import tsx test/vscode/e2e/runs.e2e.ts [--no-build]
 * Last line: "vscode-e2e-runs: N passed, M failed".
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { launchBrowser, ROOT, startCodeServer } from '../lib/codeServer';
import { findHistory, newTerminal, openWorkbench, runCommand, runCount, shot, themeOf, toggleTheme, until } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';

const VSIX = join(ROOT, 'dist/mle-ideator.vsix');
const PYTHON = process.env.IDEATOR_PYTHON || 'python3';

/** val_auc climbs to `peak` at epoch 4 of 6, then settles at `last`; the losses fall. */
function epochsPy(version: string): string {
  return `# ${version}
import sys, time
peak, last = float(sys.argv[1]), float(sys.argv[2])
for e in range(1, 7):
    auc = peak - 0.03 * abs(4 - e) if e < 6 else last
    print(f"epoch {e}: train_loss={0.9 / e:.4f} val_loss={1.0 / e + 0.02 * max(0, e - 4):.4f} val_auc={auc:.4f}", flush=True)
    time.sleep(0.05)
`;
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Types a run into the terminal until it is recorded (a loaded browser can drop keystrokes: Ctrl+C and retype). */
async function typeRun(page: Page, userData: string, args: string): Promise<void> {
  const before = runCount(findHistory(userData));
  for (let attempt = 1; ; attempt++) {
    await page.locator('.terminal-wrapper.active .xterm').first().click();
    await page.keyboard.press('Control+C');
    await page.waitForTimeout(300);
    await page.keyboard.type(`${PYTHON} epochs.py ${args}`, { delay: 20 });
    await page.keyboard.press('Enter');
    const ok = await until(() => runCount(findHistory(userData)) > before, 25_000, 'the run to be recorded').then(() => true, () => false);
    if (ok) return;
    if (attempt === 3) throw new Error(`"epochs.py ${args}" was not recorded after 3 attempts`);
  }
}

/** The content frame of one of the extension's webviews, found by a selector only its page has. */
async function frameWith(page: Page, selector: string, what: string, timeoutMs = 20_000): Promise<Frame> {
  let found: Frame | undefined;
  await until(
    async () => {
      for (const f of page.frames()) {
        if (await f.evaluate((sel) => document.querySelector(sel) !== null, selector).catch(() => false)) {
          found = f;
          return true;
        }
      }
      return false;
    },
    timeoutMs,
    what,
  ).catch(async (err: Error) => {
    const bodies = await Promise.all(
      page.frames().map((f) => f.evaluate((sel) => `${document.body?.className ?? ''}: ${document.querySelector(sel) !== null}`, selector).catch((e: Error) => `? ${e.message.slice(0, 80)}`)),
    );
    throw new Error(`${err.message}; frames (body class: has it): ${JSON.stringify(bodies.filter(Boolean))}`);
  });
  return found!;
}

function treeRow(page: Page, n: number) {
  return page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row', { hasText: new RegExp(`^#${n}\\s`) }).first();
}

/** The legend's bottom lies inside the chart view's body (not cut off at the view's height). */
async function legendFits(frame: Frame): Promise<{ ok: boolean; detail: string }> {
  return frame.evaluate(() => {
    const legend = document.getElementById('legend')!.getBoundingClientRect();
    return { ok: legend.bottom <= window.innerHeight + 0.5 && legend.height > 0, detail: `legend bottom ${legend.bottom.toFixed(0)} of ${window.innerHeight}` };
  });
}

/**
 * The Score Chart's view of all runs. A run selected in the Run History (focusing the tree selects its first run; the
 * event can come a moment later) shows that run's curves instead: "All runs" goes back.
 */
async function runsView(page: Page): Promise<Frame> {
  await runCommand(page, 'Focus on Score Chart View');
  await page.waitForTimeout(1_500);
  const chart = await frameWith(page, 'svg.score-chart, #panels', 'the score chart');
  if (await chart.evaluate(() => document.body.classList.contains('run-view'))) await chart.locator('button[data-action="back"]').click();
  return frameWith(page, 'body.runs-view svg.score-chart', 'the runs view of the score chart');
}

/** Collapses the side bar's views with these titles (when expanded), to give the Score Chart room. */
async function collapseViews(page: Page, titles: string[]): Promise<void> {
  const headers = page.locator('.part.sidebar .pane-header[aria-expanded="true"]');
  for (let i = (await headers.count()) - 1; i >= 0; i--) {
    const title = ((await headers.nth(i).locator('.title').first().textContent().catch(() => '')) ?? '').trim().toLowerCase();
    if (titles.includes(title)) await headers.nth(i).click();
  }
  await page.waitForTimeout(500);
}

async function scenario(page: Page, serverUrl: string, workspace: string, userData: string): Promise<void> {
  await openWorkbench(page, serverUrl, workspace);
  const first = await themeOf(page);
  const second = first === 'dark' ? 'light' : 'dark';
  await newTerminal(page);
  const runs: [string, string][] = [['0.80', '0.78'], ['0.88', '0.84'], ['0.86', '0.86']];
  for (let i = 0; i < runs.length; i++) {
    writeFileSync(join(workspace, 'epochs.py'), epochsPy(`version ${i + 1}${i === 2 ? ', dropout 0.2' : ''}`));
    await typeRun(page, userData, runs[i].join(' '));
  }
  await runCommand(page, 'View: Hide Panel');

  // The runs view at the default layout: every view of the container open, the legend fits.
  await runCommand(page, 'Focus on Run History View');
  await until(async () => (await treeRow(page, 3).count()) > 0, 15_000, 'run #3 in the Run History');
  let chart = await runsView(page);
  assert((await chart.locator('g.pt').count()) === 3, 'three points');
  const subtitle = await chart.locator('text.subtitle').textContent();
  assert(subtitle === "each run's score: its last epoch", `subtitle: ${subtitle}`);
  const fits = await legendFits(chart);
  assert(fits.ok, `the legend is cut off at the default height: ${fits.detail}`);
  await shot(page, `runs-1-chart-${first}`);
  // The rest with the Idea views collapsed: the Run History and a taller Score Chart.
  await collapseViews(page, ['idea', 'idea history']);

  // A run clicked in the Run History: its curves.
  await treeRow(page, 2).click();
  chart = await frameWith(page, '#panels .curve-chart', "the run's curves");
  const axis = await chart.locator('#panels').getAttribute('data-axis');
  assert(axis === 'epoch', `x axis ${axis}`);
  assert((await chart.locator('g.curve.train[data-metric="train_loss"]').count()) === 1, 'train_loss as a train line');
  assert((await chart.locator('g.curve.validation[data-metric="val_loss"]').count()) === 1, 'val_loss as a validation line');
  const summary = (await chart.locator('#summary').innerText()).replace(/\s+/g, ' ');
  assert(summary.includes('Run #2') && summary.includes('val_auc 0.84 (last epoch; last 0.84, best 0.88 at epoch 4)'), `summary: ${summary}`);
  await shot(page, `runs-2-curves-${first}`);
  await chart.locator('button[data-action="back"]').click();
  chart = await frameWith(page, 'body.runs-view svg.score-chart', 'the runs view again');

  // Two runs selected, Compare Runs from the context menu.
  await treeRow(page, 3).click();
  await treeRow(page, 1).click({ modifiers: ['Control'] });
  await treeRow(page, 1).click({ button: 'right' });
  const item = page.locator('.context-view .action-label', { hasText: 'Compare Runs' }).first();
  await item.waitFor({ timeout: 5_000 });
  // The menu can swallow a click that lands while it animates in: hover first, and fall back to the keyboard.
  await item.hover();
  await item.click();
  const opened = await frameWith(page, 'table.metrics', 'the comparison page', 4_000).then(() => true, () => false);
  if (!opened && (await item.isVisible())) await page.keyboard.press('Enter');
  const compare = await frameWith(page, 'table.metrics', 'the comparison page');
  const heading = await compare.locator('h1').innerText();
  assert(heading === 'Run #1 ↔ Run #3', `heading: ${heading}`);
  const score = (await compare.locator('tr.score').innerText()).replace(/\s+/g, ' ');
  assert(score.includes('0.78') && score.includes('0.86') && score.includes('+0.08'), `score row: ${score}`);
  const facts = await compare.locator('table.facts').innerText();
  assert(facts.includes('epochs.py 0.80 0.78') && facts.includes('epochs.py 0.86 0.86'), `command lines: ${facts}`);
  await shot(page, `runs-3-compare-${first}`);
  await compare.locator('a', { hasText: 'Show code diff' }).click();
  await page.locator('.tabs-container .tab', { hasText: /run #1 ↔ run #3/ }).first().waitFor({ timeout: 15_000 });
  await page.locator('.monaco-diff-editor .view-line', { hasText: 'dropout 0.2' }).first().waitFor({ timeout: 10_000 });
  await shot(page, `runs-4-code-diff-${first}`);

  // The same views in the other theme.
  // Waits until the workbench is painted in the other theme (a fixed 1 s was too short for a slow workbench).
  await toggleTheme(page);
  assert((await themeOf(page)) === second, `the theme did not change to ${second}`);
  await shot(page, `runs-4-code-diff-${second}`);
  await page.locator('.tabs-container .tab', { hasText: /Runs #1 ↔ #3/ }).first().click();
  await frameWith(page, 'table.metrics', 'the comparison page');
  await page.waitForTimeout(500);
  await shot(page, `runs-3-compare-${second}`);
  await runCommand(page, 'View: Close All Editors');
  chart = await runsView(page);
  await page.waitForTimeout(500);
  await shot(page, `runs-1-chart-${second}`);
  await chart.locator('g.pt').nth(1).click();
  chart = await frameWith(page, '#panels .curve-chart', "the run's curves");
  await page.waitForTimeout(500);
  await shot(page, `runs-2-curves-${second}`);
}

async function main(): Promise<number> {
  if (!process.argv.includes('--no-build') || !existsSync(VSIX)) {
    const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run package failed');
  }
  const workspace = copyDemoWorkspace();
  const server = await startCodeServer({
    workspace,
    vsix: [VSIX],
    settings: { 'terminal.integrated.defaultProfile.linux': 'bash', 'ideator.provider': 'template-null', 'ideator.watch.plateauRuns': 0 },
  });
  const { page, close } = await launchBrowser();
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  try {
    await scenario(page, server.url, workspace, server.dirs.userData);
    passed++;
    console.log(`  ✓ e2e runs: curves, compare, code diff, light and dark (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed++;
    await shot(page, 'runs-FAILED').catch(() => undefined);
    writeFileSync(join(ROOT, 'test-results', 'runs-code-server.log'), server.logs());
    console.log(`  ✗ e2e runs: ${(err as Error).message.split('\n').slice(0, 8).join('\n    ')}`);
  } finally {
    await close();
    await server.stop();
  }
  console.log(`vscode-e2e-runs: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log('vscode-e2e-runs: 0 passed, 1 failed');
    process.exit(1);
  },
);
