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
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../integration/serverHarness';
import { startOpenAIServer } from '../../servers/openai';
import { FOREST, GOOD_ANSWER, MORE_ITER, STRONG_L2 } from '../lib/answers';
import { ROOT, startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { assert, bothThemes, openFile, openWorkbench, phase, runCommand, until, webviewFrame } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';

const PYTHON = join(ROOT, '.venv/bin/python');
const TOKEN = `tok-${randomUUID()}`;

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
  await bothThemes(page, 'verify-server-ideas', { back: false });

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
  await bothThemes(page, 'verify-server-verified', { back: false });
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
