/**
 * Ideas about notebooks: the cache keys them by the notebook's path, while the editor works on cell documents.
 * These helpers map a cell to its notebook and find the cell an idea's code fits.
 */
import * as vscode from 'vscode';
import type { CodeBlock } from '../../core/protocol';
import { proposeFromCodeBlocks, type Proposal } from '../../core/ideaApply';

export const CELL_SCHEME = 'vscode-notebook-cell';

/** The open notebook holding this cell document, if it is one. */
export function notebookOfCell(document: vscode.TextDocument): vscode.NotebookDocument | undefined {
  if (document.uri.scheme !== CELL_SCHEME) return undefined;
  const key = document.uri.toString();
  return vscode.workspace.notebookDocuments.find((nb) => nb.getCells().some((c) => c.document.uri.toString() === key));
}

/** Workspace-relative path the idea cache uses for a document (a cell counts as its notebook). */
export function ideaPathOf(document: vscode.TextDocument): string {
  const nb = notebookOfCell(document);
  return vscode.workspace.asRelativePath(nb ? nb.uri : document.uri, false);
}

export interface CellProposal {
  cell: vscode.NotebookCell;
  proposal: Proposal;
}

/** The first code cell the idea's code applies to, trying `preferred` (the cell the lightbulb was on) first. */
export function proposeForNotebook(notebook: vscode.NotebookDocument, blocks: readonly CodeBlock[], preferred?: vscode.TextDocument): CellProposal | undefined {
  const cells = notebook.getCells().filter((c) => c.kind === vscode.NotebookCellKind.Code);
  const ordered = preferred ? [...cells.filter((c) => c.document === preferred), ...cells.filter((c) => c.document !== preferred)] : cells;
  for (const cell of ordered) {
    const text = cell.document.getText();
    // Whole-notebook rewrites do not map onto one cell: only diffs and definition replacements are taken here.
    const proposal = text.trim() ? proposeFromCodeBlocks(text, blocks, { allowFullFile: false }) : undefined;
    if (proposal) return { cell, proposal };
  }
  return undefined;
}
