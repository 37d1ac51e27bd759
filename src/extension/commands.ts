/** Registers the Ask/Apply commands and the pieces they share (panel, proposal documents, code actions). */
import * as vscode from 'vscode';
import { z } from 'zod';
import { FOLLOW_UPS, MAX_FOLLOW_UP_CHARS, type FollowUpKind } from '../core/followUp';
import type { IdeaRecord } from '../core/protocol';
import { askFollowUp, findIdea, type FollowUpOutcome } from './ideas/followUp';
import { IDEA_HISTORY_VIEW_ID, IdeaHistoryProvider, ideaStatus, OPEN_JUDGING_RUN_COMMAND, SHOW_IDEA_COMMAND } from './views/ideaHistoryTree';
import { ideaTitle } from './views/ideaPanelRender';
import { registerCodeActions } from './ideas/codeActions';
import { PROPOSAL_SCHEME, ProposalFiles } from './ideas/diffPreview';
import { InlineReviews } from './ideas/inlineReview';
import type { Services } from './services';
import { IDEA_EDITOR_VIEW_TYPE, IDEA_PANEL_VIEW_ID, IdeaPanelProvider } from './views/ideaPanel';
import { applyIdea } from './ideas/applyIdea';
import { AskController, type AskOptions } from './ideas/askIdeator';
import { promptTaskDescription } from './ideas/gatherState';
import { registerSetupCommands } from './ideas/setup';
import { registerReviewQuery } from './ideas/reviewQuery';

export interface IdeaFeatures {
  panel: IdeaPanelProvider;
  asker: AskController;
  proposals: ProposalFiles;
  /** Keep / Undo per change in the editor (setting ideator.applyReview = inline). */
  reviews: InlineReviews;
  ideaHistory: IdeaHistoryProvider;
}

export const FOLLOW_UP_COMMAND = 'ideator.followUp';

const FollowUpArgSchema = z.object({
  ideaId: z.string().min(1).max(200).optional(),
  kind: z.enum(['why', 'alternatives', 'cheaper', 'free']).optional(),
  text: z.string().max(MAX_FOLLOW_UP_CHARS).optional(),
});

/**
 * "Ideator: Ask a Follow-up": on the idea shown (or the one named); without a kind, a pick of the questions, and
 * a box for your own.
 */
async function followUpFromCommand(services: Services, asker: AskController, panel: IdeaPanelProvider, arg: unknown): Promise<FollowUpOutcome | undefined> {
  const parsed = FollowUpArgSchema.safeParse(arg instanceof vscode.Uri || arg === undefined ? {} : arg);
  if (!parsed.success) {
    void vscode.window.showWarningMessage(`MLE Ideator: a follow-up needs {ideaId, kind, text}: ${parsed.error.issues[0]?.message ?? 'bad argument'}`);
    return undefined;
  }
  const ideaId = parsed.data.ideaId ?? panel.shownIdeaId ?? services.ideas.latest?.id;
  if (!ideaId) {
    void vscode.window.showInformationMessage('MLE Ideator: no idea yet. Run "Ideator: Ask Ideator" first.');
    return undefined;
  }
  let kind = parsed.data.kind;
  let text = parsed.data.text;
  if (!kind) {
    kind = await services.prompts.pick<FollowUpKind>(
      [
        ...(Object.keys(FOLLOW_UPS) as (keyof typeof FOLLOW_UPS)[]).map((k) => ({ label: FOLLOW_UPS[k].label, detail: FOLLOW_UPS[k].question, value: k as FollowUpKind })),
        { label: 'Your own question…', value: 'free' as FollowUpKind },
      ],
      'Ask the Ideator about the idea shown',
    );
    if (!kind) return undefined;
  }
  if (kind === 'free' && !text?.trim()) {
    text = await vscode.window.showInputBox({
      title: 'Ask about this idea',
      prompt: 'The Ideator sees the same task, runs, score and code, and its idea.',
      ignoreFocusOut: true,
      validateInput: (s) => (s.trim() ? (s.length > MAX_FOLLOW_UP_CHARS ? `At most ${MAX_FOLLOW_UP_CHARS} characters.` : undefined) : 'Type a question first.'),
    });
    if (text === undefined) return undefined;
  }
  return askFollowUp(services, asker, panel, { ideaId, kind, text });
}

export function registerIdeaFeatures(services: Services): { features: IdeaFeatures; disposable: vscode.Disposable } {
  const proposals = new ProposalFiles();
  const reviews = new InlineReviews();
  // The panel's buttons route back into the same commands the palette uses.
  const panel = new IdeaPanelProvider(
    services.context.extensionUri,
    (request) => {
      if (request.type === 'followUp') {
        void vscode.commands.executeCommand(FOLLOW_UP_COMMAND, { ideaId: request.ideaId, kind: request.kind, text: request.text });
        return;
      }
      const { command, ideaId } = request;
      if (command === 'ask') void vscode.commands.executeCommand('ideator.askIdeator');
      else if (command === 'cancel') void vscode.commands.executeCommand('ideator.cancelAsk');
      else if (command === 'apply') void vscode.commands.executeCommand('ideator.applyIdea', ideaId);
      else if (command === 'log') services.output.show();
      else if (command === 'open') void (ideaId ? vscode.commands.executeCommand(SHOW_IDEA_COMMAND, ideaId) : panel.openEditor());
    },
    () => services.config().config.openIdeaInEditor,
  );
  const asker = new AskController(services, panel);
  const ideaHistory = new IdeaHistoryProvider(services);
  // The panel says what became of the idea (and which idea a follow-up is about), and follows the history.
  panel.infoOf = (idea) => {
    const status = ideaStatus(ideaHistory.store(), idea);
    const parent = idea.followUp ? findIdea(services, idea.followUp.of) : undefined;
    return { outcome: status.applied || status.outcome ? status.text : undefined, parentTitle: parent && ideaTitle(parent, 120) };
  };
  panel.find = (id) => findIdea(services, id);
  ideaHistory.onDidChangeTreeData(() => panel.refresh());
  const showIdea = (arg?: unknown): IdeaRecord | undefined => {
    const id = typeof arg === 'string' ? arg : undefined;
    const idea = id ? findIdea(services, id) : services.ideas.latest;
    if (!idea) {
      void vscode.window.showInformationMessage(id ? 'MLE Ideator: that idea is no longer in the history.' : 'MLE Ideator: no idea yet. Run "Ideator: Ask Ideator" first.');
      return undefined;
    }
    panel.showIdea(idea, true);
    if (services.config().config.openIdeaInEditor) panel.openEditor(false);
    else void panel.reveal();
    return idea;
  };
  if (services.ideas.latest) {
    panel.showIdea(services.ideas.latest, true);
    void vscode.commands.executeCommand('setContext', 'ideator.hasIdea', true);
  }
  const disposable = vscode.Disposable.from(
    proposals,
    reviews,
    panel,
    vscode.workspace.registerFileSystemProvider(PROPOSAL_SCHEME, proposals, { isCaseSensitive: true }),
    vscode.window.registerWebviewViewProvider(IDEA_PANEL_VIEW_ID, panel),
    vscode.window.registerWebviewPanelSerializer(IDEA_EDITOR_VIEW_TYPE, panel),
    ideaHistory,
    vscode.window.createTreeView(IDEA_HISTORY_VIEW_ID, { treeDataProvider: ideaHistory }),
    vscode.commands.registerCommand(SHOW_IDEA_COMMAND, (id?: unknown) => showIdea(id)),
    vscode.commands.registerCommand(OPEN_JUDGING_RUN_COMMAND, (arg?: unknown) => {
      const id = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && typeof (arg as { ideaId?: unknown }).ideaId === 'string' ? (arg as { ideaId: string }).ideaId : undefined;
      const idea = id ? findIdea(services, id) : undefined;
      const runId = idea ? ideaStatus(ideaHistory.store(), idea).outcome?.runId : undefined;
      if (!runId) {
        void vscode.window.showInformationMessage('MLE Ideator: no run has judged this idea yet. Apply it and run your training script.');
        return undefined;
      }
      return vscode.commands.executeCommand('ideator.history.openOutput', runId);
    }),
    vscode.commands.registerCommand(FOLLOW_UP_COMMAND, (arg?: unknown) => followUpFromCommand(services, asker, panel, arg)),
    // Whatever the panel shows (an idea, an answer being written, an error): never replaces a stream in progress.
    vscode.commands.registerCommand('ideator.openIdeaEditor', () => panel.openEditor(false)),
    registerCodeActions(services),
    registerSetupCommands(services),
    registerReviewQuery(services.context.extensionUri),
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
    vscode.commands.registerCommand('ideator.openPanel', () => panel.revealSidebar()),
    vscode.commands.registerCommand('ideator.showOutput', () => services.output.show()),
    vscode.commands.registerCommand('ideator.setTaskDescription', async (text?: unknown) =>
      (await promptTaskDescription(services, typeof text === 'string' ? text : undefined)) !== undefined,
    ),
  );
  return { features: { panel, asker, proposals, reviews, ideaHistory }, disposable };
}
