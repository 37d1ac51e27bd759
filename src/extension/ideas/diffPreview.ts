/**
 * Diff preview before any edit: the proposed content lives in a small in-memory file system under our own scheme
 * and is shown with `vscode.diff` next to the real file. The proposal side is editable, so each change can be
 * left out before applying it: the diff editor's "revert block" arrow (or any edit) on the proposal side discards
 * that hunk, and Apply takes the proposal as it then stands. Nothing touches the workspace until the user
 * confirms; then the change is applied as one WorkspaceEdit of the few replacements that make it (minimalEdits:
 * one Undo reverts it, and undo/redo put the cursor on the change, not on the last line) and saved.
 */
import * as vscode from 'vscode';
import { minimalEdits } from '../../core/ideaApply';

export const PROPOSAL_SCHEME = 'ideator-proposal';

/** In-memory files holding proposals: `/<id>/<name>`, one per preview, forgotten when the preview closes. */
export class ProposalFiles implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly files = new Map<string, { data: Uint8Array; mtime: number; ctime: number }>();
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;
  private counter = 0;

  /** Registers `content` and returns the URI that shows it (named like the target so the diff title reads well). */
  put(target: vscode.Uri, content: string): vscode.Uri {
    const id = `${Date.now().toString(36)}-${++this.counter}`;
    const name = target.path.split('/').pop() ?? 'proposal';
    const uri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: `/${id}/${name}`, query: target.toString() });
    const now = Date.now();
    this.files.set(uri.path, { data: Buffer.from(content, 'utf8'), mtime: now, ctime: now });
    return uri;
  }

  forget(uri: vscode.Uri): void {
    this.files.delete(uri.path);
  }

  private entry(uri: vscode.Uri) {
    const f = this.files.get(uri.path);
    if (!f) throw vscode.FileSystemError.FileNotFound(uri);
    return f;
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    if (!this.files.has(uri.path) && [...this.files.keys()].some((k) => k.startsWith(`${uri.path.replace(/\/$/, '')}/`))) {
      return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    }
    const f = this.entry(uri);
    return { type: vscode.FileType.File, ctime: f.ctime, mtime: f.mtime, size: f.data.byteLength };
  }

  readFile(uri: vscode.Uri): Uint8Array {
    return this.entry(uri).data;
  }

  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    // Only a preview's own file is written (saving the edited proposal); nothing new is created.
    const f = this.entry(uri);
    f.data = content;
    f.mtime = Date.now();
    this.changed.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): void {
    this.forget(uri);
  }

  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  dispose(): void {
    this.files.clear();
    this.changed.dispose();
  }
}

/** Closes the diff tab(s) showing `proposalUri`, whichever side it is on. */
async function closeDiffTabs(proposalUri: vscode.Uri): Promise<void> {
  const key = proposalUri.toString();
  const tabs = vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === key);
  if (tabs.length) await vscode.window.tabGroups.close(tabs, true);
}

export interface PreviewResult {
  applied: boolean;
  /** Document text before the edit (for the applied-edit record). */
  before: string;
  /** What was written: the proposal as it stood when confirmed (hunks reverted in the preview left out). */
  after: string;
  /** Whether the user changed the proposal in the preview (a hunk left out, a line edited). */
  trimmed: boolean;
}

/**
 * Opens the diff, waits for `confirm`, and applies the proposal as it then stands, as minimal edits.
 * `confirm` is the user's answer (a notification by default; tests inject one).
 */
export async function previewAndApply(
  files: ProposalFiles,
  document: vscode.TextDocument,
  proposed: string,
  title: string,
  confirm: () => Promise<boolean>,
  /** How to persist the edit (default: save the document; a notebook cell saves its notebook). */
  save: () => Thenable<unknown> = () => document.save(),
): Promise<PreviewResult> {
  const before = document.getText();
  const proposalUri = files.put(document.uri, proposed);
  let proposalDoc: vscode.TextDocument | undefined;
  try {
    proposalDoc = await vscode.workspace.openTextDocument(proposalUri);
    // Over the file where it is shown, so the diff never hides the Idea panel beside it.
    const column = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === document.uri.toString())?.viewColumn;
    await vscode.commands.executeCommand('vscode.diff', document.uri, proposalUri, title, { preview: true, preserveFocus: false, ...(column ? { viewColumn: column } : {}) });
    const ok = await confirm();
    const after = proposalDoc.getText();
    const trimmed = after !== proposed;
    if (!ok || after === before) return { applied: false, before, after: before, trimmed };
    if (document.getText() !== before) {
      throw new Error(`${vscode.workspace.asRelativePath(document.uri)} changed while the preview was open; ask again to get a fresh proposal.`);
    }
    const edit = new vscode.WorkspaceEdit();
    const metadata = { label: 'Apply Ideator action', needsConfirmation: false };
    for (const e of minimalEdits(before, after)) {
      edit.replace(document.uri, new vscode.Range(document.positionAt(e.start), document.positionAt(e.end)), e.text, metadata);
    }
    const done = await vscode.workspace.applyEdit(edit);
    if (!done) throw new Error('VS Code refused the edit (is the file read-only?).');
    await save();
    return { applied: true, before, after, trimmed };
  } finally {
    // An edited proposal is saved into its in-memory file first, so closing its tab asks nothing.
    if (proposalDoc?.isDirty) await proposalDoc.save().then(undefined, () => false);
    await closeDiffTabs(proposalUri);
    files.forget(proposalUri);
  }
}
