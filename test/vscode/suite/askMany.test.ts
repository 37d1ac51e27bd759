/**
 * "Ideator: Ask for N Ideas" in a real VS Code (code-server's extension host), against the scripted
 * OpenAI-compatible server: one request with n = 4, a near-duplicate dropped, the Ideas panel side by side, each
 * idea recorded, Apply on a card as one undoable edit, Cancel stopping the request, and a real verification
 * (`ideator verify` through the launcher) streaming statuses into the cards and ranking them by measured score.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { IdeatorApi } from '../../../src/extension/extension';
import { formatIdea } from '../../../src/core/idea';
import { startOpenAIServer, type OpenAIServer } from '../../servers/openai';
import { expectedAfterGood, GOOD_ANSWER } from '../lib/answers';

const EXTENSION_ID = 'mle-ideator.mle-ideator';
const cfg = () => vscode.workspace.getConfiguration('ideator');
const G = vscode.ConfigurationTarget.Global;

/** Starves the solver: a worse validation AUC. */
const WORSE = formatIdea({
  analysis: 'The model may be overfitting.',
  action: 'Regularise much more strongly:\n\n```python\ndef build_model():\n    return LogisticRegression(C=0.0001, max_iter=200)\n```',
  rationale: 'A small C shrinks the coefficients.',
});
/** Crashes: verification says failed. */
const BROKEN = formatIdea({
  analysis: 'Try a model that is not installed.',
  action: 'Switch to the new model:\n\n```python\ndef build_model():\n    raise RuntimeError("no such model")\n```',
  rationale: 'It is said to be better.',
});
/** The WORSE idea again in other words, with the same code: dropped as a near-duplicate. */
const WORSE_AGAIN = WORSE.replace('Regularise much more strongly:', 'Shrink the coefficients hard, as below:');

let api: IdeatorApi;
let trainUri: vscode.Uri;
let original: string;

async function useServer(server: OpenAIServer): Promise<void> {
  await cfg().update('provider', 'openai', G);
  await cfg().update('baseUrl', server.url, G);
  await cfg().update('model', 'ideator-test', G);
  await cfg().update('requestTimeoutSeconds', 30, G);
}

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Ask for N Ideas in a real VS Code', function () {
  this.timeout(180_000);

  before(async () => {
    const ext = vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    trainUri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'train.py');
    original = readFileSync(trainUri.fsPath, 'utf8');
    // Apply on a card goes through the diff preview here (Apply / Discard); the default, Keep / Undo in the editor, is inlineReview.test.ts's.
    await cfg().update('applyReview', 'diff', G);
  });

  after(async () => {
    await cfg().update('applyReview', undefined, G);
  });

  afterEach(async () => {
    for (const key of ['provider', 'baseUrl', 'model', 'requestTimeoutSeconds', 'ideaCount']) await cfg().update(key, undefined, G);
    writeFileSync(trainUri.fsPath, original);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('is contributed with its setting (default 4)', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('ideator.askForIdeas'));
    assert.equal(cfg().inspect<number>('ideaCount')?.defaultValue, 4);
  });

  it('one request with n = 4, three distinct ideas side by side, each recorded; Apply on a card is one undoable edit; Verify ranks them by real runs', async () => {
    const server = await startOpenAIServer({ responses: [GOOD_ANSWER, WORSE, BROKEN, WORSE_AGAIN].map((text) => ({ text, chunkSize: 16 })) });
    try {
      await useServer(server);
      await cfg().update('ideaCount', 4, G);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(trainUri));
      const outcome = await vscode.commands.executeCommand<{ status: string; ideas?: { id: string; parsed: { action: string } }[]; error?: string; result?: { mode: string; dropped: unknown[] } }>(
        'ideator.askForIdeas',
        { noReview: true },
      );
      assert.equal(outcome.status, 'ok', outcome.error);
      // One request for all four (the requests after it classify the recorded ideas' types, one each, without n).
      assert.equal(server.requests[0].n, 4);
      assert.equal(server.requests.filter((r) => r.n != null).length, 1, 'one request for all four');
      assert.equal(outcome.result?.mode, 'n');
      assert.equal(outcome.ideas?.length, 3);
      assert.equal(outcome.result?.dropped.length, 1);

      // Each idea is recorded like an asked one: the idea cache (lightbulb) and the run history.
      for (const idea of outcome.ideas!) {
        assert.ok(api.services.ideas.byId(idea.id), 'idea not in the cache');
        assert.ok(api.services.history?.idea(idea.id), 'idea not in the run history');
      }

      const view = api.askMany.panel.current!;
      assert.equal(view.phase, 'ready');
      assert.deepEqual(view.cards.map((c) => c.number), [1, 2, 3]);
      assert.ok(api.askMany.panel.visible, 'the Ideas panel is shown');
      await waitFor('the Ideas page to run its script', () => api.askMany.panel.ready);
      const html = api.askMany.panel.html;
      assert.match(html, /make_pipeline\(StandardScaler\(\), LogisticRegression\(C=0\.5, max_iter=1000\)\)/, 'the first idea’s diff');
      assert.match(html, /C=0\.0001/, 'the second idea’s diff');
      assert.match(html, /not verified/);
      assert.match(html, /1 near-duplicate dropped \(#4 repeats #2: same code\)/);
      assert.match(html, /Verify \(2 parallel, budget 10 min\)/);

      // Apply the first card through the page's button path: preview, confirm, one edit.
      api.services.prompts.confirmApply = async () => true;
      api.askMany.panel.press({ type: 'apply', ideaId: view.cards[0].ideaId! });
      await waitFor('the apply to start', () => api.askMany.lastApply !== undefined);
      const applied = await api.askMany.lastApply!;
      assert.equal(applied.status, 'applied');
      const doc = await vscode.workspace.openTextDocument(trainUri);
      assert.equal(doc.getText(), expectedAfterGood(original));
      assert.ok(api.askMany.panel.current!.cards[0].applied);
      // The cards follow the file: the applied one shows no diff any more (its code is in the file).
      await waitFor('the applied card to drop its diff', () => api.askMany.panel.current!.cards[0].inFile === true, 5000);
      assert.equal(api.askMany.panel.current!.cards[0].diff, undefined);
      assert.match(api.askMany.panel.html, /already in train\.py: nothing to apply/);
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      assert.equal(doc.getText(), original, 'one Undo reverts the whole idea');
      // Undone: its diff is back, against the file as it is now.
      await waitFor('the undone card to show its diff again', () => api.askMany.panel.current!.cards[0].diff !== undefined, 5000);
      assert.equal(api.askMany.panel.current!.cards[0].inFile, undefined);
      // An edit by hand: the second card's diff is recomputed against it (its removed line is the edited one).
      const edit = new vscode.WorkspaceEdit();
      const at = doc.getText().indexOf('def build_model');
      assert.ok(at >= 0);
      edit.insert(trainUri, doc.positionAt(at), '# tuned by hand\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await waitFor('the cards to be recomputed against the edited file', () => /tuned by hand/.test(api.askMany.panel.current!.cards[1].diff?.text ?? ''), 5000);
      await vscode.commands.executeCommand('undo');
      assert.equal(doc.getText(), original);
      await doc.save();

      // Verify: the user agrees to the default (2 at a time, 10 min); the command is given with the choice.
      let placeholder = '';
      api.services.prompts.pick = (async (items: { value?: unknown }[], ph: string) => {
        placeholder = ph;
        return { ...(items[0].value as object), command: 'python train.py', baselineSeeds: 2 };
      }) as typeof api.services.prompts.pick;
      const started = Date.now();
      api.askMany.panel.press({ type: 'verify' });
      await waitFor('the verification to start', () => api.askMany.lastVerify !== undefined);
      await waitFor('the cards to show the runs', () => api.askMany.panel.current!.phase === 'verifying', 5000);
      const verified = await api.askMany.lastVerify!;
      assert.match(placeholder, /Run each of the 3 ideas/);
      assert.equal(verified.status, 'done', verified.error);
      const after = api.askMany.panel.current!;
      assert.equal(after.phase, 'verified');
      const byNumber = new Map(after.cards.map((c) => [c.number, c.verify]));
      assert.ok(['improved', 'within_noise'].includes(byNumber.get(1)!.status), JSON.stringify(byNumber.get(1)));
      assert.equal(byNumber.get(2)!.status, 'worse', JSON.stringify(byNumber.get(2)));
      assert.equal(byNumber.get(3)!.status, 'failed', JSON.stringify(byNumber.get(3)));
      assert.equal(byNumber.get(1)!.rank, 1);
      assert.equal(byNumber.get(2)!.rank, 2);
      assert.ok(byNumber.get(1)!.score! > byNumber.get(2)!.score!);
      assert.ok(after.baseline && after.baseline.runs === 2);
      assert.match(api.askMany.panel.html, /<article class="card" data-idea="[^"]+" data-number="1">[\s\S]*<article class="card" data-idea="[^"]+" data-number="2">[\s\S]*data-number="3"/, 'ranked order');
      // Each judged idea's outcome went to the run history.
      for (const c of after.cards.filter((c) => c.verify.status !== 'failed')) assert.ok(api.services.history?.outcomeFor(c.ideaId!), 'outcome not recorded');
      console.log(`      verification of 3 ideas (2 baseline runs, 2 slots): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await server.close();
    }
  });

  it('after a window reload the Ideas tab comes back (the serializer) with the last result, and Apply works on it', async () => {
    const server = await startOpenAIServer({ responses: [GOOD_ANSWER, WORSE].map((text) => ({ text })) });
    try {
      await useServer(server);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(trainUri));
      const outcome = await vscode.commands.executeCommand<{ status: string; ideas?: { id: string }[]; error?: string }>('ideator.askForIdeas', { noReview: true, n: 2 });
      assert.equal(outcome.status, 'ok', outcome.error);
      const shown = api.askMany.panel.current!;
      const kept = api.services.context.workspaceState.get<{ view: { cards: { ideaId: string; diff?: unknown }[] } }>('ideator.ideasCompare.last');
      assert.ok(kept, 'the result is kept in workspaceState');
      assert.deepEqual(kept.view.cards.map((c) => c.ideaId), outcome.ideas!.map((i) => i.id));
      assert.ok(kept.view.cards.every((c) => c.diff === undefined), 'diffs are not kept (recomputed on restore)');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      assert.equal(api.askMany.panel.visible, false);

      // What VS Code does after a reload: a panel of the view type handed to the registered serializer.
      const panel = vscode.window.createWebviewPanel('ideator.ideasCompare', 'Ideas', vscode.ViewColumn.Active, {});
      assert.equal(await api.askMany.restore(panel), true);
      const restored = api.askMany.panel.current!;
      assert.equal(restored.phase, 'ready');
      assert.deepEqual(restored.cards.map((c) => [c.ideaId, c.action]), shown.cards.map((c) => [c.ideaId, c.action]));
      assert.deepEqual(restored.cards.map((c) => c.diff?.text), shown.cards.map((c) => c.diff?.text), 'the same diffs, recomputed against the unchanged file');
      await waitFor('the restored page to run its script', () => api.askMany.panel.ready);
      assert.match(api.askMany.panel.html, /C=0\.0001/);

      // Apply from the restored tab: the same safe path, one edit.
      api.services.prompts.confirmApply = async () => true;
      api.askMany.lastApply = undefined;
      api.askMany.panel.press({ type: 'apply', ideaId: restored.cards[0].ideaId! });
      await waitFor('the apply to start', () => api.askMany.lastApply !== undefined);
      assert.equal((await api.askMany.lastApply!).status, 'applied');
      const doc = await vscode.workspace.openTextDocument(trainUri);
      assert.equal(doc.getText(), expectedAfterGood(original));
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      await doc.save();

      // Something unreadable kept: the tab says so in one line instead of failing.
      await api.services.context.workspaceState.update('ideator.ideasCompare.last', { v: 1, records: 'nonsense' });
      const other = vscode.window.createWebviewPanel('ideator.ideasCompare', 'Ideas', vscode.ViewColumn.Active, {});
      assert.equal(await api.askMany.restore(other), false);
      assert.match(api.askMany.panel.html, /Nothing to show: ask again/);
      await api.services.context.workspaceState.update('ideator.ideasCompare.last', undefined);
    } finally {
      await server.close();
    }
  });

  it('Cancel in the panel stops the request at once', async () => {
    const server = await startOpenAIServer({ responses: [{ type: 'hang' }] });
    try {
      await useServer(server);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(trainUri));
      const pending = vscode.commands.executeCommand<{ status: string }>('ideator.askForIdeas', { noReview: true, n: 3 });
      await waitFor('the request', () => server.requests.length === 1);
      assert.equal(api.askMany.panel.current?.phase, 'asking');
      assert.match(api.askMany.panel.html, /data-cancel="1"/);
      const t0 = Date.now();
      api.askMany.panel.press({ type: 'cancel' });
      const outcome = await pending;
      assert.equal(outcome.status, 'cancelled');
      assert.ok(Date.now() - t0 < 3000, 'cancelled promptly');
      assert.equal(api.askMany.panel.current?.phase, 'cancelled');
      assert.equal(api.askMany.busy, false);
    } finally {
      await server.close();
    }
  });
});
