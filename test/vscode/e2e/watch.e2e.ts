/**
 * Run watching end to end in a real VS Code UI (code-server + Chromium): the packaged extension is installed, a
 * user types training commands in a bash terminal, the Run History tree and the Score Chart fill in, a plateau
 * prompt appears after three runs without a new best, and runs after applied ideas get coloured outcome markers
 * whose hover shows the idea's ACTION. Screenshots: test-results/watch-*.png.
 *
 * The two ideas are written into the history journal (as Ask Ideator + Apply would) and the window is reloaded, so
 * the test does not depend on a model; everything else is the real UI.
 * Scenario `big` (slow: the terminal renderer moves about 1 MB/s): a run printing 200 MB (IDEATOR_WATCH_BIG_MB) in
 * a real terminal; the extension host's RSS is sampled from /proc, and the recorded run must hold the bounded
 * head/tail, the full byte count and the final score.
 * Usage: node --import tsx test/vscode/e2e/watch.e2e.ts [--no-build] [ui] [big]   (default: ui)
 * Last line: "vscode-e2e-watch: N passed, M failed".
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { launchBrowser, ROOT, startCodeServer } from '../lib/codeServer';
import { findHistory, newTerminal, openWorkbench, runCommand, runCount, shot, toast, until } from '../lib/workbench';
import { BIG_OUTPUT_PY } from '../lib/scripts';
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

/**
 * Types a command into the active terminal and presses Enter, until `started()` confirms it ran. On a loaded
 * machine the browser can drop keystrokes ("python3 x.py" arriving as "py"): Ctrl+C clears the line and we retype.
 */
async function typeCommand(page: Page, command: string, started: () => boolean, waitMs = 20_000): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.locator('.terminal-wrapper.active .xterm').first().click();
    await page.keyboard.press('Control+C');
    await page.waitForTimeout(300);
    await page.keyboard.type(command, { delay: 25 });
    await page.keyboard.press('Enter');
    const ok = await until(started, waitMs, `"${command}" to start`).then(() => true, () => false);
    if (ok) return;
    if (attempt === 3) throw new Error(`"${command}" did not start after 3 attempts`);
  }
}

function processRunning(needle: string): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle)) return true;
    } catch {
      // gone
    }
  }
  return false;
}

async function typeRun(page: Page, userData: string, score: string): Promise<void> {
  const before = runCount(findHistory(userData));
  await typeCommand(page, `${PYTHON} e2e_train.py ${score}`, () => runCount(findHistory(userData)) > before);
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
  // The verdict leads the notification (#15).
  await toast(page, /Improved: val_acc 0\.\d+ → 0\.87 after/).waitFor({ timeout: 15_000 });
  await page.waitForTimeout(800);
  await shot(page, 'watch-outcome-improved');

  const t2 = Date.now();
  appendFileSync(history, `${idea('e2e-idea-2', 'Switch the optimiser to plain SGD without momentum', t2)}\n${applied('e2e-idea-2', t2 + 1)}\n`);
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForTimeout(2_000);
  await openWorkbench(page, serverUrl, workspace);
  await newTerminal(page);
  await typeRun(page, userData, '0.84');
  await toast(page, /No improvement: val_acc 0\.\d+ → 0\.84 after/).waitFor({ timeout: 15_000 });

  // The views.
  await runCommand(page, 'Focus on Run History View');
  const rows = page.locator('.monaco-list-row', { hasText: /^#\d/ });
  await until(async () => (await page.locator('.monaco-list-row', { hasText: '#7' }).count()) > 0, 15_000, 'run #7 in the tree');
  // The run rows only: the container also holds the Idea History tree, whose rows are ideas.
  const labels = (await page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row .label-name').allInnerTexts()).filter((l) => /^#\d/.test(l));
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
  const menuItem = page.locator('.context-view .action-label', { hasText: 'Open Run Output' }).first();
  await menuItem.waitFor({ timeout: 5_000 });
  await shot(page, 'watch-4-context-menu');
  // The menu can swallow a click that lands while it animates in: hover first, and fall back to the keyboard.
  await menuItem.hover();
  await menuItem.click();
  const tab = page.locator('.tabs-container .tab', { hasText: 'output.log' }).first();
  if (!(await tab.waitFor({ timeout: 3_000 }).then(() => true, () => false))) {
    if (await menuItem.isVisible()) await page.keyboard.press('Enter');
    await tab.waitFor({ timeout: 10_000 });
  }
  await page.locator('.editor-instance .view-line', { hasText: 'val_acc: 0.8400' }).first().waitFor({ timeout: 10_000 });
  await shot(page, 'watch-5-run-output');
}

const BIG_MB = Number(process.env.IDEATOR_WATCH_BIG_MB ?? 200);

/** The extension host of this code-server: the process whose environment carries our isolated XDG folder. */
function extensionHostPid(base: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('extensionHost')) continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`XDG_CONFIG_HOME=${join(base, 'xdg-config')}`)) return Number(pid);
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Two runs of BIG_MB each. Peak RSS after the first shows what a run costs while it streams (V8 collects lazily
 * under this allocation rate, so it grows with the output); the second run must not add to the peak by much more
 * than a run's bounded record if nothing is retained. The extension-host suite checks retained heap after a real GC.
 */
async function bigScenario(page: Page, serverUrl: string, workspace: string, dirs: { base: string; userData: string }): Promise<void> {
  writeFileSync(join(workspace, 'big_output.py'), BIG_OUTPUT_PY);
  await openWorkbench(page, serverUrl, workspace);
  await newTerminal(page);
  const pid = extensionHostPid(dirs.base);
  assert(pid, 'extension host process not found');
  const base = rssMB(pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMB(pid))), 250);
  const peaks: number[] = [];
  try {
    for (let round = 1; round <= 2; round++) {
      const t0 = Date.now();
      const before = runCount(findHistory(dirs.userData));
      const command = `${PYTHON} big_output.py ${BIG_MB}`;
      await typeCommand(page, command, () => processRunning(`big_output.py ${BIG_MB}`) || runCount(findHistory(dirs.userData)) > before);
      if (round === 1) {
        await page.waitForTimeout(15_000);
        await shot(page, 'watch-6-big-running');
      }
      await until(() => runCount(findHistory(dirs.userData)) > before, BIG_MB * 5_000 + 60_000, `the ${BIG_MB} MB run recorded`);
      peaks.push(peak);
      const secs = (Date.now() - t0) / 1000;
      const lines = readFileSync(findHistory(dirs.userData)!, 'utf8').trim().split('\n');
      const last = lines[lines.length - 1];
      const run = (JSON.parse(last) as { run: { command: string; outputBytes: number; outputHead: string; outputTail: string; primary: { name: string; value: number } } }).run;
      console.log(`  run ${round}: ${(run.outputBytes / 1e6).toFixed(1)} MB seen in ${secs.toFixed(0)} s (${(run.outputBytes / 1e6 / secs).toFixed(2)} MB/s); extension host RSS ${base.toFixed(0)} MB at start, peak ${peak.toFixed(0)} MB; stored record ${(last.length / 1024).toFixed(0)} KB`);
      assert(run.command.includes('big_output.py'), `last record is ${run.command}`);
      assert(run.outputBytes >= BIG_MB * 0.95e6, `outputBytes ${run.outputBytes}`);
      assert(run.outputHead.length <= 64 * 1024 && run.outputTail.length <= 256 * 1024, 'head/tail bounded');
      assert(run.primary?.name === 'val_rmse' && run.primary.value === 0.4321, `primary ${JSON.stringify(run.primary)}`);
    }
  } finally {
    clearInterval(sampler);
  }
  await shot(page, 'watch-7-big-done');
  const added = peaks[1] - peaks[0];
  console.log(`  second ${BIG_MB} MB run added ${added.toFixed(0)} MB to the peak (first run: +${(peaks[0] - base).toFixed(0)} MB over start)`);
  assert(added < Math.max(32, BIG_MB * 0.25), `the second run added ${added.toFixed(0)} MB to the peak: output is being retained`);
}

async function main(): Promise<number> {
  if (!process.argv.includes('--no-build') || !existsSync(VSIX)) {
    const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run package failed');
  }
  const picked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const names = picked.length ? picked : ['ui'];
  let passed = 0;
  let failed = 0;
  for (const name of names) {
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
      if (name === 'big') await bigScenario(page, server.url, workspace, server.dirs);
      else await scenario(page, server.url, workspace, server.dirs.userData);
      passed++;
      console.log(`  ✓ e2e watch ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed++;
      await shot(page, `watch-FAILED-${name}`).catch(() => undefined);
      console.log(`  ✗ e2e watch ${name}: ${(err as Error).message.split('\n').slice(0, 8).join('\n    ')}`);
    } finally {
      await close();
      await server.stop();
    }
  }
  console.log(`vscode-e2e-watch: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log('vscode-e2e-watch: 0 passed, 1 failed');
    process.exit(1);
  },
);
