/**
 * Issue 15's whole journey in a real VS Code UI (code-server + Chromium, the packaged .vsix, the local
 * OpenAI-compatible test server): a fresh install with no Ideator settings; Choose Provider → the test server (its
 * model picked from the server's list); run 1 of the demo train.py in the terminal (Run History fills); Ask
 * Ideator → an idea; a follow-up ("Why?"); Apply with the in-editor review (the default: no diff tab, Keep / Undo
 * on each change): one change kept, one undone, the last kept; run 2 → the outcome notification;
 * Ask again → another idea, applied and kept; Apply it again → "already contains this idea's code"; run 3 → Run
 * History shows 3 runs and Idea History both outcomes. Screenshots (light and dark): test-results/journey-*.png.
 * Usage: node --import tsx test/vscode/e2e/journey.e2e.ts [--no-build]
 * Last line: "vscode-e2e-journey: N passed, M failed".
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { startOpenAIServer, type ChatRequest, type OpenAIServer, type ScriptedReply } from '../../servers/openai';
import { ROOT, startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { findHistory, ideaPanelFrame, newTerminal, openFile, openWorkbench, reviewQueryFrame, runCommand, runCount, shot, themeOf, toast, toggleTheme, until } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';

const PYTHON = process.env.IDEATOR_PYTHON || join(ROOT, '.venv/bin/python');

/**
 * The terminal's user (its screenshot is the README's): a home of its own, the workspace's parent, so the prompt
 * reads `~/demo $` and not this machine's user, host or temp path; its .bashrc puts ~/.venv/bin (a link to this
 * checkout's venv) first on PATH, as an activated venv would, so the test types what a user types (`python train.py`)
 * and Python's own paths (a warning's file) lie under that home's .venv (a temporary folder), never the checkout. Only
 * the terminal gets this HOME.
 */
function terminalHome(workspace: string): string {
  const home = dirname(workspace);
  const venv = dirname(dirname(PYTHON));
  if (existsSync(join(venv, 'pyvenv.cfg'))) {
    symlinkSync(venv, join(home, '.venv'));
  } else {
    // A plain interpreter (IDEATOR_PYTHON outside a venv) finds its own prefix through the link.
    mkdirSync(join(home, '.venv', 'bin'), { recursive: true });
    symlinkSync(PYTHON, join(home, '.venv', 'bin', 'python'));
  }
  writeFileSync(join(home, '.bashrc'), `PS1='\\w $ '\nexport PATH="$HOME/.venv/bin:$PATH"\n`);
  return home;
}

/** Three changes: two imports, the model, and a print in main() (the one the test undoes). */
const FIRST = `ANALYSIS_ON_CURRENT_PROGRESS: The baseline fits an unscaled logistic regression; lbfgs stops at max_iter=200, so the fit is not at its optimum.

ACTION: Standardise the features inside a pipeline, and print the training size:

\`\`\`python
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build_model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))


def main():
    X_train, X_val, y_train, y_val = load_data()
    print(f"train_rows={len(X_train)}")
    model = build_model()
    model.fit(X_train, y_train)
    proba = model.predict_proba(X_val)[:, 1]
    print(f"val_auc={roc_auc_score(y_val, proba):.4f}")
\`\`\`

RATIONALE: Scaling makes the problem well conditioned, so lbfgs converges.`;

const WHY = 'Because lbfgs warns that it did not converge: on unscaled features the loss surface is badly conditioned. Scaling fixes that.';

const SECOND = `ANALYSIS_ON_CURRENT_PROGRESS: The scaled model converges; the penalty is now the knob.

ACTION: Relax the L2 penalty:

\`\`\`python
def build_model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=1000))
\`\`\`

RATIONALE: With scaled features a weaker penalty lets the model use the informative features more.`;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function lastUser(req: ChatRequest): string {
  const users = req.messages.filter((m) => m.role === 'user');
  return String(users[users.length - 1]?.content ?? '');
}

let asks = 0;
function reply(req: ChatRequest): ScriptedReply {
  const q = lastUser(req);
  if (/TYPE:/.test(q) && /Data Preparation/.test(q)) return { text: 'TYPE: Model Training\nRATIONALE: scaling' };
  if (q.includes('A follow-up on your advice')) return { text: WHY };
  asks++;
  return { text: asks === 1 ? FIRST : SECOND, chunkSize: 40, chunkDelayMs: 5 };
}

/** Types `python train.py` (the terminal's PATH: see terminalHome) in the terminal until the run history records one more run (keystrokes can drop). */
async function trainRun(page: Page, userData: string): Promise<void> {
  const before = runCount(findHistory(userData));
  for (let attempt = 1; ; attempt++) {
    await page.locator('.terminal-wrapper.active .xterm').first().click();
    if (attempt > 1) {
      // What a dropped keystroke left on the line goes first. (Not before the first try: the prompt is clean, and a
      // ^C line would sit in the README's screenshot of this terminal.)
      await page.keyboard.press('Control+C');
      await page.waitForTimeout(300);
    }
    await page.keyboard.type('python train.py', { delay: 20 });
    await page.keyboard.press('Enter');
    if (await until(() => runCount(findHistory(userData)) > before, 60_000, 'the run to be recorded').then(() => true, () => false)) return;
    if (attempt === 3) throw new Error('the training run was not recorded after 3 attempts');
  }
}

/** Quick Open train.py (retried: just after a reload the file index can take a while). */
async function openTrain(page: Page): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await openFile(page, 'train.py').then(() => true, () => false)) return;
    await page.keyboard.press('Escape');
    if (attempt === 4) throw new Error('train.py could not be opened with Quick Open');
  }
}

async function clearToasts(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await page.waitForTimeout(300);
}

/** A screenshot in the current theme and one in the other (named by the theme shown), then back. */
async function shots(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const theme = await themeOf(page);
    await page.mouse.move(900, 120);
    await page.waitForTimeout(400);
    await shot(page, `${name}-${theme}`);
    await toggleTheme(page);
  }
}

/** The CodeLens group (one per changed hunk) right above the editor line that contains `text`. */
async function lensAbove(page: Page, text: string) {
  const line = page.locator('.editor-instance .monaco-editor .view-line', { hasText: text }).first();
  await line.waitFor({ timeout: 15_000 });
  const groups = page.locator('.editor-instance .monaco-editor .codelens-decoration');
  // CodeLens render a moment after the change (the editor debounces them) and push the lines below them down: the
  // line and the lenses are measured again until the same lens sits right above the line twice in a row (a fixed
  // 500 ms after the first lens appeared, with the line measured before, assumed the layout had settled by then).
  let best = -1;
  let seen = '';
  let previous = -1;
  await until(
    async () => {
      const y = (await line.boundingBox())?.y;
      let found = -1;
      let foundY = -Infinity;
      const ys: string[] = [];
      for (let i = 0; i < (await groups.count()); i++) {
        const box = await groups.nth(i).boundingBox();
        ys.push(`${box?.y}`);
        if (y !== undefined && box && box.y <= y && box.y > foundY) {
          found = i;
          foundY = box.y;
        }
      }
      seen = `line at y=${y}; lenses at ${ys.join(', ')}`;
      const stable = found >= 0 && y !== undefined && y - foundY < 40 && found === previous;
      previous = found >= 0 && y !== undefined && y - foundY < 40 ? found : -1;
      if (stable) best = found;
      return stable;
    },
    15_000,
    `a Keep / Undo lens right above "${text}"`,
  ).catch(() => undefined);
  assert(best >= 0, `no Keep / Undo lens right above "${text}" (${seen})`);
  return groups.nth(best);
}

async function clickLens(page: Page, above: string, title: RegExp): Promise<void> {
  const group = await lensAbove(page, above);
  await group.locator('a', { hasText: title }).first().click();
  await page.waitForTimeout(500);
}

async function applyFromPanel(page: Page): Promise<void> {
  await clearToasts(page);
  // The Idea tab forward (an editor opened since may cover it).
  await runCommand(page, 'Ideator: Open Idea in Editor');
  await page.waitForTimeout(500);
  await (await ideaPanelFrame(page)).locator('#apply').click();
}

async function scenario(page: Page, url: string, workspace: string, userData: string, server: OpenAIServer): Promise<void> {
  const trainPath = join(workspace, 'train.py');
  const original = readFileSync(trainPath, 'utf8');
  await openWorkbench(page, url, workspace);

  // Choose Provider: the test server, its model picked from its list. (A freshly installed extension's commands
  // can take a while to reach the palette on a loaded machine.)
  for (let attempt = 1; ; attempt++) {
    if (await runCommand(page, 'Ideator: Choose Provider').then(() => true, () => false)) break;
    await page.keyboard.press('Escape');
    if (attempt === 4) throw new Error('"Ideator: Choose Provider" never reached the command palette');
  }
  const row = (text: string) => page.locator('.quick-input-list .monaco-list-row', { hasText: text });
  await row('OpenAI-compatible server').waitFor({ timeout: 15_000 });
  await row('OpenAI-compatible server').click();
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(server.url);
  await page.keyboard.press('Enter');
  await row('ideator-qwen3-4b').waitFor({ timeout: 20_000 });
  await row('ideator-qwen3-4b').click();
  await toast(page, `connected to ${server.url}`).first().waitFor({ timeout: 15_000 });
  // Choose Provider wrote the provider settings and nothing else: Apply below is the default one.
  const settingsPath = join(userData, 'User/settings.json');
  const settings = JSON.parse(readFileSync(settingsPath, 'utf8')) as Record<string, unknown>;
  assert(!Object.keys(settings).some((k) => k.startsWith('ideator.') && !['ideator.provider', 'ideator.baseUrl', 'ideator.model'].includes(k)), `settings: ${JSON.stringify(settings)}`);

  // Run 1.
  await openTrain(page);
  await newTerminal(page);
  await trainRun(page, userData);
  await runCommand(page, 'Focus on Run History View');
  await page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row', { hasText: '#1' }).first().waitFor({ timeout: 15_000 });

  // Ask → idea; "Why?".
  await openTrain(page);
  await runCommand(page, 'Ideator: Ask Ideator');
  await (await reviewQueryFrame(page)).locator('#send').click();
  const P = () => ideaPanelFrame(page);
  await (await P()).locator('#apply').waitFor({ timeout: 60_000 });
  await clearToasts(page);
  await (await P()).locator('button[data-followup="why"]').click();
  await (await P()).locator('h2', { hasText: 'ANSWER' }).waitFor({ timeout: 60_000 });
  await (await P()).locator('a[data-command="open"]').click();
  await (await P()).locator('#apply').waitFor({ timeout: 15_000 });

  // Apply: written at once, three changes each with Keep / Undo; Keep All / Undo All on the first.
  await applyFromPanel(page);
  await toast(page, /applied to train\.py: .*Keep or Undo each of the 3 changes/).first().waitFor({ timeout: 30_000 });
  const first = await lensAbove(page, 'from sklearn.pipeline import make_pipeline');
  assert((await first.locator('a', { hasText: 'Keep All 3' }).count()) === 1 && (await first.locator('a', { hasText: 'Undo All 3' }).count()) === 1, 'no Keep All / Undo All on the first change');
  await shots(page, 'journey-1-inline-review');
  await clickLens(page, 'from sklearn.pipeline import make_pipeline', /^\W*Keep$/);
  await clickLens(page, 'train_rows=', /^\W*Undo$/);
  await until(() => !readFileSync(trainPath, 'utf8').includes('train_rows'), 10_000, 'the undone change to be gone from the saved file');
  await clickLens(page, 'make_pipeline(StandardScaler()', /^\W*Keep$/);
  await until(async () => (await page.locator('.editor-instance .monaco-editor .codelens-decoration a', { hasText: /Keep|Undo/ }).count()) === 0, 10_000, 'the review to end');
  const kept = readFileSync(trainPath, 'utf8');
  const expected = original
    .replace('from sklearn.model_selection import train_test_split\n', 'from sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n')
    .replace('    return LogisticRegression(max_iter=200)', '    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))');
  assert(kept === expected, `train.py after the review:\n${kept}`);

  // Run 2 → the outcome of the idea.
  await clearToasts(page);
  await trainRun(page, userData);
  await toast(page, /(Improved|No improvement): val_auc .* after/).first().waitFor({ timeout: 20_000 });

  // Another idea, applied and kept; run 3.
  await openTrain(page);
  await runCommand(page, 'Ideator: Ask Ideator');
  await (await reviewQueryFrame(page)).locator('#send').click();
  await until(async () => (await (await P()).locator('body', { hasText: 'Relax the L2 penalty' }).count()) === 1, 60_000, 'the second idea');
  await applyFromPanel(page);
  await toast(page, /Keep or Undo the change/).first().waitFor({ timeout: 30_000 });
  await clickLens(page, 'C=2.0', /^\W*Keep$/);
  const second = readFileSync(trainPath, 'utf8');
  assert(second.includes('C=2.0, max_iter=1000'), 'the second idea is not in the file');
  // Apply it again: already there, nothing changes. (The first idea would not be: one of its changes was undone.)
  await applyFromPanel(page);
  await toast(page, /already contains this idea's code/).first().waitFor({ timeout: 15_000 });
  assert(readFileSync(trainPath, 'utf8') === second, 'an already-applied idea changed the file');
  await clearToasts(page);
  await trainRun(page, userData);
  await toast(page, /(Improved|No improvement): val_auc .* after/).first().waitFor({ timeout: 20_000 });

  // The history: three runs; both ideas with their outcomes.
  assert(runCount(findHistory(userData)) === 3, `${runCount(findHistory(userData))} runs recorded`);
  await runCommand(page, 'Focus on Run History View');
  await until(async () => (await page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row', { hasText: '#3' }).count()) > 0, 15_000, 'run #3 in Run History');
  const labels = (await page.locator('[id="workbench.view.extension.ideator"] .monaco-list-row .label-name').allInnerTexts()).filter((l) => /^#\d/.test(l));
  assert(labels.length === 3, `run rows: ${labels.join(' | ')}`);
  await runCommand(page, 'Focus on Idea History View');
  const outcomes = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: 'Idea History' }) }).locator('.monaco-list-row', { hasText: /Improved|No improvement/ });
  await until(async () => (await outcomes.count()) === 2, 15_000, 'both ideas with their outcomes in Idea History');
  await shots(page, 'journey-2-history');
}

async function main(): Promise<number> {
  packageExtension();
  const server = await startOpenAIServer({ responses: reply, models: ['ideator-qwen3-4b', 'Qwen/Qwen3-8B'] });
  const workspace = copyDemoWorkspace();
  const cs = await startCodeServer({
    workspace,
    vsix: [VSIX],
    env: { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' },
    settings: { 'terminal.integrated.env.linux': { HOME: terminalHome(workspace) } },
  });
  return runScenario({ suite: 'vscode-e2e-journey', label: 'journey', shotPrefix: 'journey', cleanup: [() => cs.stop(), () => server.close()] }, (page) =>
    scenario(page, cs.url, workspace, cs.dirs.userData, server),
  );
}

exitWith('vscode-e2e-journey', main);
