/**
 * Extension tests with the real `vscode` API, run inside code-server's extension host (see runSuite.ts).
 * The workspace is a fresh copy of test/vscode/demo-workspace.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { IdeatorApi } from '../../../src/extension/extension';
import type { IdeaRecord } from '../../../src/core/protocol';
import { startOpenAIServer, type OpenAIServer } from '../../servers/openai';
import { expectedAfterGood, GOOD_ANSWER, GOOD_THINKING, MALFORMED_ANSWER } from '../lib/answers';
import { putBack } from '../lib/suiteFiles';

const EXTENSION_ID = 'mle-ideator.mle-ideator';
const cfg = () => vscode.workspace.getConfiguration('ideator');
const G = vscode.ConfigurationTarget.Global;

let api: IdeatorApi;
let trainUri: vscode.Uri;
let original: string;

function codeBlocks(): IdeaRecord['parsed']['codeBlocks'] {
  const code = /```python\n([\s\S]*?)\n```/.exec(GOOD_ANSWER)![1];
  return [{ lang: 'python', code, isDiff: false }];
}

function cachedIdea(id: string): IdeaRecord {
  return {
    id,
    createdAt: new Date().toISOString(),
    raw: GOOD_ANSWER,
    parsed: { ok: true, analysis: 'unscaled features', action: 'Standardise the features inside a pipeline.', rationale: 'conditioning', codeBlocks: codeBlocks(), errors: [] },
    provider: 'openai',
    model: 'test',
    targetPath: 'train.py',
  };
}

async function openTrain(): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(trainUri);
  return vscode.window.showTextDocument(doc);
}

async function resetTrain(): Promise<void> {
  await putBack(trainUri, original);
}

async function useServer(server: OpenAIServer): Promise<void> {
  await cfg().update('provider', 'openai', G);
  await cfg().update('baseUrl', server.url, G);
  await cfg().update('model', 'ideator-test', G);
  await cfg().update('requestTimeoutSeconds', 20, G);
}

describe('MLE Ideator in a real VS Code', function () {
  before(async () => {
    const ext = vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not loaded`);
    api = await ext.activate();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder');
    trainUri = vscode.Uri.joinPath(folder.uri, 'train.py');
    original = readFileSync(trainUri.fsPath, 'utf8');
    // This suite drives the diff preview (Apply / Discard); the default, Keep / Undo in the editor, is inlineReview.test.ts's.
    await cfg().update('applyReview', 'diff', G);
  });

  after(async () => {
    await cfg().update('applyReview', undefined, G);
  });

  afterEach(async () => {
    for (const key of ['provider', 'baseUrl', 'model', 'requestTimeoutSeconds', 'trajectoryTokenBudget', 'reviewQueryBeforeSending', 'pythonPath']) {
      await cfg().update(key, undefined, G);
    }
    await resetTrain();
  });

  it('activates by registration only (no network, no file scans, no python discovery)', () => {
    // The bundle is already loaded when activate() runs; what is left must be object wiring.
    assert.ok(api.activationMs < 250, `activate() took ${api.activationMs.toFixed(1)} ms`);
    console.log(`      activate() took ${api.activationMs.toFixed(1)} ms`);
  });

  it('registers every contributed command', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed: { command: string }[] = ext.packageJSON.contributes.commands;
    assert.ok(contributed.length >= 6);
    for (const { command } of contributed) assert.ok(all.has(command), `${command} is not registered`);
  });

  it('validates settings with a clear message and falls back to defaults', async () => {
    assert.equal(api.services.config().ok, true);
    await cfg().update('trajectoryTokenBudget', 10, G);
    await cfg().update('baseUrl', 'ftp://example.org', G);
    const result = api.services.config();
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.ok(result.errors.some((e) => e.includes('"ideator.trajectoryTokenBudget"') && e.includes('at least 1000')), result.errors.join('\n'));
    assert.ok(result.errors.some((e) => e.includes('"ideator.baseUrl"') && e.includes('http')), result.errors.join('\n'));
    assert.equal(result.config.trajectoryTokenBudget, 32_000);
    await cfg().update('trajectoryTokenBudget', 5000, G);
    await cfg().update('baseUrl', undefined, G);
    assert.equal(api.services.config().ok, true);
    assert.equal(api.services.config().config.trajectoryTokenBudget, 5000);
  });

  it('stores API keys in SecretStorage only (set, read, clear)', async () => {
    assert.equal(await vscode.commands.executeCommand('ideator.setApiKey', 'openai', '  sk-test-round-trip  '), true);
    assert.equal(await api.services.secrets.get('openai'), 'sk-test-round-trip');
    assert.equal(await api.services.secrets.hasStored('openai'), true);
    // Nowhere in the settings.
    const inspected = JSON.stringify(vscode.workspace.getConfiguration().inspect('ideator'));
    assert.ok(!inspected?.includes('sk-test-round-trip'));
    assert.equal(await vscode.commands.executeCommand('ideator.clearApiKey', 'openai'), true);
    assert.equal(await api.services.secrets.hasStored('openai'), false);
  });

  it('offers the cached idea as a code action on its file only, without calling a model', async () => {
    await api.services.ideas.add(cachedIdea('cached-1'));
    const editor = await openTrain();
    const range = new vscode.Range(5, 0, 5, 0);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', editor.document.uri, range);
    const ours = actions.filter((a) => a.title.startsWith('Apply Ideator action'));
    assert.equal(ours.length, 1, JSON.stringify(actions.map((a) => a.title)));
    assert.equal(ours[0].kind?.value, 'quickfix.ideator');
    assert.deepEqual(ours[0].command?.arguments, ['cached-1', editor.document.uri.toString()]);
    const refactors = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', editor.document.uri, range, vscode.CodeActionKind.RefactorRewrite.value);
    assert.ok(refactors.some((a) => a.kind?.value === 'refactor.rewrite.ideator'));
    const other = await vscode.workspace.openTextDocument({ language: 'python', content: 'x = 1\n' });
    const none = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', other.uri, new vscode.Range(0, 0, 0, 0));
    assert.equal(none.filter((a) => a.title.startsWith('Apply Ideator action')).length, 0);
  });

  it('applies an idea after the preview, and one undo restores the file', async () => {
    await api.services.ideas.add(cachedIdea('apply-1'));
    const editor = await openTrain();
    let previewShown = false;
    api.services.prompts.confirmApply = async () => {
      // The diff editor shows the proposal next to the real file before anything changes.
      previewShown = vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme === 'ideator-proposal');
      assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original, 'file changed before confirmation');
      return true;
    };
    const outcome = await vscode.commands.executeCommand<{ status: string; via: string }>('ideator.applyIdea', 'apply-1', trainUri.toString());
    assert.equal(outcome.status, 'applied');
    assert.equal(outcome.via, 'replace-definitions');
    assert.ok(previewShown, 'no diff preview was open when the confirmation was asked');
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), expectedAfterGood(original));
    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), original, 'one undo did not restore the file');
    await editor.document.save();
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
  });

  it('leaves the file untouched when the preview is discarded', async () => {
    await api.services.ideas.add(cachedIdea('discard-1'));
    await openTrain();
    api.services.prompts.confirmApply = async () => false;
    const outcome = await vscode.commands.executeCommand<{ status: string }>('ideator.applyIdea', 'discard-1', trainUri.toString());
    assert.equal(outcome.status, 'discarded');
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
    const diffs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputTextDiff);
    assert.equal(diffs.length, 0, 'the preview was not closed');
  });

  it('asks the implementer model when the idea carries no applicable code, then previews and applies', async () => {
    const rewritten = original.replace('LogisticRegression(max_iter=200)', 'LogisticRegression(max_iter=2000, class_weight="balanced")');
    const server = await startOpenAIServer({ responses: [{ text: 'Here is the updated file:\n\n```python\n' + rewritten + '```\n' }] });
    try {
      await useServer(server);
      await cfg().update('implementerModel', 'implementer-test', G);
      const idea = cachedIdea('implement-1');
      idea.parsed = { ...idea.parsed, action: 'Balance the classes and let lbfgs run longer.', codeBlocks: [] };
      await api.services.ideas.add(idea);
      await openTrain();
      api.services.prompts.confirmApply = async () => true;
      const outcome = await vscode.commands.executeCommand<{ status: string; via: string; error?: string }>('ideator.applyIdea', 'implement-1', trainUri.toString());
      assert.equal(outcome.status, 'applied', outcome.error);
      assert.equal(outcome.via, 'implementer');
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0].model, 'implementer-test');
      assert.ok(JSON.stringify(server.requests[0].messages).includes('Balance the classes'), 'the idea is missing from the implementer prompt');
      assert.equal(readFileSync(trainUri.fsPath, 'utf8'), rewritten);
    } finally {
      await cfg().update('implementerModel', undefined, G);
      await server.close();
    }
  });

  it('asks about a notebook and applies the idea to the cell it fits, from the lightbulb on that cell', async () => {
    const folder = vscode.workspace.workspaceFolders![0].uri;
    const nbUri = vscode.Uri.joinPath(folder, 'model.ipynb');
    const cell = (source: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: source.split(/(?<=\n)/) });
    const ipynb = {
      cells: [
        cell('from sklearn.linear_model import LogisticRegression\n'),
        cell('def build_model():\n    return LogisticRegression(max_iter=200)\n'),
        cell('model = build_model()\n'),
      ],
      metadata: { language_info: { name: 'python' } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    writeFileSync(nbUri.fsPath, JSON.stringify(ipynb, null, 1));
    const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER }] });
    try {
      await useServer(server);
      const nb = await vscode.workspace.openNotebookDocument(nbUri);
      await vscode.window.showNotebookDocument(nb);
      // Asked from the notebook: the prompt carries its cells, the idea is about the notebook.
      const asked = await vscode.commands.executeCommand<{ status: string; idea?: IdeaRecord; error?: string }>('ideator.askIdeator', { noReview: true });
      assert.equal(asked.status, 'ok', asked.error);
      assert.equal(asked.idea?.targetPath, 'model.ipynb');
      const prompt = JSON.stringify(server.requests[0].messages);
      assert.ok(prompt.includes('# %% cell 2') && prompt.includes('return LogisticRegression(max_iter=200)'), 'notebook cells missing from the prompt');
      const target = nb.cellAt(1).document;
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', target.uri, new vscode.Range(0, 0, 0, 0));
      const ours = actions.find((a) => a.title.startsWith('Apply Ideator action'));
      assert.ok(ours, 'no Ideator action on the notebook cell');
      api.services.prompts.confirmApply = async () => true;
      const outcome = await vscode.commands.executeCommand<{ status: string; via: string; error?: string }>('ideator.applyIdea', ...(ours.command!.arguments as string[]));
      assert.equal(outcome.status, 'applied', outcome.error);
      assert.match(nb.cellAt(1).document.getText(), /^from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\ndef build_model\(\):\n {4}return make_pipeline/);
      assert.equal(nb.cellAt(0).document.getText().trim(), 'from sklearn.linear_model import LogisticRegression', 'another cell changed');
      const saved = JSON.parse(readFileSync(nbUri.fsPath, 'utf8'));
      assert.match(saved.cells[1].source.join(''), /make_pipeline\(StandardScaler\(\), LogisticRegression\(C=0.5, max_iter=1000\)\)/);
    } finally {
      await server.close();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.workspace.fs.delete(nbUri);
    }
  });

  it('asks an OpenAI-compatible server, streams into the panel and caches the idea', async () => {
    const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER, reasoning: GOOD_THINKING, chunkSize: 24 }] });
    try {
      await useServer(server);
      await openTrain();
      const outcome = await vscode.commands.executeCommand<{ status: string; idea?: IdeaRecord; error?: string }>('ideator.askIdeator', { noReview: true });
      assert.equal(outcome.status, 'ok', outcome.error);
      const idea = outcome.idea!;
      assert.equal(idea.parsed.ok, true, idea.parsed.errors.join('; '));
      assert.match(idea.parsed.action, /StandardScaler/);
      assert.equal(idea.parsed.thinking, GOOD_THINKING);
      assert.equal(idea.targetPath, 'train.py');
      assert.equal(api.services.ideas.latest?.id, idea.id);
      // What the model saw: the task description from TASK.md and the script.
      // The first request is the Ideator's (run watching may classify the idea with a second one).
      assert.ok(server.requests.length >= 1);
      assert.equal(server.requests[0].stream, true);
      assert.equal(server.requests[0].model, 'ideator-test');
      const prompt = JSON.stringify(server.requests[0].messages);
      assert.ok(prompt.includes('breast-cancer diagnosis'), 'task description missing from the prompt');
      assert.ok(prompt.includes('def build_model()'), 'code missing from the prompt');
      const html = api.ideas.panel.currentHtml;
      for (const h of ['ANALYSIS', 'ACTION', 'RATIONALE']) assert.ok(html.includes(`<h2>${h}</h2>`), `${h} missing in the panel`);
      assert.ok(html.includes('tok-keyword'), 'code block not highlighted');
      assert.ok(html.includes('ideator-test'), 'model not shown');
    } finally {
      await server.close();
    }
  });

  it('shows a malformed answer tolerantly with the format warning', async () => {
    const server = await startOpenAIServer({ responses: [{ text: MALFORMED_ANSWER }] });
    try {
      await useServer(server);
      await openTrain();
      const outcome = await vscode.commands.executeCommand<{ status: string; idea?: IdeaRecord }>('ideator.askIdeator', { noReview: true });
      assert.equal(outcome.status, 'ok');
      assert.equal(outcome.idea!.parsed.ok, false);
      assert.ok(api.ideas.panel.currentHtml.includes('answer not in the expected layout'));
      assert.ok(api.ideas.panel.currentHtml.includes('gradient boosting'));
    } finally {
      await server.close();
    }
  });

  it('reports an HTTP 500 clearly and changes nothing', async () => {
    const server = await startOpenAIServer({ responses: [{ type: 'error', status: 500, message: 'CUDA out of memory' }] });
    try {
      await useServer(server);
      await openTrain();
      const before = api.services.ideas.latest?.id;
      const outcome = await vscode.commands.executeCommand<{ status: string; error?: string }>('ideator.askIdeator', { noReview: true });
      assert.equal(outcome.status, 'error');
      assert.match(outcome.error ?? '', /500|server/i);
      // Earlier tests cached ideas: the last one stays, with the failure above it.
      assert.ok(api.ideas.panel.currentHtml.includes('The last request failed'));
      assert.ok(api.ideas.panel.currentHtml.includes(`data-idea-id="${before}"`), 'the last good idea was replaced by the error');
      assert.equal(api.services.ideas.latest?.id, before, 'a failed ask must not cache an idea');
      assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
    } finally {
      await server.close();
    }
  });

  it('cancels a hanging request through the AbortSignal', async () => {
    const server = await startOpenAIServer({ responses: [{ type: 'hang' }] });
    try {
      await useServer(server);
      await openTrain();
      const pending = vscode.commands.executeCommand<{ status: string }>('ideator.askIdeator', { noReview: true });
      const t0 = Date.now();
      while (server.requests.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(server.requests.length, 1, 'the request never reached the server');
      await vscode.commands.executeCommand('ideator.cancelAsk');
      const outcome = await pending;
      assert.equal(outcome.status, 'cancelled');
      assert.ok(Date.now() - t0 < 10_000);
      assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
    } finally {
      await server.close();
    }
  });

  it('gives up on an answer that trickles past ideator.requestTimeoutSeconds, saying which setting to raise', async function () {
    this.timeout(30_000);
    // Tokens keep coming (no idle timeout fires) but the whole answer would take about 40 s.
    const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER, chunkSize: 4, chunkDelayMs: 100 }] });
    try {
      await useServer(server);
      await cfg().update('requestTimeoutSeconds', 5, G);
      await openTrain();
      const t0 = Date.now();
      const outcome = await vscode.commands.executeCommand<{ status: string; error?: string }>('ideator.askIdeator', { noReview: true });
      assert.equal(outcome.status, 'error');
      assert.match(outcome.error ?? '', /within 5 s.*ideator\.requestTimeoutSeconds/);
      assert.ok(Date.now() - t0 < 15_000);
      assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
    } finally {
      await server.close();
    }
  });

  it('finds a python interpreter without the Python extension', async () => {
    assert.equal(vscode.extensions.getExtension('ms-python.python'), undefined);
    await cfg().update('pythonPath', '/opt/custom/python', G);
    assert.deepEqual(await api.services.python(), { command: '/opt/custom/python', source: 'setting' });
    await cfg().update('pythonPath', undefined, G);
    const found = await api.services.python();
    assert.ok(['python.defaultInterpreterPath', 'workspace-venv', 'path'].includes(found.source), found.source);
  });
});
