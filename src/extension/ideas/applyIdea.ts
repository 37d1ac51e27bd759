/**
 * "Apply Ideator action": the idea's own diff or code block when one fits the file, else the implementer model
 * (prompts/implementer.md) rewrites the file following the idea. Always a diff preview first; one WorkspaceEdit,
 * so one Undo reverts it; recorded in the run history as an applied edit.
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { buildImplementerMessages } from '../../core/prompts';
import type { IdeaRecord } from '../../core/protocol';
import { describeProviderError } from '../../core/providers/index';
import { ProviderError } from '../../core/providers/types';
import { previewAndApply, type ProposalContentProvider } from './diffPreview';
import type { Services } from '../services';
import { currentScoreState, taskDescription } from './gatherState';
import { codeFromAnswer, proposeFromCodeBlocks, type Proposal } from '../../core/ideaApply';
import { CELL_SCHEME, notebookOfCell, proposeForNotebook } from './notebookTarget';
import { makeProvider } from './provider';

export interface ApplyOutcome {
  status: 'applied' | 'discarded' | 'cancelled' | 'error' | 'no-idea';
  via?: Proposal['via'] | 'implementer';
  error?: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Target {
  /** The document the edit goes to: a script, or a notebook cell. */
  document?: vscode.TextDocument;
  notebook?: vscode.NotebookDocument;
}

function ideaUri(idea: IdeaRecord): vscode.Uri | undefined {
  if (!idea.targetPath) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return idea.targetPath.startsWith('/') ? vscode.Uri.file(idea.targetPath) : folder ? vscode.Uri.joinPath(folder.uri, idea.targetPath) : undefined;
}

async function resolveTarget(idea: IdeaRecord, uriArg?: string): Promise<Target> {
  const uri = uriArg ? vscode.Uri.parse(uriArg) : ideaUri(idea);
  if (uri?.scheme === CELL_SCHEME) {
    const document = await vscode.workspace.openTextDocument(uri);
    return { document, notebook: notebookOfCell(document) };
  }
  if (uri?.path.endsWith('.ipynb')) return { notebook: await vscode.workspace.openNotebookDocument(uri) };
  if (uri) {
    try {
      return { document: await vscode.workspace.openTextDocument(uri) };
    } catch {
      // fall through to the active editor
    }
  }
  return { document: vscode.window.activeTextEditor?.document };
}

/** The implementer model's rewrite of the whole file, with a cancellable progress notification. */
async function implement(services: Services, idea: IdeaRecord, document: vscode.TextDocument): Promise<Proposal | undefined> {
  const provider = await makeProvider(services, 'implementer');
  const state = {
    taskDescription: await taskDescription(services, false),
    trajectory: [],
    score: currentScoreState(services),
    code: document.getText(),
    codePath: vscode.workspace.asRelativePath(document.uri, false),
  };
  const { config } = services.config();
  const messages = buildImplementerMessages(state, idea.parsed, { overrideDir: config.promptsOverrideDir });
  const completion = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `MLE Ideator: the implementer (${provider.label}) is rewriting ${state.codePath}`, cancellable: true },
    (_progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return provider.complete(messages, {
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(config.requestTimeoutSeconds * 1000)]),
        maxTokens: Math.max(config.maxOutputTokens, 16_000),
      });
    },
  );
  services.output.info(`Implementer answer (${completion.model}): ${completion.text.length} chars`);
  const r = codeFromAnswer(completion.text, state.code);
  if ('error' in r) throw new Error(`${r.error[0].toUpperCase()}${r.error.slice(1)}; nothing to apply.`);
  if (r.code === state.code) return undefined;
  return { content: r.code, via: 'full-file', summary: `rewritten by the implementer (${completion.model})` };
}

export async function applyIdea(services: Services, proposals: ProposalContentProvider, ideaId?: string, uriArg?: string): Promise<ApplyOutcome> {
  const idea = (ideaId ? services.ideas.byId(ideaId) : undefined) ?? services.ideas.latest;
  if (!idea) {
    void vscode.window.showInformationMessage('MLE Ideator: no idea yet. Run "Ideator: Ask Ideator" first.');
    return { status: 'no-idea' };
  }
  try {
    const target = await resolveTarget(idea, uriArg);
    let document = target.document;
    let proposal: Proposal | undefined;
    let label: string;
    let save: (() => Thenable<unknown>) | undefined;
    const notebook = target.notebook;
    if (notebook) {
      // A notebook: the idea's code replaces definitions in the cell it fits; the notebook is saved as a whole.
      const hit = proposeForNotebook(notebook, idea.parsed.codeBlocks, document);
      const nbLabel = vscode.workspace.asRelativePath(notebook.uri, false);
      if (!hit) {
        throw new Error(`The idea's code does not fit any cell of ${nbLabel}; copy it from the Idea panel (the implementer model rewrites scripts only).`);
      }
      document = hit.cell.document;
      proposal = hit.proposal;
      label = `${nbLabel} (cell ${hit.cell.index + 1})`;
      save = () => notebook.save();
    }
    if (!document) throw new Error(`Open ${idea.targetPath ?? 'the file the idea is about'} to apply the idea.`);
    label ??= vscode.workspace.asRelativePath(document.uri, false);
    proposal ??= proposeFromCodeBlocks(document.getText(), idea.parsed.codeBlocks);
    let via: ApplyOutcome['via'] = proposal?.via;
    if (!proposal) {
      services.output.info(`Idea ${idea.id}: no code block or diff applies to ${label}; asking the implementer model.`);
      proposal = await implement(services, idea, document);
      via = 'implementer';
    }
    if (!proposal) {
      void vscode.window.showInformationMessage(`MLE Ideator: the idea leaves ${label} unchanged.`);
      return { status: 'discarded', via };
    }
    const summary = proposal.summary;
    const result = await previewAndApply(proposals, document, proposal.content, `Ideator: ${label} ↔ proposed (${summary})`, () => services.prompts.confirmApply(label, summary), save);
    if (!result.applied) return { status: 'discarded', via };
    try {
      services.history?.appendApplied({ ideaId: idea.id, path: notebook ? vscode.workspace.asRelativePath(notebook.uri, false) : label, beforeHash: sha256(result.before), afterHash: sha256(proposal.content), at: new Date().toISOString() });
    } catch (err) {
      services.output.warn(`Could not record the applied edit: ${(err as Error).message}`);
    }
    services.output.info(`Applied idea ${idea.id} to ${label} via ${via}: ${proposal.summary}`);
    void vscode.window.showInformationMessage(`MLE Ideator: applied to ${label} (${proposal.summary}). Undo reverts it; run it to score the idea.`);
    return { status: 'applied', via };
  } catch (err) {
    if (err instanceof ProviderError && err.kind === 'aborted') return { status: 'cancelled' };
    const message = err instanceof ProviderError ? describeProviderError(err) : (err as Error).message;
    services.output.error(`Apply Ideator action failed: ${message}`);
    void vscode.window.showErrorMessage(`MLE Ideator: ${message}`);
    return { status: 'error', error: message };
  }
}
