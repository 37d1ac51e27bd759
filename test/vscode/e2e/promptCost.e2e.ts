/**
 * Issue 16, "Cheaper prompts", in a real VS Code UI (code-server + Chromium, the packaged .vsix, the local
 * OpenAI-compatible test server): with ideator.modelPrice set, Ask Ideator's progress notification says what the
 * question costs before it is answered ("asking the Ideator (~N tokens, ~$X)"); the request sent is the compact
 * prompt (ideator.trajectoryMode's default); the idea arrives with the usage the server reported, priced, on its
 * tokens chip. Screenshots (light and dark): test-results/prompt-cost-asking-*.png, prompt-cost-idea-*.png.
 * Usage: node --import tsx test/vscode/e2e/promptCost.e2e.ts [--no-build]
 * Last line: "vscode-e2e-prompt-cost: N passed, M failed".
 */
import type { Page } from 'playwright-core';
import { startOpenAIServer, type OpenAIServer } from '../../servers/openai';
import { GOOD_ANSWER } from '../lib/answers';
import { startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { ideaPanelFrame, openFile, openWorkbench, runCommand, shot, toast, until, themeOf, toggleTheme } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';


function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

async function scenario(page: Page, url: string, workspace: string, server: OpenAIServer): Promise<void> {
  await openWorkbench(page, url, workspace);
  await openFile(page, 'train.py');
  await runCommand(page, 'Ideator: Ask Ideator');
  // The answer streams slowly (about 20 s), so the notification stays up for both themes.
  const asking = toast(page, 'asking the Ideator');
  await asking.first().waitFor({ timeout: 60_000 });
  const askingSince = Date.now();
  const said = ((await asking.first().textContent()) ?? '').replace(/\s+/g, ' ');
  assert(/asking the Ideator \(~[\d,]+ tokens, ~\$0\.\d+\)/.test(said), `the progress notification does not say the cost: ${said}`);
  // The answer streaming into the panel, so that the shots show both.
  const panel = await ideaPanelFrame(page);
  await panel.locator('body', { hasText: 'ANALYSIS_ON_CURRENT_PROGRESS' }).waitFor({ timeout: 30_000 });
  await shot(page, `prompt-cost-asking-${await themeOf(page)}`);
  await toggleTheme(page);
  await asking.first().waitFor({ timeout: 10_000 });
  await panel.locator('body', { hasText: 'ANALYSIS_ON_CURRENT_PROGRESS' }).waitFor({ timeout: 10_000 });
  await page.waitForTimeout(600);
  await shot(page, `prompt-cost-asking-${await themeOf(page)}`);
  // How much of the answer's ~18 s of streaming both shots took (the notification has to be up for the second).
  console.log(`  prompt cost: both 'asking' shots taken ${((Date.now() - askingSince) / 1000).toFixed(1)} s after the notification showed`);
  await toggleTheme(page);
  await panel.locator('h2', { hasText: 'RATIONALE' }).waitFor({ timeout: 90_000 });
  await until(() => server.requests.length > 0, 10_000, 'the request');
  const sent = JSON.stringify(server.requests[0].messages);
  assert(sent.includes('# Current solution'), 'the Ideator prompt was not sent');
  // The tokens said before sending are the same prompt's estimate: within the estimator's stated error of the
  // characters sent (a loose bound here: a wrong prompt, e.g. a different mode or a doubled trajectory, is far off).
  const tokens = Number(/~([\d,]+) tokens/.exec(said)![1].replace(/,/g, ''));
  assert(tokens > sent.length / 8 && tokens < sent.length, `~${tokens} tokens said for a ${sent.length}-character request`);
  // After: the usage the server reported, priced (1,873 in at $3 + 214 out at $15 per million = $0.0088), on the idea.
  const chip = panel.locator('.chip', { hasText: 'tokens in' }).first();
  await chip.waitFor({ timeout: 15_000 });
  const chipText = (await chip.textContent()) ?? '';
  assert(chipText.includes('1,873 tokens in · 214 out · $0.0088'), `the idea's usage chip says: ${chipText}`);
  await shot(page, `prompt-cost-idea-${await themeOf(page)}`);
  await toggleTheme(page);
  await chip.waitFor({ timeout: 10_000 });
  await page.waitForTimeout(600);
  await shot(page, `prompt-cost-idea-${await themeOf(page)}`);
  await toggleTheme(page);
}

async function main(): Promise<number> {
  packageExtension();
  const server = await startOpenAIServer({ responses: () => ({ text: GOOD_ANSWER, chunkSize: 8, chunkDelayMs: 160, usage: { prompt_tokens: 1873, completion_tokens: 214 } }) });
  const workspace = copyDemoWorkspace();
  const cs = await startCodeServer({
    workspace,
    vsix: [VSIX],
    settings: {
      'ideator.provider': 'openai',
      'ideator.baseUrl': server.url,
      'ideator.model': 'ideator-qwen3-4b',
      'ideator.requestTimeoutSeconds': 120,
      'ideator.reviewQueryBeforeSending': false,
      'ideator.modelPrice': { input: 3, output: 15 },
    },
  });
  return runScenario({ suite: 'vscode-e2e-prompt-cost', label: 'prompt cost', shotPrefix: 'prompt-cost', cleanup: [() => cs.stop(), () => server.close()] }, (page) =>
    scenario(page, cs.url, workspace, server),
  );
}

exitWith('vscode-e2e-prompt-cost', main);
