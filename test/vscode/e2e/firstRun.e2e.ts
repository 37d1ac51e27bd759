/**
 * The first run of a fresh install in a real VS Code UI (code-server + Chromium), issue 15: nobody has chosen a
 * provider and no key is stored, VS Code opens walkthroughs on install (its default): the getting-started
 * walkthrough opens once, with its "Run your training script" step; "Ideator: Choose Provider" offers Claude, an
 * OpenAI-compatible server (a connection test against the local OpenAI-compatible test server) and the offline
 * example; after a reload the walkthrough does not open again; the next Ask answers. Screenshots (light and dark):
 * test-results/first-run-*.png.
 * Usage: node --import tsx test/vscode/e2e/firstRun.e2e.ts [--no-build]
 * Last line: "vscode-e2e-first-run: N passed, M failed".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startOpenAIServer, type OpenAIServer } from '../../servers/openai';
import { GOOD_ANSWER } from '../lib/answers';
import { startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { ideaPanelFrame, openFile, openWorkbench, reviewQueryFrame, runCommand, shot, toast, toggleTheme, until } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';


function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const walkthrough = (page: Page) => page.locator('.gettingStartedContainer', { hasText: 'First idea with MLE Ideator' });

/** Whether a log file of the extension (its output channel) under the user-data folder contains `text`. */
function logMentions(userData: string, text: string): boolean {
  return readdirSync(userData, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.log') && f.includes('MLE Ideator'))
    .some((f) => readFileSync(join(userData, f), 'utf8').includes(text));
}

async function scenario(page: Page, url: string, workspace: string, userData: string, server: OpenAIServer): Promise<void> {
  const settingsPath = join(userData, 'User/settings.json');
  await openWorkbench(page, url, workspace);
  // The walkthrough opens by itself, once: nobody chose who answers yet.
  await walkthrough(page).first().waitFor({ timeout: 30_000 });
  const steps = await walkthrough(page).first().locator('.getting-started-step .step-title').allTextContents();
  const run = steps.findIndex((t) => /Run your training script/.test(t));
  const ask = steps.findIndex((t) => /Ask Ideator/.test(t));
  assert(run >= 0 && run < ask, `the run step is missing or after Ask: ${JSON.stringify(steps)}`);
  await until(() => logMentions(userData, 'First start: opening the getting-started walkthrough'), 10_000, 'the extension to say it opened the walkthrough');
  await page.waitForTimeout(800);
  await shot(page, 'first-run-1-walkthrough-light');
  await toggleTheme(page);
  await shot(page, 'first-run-2-walkthrough-dark');

  // Choose Provider: the three choices; an OpenAI-compatible server is tested by listing its models, then saved.
  await runCommand(page, 'Ideator: Choose Provider');
  const row = (text: string) => page.locator('.quick-input-list .monaco-list-row', { hasText: text });
  await row('Offline example').waitFor({ timeout: 15_000 });
  assert((await row('Claude').count()) === 1 && (await row('OpenAI-compatible server').count()) === 1, 'a provider choice is missing');
  await shot(page, 'first-run-3-choose-provider-dark');
  await row('OpenAI-compatible server').click();
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(server.url);
  await page.keyboard.press('Enter');
  await row('ideator-qwen3-4b').waitFor({ timeout: 20_000 });
  await shot(page, 'first-run-4-pick-model-dark');
  await row('ideator-qwen3-4b').click();
  await toast(page, `connected to ${server.url}; the Ideator is "ideator-qwen3-4b"`).first().waitFor({ timeout: 15_000 });
  const saved = JSON.parse(readFileSync(settingsPath, 'utf8')) as Record<string, unknown>;
  assert(saved['ideator.provider'] === 'openai' && saved['ideator.baseUrl'] === server.url && saved['ideator.model'] === 'ideator-qwen3-4b', `settings: ${JSON.stringify(saved)}`);
  await toggleTheme(page);
  await shot(page, 'first-run-5-connected-light');

  // Once: a reload does not open the walkthrough again.
  await runCommand(page, 'View: Close All Editors');
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForTimeout(2_000);
  await openWorkbench(page, url, workspace);
  await page.waitForTimeout(4_000);
  assert((await walkthrough(page).count()) === 0, 'the walkthrough opened a second time');

  // And the chosen server answers.
  await openFile(page, 'train.py');
  await runCommand(page, 'Ideator: Ask Ideator');
  const review = await reviewQueryFrame(page);
  await review.locator('#send').click();
  const panel = await ideaPanelFrame(page);
  await panel.locator('#apply').waitFor({ timeout: 60_000 });
  await until(() => server.requests.some((r) => r.model === 'ideator-qwen3-4b'), 10_000, 'a request for the picked model');
}

async function main(): Promise<number> {
  packageExtension();
  const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER }], models: ['ideator-qwen3-4b', 'Qwen/Qwen3-8B'] });
  const workspace = copyDemoWorkspace();
  // VS Code's default: walkthroughs open on install (the other suites turn that off). No key in the environment.
  const cs = await startCodeServer({
    workspace,
    vsix: [VSIX],
    settings: { 'workbench.welcomePage.walkthroughs.openOnInstall': true },
    env: { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' },
  });
  return runScenario({ suite: 'vscode-e2e-first-run', label: 'first run', shotPrefix: 'first-run', cleanup: [() => cs.stop(), () => server.close()] }, (page) =>
    scenario(page, cs.url, workspace, cs.dirs.userData, server),
  );
}

exitWith('vscode-e2e-first-run', main);
