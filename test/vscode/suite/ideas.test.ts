/**
 * Issue 15, the idea side, in a real VS Code against the local OpenAI-compatible test server: the idea opens in an
 * editor-area panel beside the code (the sidebar keeps a summary), follow-ups ("Why?", 3 alternatives, a cheaper
 * variant, free text) ask with the same state and land in the history, Idea History shows every idea with what
 * became of it, and the query review is a form whose emptied parts are errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { IdeatorApi } from '../../../src/extension/extension';
import type { IdeaRecord } from '../../../src/core/protocol';
import { formatDollars } from '../../../src/core/promptCost';
import type { UserPrompts } from '../../../src/extension/services';
import { startOpenAIServer, type ChatRequest, type OpenAIServer, type ScriptedReply } from '../../servers/openai';
import { expectedAfterGood, GOOD_ANSWER } from '../lib/answers';
import { putBack } from '../lib/suiteFiles';

const EXTENSION_ID = 'mle-ideator.mle-ideator';
const cfg = () => vscode.workspace.getConfiguration('ideator');
const G = vscode.ConfigurationTarget.Global;

const WHY = 'The log shows a ConvergenceWarning at max_iter=200: the optimiser stops early, so the AUC is capped by optimisation.';
const ALTERNATIVES = `ALTERNATIVE 1:
ANALYSIS_ON_CURRENT_PROGRESS: keep the model.
ACTION: Add interaction features between the five largest-variance columns.
RATIONALE: a linear model gains from them.

ALTERNATIVE 2:
ANALYSIS_ON_CURRENT_PROGRESS: change the model.
ACTION: Replace LogisticRegression with HistGradientBoostingClassifier(max_iter=300).
RATIONALE: trees need no scaling.

ALTERNATIVE 3:
ANALYSIS_ON_CURRENT_PROGRESS: tune.
ACTION: Search C in {0.1, 0.3, 1, 3} with 5-fold CV.
RATIONALE: the default C is arbitrary.`;
const CHEAPER = GOOD_ANSWER.replace('ACTION: Standardise the features inside a pipeline and give the solver room to converge:', 'ACTION: The cheaper variant: scale the features, keep the solver as it is:');
const FREE = 'ANALYSIS_ON_CURRENT_PROGRESS: halving the data.\n\nACTION: Keep the pipeline, use class_weight="balanced".\n\nRATIONALE: fewer rows make the classes less balanced.';

let api: IdeatorApi;
let trainUri: vscode.Uri;
let original: string;
let prompts: UserPrompts;

function lastUser(req: ChatRequest): string {
  const users = req.messages.filter((m) => m.role === 'user');
  return String(users[users.length - 1]?.content ?? '');
}

/** Answers by what is asked: a classification, each follow-up, else the idea. */
function reply(req: ChatRequest): ScriptedReply {
  const q = lastUser(req);
  if (/TYPE:/.test(q) && /Data Preparation/.test(q)) return { text: 'TYPE: Others\nRATIONALE: test' };
  if (q.includes('A follow-up on your advice')) {
    if (q.includes('Why this change?')) return { text: WHY };
    if (q.includes('3 alternatives')) return { text: ALTERNATIVES };
    if (q.includes('cheaper variant')) return { text: CHEAPER };
    if (q.includes('half the rows')) return { text: FREE };
    if (q.includes('HANG')) return { type: 'hang' };
  }
  return { text: GOOD_ANSWER };
}

async function useServer(server: OpenAIServer): Promise<void> {
  await cfg().update('provider', 'openai', G);
  await cfg().update('baseUrl', server.url, G);
  await cfg().update('model', 'ideator', G);
  await cfg().update('requestTimeoutSeconds', 20, G);
}

async function openTrain(): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(trainUri), vscode.ViewColumn.One);
}

function webviewTabs(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(viewType));
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Outcome = { status: string; idea?: IdeaRecord; ideas?: IdeaRecord[]; error?: string };

describe('Issue 15: the idea in the editor, follow-ups, Idea History, the review form', function () {
  this.timeout(60_000);
  let server: OpenAIServer;
  let asked: IdeaRecord;

  before(async () => {
    api = await vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID)!.activate();
    trainUri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'train.py');
    original = readFileSync(trainUri.fsPath, 'utf8');
    prompts = { ...api.services.prompts };
    server = await startOpenAIServer({ responses: reply });
    await useServer(server);
  });

  after(async () => {
    await server.close();
    for (const key of ['provider', 'baseUrl', 'model', 'requestTimeoutSeconds', 'openIdeaInEditor', 'reviewQueryBeforeSending']) await cfg().update(key, undefined, G);
  });

  afterEach(async () => {
    api.services.prompts = { ...prompts };
    // An apply here uses the default review (Keep / Undo in the editor): end it before the file is put back.
    await vscode.commands.executeCommand('ideator.review.keepAll');
    await putBack(trainUri, original);
  });

  it('an asked idea opens whole in an editor panel beside the code, focus stays in the code; the sidebar keeps a summary', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await openTrain();
    const out = await vscode.commands.executeCommand<Outcome>('ideator.askIdeator', { noReview: true });
    assert.equal(out.status, 'ok', out.error);
    asked = out.idea!;
    assert.equal(asked.origin, 'ask');
    const panel = api.ideas.panel;
    assert.ok(panel.editorOpen, 'no editor-area panel');
    const tabs = webviewTabs('ideator.ideaEditor');
    assert.equal(tabs.length, 1);
    assert.notEqual(tabs[0].group.viewColumn, vscode.ViewColumn.One, 'the idea panel should open beside the code');
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, trainUri.fsPath, 'the cursor left the code');
    for (const h of ['ANALYSIS', 'ACTION', 'RATIONALE', 'ASK ABOUT THIS IDEA']) assert.ok(panel.currentHtml.includes(`<h2>${h}</h2>`), h);
    assert.ok(panel.currentHtml.includes('data-followup="why"'));
    const summary = panel.summaryHtml;
    assert.ok(summary.includes('Standardise the features inside a pipeline and give the solver room to converge'), summary);
    assert.ok(summary.includes('Open idea') && summary.includes('Not applied yet'));
    assert.ok(!summary.includes('<h2>RATIONALE</h2>'), 'the sidebar holds a summary, not the whole idea');
  });

  it('"Why?" asks with the same state, the idea as the earlier answer, and lands in the history as an explanation', async () => {
    const before = server.requests.length;
    const out = await vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'why' });
    assert.equal(out.status, 'ok', out.error);
    const req = server.requests.slice(before).find((r) => lastUser(r).includes('A follow-up on your advice'))!;
    const askReq = server.requests.find((r) => String(r.messages[r.messages.length - 1].content).includes('# Current solution'))!;
    // The same state: the Ideator prompt of the ask, then the idea, then the question.
    assert.deepEqual(req.messages.slice(0, askReq.messages.length), askReq.messages);
    const assistant = req.messages[askReq.messages.length];
    assert.equal(assistant.role, 'assistant');
    assert.equal(assistant.content, GOOD_ANSWER);
    assert.ok(lastUser(req).includes('Why this change?'));
    const why = out.ideas![0];
    assert.deepEqual(why.followUp, { of: asked.id, kind: 'why', question: why.followUp!.question });
    assert.equal(why.origin, 'follow-up');
    assert.ok(api.services.history!.idea(why.id), 'not in the run history');
    assert.equal(api.services.ideas.byId(why.id), undefined, 'an explanation must not reach the lightbulb');
    assert.equal(api.ideas.panel.shownIdeaId, why.id);
    assert.ok(api.ideas.panel.currentHtml.includes('<h2>ANSWER</h2>') && api.ideas.panel.currentHtml.includes('ConvergenceWarning'));
    assert.ok(!api.ideas.panel.currentHtml.includes('id="apply"'), 'an explanation has nothing to apply');
  });

  it('"3 alternatives" records three ideas, the first shown; "A cheaper variant" can be applied like any idea', async () => {
    const alt = await vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'alternatives' });
    assert.equal(alt.status, 'ok', alt.error);
    assert.equal(alt.ideas!.length, 3);
    assert.deepEqual(
      alt.ideas!.map((i) => [i.followUp?.part, i.parsed.action.slice(0, 20)]),
      [[1, 'Add interaction feat'], [2, 'Replace LogisticRegr'], [3, 'Search C in {0.1, 0.']],
    );
    assert.equal(api.ideas.panel.shownIdeaId, alt.ideas![0].id);
    for (const i of alt.ideas!) assert.ok(api.services.history!.idea(i.id) && api.services.ideas.byId(i.id));

    const cheap = await vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'cheaper' });
    assert.equal(cheap.status, 'ok', cheap.error);
    const variant = cheap.ideas![0];
    assert.ok(variant.parsed.action.startsWith('The cheaper variant'));
    assert.ok(api.ideas.panel.currentHtml.includes(`id="apply" data-command="apply" data-idea="${variant.id}"`));
    api.services.prompts.confirmApply = async () => true;
    await openTrain();
    const applied = await vscode.commands.executeCommand<{ status: string }>('ideator.applyIdea', variant.id);
    assert.equal(applied.status, 'applied');
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), expectedAfterGood(original));
    assert.ok(api.services.history!.applied().some((a) => a.ideaId === variant.id));
  });

  it('free text: your question is sent; an empty one is refused without a request; a follow-up can be cancelled', async () => {
    const before = server.requests.length;
    // An empty free-text question opens the box for one; dismissed, nothing is asked.
    const empty = vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'free', text: '   ' });
    // The box opens when the command gets to it. A fixed 800 ms before one close assumed it always had: a close sent
    // earlier closes nothing, and the box (ignoreFocusOut) then stays open until the test times out. So it is
    // dismissed again until the command answers.
    let answered = false;
    const dismissed = Promise.resolve(empty).finally(() => (answered = true));
    const t0 = Date.now();
    while (!answered) {
      assert.ok(Date.now() - t0 < 30_000, 'the follow-up did not answer within 30 s of its box being dismissed');
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await Promise.race([dismissed, new Promise((r) => setTimeout(r, 250))]);
    }
    assert.equal(await dismissed, undefined);
    assert.equal(server.requests.length, before);
    const out = await vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'free', text: 'Would it still help with half the rows?' });
    assert.equal(out.status, 'ok', out.error);
    assert.equal(out.ideas![0].followUp?.question, 'Would it still help with half the rows?');
    assert.ok(out.ideas![0].parsed.action.includes('class_weight'));
    assert.ok(api.ideas.panel.currentHtml.includes('Your question') && api.ideas.panel.currentHtml.includes('half the rows'));

    const pending = vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'free', text: 'HANG please' });
    await until(() => server.requests.some((r) => lastUser(r).includes('HANG')), 'the hanging request');
    await vscode.commands.executeCommand('ideator.cancelAsk');
    const cancelled = await pending;
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(api.ideas.panel.shownIdeaId, asked.id, 'a cancelled follow-up shows its idea again');
  });

  it("a follow-up's usage is priced as Ask Ideator prices its question (ideator.modelPrice): the usage chip says the price", async () => {
    await cfg().update('modelPrice', { input: 3, output: 15 }, G);
    try {
      const out = await vscode.commands.executeCommand<Outcome>('ideator.followUp', { ideaId: asked.id, kind: 'why' });
      assert.equal(out.status, 'ok', out.error);
      const why = out.ideas![0];
      assert.ok(why.usage, 'the server reported no usage');
      const dollars = (why.usage.inputTokens * 3 + why.usage.outputTokens * 15) / 1_000_000;
      assert.equal(why.cost?.source, 'your price setting');
      assert.ok(Math.abs((why.cost?.dollars ?? -1) - dollars) < 1e-12, `cost ${JSON.stringify(why.cost)}, expected ${dollars}`);
      const chip = `${why.usage.inputTokens.toLocaleString('en-US')} tokens in · ${why.usage.outputTokens.toLocaleString('en-US')} out · ${formatDollars(dollars)}`;
      assert.ok(api.ideas.panel.currentHtml.includes(chip), `no "${chip}" in the panel`);
    } finally {
      await cfg().update('modelPrice', undefined, G);
    }
  });

  it('Idea History: every idea with its follow-ups under it, what became of each, the judging run opens', async () => {
    const history = api.ideas.ideaHistory;
    const roots = history.getChildren();
    const root = roots.find((r) => r.ideaId === asked.id)!;
    assert.ok(root, 'the asked idea is not in Idea History');
    const kids = history.getChildren(root);
    const labels = kids.map((k) => String(k.label));
    assert.ok(labels.some((l) => l.startsWith('Why?: ')), labels.join(' | '));
    assert.ok(labels.some((l) => l.startsWith('3 alternatives 1: Add interaction features')));
    assert.ok(labels.some((l) => l.startsWith('A cheaper variant: The cheaper variant')));
    assert.ok(labels.some((l) => l.startsWith('Your question: ')));
    const variant = kids.find((k) => String(k.label).startsWith('A cheaper variant'))!;
    assert.match(String(variant.description), /^applied, waiting for a run · /);
    assert.match(String(root.description), /^not applied · /);

    // The next run judges it: the row and the panel lead with the verdict, and the run's output opens from the row.
    const store = api.services.history!;
    const now = new Date().toISOString();
    store.appendRun({ id: 'judge-1', source: 'terminal', command: 'python train.py', startedAt: now, endedAt: now, exitCode: 0, metrics: [], primary: { name: 'val_auc', value: 0.9971, direction: 'higher' }, outputHead: 'val_auc=0.9971\n', outputTail: '', outputBytes: 15, ideaId: variant.ideaId });
    store.appendOutcome({ ideaId: variant.ideaId, runId: 'judge-1', before: 0.994, after: 0.9971, direction: 'higher', status: 'improved', reward: 1, recordedAt: now });
    const judged = history.getChildren(history.getChildren().find((r) => r.ideaId === asked.id)).find((k) => k.ideaId === variant.ideaId)!;
    assert.match(String(judged.description), /^Improved: val_auc 0\.994 → 0\.9971 · /);
    assert.equal(judged.contextValue, 'ideator.idea.judged');
    await vscode.commands.executeCommand('ideator.ideas.show', variant.ideaId);
    assert.equal(api.ideas.panel.shownIdeaId, variant.ideaId);
    assert.ok(api.ideas.panel.currentHtml.includes('Applied to train.py · Improved: val_auc 0.994 → 0.9971'));
    assert.ok(api.ideas.panel.summaryHtml.includes('Improved: val_auc 0.994 → 0.9971'));
    const doc = await vscode.commands.executeCommand<vscode.TextDocument>('ideator.ideas.openRun', judged);
    assert.ok(doc?.getText().includes('val_auc=0.9971'), 'the judging run did not open');
  });

  it('an idea asked by an agent is marked so in the history', async () => {
    await openTrain();
    const out = await api.ideas.asker.ask({ query: { problemStatement: 'stuck', attemptsSoFar: [], goal: 'raise AUC' }, quiet: true });
    assert.equal(out.status, 'ok', out.error);
    assert.equal(out.idea!.origin, 'agent');
    const row = api.ideas.ideaHistory.getChildren().find((r) => r.ideaId === out.idea!.id)!;
    assert.equal((row.iconPath as vscode.ThemeIcon).id, 'hubot');
  });

  it('the review form: three parts at once, an emptied part is an error in place, the edit is sent; Cancel asks nothing', async () => {
    await cfg().update('reviewQueryBeforeSending', true, G);
    await until(() => api.services.config().config.reviewQueryBeforeSending, 'the setting to reach the extension');
    try {
      await openTrain();
      const before = server.requests.length;
      const pending = vscode.commands.executeCommand<Outcome>('ideator.askIdeator');
      let check: { ok: boolean; errors?: Record<string, string> } | undefined;
      await until(async () => (check = await vscode.commands.executeCommand('ideator.review.send', { problemStatement: '', attemptsSoFar: '', goal: ' ' })) !== undefined, 'the review form');
      assert.equal(check!.ok, false);
      assert.match(check!.errors!.problemStatement, /empty/);
      assert.match(check!.errors!.goal, /empty/);
      await until(() => webviewTabs('ideator.reviewQuery').length === 1, 'the review form, open with its errors');
      assert.equal(server.requests.length, before, 'nothing may be sent while a part is empty');
      const sent = await vscode.commands.executeCommand<{ ok: boolean }>('ideator.review.send', {
        problemStatement: 'AUC stalls at 0.994.\nThe solver warns about convergence.',
        attemptsSoFar: '- raised max_iter to 500: no change\n- tried C=2: worse',
        goal: 'Beat 0.995.',
      });
      assert.equal(sent.ok, true);
      const out = await pending;
      assert.equal(out.status, 'ok', out.error);
      assert.deepEqual(out.idea!.query, { problemStatement: 'AUC stalls at 0.994.\nThe solver warns about convergence.', attemptsSoFar: ['raised max_iter to 500: no change', 'tried C=2: worse'], goal: 'Beat 0.995.' });
      const prompt = req(server, before);
      assert.ok(prompt.includes('AUC stalls at 0.994.\nThe solver warns about convergence.') && prompt.includes('- tried C=2: worse') && prompt.includes('Beat 0.995.'));
      await until(() => webviewTabs('ideator.reviewQuery').length === 0, 'the form to close on Send');

      const n = server.requests.length;
      await openTrain();
      const again = vscode.commands.executeCommand<Outcome>('ideator.askIdeator');
      await until(() => webviewTabs('ideator.reviewQuery').length === 1, 'the review form');
      await vscode.commands.executeCommand('ideator.review.cancel');
      assert.equal((await again).status, 'cancelled');
      assert.equal(server.requests.length, n, 'a cancelled review asks nothing');
    } finally {
      await cfg().update('reviewQueryBeforeSending', undefined, G);
    }
  });

  it('with ideator.openIdeaInEditor off, no editor panel opens and the sidebar shows the idea whole', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cfg().update('openIdeaInEditor', false, G);
    await until(() => !api.services.config().config.openIdeaInEditor, 'the setting to reach the extension');
    try {
      await openTrain();
      const out = await vscode.commands.executeCommand<Outcome>('ideator.askIdeator', { noReview: true });
      assert.equal(out.status, 'ok', out.error);
      assert.equal(api.ideas.panel.editorOpen, false);
      assert.equal(webviewTabs('ideator.ideaEditor').length, 0);
    } finally {
      await cfg().update('openIdeaInEditor', undefined, G);
    }
  });
});

/** The Ideator prompt of the first ask request after `from`. */
function req(server: OpenAIServer, from: number): string {
  const r = server.requests.slice(from).find((x) => String(x.messages[x.messages.length - 1].content).includes('# Current solution'));
  return r ? r.messages.map((m) => String(m.content)).join('\n') : '';
}
