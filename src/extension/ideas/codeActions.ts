/**
 * Lightbulb entries for the idea about the current file. provideCodeActions runs on every cursor move, so it only
 * looks into the in-memory idea cache: no model call, no file read. The edit itself is computed when the user picks
 * the action (the command 'ideator.applyIdea'), always reviewed: Keep / Undo per change, or a diff preview first.
 */
import * as vscode from 'vscode';
import type { IdeaRecord } from '../../core/protocol';
import { ideaPathOf } from './notebookTarget';
import type { Services } from '../services';

export const IDEATOR_QUICKFIX = vscode.CodeActionKind.QuickFix.append('ideator');
export const IDEATOR_REWRITE = vscode.CodeActionKind.RefactorRewrite.append('ideator');

function shortTitle(idea: IdeaRecord): string {
  const first = idea.parsed.action
    .replace(/```[\s\S]*?(```|$)/g, ' ')
    .replace(/[`*_#>]/g, '')
    .split(/(?<=[.!?])\s|\n/)
    .map((s) => s.trim())
    .find((s) => s.length > 0);
  if (!first) return '';
  return first.length > 60 ? first.slice(0, 57).trimEnd() + '…' : first;
}

export class IdeaCodeActionProvider implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [IDEATOR_QUICKFIX, IDEATOR_REWRITE] };

  constructor(private readonly services: Services) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const idea = this.services.ideas.forPath(ideaPathOf(document));
    if (!idea) return [];
    const summary = shortTitle(idea);
    const title = `Apply Ideator action${summary ? `: ${summary}` : ''}`;
    const actions: vscode.CodeAction[] = [];
    // The lightbulb (no `only`) gets the quick fix; the Refactor menu (`only` = refactor) gets the rewrite. Both
    // at once would list the same action twice in the lightbulb.
    const kinds = context.only ? [IDEATOR_QUICKFIX, IDEATOR_REWRITE].filter((k) => context.only!.contains(k)) : [IDEATOR_QUICKFIX];
    for (const kind of kinds) {
      const action = new vscode.CodeAction(title, kind);
      action.command = { command: 'ideator.applyIdea', title, arguments: [idea.id, document.uri.toString()] };
      // Offered on every line of the file; not 'preferred' so it never hijacks the auto-fix shortcut.
      actions.push(action);
    }
    return actions;
  }
}

export function registerCodeActions(services: Services): vscode.Disposable {
  const provider = new IdeaCodeActionProvider(services);
  // Every file and notebook cell: an idea may be about a .py, .ipynb, .R or .jl file; the cache lookup is a map probe.
  return vscode.languages.registerCodeActionsProvider([{ scheme: 'file' }, { scheme: 'vscode-remote' }, { scheme: 'untitled' }, { scheme: 'vscode-notebook-cell' }], provider, IdeaCodeActionProvider.metadata);
}
