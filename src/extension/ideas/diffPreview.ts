/**
 * Diff preview before any edit: the proposed content is served read-only by a TextDocumentContentProvider under our
 * own scheme and shown with `vscode.diff` next to the real file. Nothing touches the workspace until the user
 * confirms; then the change is applied as one WorkspaceEdit of the few replacements that make it (minimalEdits:
 * one Undo reverts it, and undo/redo put the cursor on the change, not on the last line) and saved.
 */
import * as vscode from 'vscode';
import { minimalEdits } from '../../core/ideaApply';

export const PROPOSAL_SCHEME = 'ideator-proposal';

export class ProposalContentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private counter = 0;

  /** Registers `content` and returns the URI that shows it (named like the target so the diff title reads well). */
  put(target: vscode.Uri, content: string): vscode.Uri {
    const id = `${Date.now().toString(36)}-${++this.counter}`;
    const name = target.path.split('/').pop() ?? 'proposal';
    const uri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: `/${id}/${name}`, query: target.toString() });
    this.contents.set(uri.toString(), content);
    return uri;
  }

  forget(uri: vscode.Uri): void {
    this.contents.delete(uri.toString());
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  dispose(): void {
    this.contents.clear();
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
}

/**
 * Opens the diff, waits for `confirm`, and applies the change as minimal edits when confirmed.
 * `confirm` is the user's answer (a notification by default; tests inject one).
 */
export async function previewAndApply(
  provider: ProposalContentProvider,
  document: vscode.TextDocument,
  proposed: string,
  title: string,
  confirm: () => Promise<boolean>,
  /** How to persist the edit (default: save the document; a notebook cell saves its notebook). */
  save: () => Thenable<unknown> = () => document.save(),
): Promise<PreviewResult> {
  const before = document.getText();
  const proposalUri = provider.put(document.uri, proposed);
  try {
    await vscode.commands.executeCommand('vscode.diff', document.uri, proposalUri, title, { preview: true, preserveFocus: false });
    const ok = await confirm();
    if (!ok) return { applied: false, before };
    if (document.getText() !== before) {
      throw new Error(`${vscode.workspace.asRelativePath(document.uri)} changed while the preview was open; ask again to get a fresh proposal.`);
    }
    const edit = new vscode.WorkspaceEdit();
    const metadata = { label: 'Apply Ideator action', needsConfirmation: false };
    for (const e of minimalEdits(before, proposed)) {
      edit.replace(document.uri, new vscode.Range(document.positionAt(e.start), document.positionAt(e.end)), e.text, metadata);
    }
    const done = await vscode.workspace.applyEdit(edit);
    if (!done) throw new Error('VS Code refused the edit (is the file read-only?).');
    await save();
    return { applied: true, before };
  } finally {
    await closeDiffTabs(proposalUri);
    provider.forget(proposalUri);
  }
}
