/** Registers the Ask/Apply commands and the pieces they share (panel, proposal documents, code actions). */
import * as vscode from 'vscode';
import { registerCodeActions } from './ideas/codeActions';
import { PROPOSAL_SCHEME, ProposalFiles } from './ideas/diffPreview';
import type { Services } from './services';
import { IDEA_PANEL_VIEW_ID, IdeaPanelProvider } from './views/ideaPanel';
import { applyIdea } from './ideas/applyIdea';
import { AskController, type AskOptions } from './ideas/askIdeator';
import { promptTaskDescription } from './ideas/gatherState';
import { registerSetupCommands } from './ideas/setup';

export interface IdeaFeatures {
  panel: IdeaPanelProvider;
  asker: AskController;
  proposals: ProposalFiles;
}

export function registerIdeaFeatures(services: Services): { features: IdeaFeatures; disposable: vscode.Disposable } {
  const proposals = new ProposalFiles();
  // The panel's buttons route back into the same commands the palette uses.
  const panel = new IdeaPanelProvider(services.context.extensionUri, (command, ideaId) => {
    if (command === 'ask') void vscode.commands.executeCommand('ideator.askIdeator');
    else if (command === 'cancel') void vscode.commands.executeCommand('ideator.cancelAsk');
    else if (command === 'apply') void vscode.commands.executeCommand('ideator.applyIdea', ideaId);
    else if (command === 'log') services.output.show();
  });
  const asker = new AskController(services, panel);
  if (services.ideas.latest) {
    panel.showIdea(services.ideas.latest, true);
    void vscode.commands.executeCommand('setContext', 'ideator.hasIdea', true);
  }
  const disposable = vscode.Disposable.from(
    proposals,
    panel,
    vscode.workspace.registerFileSystemProvider(PROPOSAL_SCHEME, proposals, { isCaseSensitive: true }),
    vscode.window.registerWebviewViewProvider(IDEA_PANEL_VIEW_ID, panel),
    registerCodeActions(services),
    registerSetupCommands(services),
    // Menus pass their own context (a Uri from the editor title, an object from the notebook toolbar): only the
    // explicit {noReview: true} of scripts and tests and the {runId} of the Run History are taken from the argument.
    vscode.commands.registerCommand('ideator.askIdeator', (options?: unknown) => {
      const o = options instanceof vscode.Uri ? undefined : (options as AskOptions | undefined);
      return asker.ask({ noReview: o?.noReview === true, runId: typeof o?.runId === 'string' ? o.runId : undefined });
    }),
    vscode.commands.registerCommand('ideator.cancelAsk', () => asker.cancel()),
    vscode.commands.registerCommand('ideator.applyIdea', (ideaId?: unknown, uri?: unknown) =>
      applyIdea(services, proposals, typeof ideaId === 'string' ? ideaId : undefined, typeof uri === 'string' ? uri : undefined),
    ),
    vscode.commands.registerCommand('ideator.openPanel', () => panel.reveal()),
    vscode.commands.registerCommand('ideator.showOutput', () => services.output.show()),
    vscode.commands.registerCommand('ideator.setTaskDescription', async (text?: unknown) =>
      (await promptTaskDescription(services, typeof text === 'string' ? text : undefined)) !== undefined,
    ),
  );
  return { features: { panel, asker, proposals }, disposable };
}
