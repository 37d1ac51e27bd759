/**
 * Issue 16, Verify on a companion server, in a real VS Code UI (code-server + Chromium, the packaged .vsix): a real
 * `ideator serve` (sandboxed, token required, the workspace folder as its data root `ws`) and the settings
 * ideator.verifyServer / ideator.verifyDataRoot. "Ideator: Ask for N Ideas" shows four ideas; the button says
 * "Verify on <host>"; the runs happen on the server (the upload is in its data dir) and the cards are ranked by the
 * measured val_auc exactly as local verification ranks them (askMany.e2e.ts). The token reaches the CLI only through
 * the environment (IDEATOR_SERVER_TOKEN). Screenshots, light and dark: test-results/verify-server-*.png.
 * Usage: node --import tsx test/vscode/e2e/verifyServer.e2e.ts [--no-build]
 * Last line: "vscode-e2e-verify-server: N passed, M failed".
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { formatIdea } from '../../../src/core/idea';
import { startServer, type RunningServer } from '../../integration/serverHarness';
import { startOpenAIServer } from '../../servers/openai';
import { GOOD_ANSWER } from '../lib/answers';
import { ROOT, startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { openFile, openWorkbench, runCommand, shot, themeOf, toggleTheme, until, webviewFrame } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';

const PYTHON = join(ROOT, '.venv/bin/python');
const TOKEN = `tok-${randomUUID()}`;

const idea = (analysis: string, action: string, code: string, rationale: string) =>
  formatIdea({ analysis, action: `${action}\n\n\`\`\`python\n${code}\n\`\`\``, rationale });
/** The ideas of askMany.e2e.ts: GOOD 0.995 > baseline 0.994 > MORE_ITER 0.9924 > STRONG_L2 0.9775 > FOREST 0.9729. */
const MORE_ITER = idea('lbfgs stops at max_iter=200 before it converges.', 'Give the solver more iterations:', 'def build_model():\n    return LogisticRegression(max_iter=5000)', 'A converged fit may generalise better.');
const STRONG_L2 = idea('The coefficients may overfit 455 rows.', 'Regularise much more strongly:', 'def build_model():\n    return LogisticRegression(C=0.0001, max_iter=200)', 'A small C shrinks the coefficients.');
const FOREST = idea(
  'A linear model may miss interactions between the 30 features.',
  'Switch to a random forest:',
  'from sklearn.ensemble import RandomForestClassifier\n\n\ndef build_model():\n    return RandomForestClassifier(n_estimators=200, random_state=0)',
  'Trees capture interactions without scaling.',
);

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** A screenshot in the current theme, then one in the other (the next call starts from that one). */
async function bothThemes(page: Page, name: string): Promise<void> {
  await shot(page, `${name}-${await themeOf(page)}`);
  await toggleTheme(page, 1200);
  await shot(page, `${name}-${await themeOf(page)}`);
}

async function phase(frame: Frame): Promise<string> {
  return (await frame.locator('.compare').first().getAttribute('data-phase').catch(() => null)) ?? '';
}

async function scenario(page: Page, url: string, workspace: string, server: RunningServer): Promise<void> {
  const host = new URL(server.url).host;
  await openWorkbench(page, url, workspace);
  await openFile(page, 'train.py');
  await runCommand(page, 'Ideator: Ask for N Ideas');
  const frame = await webviewFrame(page, 'ideas-compare', 60_000);
  await until(async () => (await phase(frame)) === 'ready', 90_000, 'the four ideas');
  const label = (await frame.locator('button[data-verify]').textContent()) ?? '';
  assert(label.includes(`Verify on ${host} (2 parallel, budget 10 min)`), `the Verify button says '${label}'`);
  await page.waitForTimeout(600);
  await bothThemes(page, 'verify-server-ideas');

  await frame.locator('button[data-verify]').click();
  const pick = page.locator('.quick-input-widget');
  await pick.locator('.monaco-list-row', { hasText: '2 at a time, at most 10 min' }).first().waitFor({ timeout: 15_000 });
  const box = pick.locator('input.input');
  const question = [await pick.textContent(), await box.getAttribute('placeholder'), await box.getAttribute('aria-label'), await box.getAttribute('title')].join(' ');
  assert(question.includes(`on ${host}`), `the question does not name the server: ${question.slice(0, 300)}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget', { hasText: 'The command that produced the current score' }).waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await until(async () => (await phase(frame)) === 'verifying', 15_000, 'the verification to start');
  await until(async () => (await phase(frame)) === 'verified', 300_000, 'the verification to end');
  const order = await frame.locator('article.card').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-number')}:${e.querySelector('.status')?.textContent}`));
  assert(order.join(' ') === '1:improved 2:worse 3:worse 4:worse', `ranking: ${order.join(' ')}`);
  const baseline = (await frame.locator('.baseline').textContent()) ?? '';
  assert(/Baseline: val_auc 0\.994 ± 0 over 3 runs/.test(baseline), `the baseline line: ${baseline}`);
  // The runs happened on the server: the workspace's source files are in its uploads.
  const uploads = join(server.dataDir, 'workspaces');
  assert(existsSync(uploads) && readdirSync(uploads).filter((n) => /^[0-9a-f]{64}$/.test(n)).length === 1, 'no upload on the server');
  assert(/verify [0-9a-f]{10}: 4 idea\(s\), 3 baseline run\(s\)/.test(server.stderr()), `the server's log: ${server.stderr().slice(-600)}`);
  await page.waitForTimeout(600);
  await bothThemes(page, 'verify-server-verified');
}

async function main(): Promise<number> {
  packageExtension();
  const answers = [GOOD_ANSWER, MORE_ITER, STRONG_L2, FOREST];
  const openai = await startOpenAIServer({ responses: (_req, n) => ({ text: answers[n % 4], chunkSize: 12, chunkDelayMs: 15 }) });
  const workspace = copyDemoWorkspace();
  const server = await startServer({ args: ['--slots', '2', '--data-root', `ws=${workspace}`], env: { IDEATOR_SERVER_TOKEN: TOKEN, IDEATOR_PYTHON: PYTHON } });
  const cs = await startCodeServer({
    workspace,
    vsix: [VSIX],
    env: { IDEATOR_SERVER_TOKEN: TOKEN },
    settings: {
      'ideator.provider': 'openai',
      'ideator.baseUrl': openai.url,
      'ideator.model': 'ideator-qwen3-8b',
      'ideator.requestTimeoutSeconds': 120,
      'ideator.reviewQueryBeforeSending': false,
      'ideator.ideaCount': 4,
      'ideator.primaryMetric': 'val_auc',
      'ideator.verifyServer': server.url,
      'ideator.verifyDataRoot': 'ws',
      'workbench.colorTheme': 'Default Light Modern',
    },
  });
  return runScenario(
    {
      suite: 'vscode-e2e-verify-server',
      label: 'verify on a companion server',
      shotPrefix: 'verify-server',
      cleanup: [() => cs.stop(), () => openai.close(), () => server.stop(), async () => rmSync(server.dataDir, { recursive: true, force: true })],
    },
    (page) => scenario(page, cs.url, workspace, server),
  );
}

exitWith('vscode-e2e-verify-server', main);
