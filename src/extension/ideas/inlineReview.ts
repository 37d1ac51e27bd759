/**
 * In-editor review of an applied idea, as Copilot's edits do: the change is written into the file as one undoable
 * edit (the few replacements minimalEdits gives) and saved, each changed hunk is highlighted (added lines; the
 * removed lines in a hover and a short note at the end of the hunk's first line) and a CodeLens above it offers
 * Keep / Undo, the first one also Keep All / Undo All. Undo of a hunk puts that hunk's original lines back exactly:
 * hunk positions follow every change to the document (core/reviewHunks.ts). A review ends when no hunk is left
 * pending, or when its document closes (what is in the file then stays); it then says how many changes were kept
 * and how many undone (Undo, Undo All, or put back by the editor's Undo or by hand), so Apply records a partial apply.
 * Until the document closes it keeps following the editor's Undo / Redo of those decisions: each text the file had
 * when a decision was made is remembered with what it held then, and when the editor's Undo / Redo brings the
 * document back to one of those texts (Undo of an Undo brings the change back, Redo of the whole apply...) the apply
 * is said to hold that again.
 */
import * as vscode from 'vscode';
import { minimalEdits } from '../../core/ideaApply';
import { hunksOfEdits, pendingHunks, shiftHunks, undoEdit, type ReviewHunk } from '../../core/reviewHunks';

interface Review {
  document: vscode.TextDocument;
  hunks: ReviewHunk[];
  save: () => Thenable<unknown>;
  /** What to say in the hover: which idea wrote this. */
  title: string;
  /** Changes decided so far: kept, and undone (their original lines back). */
  kept: number;
  undone: number;
  onEnd?: (end: ReviewEnd) => void;
  /** The texts the document had when changes were decided (and before and after the apply), with what each held. */
  states: Map<string, Held>;
  /** What onEnd was last told (at first: every change in the file, as the apply is recorded). */
  reported: Held;
}

/** How many of an apply's changes a text holds, and how many it has back as they were. */
interface Held {
  kept: number;
  undone: number;
}

/**
 * How a review ended: every change decided (or the document closed, keeping what was left), and the text then; told
 * again whenever the editor's Undo / Redo later changes how many of the changes the file holds.
 */
export interface ReviewEnd {
  kept: number;
  undone: number;
  text: string;
}

export const REVIEW_COMMANDS = {
  keep: 'ideator.review.keep',
  undo: 'ideator.review.undo',
  keepAll: 'ideator.review.keepAll',
  undoAll: 'ideator.review.undoAll',
} as const;

/** Lines [first, last] a hunk's current text covers (a pure deletion: the line it sits on). */
function hunkLines(document: vscode.TextDocument, h: ReviewHunk): { first: number; last: number } {
  const first = document.positionAt(h.start).line;
  if (h.end === h.start) return { first: Math.min(first, document.lineCount - 1), last: Math.min(first, document.lineCount - 1) };
  const endPos = document.positionAt(h.end);
  const last = endPos.character === 0 && endPos.line > first ? endPos.line - 1 : endPos.line;
  return { first, last };
}

function removedNote(original: string): string {
  const n = original.replace(/\n$/, '').split('\n').length;
  return original === '' ? '' : `${n} line${n === 1 ? '' : 's'} removed (hover to see ${n === 1 ? 'it' : 'them'})`;
}

export class InlineReviews implements vscode.CodeLensProvider, vscode.Disposable {
  /** The extension's one instance (created at activation with the idea features; Apply uses it). */
  static current: InlineReviews | undefined;
  private readonly reviews = new Map<string, Review>();
  /** Ended reviews whose documents are still open: their decisions may be undone / redone in the editor. */
  private readonly watched = new Map<string, Review>();
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly added = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly removed = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    borderColor: new vscode.ThemeColor('diffEditor.removedTextBorder'),
    borderStyle: 'solid',
    borderWidth: '2px 0 0 0',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(
      vscode.languages.registerCodeLensProvider({ scheme: '*' }, this),
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.end(d.uri, true);
        this.watched.delete(d.uri.toString());
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorateAll()),
      vscode.commands.registerCommand(REVIEW_COMMANDS.keep, (uri?: unknown, id?: unknown) => this.keep(String(uri ?? ''), Number(id))),
      vscode.commands.registerCommand(REVIEW_COMMANDS.undo, (uri?: unknown, id?: unknown) => this.undo(String(uri ?? ''), Number(id))),
      vscode.commands.registerCommand(REVIEW_COMMANDS.keepAll, (uri?: unknown) => this.keepAll(this.keyOf(uri))),
      vscode.commands.registerCommand(REVIEW_COMMANDS.undoAll, (uri?: unknown) => this.undoAll(this.keyOf(uri))),
    );
    void vscode.commands.executeCommand('setContext', 'ideator.reviewing', false);
    InlineReviews.current = this;
  }

  /** The review a command means: the one named, else the active editor's, else the only one. */
  private keyOf(uri: unknown): string {
    if (typeof uri === 'string' && this.reviews.has(uri)) return uri;
    if (uri instanceof vscode.Uri && this.reviews.has(uri.toString())) return uri.toString();
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    if (active && this.reviews.has(active)) return active;
    return [...this.reviews.keys()][0] ?? '';
  }

  /** Pending hunks of `uri`'s review (tests and the e2e read them). */
  pending(uri: vscode.Uri): readonly ReviewHunk[] {
    return this.reviews.get(uri.toString())?.hunks ?? [];
  }

  /**
   * Writes `after` into `document` as one undoable edit, saves it and starts the review of its hunks; `onWritten`
   * hears that the edit has landed (before the review can end), `onEnd` how the review ended and any later change
   * of it. Returns false when there was nothing to change. When the save fails the review ends (the change stays in
   * the editor, followed as an ended review) and the error is thrown.
   */
  async start(
    document: vscode.TextDocument,
    after: string,
    title: string,
    save: () => Thenable<unknown> = () => document.save(),
    onEnd?: (end: ReviewEnd) => void,
    onWritten?: () => void,
  ): Promise<boolean> {
    const key = document.uri.toString();
    if (this.reviews.has(key)) this.end(document.uri); // a new apply on top: its own hunks replace the old review's
    this.watched.delete(key); // and the file's Undo / Redo now concern the new apply
    const before = document.getText();
    const edits = minimalEdits(before, after);
    if (!edits.length) return false;
    const edit = new vscode.WorkspaceEdit();
    const metadata = { label: 'Apply Ideator action', needsConfirmation: false };
    for (const e of edits) edit.replace(document.uri, new vscode.Range(document.positionAt(e.start), document.positionAt(e.end)), e.text, metadata);
    // Registered once the edit has landed, so its own change event is not read as a user edit.
    const n = edits.length;
    const states = new Map<string, Held>([[before, { kept: 0, undone: n }], [after, { kept: n, undone: 0 }]]);
    const review: Review = { document, hunks: [], save, title, kept: 0, undone: 0, onEnd, states, reported: { kept: n, undone: 0 } };
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error('VS Code refused the edit (is the file read-only?).');
    if (document.getText() !== after) throw new Error(`${vscode.workspace.asRelativePath(document.uri)} changed while the edit was written; look at it before applying again.`);
    review.hunks = hunksOfEdits(before, edits);
    onWritten?.();
    this.reviews.set(key, review);
    try {
      await save();
    } catch (err) {
      this.end(document.uri);
      throw new Error(`the change is in the editor but could not be saved: ${(err as Error).message}`);
    }
    this.refresh();
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document) ?? (await vscode.window.showTextDocument(document, { preserveFocus: false }));
    const first = review.hunks[0];
    if (first) editor.revealRange(new vscode.Range(document.positionAt(first.start), document.positionAt(first.start)), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return true;
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    const key = e.document.uri.toString();
    const watched = this.watched.get(key);
    if (watched) {
      // An ended review: the editor's Undo / Redo back to a text a decision left, the apply holds what it held then.
      // (Other changes, typing or a revert from disk, leave the record as the decisions made it.)
      if (e.reason !== vscode.TextDocumentChangeReason.Undo && e.reason !== vscode.TextDocumentChangeReason.Redo) return;
      const held = watched.states.get(e.document.getText());
      if (held) this.report(watched, held);
      return;
    }
    const review = this.reviews.get(key);
    if (!review || !e.contentChanges.length) return;
    const before = review.hunks.length;
    review.hunks = pendingHunks(
      e.document.getText(),
      shiftHunks(review.hunks, e.contentChanges.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, text: c.text }))),
    );
    review.undone += before - review.hunks.length; // put back by the editor's Undo or by hand
    if (review.hunks.length < before) review.states.set(e.document.getText(), this.held(review));
    if (!review.hunks.length) this.end(e.document.uri);
    else this.refresh();
  }

  /** What the file holds of `review`'s apply by its decisions so far: the changes still pending are in it. */
  private held(review: Review): Held {
    return { kept: review.kept + review.hunks.length, undone: review.undone };
  }

  /** Tells onEnd what the apply holds now, when that is not what it was last told. */
  private report(review: Review, held: Held): void {
    if (held.kept === review.reported.kept && held.undone === review.reported.undone) return;
    review.reported = held;
    review.onEnd?.({ ...held, text: review.document.getText() });
  }

  /**
   * Ends `uri`'s review: the changes still pending stay in the file, so they count as kept (unless the text is one a
   * decision left, as after the editor's Undo of an Undo: then what it held). Until the document closes
   * (`closing`), the editor's Undo / Redo of the decisions are still followed.
   */
  private end(uri: vscode.Uri, closing = false): void {
    const key = uri.toString();
    const review = this.reviews.get(key);
    if (!review) return;
    this.reviews.delete(key);
    const text = review.document.getText();
    const held = review.states.get(text) ?? this.held(review);
    review.kept += review.hunks.length;
    review.hunks = [];
    this.refresh();
    if (!closing) this.watched.set(key, review);
    this.report(review, held);
  }

  keep(uri: string, id: number): void {
    const review = this.reviews.get(uri);
    if (!review || !review.hunks.some((h) => h.id === id)) return;
    review.hunks = review.hunks.filter((h) => h.id !== id);
    review.kept++;
    if (!review.hunks.length) this.end(review.document.uri);
    else this.refresh();
  }

  keepAll(uri: string): void {
    const review = this.reviews.get(uri);
    if (review) this.end(review.document.uri);
  }

  async undo(uri: string, id: number): Promise<boolean> {
    const review = this.reviews.get(uri);
    const hunk = review?.hunks.find((h) => h.id === id);
    if (!review || !hunk) return false;
    review.hunks = review.hunks.filter((h) => h.id !== id);
    review.undone++;
    return this.put(review, [hunk]);
  }

  async undoAll(uri: string): Promise<boolean> {
    const review = this.reviews.get(uri);
    if (!review) return false;
    const hunks = review.hunks;
    review.hunks = [];
    review.undone += hunks.length;
    return this.put(review, hunks);
  }

  /** Puts `hunks`' original text back (one undoable edit) and saves; the change event moves the other hunks. */
  private async put(review: Review, hunks: readonly ReviewHunk[]): Promise<boolean> {
    const { document } = review;
    // The cursor goes to the change first (its lens was clicked there), so the editor's Undo of this Undo, and its
    // Redo, bring the cursor back to the change rather than to wherever it was before.
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    if (editor && hunks[0]) {
      const at = document.positionAt(hunks[0].start);
      editor.selection = new vscode.Selection(at, at);
    }
    // The text before this Undo held these changes (the editor's Undo of this Undo comes back to it).
    const now = this.held(review);
    review.states.set(document.getText(), { kept: now.kept + hunks.length, undone: now.undone - hunks.length });
    const edit = new vscode.WorkspaceEdit();
    const metadata = { label: 'Undo an Ideator change', needsConfirmation: false };
    for (const h of hunks) {
      const e = undoEdit(h);
      edit.replace(document.uri, new vscode.Range(document.positionAt(e.start), document.positionAt(e.end)), e.text, metadata);
    }
    // And the text after it holds what the decisions say (remembered before the edit lands: its change event may end
    // the review, which looks the text up).
    let afterText = document.getText();
    for (const e of hunks.map(undoEdit).sort((a, b) => b.start - a.start)) afterText = afterText.slice(0, e.start) + e.text + afterText.slice(e.end);
    review.states.set(afterText, this.held(review));
    const done = await vscode.workspace.applyEdit(edit);
    if (!done) {
      // Counted as undone before the edit (its change event may end the review); they stay in the file after all.
      review.undone -= hunks.length;
      review.kept += hunks.length;
      void vscode.window.showErrorMessage('MLE Ideator: VS Code refused to undo the change (is the file read-only?).');
      if (!review.hunks.length) this.end(document.uri);
      return false;
    }
    if (!review.hunks.length) this.end(document.uri);
    else this.refresh();
    await review.save();
    return true;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const key = document.uri.toString();
    const review = this.reviews.get(key);
    if (!review) return [];
    const lenses: vscode.CodeLens[] = [];
    review.hunks.forEach((h, i) => {
      const range = new vscode.Range(hunkLines(document, h).first, 0, hunkLines(document, h).first, 0);
      lenses.push(new vscode.CodeLens(range, { title: '$(check) Keep', command: REVIEW_COMMANDS.keep, arguments: [key, h.id], tooltip: 'Keep this change' }));
      lenses.push(new vscode.CodeLens(range, { title: '$(discard) Undo', command: REVIEW_COMMANDS.undo, arguments: [key, h.id], tooltip: 'Put the original lines back' }));
      if (i === 0 && review.hunks.length > 1) {
        lenses.push(new vscode.CodeLens(range, { title: `Keep All ${review.hunks.length}`, command: REVIEW_COMMANDS.keepAll, arguments: [key], tooltip: "Keep every change Ideator made here" }));
        lenses.push(new vscode.CodeLens(range, { title: `Undo All ${review.hunks.length}`, command: REVIEW_COMMANDS.undoAll, arguments: [key], tooltip: 'Put the whole file back as it was' }));
      }
    });
    return lenses;
  }

  private refresh(): void {
    void vscode.commands.executeCommand('setContext', 'ideator.reviewing', this.reviews.size > 0);
    this.lensesChanged.fire();
    this.decorateAll();
  }

  private decorateAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const review = this.reviews.get(editor.document.uri.toString());
      const added: vscode.DecorationOptions[] = [];
      const removed: vscode.DecorationOptions[] = [];
      for (const h of review?.hunks ?? []) {
        const { first, last } = hunkLines(editor.document, h);
        const hover = h.original
          ? new vscode.MarkdownString().appendMarkdown(`**${review!.title}**: this change replaced\n`).appendCodeblock(h.original.replace(/\n$/, ''), editor.document.languageId)
          : new vscode.MarkdownString().appendMarkdown(`**${review!.title}**: these lines are new`);
        const note = removedNote(h.original);
        const renderOptions: vscode.DecorationInstanceRenderOptions | undefined = note
          ? { after: { contentText: `  − ${note}`, color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' } }
          : undefined;
        if (h.start === h.end) removed.push({ range: new vscode.Range(first, 0, first, 0), hoverMessage: hover, renderOptions });
        else {
          for (let line = first; line <= last; line++) {
            added.push({ range: new vscode.Range(line, 0, line, 0), hoverMessage: line === first ? hover : undefined, renderOptions: line === first ? renderOptions : undefined });
          }
        }
      }
      editor.setDecorations(this.added, added);
      editor.setDecorations(this.removed, removed);
    }
  }

  dispose(): void {
    if (InlineReviews.current === this) InlineReviews.current = undefined;
    this.reviews.clear();
    this.watched.clear();
    for (const d of this.disposables) d.dispose();
    this.added.dispose();
    this.removed.dispose();
    this.lensesChanged.dispose();
  }
}
