/**
 * The idea side of issue 15 in a real VS Code UI (code-server + Chromium, the packaged .vsix, the local
 * OpenAI-compatible test server): Ask opens the review form (three multi-line parts at once; an emptied part is an
 * error said next to it), the idea arrives in an editor-area panel beside train.py (ANALYSIS / ACTION / RATIONALE
 * whole, code wrapped inside its block), the sidebar's Idea view keeps a summary, "Why?" and a typed question are
 * answered in the panel, and Idea History lists the idea with its follow-ups under it; clicking one shows it.
 * Screenshots (light and dark): test-results/ideas-*.png.
 * Usage: node --import tsx test/vscode/e2e/ideas.e2e.ts [--no-build]
 * Last line: "vscode-e2e-ideas: N passed, M failed".
 */
import type { Frame, Page } from 'playwright-core';
import { startOpenAIServer, type ChatRequest, type OpenAIServer, type ScriptedReply } from '../../servers/openai';
import { GOOD_ANSWER, GOOD_THINKING } from '../lib/answers';
import { startCodeServer } from '../lib/codeServer';
import { exitWith, packageExtension, runScenario, VSIX } from '../lib/scenario';
import { ideaPanelFrame, openFile, openWorkbench, reviewQueryFrame, runCommand, shot, until, webviewFrame, toggleTheme } from '../lib/workbench';
import { copyDemoWorkspace } from '../lib/workspace';


const WHY = `The run log is the evidence: lbfgs prints a ConvergenceWarning at max_iter=200, so the fit stops before the optimum and the 0.994 AUC is what an unfinished optimisation gives, not what logistic regression can do on this data.

The features span about six orders of magnitude (fractal dimension ~0.001, worst area ~2500). On unscaled inputs the loss surface is badly conditioned, which is exactly why lbfgs needs so many steps. Standardising fixes the conditioning; max_iter=1000 is a safety margin, not the main effect.

Expect +0.002 to +0.005 AUC. It could fail to help if the validation split is so small (114 rows) that the change sits inside its noise: run it twice with different seeds before trusting a gain that small.`;

const FREE = `ANALYSIS_ON_CURRENT_PROGRESS: With half the rows the scaled model still converges; what changes is the class balance of a 228-row training set.

ACTION: Keep the scaled pipeline and weight the classes:

\`\`\`python
def build_model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000, class_weight="balanced"))
\`\`\`

RATIONALE: Scaling helps regardless of size; balanced weights keep the minority class from being under-fitted when there are fewer rows.`;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function lastUser(req: ChatRequest): string {
  const users = req.messages.filter((m) => m.role === 'user');
  return String(users[users.length - 1]?.content ?? '');
}

function reply(req: ChatRequest): ScriptedReply {
  const q = lastUser(req);
  if (/TYPE:/.test(q) && /Data Preparation/.test(q)) return { text: 'TYPE: Model Training\nRATIONALE: scaling and solver settings' };
  if (q.includes('A follow-up on your advice')) {
    if (q.includes('Why this change?')) return { text: WHY, chunkSize: 24, chunkDelayMs: 5 };
    return { text: FREE, chunkSize: 24, chunkDelayMs: 5 };
  }
  return { text: GOOD_ANSWER, reasoning: GOOD_THINKING, chunkSize: 24, chunkDelayMs: 5, usage: { prompt_tokens: 1873, completion_tokens: 214 } };
}

/** Clears the notifications: they pile up over the lower right of the editor area, where the Idea tab's buttons are. */
async function clearToasts(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await page.waitForTimeout(300);
}

/** Light and dark screenshots of the same moment; the theme ends as it started. */
async function shots(page: Page, name: string): Promise<void> {
  // The pointer away from the status bar (runCommand clicks it), so no hover tooltip covers the side bar.
  await page.mouse.move(600, 700);
  await page.waitForTimeout(300);
  await shot(page, `${name}-light`);
  await toggleTheme(page);
  await page.mouse.move(600, 700);
  await page.waitForTimeout(300);
  await shot(page, `${name}-dark`);
  await toggleTheme(page);
}

/** Collapses the side bar's views named in `names` (when expanded), so Idea and Idea History get the room. */
async function collapseViews(page: Page, names: string[]): Promise<void> {
  for (const name of names) {
    const header = page.locator('.part.sidebar .pane-header[aria-expanded="true"]', { hasText: name }).first();
    if (await header.count()) await header.click();
  }
  await page.waitForTimeout(300);
}

function historyRow(page: Page, text: string) {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: 'Idea History' }) }).locator('.monaco-list-row', { hasText: text }).first();
}

async function scenario(page: Page, url: string, workspace: string, server: OpenAIServer): Promise<void> {
  await openWorkbench(page, url, workspace);
  await openFile(page, 'train.py');
  await runCommand(page, 'Ideator: Ask Ideator');

  // 1. The review form: the three parts at once; an emptied part is an error next to it, nothing is sent.
  const review = await reviewQueryFrame(page);
  const attempts = review.locator('textarea#attemptsSoFar');
  await review.locator('textarea#problemStatement').fill('val AUC stalls at 0.994 after the baseline.\nlbfgs warns that it did not converge at max_iter=200.');
  await attempts.fill('Ran the baseline logistic regression: val_auc 0.994\nRaised max_iter to 500 without scaling: ConvergenceWarning again');
  await shots(page, 'ideas-1-review-form');
  await review.locator('textarea#goal').fill('');
  await review.locator('#send').click();
  const goalError = review.locator('#goal-error');
  await goalError.waitFor({ state: 'visible', timeout: 10_000 });
  assert(/goal is empty/.test((await goalError.textContent()) ?? ''), 'the emptied goal is not said next to it');
  assert(server.requests.length === 0, 'something was sent with an empty goal');
  await shots(page, 'ideas-2-review-error');
  await review.locator('textarea#goal').fill('Beat 0.995 val AUC without a slower model.');
  await review.locator('#send').click();

  // 2. The idea in an editor-area panel beside the code; the sidebar keeps a summary.
  // The panel's frame, looked up each time: a slow first load makes the panel send its page again (a new frame).
  const P = () => ideaPanelFrame(page);
  await (await P()).locator('h2', { hasText: 'RATIONALE' }).waitFor({ timeout: 60_000 });
  for (const h of ['ANALYSIS', 'ACTION', 'RATIONALE']) assert((await (await P()).locator('h2', { hasText: h }).count()) === 1, `panel lacks ${h}`);
  assert(await (await P()).evaluate(() => document.body.classList.contains('wide')), 'the idea is not in the editor-area panel');
  assert((await page.locator('.tabs-container .tab', { hasText: 'Idea' }).count()) >= 1, 'no Idea editor tab');
  const sent = server.requests.find((r) => lastUser(r).includes('# Current solution'));
  assert(sent && lastUser(sent).includes('lbfgs warns that it did not converge at max_iter=200.'), 'the edited problem statement was not sent');
  await runCommand(page, 'Ideator: Show Idea Panel');
  const summary = await webviewFrame(page, 'idea-summary');
  await summary.locator('.summary .title', { hasText: 'Standardise the features inside a pipeline' }).waitFor({ timeout: 15_000 });
  await collapseViews(page, ['Run History', 'Score Chart']);
  await historyRow(page, 'Standardise the features').waitFor({ timeout: 15_000 });
  await shots(page, 'ideas-3-editor-panel');

  // 3. "Why?": same state, the answer in the panel as prose, no Apply.
  const before = server.requests.length;
  await clearToasts(page);
  await (await P()).locator('button[data-followup="why"]').click();
  await (await P()).locator('h2', { hasText: 'ANSWER' }).waitFor({ timeout: 60_000 });
  assert((await (await P()).locator('#apply').count()) === 0, 'an explanation offers Apply');
  assert((await (await P()).locator('body', { hasText: 'orders of magnitude' }).count()) === 1, 'the explanation is not shown');
  const asked = server.requests.slice(before).find((r) => lastUser(r).includes('A follow-up on your advice'));
  assert(asked && asked.messages.some((m) => m.role === 'assistant' && String(m.content).startsWith('ANALYSIS_ON_CURRENT_PROGRESS')), 'the idea was not sent back as the earlier answer');
  await historyRow(page, 'Why?:').waitFor({ timeout: 15_000 });
  await shots(page, 'ideas-4-follow-up-why');

  // 4. Your own question, typed in the box: an idea that can be applied.
  await (await P()).locator('a[data-command="open"]').click();
  await (await P()).locator('h2', { hasText: 'ACTION' }).waitFor({ timeout: 15_000 });
  await (await P()).locator('textarea#followup-text').fill('Would it still help with half the rows?');
  await clearToasts(page);
  await (await P()).locator('button[data-followup="free"]').click();
  await (await P()).locator('.chip', { hasText: 'Your question' }).waitFor({ timeout: 60_000 });
  await (await P()).locator('#apply').waitFor({ timeout: 15_000 });
  assert((await (await P()).locator('.question', { hasText: 'half the rows' }).count()) === 1, 'the question is not shown with its answer');
  await historyRow(page, 'Your question:').waitFor({ timeout: 15_000 });
  await shots(page, 'ideas-5-follow-up-question');

  // 5. Idea History: a click shows that idea in the panel.
  await historyRow(page, 'Why?:').click();
  await until(async () => (await (await P()).locator('h2', { hasText: 'ANSWER' }).count()) === 1, 15_000, 'the clicked explanation in the panel');
  await historyRow(page, 'Standardise the features').click();
  await until(async () => (await (await P()).locator('h2', { hasText: 'ANALYSIS' }).count()) === 1, 15_000, 'the clicked idea in the panel');
  await shots(page, 'ideas-6-history');
  await checkSummary(await webviewFrame(page, 'idea-summary'));

  // 6. A reload of the window brings the Idea tab back with the idea it showed (the first idea, not the newest).
  const showsFirst = async () => {
    const f = await P();
    return (await f.locator('#action', { hasText: 'Standardise the features' }).count()) === 1 && (await f.locator('.question').count()) === 0;
  };
  await until(showsFirst, 15_000, 'the first idea in the panel');
  await page.waitForTimeout(500);
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForTimeout(2_000);
  await openWorkbench(page, url, workspace);
  await until(showsFirst, 60_000, 'the restored Idea tab showing the same idea');
}

async function checkSummary(summary: Frame): Promise<void> {
  assert((await summary.locator('button[data-command="open"]').count()) >= 1, 'the summary has no Open idea button');
  assert((await summary.locator('h2', { hasText: 'RATIONALE' }).count()) === 0, 'the sidebar shows the whole idea, not a summary');
}

async function main(): Promise<number> {
  packageExtension();
  const server = await startOpenAIServer({ responses: reply });
  const workspace = copyDemoWorkspace();
  const cs = await startCodeServer({
    workspace,
    vsix: [VSIX],
    settings: { 'ideator.provider': 'openai', 'ideator.baseUrl': server.url, 'ideator.model': 'ideator-qwen3-4b', 'ideator.requestTimeoutSeconds': 60, 'ideator.reviewQueryBeforeSending': true },
  });
  return runScenario({ suite: 'vscode-e2e-ideas', label: 'ideas', shotPrefix: 'ideas', cleanup: [() => cs.stop(), () => server.close()] }, (page) =>
    scenario(page, cs.url, workspace, server),
  );
}

exitWith('vscode-e2e-ideas', main);
