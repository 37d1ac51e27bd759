/**
 * Issue 15 item 3 in a real VS Code: Apply, by default (ideator.applyReview = inline), writes the change into the
 * file and offers Keep / Undo per change (CodeLens) and Keep All / Undo All; undoing one change restores exactly its
 * original lines even after the user edited the file; some changes kept and some undone is recorded as a partial
 * apply, as in the diff preview, and all undone as undone (no run judges it); the editor's Undo / Redo after Keep or Undo stay at the change; the
 * large-deletion confirmation and the already-applied check still come first.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { IdeatorApi } from '../../../src/extension/extension';
import type { UserPrompts } from '../../../src/extension/services';
import { startOpenAIServer } from '../../servers/openai';
import { expectedAfterGood, goodIdeaRecord as idea } from '../lib/answers';
import { putBack } from '../lib/suiteFiles';
import { ideaStatus } from '../../../src/extension/views/ideaHistoryRows';

const EXTENSION_ID = 'mle-ideator.mle-ideator';
const cfg = () => vscode.workspace.getConfiguration('ideator');
const G = vscode.ConfigurationTarget.Global;

let api: IdeatorApi;
let trainUri: vscode.Uri;
let original: string;
let prompts: UserPrompts;

async function openTrain(): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(trainUri));
}

async function lensTitles(): Promise<string[]> {
  // The lens provider answers on the next request after a change; give the event a moment.
  await new Promise((r) => setTimeout(r, 100));
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', trainUri)) ?? [];
  return lenses.filter((l) => l.command?.command.startsWith('ideator.review.')).map((l) => `${l.range.start.line}:${l.command!.title}`);
}

async function apply(id: string): Promise<{ status: string; error?: string }> {
  return (await vscode.commands.executeCommand<{ status: string; error?: string }>('ideator.applyIdea', id, trainUri.toString()))!;
}

const IMPORTS = 'from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n';
const NEW_RETURN = '    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))';
const OLD_RETURN = '    return LogisticRegression(max_iter=200)';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The editor's cursor is on `line` (give or take one) and that line is on screen. */
function near(editor: vscode.TextEditor, line: number, what: string): void {
  const at = editor.selection.active.line;
  assert.ok(Math.abs(at - line) <= 1, `${what} put the cursor on line ${at} (the change is on line ${line}, the last line is ${editor.document.lineCount - 1})`);
  assert.ok(editor.visibleRanges.some((r) => r.start.line <= line && line <= r.end.line), `${what} scrolled line ${line} out of view`);
}

describe('Issue 15: Keep / Undo per change in the editor (the default Apply)', function () {
  this.timeout(60_000);

  before(async () => {
    api = await vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID)!.activate();
    trainUri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'train.py');
    original = readFileSync(trainUri.fsPath, 'utf8');
    prompts = { ...api.services.prompts };
  });

  beforeEach(async () => {
    // Nothing set: what every user gets (suites that test the diff preview set it and put it back).
    assert.equal(cfg().inspect('applyReview')?.globalValue, undefined, 'a suite left ideator.applyReview set');
    assert.equal(api.services.config().config.applyReview, 'inline');
  });

  afterEach(async () => {
    api.services.prompts = { ...prompts };
    for (const key of ['provider', 'baseUrl', 'model', 'requestTimeoutSeconds']) await cfg().update(key, undefined, G);
    await vscode.commands.executeCommand('ideator.review.keepAll');
    await putBack(trainUri, original);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('writes the change with no toast to confirm, and offers Keep / Undo on each change and Keep All / Undo All', async () => {
    await api.services.ideas.add(idea('inline-1'));
    await openTrain();
    let asked = false;
    api.services.prompts.confirmApply = async () => (asked = true);
    const r = await apply('inline-1');
    assert.equal(r.status, 'applied', r.error);
    assert.equal(asked, false, 'the in-editor review replaces the Apply/Discard toast');
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), expectedAfterGood(original), 'the change is written and saved');
    assert.equal(vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputTextDiff).length, 0, 'no diff tab');
    const pending = api.ideas.reviews.pending(trainUri);
    assert.equal(pending.length, 2);
    const doc = await vscode.workspace.openTextDocument(trainUri);
    const importLine = doc.positionAt(doc.getText().indexOf(IMPORTS)).line;
    const returnLine = doc.positionAt(doc.getText().indexOf(NEW_RETURN)).line;
    assert.deepEqual(await lensTitles(), [
      `${importLine}:$(check) Keep`,
      `${importLine}:$(discard) Undo`,
      `${importLine}:Keep All 2`,
      `${importLine}:Undo All 2`,
      `${returnLine}:$(check) Keep`,
      `${returnLine}:$(discard) Undo`,
    ]);
  });

  it("Undo of one change puts back exactly its lines, after the user's own edit above it; Keep ends the review", async () => {
    await api.services.ideas.add(idea('inline-2'));
    const editor = await openTrain();
    assert.equal((await apply('inline-2')).status, 'applied');
    // The user types a comment on the first line: both hunks move down one line.
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), '# tuned by hand\n')));
    const [imports, ret] = api.ideas.reviews.pending(trainUri);
    assert.equal(editor.document.getText().slice(ret.start, ret.end), `${NEW_RETURN}\n`);
    assert.equal(await vscode.commands.executeCommand('ideator.review.undo', trainUri.toString(), ret.id), true);
    const expected = `# tuned by hand\n${expectedAfterGood(original).replace(NEW_RETURN, OLD_RETURN)}`;
    assert.equal(editor.document.getText(), expected);
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), expected, 'the undo is saved');
    assert.deepEqual(api.ideas.reviews.pending(trainUri).map((h) => h.id), [imports.id]);
    assert.equal((await lensTitles()).length, 2, 'one change left: Keep and Undo, no Keep All');
    await vscode.commands.executeCommand('ideator.review.keep', trainUri.toString(), imports.id);
    assert.equal(api.ideas.reviews.pending(trainUri).length, 0);
    assert.deepEqual(await lensTitles(), []);
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), expected);
  });

  it('Undo All restores the file; the editor Undo of the apply ends the review too', async () => {
    await api.services.ideas.add(idea('inline-3'));
    const editor = await openTrain();
    assert.equal((await apply('inline-3')).status, 'applied');
    await vscode.commands.executeCommand('ideator.review.undoAll');
    assert.equal(editor.document.getText(), original);
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
    assert.equal(api.ideas.reviews.pending(trainUri).length, 0);
    // Nothing of the idea is left: recorded as undone (as Discard in the preview records nothing), and no run judges it.
    const history = api.services.history!;
    const last = () => history.applied().filter((a) => a.ideaId === 'inline-3').pop();
    assert.equal(last()?.undone, true);
    assert.equal(history.pendingIdea(), null);
    assert.equal(ideaStatus(history, idea('inline-3')).text, 'Not applied: every change was undone in train.py');

    assert.equal((await apply('inline-3')).status, 'applied');
    assert.equal(history.pendingIdea()?.applied.ideaId, 'inline-3', 'applied again: the next run judges it');
    assert.equal(api.ideas.reviews.pending(trainUri).length, 2);
    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), original, 'one editor Undo reverts the whole apply');
    assert.equal(api.ideas.reviews.pending(trainUri).length, 0, 'changes put back by Undo are no longer offered');
    assert.equal(last()?.undone, true, "the editor's Undo of the whole apply is recorded as undone too");
    await editor.document.save();
  });

  it('one change kept and one undone is recorded as a partial apply (the Idea History says so); all kept is not', async () => {
    await api.services.ideas.add(idea('inline-part'));
    await openTrain();
    assert.equal((await apply('inline-part')).status, 'applied');
    const history = api.services.history!;
    const records = () => history.applied().filter((a) => a.ideaId === 'inline-part');
    const [first] = records();
    assert.equal(records().length, 1, 'the apply is recorded at once (a run started during the review judges it)');
    assert.equal(first.partial, false);
    assert.equal(first.beforeHash, sha256(original));
    assert.equal(first.afterHash, sha256(expectedAfterGood(original)));
    const [imports, ret] = api.ideas.reviews.pending(trainUri);
    assert.equal(await vscode.commands.executeCommand('ideator.review.undo', trainUri.toString(), ret.id), true);
    assert.deepEqual(records(), [first], 'recorded again before every change was decided');
    await vscode.commands.executeCommand('ideator.review.keep', trainUri.toString(), imports.id);
    const onlyImports = expectedAfterGood(original).replace(NEW_RETURN, OLD_RETURN);
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), onlyImports);
    // The store keeps one record per apply: the one recorded again replaces the first.
    assert.deepEqual(records(), [{ ...first, afterHash: sha256(onlyImports), partial: true }], 'the same apply (same time), now partial, with what the file holds');
    assert.equal(ideaStatus(history, idea('inline-part')).text, 'Partly applied to train.py; the next run will judge it');
    assert.equal(history.pendingIdea()?.applied.partial, true, 'the next run judges the partial apply');

    // Every change kept: the first record stands.
    writeFileSync(trainUri.fsPath, original);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await api.services.ideas.add(idea('inline-whole'));
    assert.equal((await apply('inline-whole')).status, 'applied');
    await vscode.commands.executeCommand('ideator.review.keepAll');
    assert.deepEqual(history.applied().filter((a) => a.ideaId === 'inline-whole').map((a) => a.partial), [false]);
    assert.equal(ideaStatus(history, idea('inline-whole')).text, 'Applied to train.py; the next run will judge it');
  });

  it('undo and redo after Keep or Undo land on the change, not on the last line', async () => {
    await api.services.ideas.add(idea('inline-undo'));
    const editor = await openTrain();
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    assert.equal((await apply('inline-undo')).status, 'applied');
    const doc = editor.document;
    const [imports, ret] = api.ideas.reviews.pending(trainUri);
    const importLine = doc.positionAt(imports.start).line;
    const returnLine = doc.positionAt(ret.start).line;
    assert.ok(returnLine < doc.lineCount - 6, 'the fixture needs the change well above the last line');
    // Undo of the return change, then the editor's Undo of that (the change is back) and Redo.
    assert.equal(await vscode.commands.executeCommand('ideator.review.undo', trainUri.toString(), ret.id), true);
    const onlyImports = expectedAfterGood(original).replace(NEW_RETURN, OLD_RETURN);
    const shown = await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), expectedAfterGood(original), "the editor's Undo did not bring the change back");
    near(shown, returnLine, 'undo after Undo');
    await vscode.commands.executeCommand('redo');
    assert.equal(doc.getText(), onlyImports);
    near(shown, returnLine, 'redo after Undo');
    // Keep the imports (nothing changes in the file), then the editor's Undo / Redo of the apply's imports.
    await vscode.commands.executeCommand('ideator.review.keep', trainUri.toString(), imports.id);
    assert.equal(api.ideas.reviews.pending(trainUri).length, 0);
    await vscode.commands.executeCommand('undo'); // the Undo of the return change
    await vscode.commands.executeCommand('undo'); // the apply itself
    assert.equal(doc.getText(), original, 'two editor Undos did not restore the file');
    assert.ok(shown.selection.active.line <= returnLine, `undo of the apply put the cursor on line ${shown.selection.active.line} of ${doc.lineCount - 1}`);
    await vscode.commands.executeCommand('redo');
    assert.equal(doc.getText(), expectedAfterGood(original));
    assert.ok(shown.selection.active.line <= returnLine, `redo of the apply put the cursor on line ${shown.selection.active.line} of ${doc.lineCount - 1}`);
    assert.ok(shown.visibleRanges.some((r) => r.start.line <= importLine && importLine <= r.end.line), 'redo scrolled the change out of view');
    await doc.save();
  });

  it("the editor's Undo / Redo of an Undo is recorded too: an undone idea brought back is judged by the next run", async () => {
    writeFileSync(trainUri.fsPath, original);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await api.services.ideas.add(idea('inline-back'));
    const editor = await openTrain();
    const doc = editor.document;
    const history = api.services.history!;
    const last = () => history.applied().filter((a) => a.ideaId === 'inline-back').pop();
    const status = () => ideaStatus(history, idea('inline-back')).text;
    const onlyImports = expectedAfterGood(original).replace(NEW_RETURN, OLD_RETURN);

    // Undo All, then the editor's Undo of it: the idea is in the file again, so the next run judges it; Redo: undone.
    assert.equal((await apply('inline-back')).status, 'applied');
    await vscode.commands.executeCommand('ideator.review.undoAll');
    assert.equal(last()?.undone, true);
    assert.equal(history.pendingIdea(), null);
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), expectedAfterGood(original));
    assert.equal(last()?.undone, undefined, "the editor's Undo of Undo All brought the idea back");
    assert.equal(last()?.partial, false);
    assert.equal(last()?.afterHash, sha256(expectedAfterGood(original)));
    assert.equal(history.pendingIdea()?.applied.ideaId, 'inline-back', 'the next run judges it');
    assert.equal(status(), 'Applied to train.py; the next run will judge it');
    await vscode.commands.executeCommand('redo');
    assert.equal(doc.getText(), original);
    assert.equal(last()?.undone, true);
    assert.equal(history.pendingIdea(), null);
    await doc.save();

    // Undo of one change and Keep of the other (partly applied), then the editor's Undo of that Undo: applied.
    assert.equal((await apply('inline-back')).status, 'applied');
    const [imports, ret] = api.ideas.reviews.pending(trainUri);
    assert.equal(await vscode.commands.executeCommand('ideator.review.undo', trainUri.toString(), ret.id), true);
    await vscode.commands.executeCommand('ideator.review.keep', trainUri.toString(), imports.id);
    assert.equal(last()?.partial, true);
    assert.equal(status(), 'Partly applied to train.py; the next run will judge it');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), expectedAfterGood(original));
    assert.equal(last()?.partial, false, "the editor's Undo of the Undo: every change is in the file again");
    assert.equal(last()?.undone, undefined);
    assert.equal(status(), 'Applied to train.py; the next run will judge it');
    await vscode.commands.executeCommand('redo');
    assert.equal(doc.getText(), onlyImports);
    assert.equal(last()?.partial, true);
    // The editor's Undo of the whole apply during its review, then Redo: undone, then applied again.
    await doc.save();
    writeFileSync(trainUri.fsPath, original);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal((await apply('inline-back')).status, 'applied');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original);
    assert.equal(api.ideas.reviews.pending(trainUri).length, 0);
    assert.equal(last()?.undone, true);
    await vscode.commands.executeCommand('redo');
    assert.equal(doc.getText(), expectedAfterGood(original));
    assert.equal(last()?.undone, undefined, 'Redo of the apply brought it back');
    assert.equal(history.pendingIdea()?.applied.ideaId, 'inline-back');
    await doc.save();
  });

  it('the apply is heard before its review can end (an Undo during the save); a failed save ends the review', async () => {
    writeFileSync(trainUri.fsPath, original);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    const doc = (await openTrain()).document;
    const reviews = api.ideas.reviews;
    const heard: string[] = [];
    let saved!: () => void;
    const saving = new Promise<void>((r) => (saved = r));
    const started = reviews.start(doc, expectedAfterGood(original), 'test', () => saving, (e) => heard.push(`end ${e.kept}/${e.undone}`), () => heard.push('written'));
    while (!reviews.pending(trainUri).length) await new Promise((r) => setTimeout(r, 20));
    // Undo All while the apply is being saved (its own save waits for the same one).
    const undone = vscode.commands.executeCommand('ideator.review.undoAll');
    while (doc.getText() !== original) await new Promise((r) => setTimeout(r, 20));
    saved();
    assert.equal(await undone, true);
    assert.equal(await started, true);
    assert.deepEqual(heard, ['written', 'end 0/2']);
    assert.equal(doc.getText(), original);

    heard.length = 0;
    await assert.rejects(
      reviews.start(doc, expectedAfterGood(original), 'test', () => Promise.reject(new Error('disk full')), (e) => heard.push(`end ${e.kept}/${e.undone}`), () => heard.push('written')),
      /could not be saved: disk full/,
    );
    assert.deepEqual(heard, ['written']);
    assert.equal(reviews.pending(trainUri).length, 0, 'no review is left open after a failed save');
    assert.deepEqual(await lensTitles(), []);
    // The change stays in the editor, and its Undo is still followed.
    assert.equal(doc.getText(), expectedAfterGood(original));
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original);
    assert.deepEqual(heard, ['written', 'end 0/2']);
    await doc.save();
  });

  it('an idea already in the file changes nothing; a change deleting most of the file still asks first', async () => {
    await api.services.ideas.add(idea('inline-4'));
    await openTrain();
    assert.equal((await apply('inline-4')).status, 'applied');
    await vscode.commands.executeCommand('ideator.review.keepAll');
    const after = readFileSync(trainUri.fsPath, 'utf8');
    assert.equal((await apply('inline-4')).status, 'already-applied');
    assert.equal(readFileSync(trainUri.fsPath, 'utf8'), after);
    assert.equal(api.ideas.reviews.pending(trainUri).length, 0);

    writeFileSync(trainUri.fsPath, original);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    const server = await startOpenAIServer({ responses: [{ text: '```python\ndef build_model():\n    return make_pipeline(StandardScaler(), LogisticRegression())\n```' }] });
    try {
      await cfg().update('provider', 'openai', G);
      await cfg().update('baseUrl', server.url, G);
      await cfg().update('model', 'ideator', G);
      await cfg().update('requestTimeoutSeconds', 20, G);
      await api.services.ideas.add(idea('inline-wipe', { action: 'Scale the features.', codeBlocks: [] }));
      let warning = '';
      api.services.prompts.confirmLargeDeletion = async (_label, text) => {
        warning = text;
        return false;
      };
      const r = await apply('inline-wipe');
      assert.equal(r.status, 'discarded', r.error);
      assert.match(warning, /deletes 1[6-8] of the 18 lines of code in train\.py/);
      assert.equal(readFileSync(trainUri.fsPath, 'utf8'), original);
      assert.equal(api.ideas.reviews.pending(trainUri).length, 0);
    } finally {
      await server.close();
    }
  });
});
