/**
 * "Apply Ideator action": the idea's own diff or code block when one fits the file, else the implementer model
 * (prompts/implementer.md) rewrites the file following the idea. An idea whose code is already in the file is said
 * to be so and changes nothing (it never goes to the implementer). By default (ideator.applyReview = inline) the
 * change is written into the file at once with Keep / Undo per change in the editor (inlineReview.ts); with 'diff' a
 * diff preview comes first, where each hunk can be left out (revert it on the proposal side) and Apply writes what
 * remains. Either way, a change that deletes most of the file needs an explicit "Replace Anyway" in a modal warning
 * that says how much goes. The change is written as the few edits that make it, in one WorkspaceEdit: one Undo
 * reverts it and the cursor stays where the change is. Recorded in the run history as an applied edit, `partial`
 * when only some of it was kept (left out in the preview, or undone in the editor's review).
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { findIdea } from './followUp';
import { buildImplementerMessages } from '../../core/prompts';
import type { AppliedEditInput } from '../../core/history';
import type { IdeaRecord } from '../../core/protocol';
import { describeProviderError } from '../../core/providers/index';
import { ProviderError } from '../../core/providers/types';
import { previewAndApply, type ProposalFiles } from './diffPreview';
import { InlineReviews, type ReviewEnd } from './inlineReview';
import type { Services } from '../services';
import { currentScoreState, taskDescription } from './gatherState';
import { alreadyApplied, changeCounts, codeFromAnswer, largeDeletion, proposeFromCodeBlocks, type Proposal } from '../../core/ideaApply';
import { CELL_SCHEME, notebookOfCell, proposeForNotebook } from './notebookTarget';
import { makeProvider } from './provider';

export interface ApplyOutcome {
  status: 'applied' | 'already-applied' | 'discarded' | 'cancelled' | 'error' | 'no-idea';
  via?: Proposal['via'] | 'implementer';
  /** Applied with some of the proposal left out in the preview. */
  partial?: boolean;
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
  return { content: r.code, via: 'full-file', summary: `the implementer model (${completion.model}) rewrote the file` };
}

/** "+3 −1 lines": what the change does to the file, in lines. */
function lineCounts(before: string, after: string): string {
  const { added, removed } = changeCounts(before, after);
  return `+${added} −${removed} line${added + removed === 1 ? '' : 's'}`;
}

/** The modal's words for a change that deletes most of a file. */
function deletionWarning(label: string, loss: { total: number; deleted: number; after: number }, via: ApplyOutcome['via']): string {
  const source = via === 'implementer' ? "The implementer model's answer" : "The idea's code";
  return (
    `This change deletes ${loss.deleted} of the ${loss.total} lines of code in ${label}; ${loss.after} line${loss.after === 1 ? '' : 's'} would be left. ` +
    `${source} is probably a fragment, not a whole file. Look at the diff: replace only if that is what you want (Undo reverts it).`
  );
}

export async function applyIdea(services: Services, proposals: ProposalFiles, ideaId?: string, uriArg?: string): Promise<ApplyOutcome> {
  // An idea named by id (the panel, the history) may be older than the editor's cache: the run history has it.
  const idea = ideaId ? findIdea(services, ideaId) : services.ideas.latest;
  if (!idea) {
    void vscode.window.showInformationMessage(ideaId && services.ideas.latest ? 'MLE Ideator: that idea is no longer in the history.' : 'MLE Ideator: no idea yet. Run "Ideator: Ask Ideator" first.');
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
    if (!proposal && alreadyApplied(document.getText(), idea.parsed.codeBlocks)) {
      // The code is there already (applied before, or typed in): nothing to do, and nothing for the implementer.
      services.output.info(`Idea ${idea.id}: its code is already in ${label}; nothing applied.`);
      void vscode.window.showInformationMessage(`MLE Ideator: ${label} already contains this idea's code; nothing to apply. Run it to score the idea.`);
      return { status: 'already-applied' };
    }
    if (!proposal) {
      services.output.info(`Idea ${idea.id}: no code block or diff applies to ${label}; asking the implementer model.`);
      proposal = await implement(services, idea, document);
      via = 'implementer';
    }
    if (!proposal) {
      void vscode.window.showInformationMessage(`MLE Ideator: the idea leaves ${label} unchanged.`);
      return { status: 'discarded', via };
    }
    const current = document.getText();
    const summary = `${proposal.summary} (${lineCounts(current, proposal.content)})`;
    const loss = largeDeletion(current, proposal.content);
    const confirm = loss
      ? () => services.prompts.confirmLargeDeletion(label, deletionWarning(label, loss, via))
      : () => services.prompts.confirmApply(label, summary);
    if (loss) services.output.warn(`Idea ${idea.id}: the proposed change deletes ${loss.deleted} of ${loss.total} lines of ${label}; asking for an explicit confirmation.`);
    const path = notebook ? vscode.workspace.asRelativePath(notebook.uri, false) : label;
    /** Records the apply in the run history, in both review modes; a record that fails is said, never fatal (the file has changed). */
    const recordApplied = (edit: Omit<AppliedEditInput, 'ideaId' | 'path'>): void => {
      try {
        services.history?.appendApplied({ ideaId: idea.id, path, ...edit });
      } catch (err) {
        services.output.warn(`Could not record the applied edit: ${(err as Error).message}`);
      }
    };
    if (services.config().config.applyReview === 'inline') {
      // In-editor review: the large-deletion warning still comes first; then the change is written and each hunk
      // gets Keep / Undo in the editor (no Apply/Discard toast: Undo All is the discard).
      const reviews = InlineReviews.current;
      if (!reviews) throw new Error('the in-editor review is not ready (the extension is still starting); try again.');
      if (loss && !(await confirm())) return { status: 'discarded', via };
      const record = { beforeHash: sha256(current), at: new Date().toISOString() };
      const appendApplied = (afterHash: string, partial: boolean, undone?: true): void =>
        recordApplied({ ...record, afterHash, partial, ...(undone ? { undone } : {}) });
      // Once every change is decided: some kept and some undone is a partial apply, as a hunk left out in the diff
      // preview is; all undone is no apply (as Discard in the preview), which no run judges. The same apply (same
      // `at`) recorded again, with what the file holds then; again when the editor's Undo / Redo changes that later.
      const onEnd = ({ kept, undone, text }: ReviewEnd): void => {
        const held = !undone ? 'applied' : kept ? 'partly applied' : 'undone';
        services.output.info(`Idea ${idea.id}: ${kept} of ${kept + undone} changes in ${label}; recorded as ${held}.`);
        appendApplied(sha256(text), kept > 0 && undone > 0, kept ? undefined : true);
      };
      // Recorded as soon as the change is written, before the review can end (an Undo during the save).
      const after = proposal.content;
      if (!(await reviews.start(document, after, `Ideator (idea ${idea.id})`, save, onEnd, () => appendApplied(sha256(after), false)))) return { status: 'discarded', via };
      const hunks = reviews.pending(document.uri).length;
      services.output.info(`Applied idea ${idea.id} to ${label} via ${via} for review in the editor: ${summary}`);
      // Every change may already be decided (an Undo during the save): then nothing is left to review.
      void vscode.window.showInformationMessage(
        hunks === 0
          ? `MLE Ideator: applied to ${label}: ${summary}. Its changes are already decided in the editor; run it to see whether the score improves.`
          : `MLE Ideator: applied to ${label}: ${summary}. Keep or Undo ${hunks === 1 ? 'the change' : `each of the ${hunks} changes`} above ${hunks === 1 ? 'it' : 'them'} in the editor; then run it to see whether the score improves.`,
      );
      return { status: 'applied', via };
    }
    const result = await previewAndApply(proposals, document, proposal.content, `Ideator: ${label} ↔ proposed (${summary})`, confirm, save);
    if (!result.applied) return { status: 'discarded', via };
    recordApplied({ beforeHash: sha256(result.before), afterHash: sha256(result.after), partial: result.trimmed, at: new Date().toISOString() });
    // Hunks reverted in the preview were left out: say what was applied, not what was proposed.
    const applied = result.trimmed ? `part of the proposal (${lineCounts(result.before, result.after)}; the rest was left out in the preview)` : summary;
    services.output.info(`Applied idea ${idea.id} to ${label} via ${via}: ${applied}`);
    void vscode.window.showInformationMessage(`MLE Ideator: applied to ${label}: ${applied}. Undo reverts it; run it to see whether the score improves.`);
    return { status: 'applied', via, partial: result.trimmed };
  } catch (err) {
    if (err instanceof ProviderError && err.kind === 'aborted') return { status: 'cancelled' };
    const message = err instanceof ProviderError ? describeProviderError(err) : (err as Error).message;
    services.output.error(`Apply Ideator action failed: ${message}`);
    void vscode.window.showErrorMessage(`MLE Ideator: ${message}`);
    return { status: 'error', error: message };
  }
}
