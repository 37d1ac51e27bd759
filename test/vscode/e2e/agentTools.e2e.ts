/**
 * The seek_help tool's confirmation in a real VS Code UI (code-server + Chromium), with the packaged extension: an
 * agent (test/vscode/fixtures/agent-caller, installed beside it: Copilot's agent mode cannot be installed here)
 * calls seek_help through vscode.lm.invokeTool; VS Code shows our confirmation; a user reads it and clicks — once
 * Yes (the idea comes back to the agent and shows in the Idea panel), once Cancel (nothing reaches the Ideator).
 * Screenshots, dark and light theme: test-results/agent-*.png (agent-confirm-dialog-light.png is docs/agent-mode-confirm.png).
 * Usage: node --import tsx test/vscode/e2e/agentTools.e2e.ts [--no-build]
 * Last line: "vscode-e2e-agent: N passed, M failed".
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { HistoryStore } from '../../../src/core/history';
import { startOpenAIServer, type ChatRequest } from '../../servers/openai';
import { GOOD_ANSWER } from '../lib/answers';
import { RESULTS_DIR, ROOT, startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { ideaPanelFrame, openFile, openWorkbench, runCommand, shot, until } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';

const CALLER_DIR = join(ROOT, 'test/vscode/fixtures/agent-caller');

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function packCaller(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'ideator-agent-caller-')), 'agent-caller.vsix');
  const vsce = join(ROOT, 'node_modules/@vscode/vsce/vsce');
  const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', out], {
    cwd: CALLER_DIR,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`packing the agent-caller fixture failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  return out;
}

/**
 * Three runs of train.py in the workspace's run history, written where the extension keeps it (global storage,
 * run-history/<first 16 hex of sha256(folder URI)>: RunRecorder.storageFor), before the window opens.
 */
function seedHistory(userData: string, workspace: string): void {
  assert(/^[\w/.-]+$/.test(workspace), `the workspace path needs URI escaping: ${workspace}`);
  const key = createHash('sha256').update(`file://${workspace}`).digest('hex').slice(0, 16);
  const store = HistoryStore.open(join(userData, 'User', 'globalStorage', 'mle-ideator.mle-ideator', 'run-history', key), { onWarning: () => undefined });
  const code = readFileSync(join(workspace, 'train.py'), 'utf8');
  const scores: [number, number | null][] = [[0.9612, 0], [0.9655, 0], [0.9641, 0]];
  scores.forEach(([value, exit], i) => {
    const start = Date.parse('2026-12-06T09:00:00Z') + i * 600_000;
    store.appendRun({
      id: `e2e-run-${i + 1}`,
      source: 'terminal',
      command: 'python train.py',
      startedAt: new Date(start).toISOString(),
      endedAt: new Date(start + 40_000).toISOString(),
      exitCode: exit,
      metrics: [{ name: 'val_auc', last: value, best: value, series: [value], count: 1, direction: 'higher', validation: true }],
      primary: { name: 'val_auc', value, direction: 'higher' },
      outputHead: `val_auc=${value}\n`,
      outputTail: '',
      outputBytes: 14,
      code: { path: 'train.py', hash: createHash('sha256').update(code).digest('hex'), content: code },
    });
  });
}

type AgentResult = { ok: true; text: string } | { ok: false; name?: string; message: string };

/** Runs the fixture's command and returns the confirmation dialog once it shows. */
async function askAsAgent(page: Page, resultFile: string) {
  rmSync(resultFile, { force: true });
  await runCommand(page, 'Test: Ask the Ideator as an Agent');
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForTimeout(500); // the entrance animation, before the screenshot
  return dialog;
}

/** The TYPE line prompts/classify.md asks for, read from the prompt itself so a rewording cannot stall the wait below. */
const CLASSIFY_MARKER = (() => {
  const line = /^TYPE: .+$/m.exec(readFileSync(join(ROOT, 'prompts/classify.md'), 'utf8'));
  if (!line) throw new Error('prompts/classify.md has no "TYPE: ..." line to recognise its requests by');
  return line[0];
})();

/** The request run watching sends to classify a new idea. */
function isClassification(r: ChatRequest): boolean {
  return r.messages.some((m) => String(m.content).includes(CLASSIFY_MARKER));
}

async function agentResult(resultFile: string, timeoutMs = 60_000): Promise<AgentResult> {
  await until(() => existsSync(resultFile), timeoutMs, 'the agent to get its answer');
  return JSON.parse(readFileSync(resultFile, 'utf8')) as AgentResult;
}

async function main(): Promise<number> {
  packageExtension();
  const ideator = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER, chunkSize: 40 }] });
  const caller = packCaller();
  const resultFile = join(mkdtempSync(join(tmpdir(), 'ideator-agent-result-')), 'result.json');
  const workspace = copyDemoWorkspace();
  const settings = {
    'ideator.provider': 'openai',
    'ideator.baseUrl': ideator.url,
    'ideator.model': 'ideator-e2e',
    'workbench.colorTheme': 'Default Dark Modern',
  };
  const server = await startCodeServer({ workspace, vsix: [VSIX, caller], settings, env: { IDEATOR_TEST_AGENT_RESULT: resultFile } });
  seedHistory(server.dirs.userData, workspace);
  const cleanup = [
    () => server.stop(),
    () => ideator.close(),
    async () => {
      rmSync(dirname(caller), { recursive: true, force: true });
      rmSync(dirname(resultFile), { recursive: true, force: true });
      rmSync(join(workspace, '..'), { recursive: true, force: true });
    },
  ];
  return runScenario({ suite: 'vscode-e2e-agent', label: 'agent: seek_help confirmation accepted and declined', shotPrefix: 'agent', cleanup }, async (page) => {
    await openWorkbench(page, server.url, workspace);
    await openFile(page, 'train.py');

    // Dark theme: the user reads the confirmation and says Yes.
    let dialog = await askAsAgent(page, resultFile);
    const text = await dialog.innerText();
    assert(text.includes('Ask your Ideator for the next idea?'), `dialog title: ${text}`);
    assert(text.includes('This sends train.py, the task description and the 3 recorded runs') && text.includes(`openai-compatible ${ideator.url}`), `dialog body: ${text}`);
    assert(text.includes('val_auc has been stuck'), `the problem statement is not shown: ${text}`);
    assert(ideator.requests.length === 0, 'the Ideator was asked before the user agreed');
    const requestsBefore = (): number => ideator.requests.length;
    await shot(page, 'agent-1-confirm-dark');
    await dialog.locator('.monaco-button', { hasText: /^Yes$/ }).click();
    const answered = await agentResult(resultFile);
    assert(answered.ok, `seek_help failed: ${answered.ok ? '' : answered.message}`);
    assert(/\nACTION:\nStandardise the features/.test(answered.text) && /idea_id: \S+/.test(answered.text), `tool result: ${answered.text.slice(0, 400)}`);
    // The first request is the Ideator's (run watching may then classify the idea with a second one).
    assert(requestsBefore() >= 1 && ideator.requests[0].model === 'ideator-e2e', `${requestsBefore()} requests to the Ideator`);
    const prompt = JSON.stringify(ideator.requests[0].messages);
    assert(prompt.includes('val_auc has been stuck') && prompt.includes('val_auc=0.9655'), "the agent's query or the recorded runs are not in the prompt");
    const panel = await ideaPanelFrame(page);
    await panel.locator('h2', { hasText: 'ACTION' }).first().waitFor({ timeout: 15_000 });
    const panelText = await panel.locator('body').innerText();
    assert(panelText.includes('StandardScaler'), 'the idea is not in the Idea panel');
    await page.waitForTimeout(500);
    await shot(page, 'agent-2-idea-panel-dark');

    // Light theme; this time the user says no.
    await runCommand(page, 'Test: Switch to the Light Theme');
    await until(async () => (await page.locator('.monaco-workbench.vs').count()) > 0, 15_000, 'the light theme');
    // Run watching classifies the new idea with one more request to the Ideator, whenever it gets to it: that request
    // has to be in before the count a declined call must not change (a fixed 1 s assumed it always was).
    await until(() => ideator.requests.some(isClassification), 30_000, "the new idea's classification request");
    const seen = requestsBefore();
    dialog = await askAsAgent(page, resultFile);
    await shot(page, 'agent-3-confirm-light');
    await dialog.screenshot({ path: join(RESULTS_DIR, 'agent-confirm-dialog-light.png') }); // docs/agent-mode-confirm.png
    await dialog.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
    const declined = await agentResult(resultFile);
    assert(!declined.ok && /cancel/i.test(`${declined.name} ${declined.message}`), `declined: ${JSON.stringify(declined)}`);
    assert(requestsBefore() === seen, 'a declined call reached the Ideator');
    await page.waitForTimeout(300);
    await shot(page, 'agent-4-declined-light');
  });
}

exitWith('vscode-e2e-agent', main);
