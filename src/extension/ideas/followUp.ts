/**
 * Follow-ups on an idea from the Idea panel ("Why?", "3 alternatives", "A cheaper variant", free text): the same
 * state as the idea's ask (task, the steps and score as they were then, its query; the code of the file it is
 * about as it is now), the idea as the
 * Ideator's earlier answer, then the question (prompts/followup.md). Streamed into the panel with progress and
 * cancel, errors told like Ask's; each idea of the answer (three for the alternatives) is recorded in the run
 * history as a follow-up of the first, and can be applied like any idea. An explanation ("Why?") is recorded too,
 * but has nothing to apply and stays out of the lightbulb's cache.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { buildFollowUpMessages, followUpQuestion, isProse, readFollowUpAnswer, type FollowUpKind } from '../../core/followUp';
import { usageLine } from '../../core/promptCost';
import type { IdeaRecord } from '../../core/protocol';
import type { Services } from '../services';
import type { IdeaPanelProvider } from '../views/ideaPanel';
import { followUpLabel } from '../views/ideaPanelRender';
import type { AskController, AskOutcome } from './askIdeator';
import { draftQueryFor, ideatorPrice, promptOptions, providerAndQuery, recordIdeas, RequestDeadline, streamAnswer, usageCost } from './askSteps';
import { activeTarget, gatherState, targetOf, type TargetCode } from './gatherState';
import { SettingsError } from './provider';

export interface FollowUpRequest {
  ideaId: string;
  kind: FollowUpKind;
  /** The question, for kind 'free'. */
  text?: string;
}

export interface FollowUpOutcome extends Omit<AskOutcome, 'idea'> {
  /** The ideas recorded (one, or one per alternative); the first is the one shown. */
  ideas?: IdeaRecord[];
}

/** An idea by id: the recent ones the editor keeps, else the run history (older ideas, agents' ideas). */
export function findIdea(services: Services, id: string): IdeaRecord | undefined {
  let fromHistory: IdeaRecord | undefined;
  try {
    fromHistory = services.history?.idea(id);
  } catch {
    fromHistory = undefined;
  }
  return services.ideas.byId(id) ?? fromHistory;
}

/** The file the idea is about, open or not; the active editor's when the idea names none or it is gone. */
async function targetFor(idea: IdeaRecord): Promise<TargetCode> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (idea.targetPath && folder) {
    const uri = vscode.Uri.joinPath(folder.uri, idea.targetPath);
    try {
      await vscode.workspace.fs.stat(uri);
      return await targetOf(uri);
    } catch {
      // gone or unreadable: fall back to the active editor below
    }
  }
  const active = activeTarget();
  if (active) return active;
  throw new SettingsError(`The file this idea is about${idea.targetPath ? ` (${idea.targetPath})` : ''} is not open or no longer exists; open it and ask again.`);
}

export async function askFollowUp(services: Services, asker: AskController, panel: IdeaPanelProvider, request: FollowUpRequest): Promise<FollowUpOutcome> {
  const parent = findIdea(services, request.ideaId);
  if (!parent) {
    void vscode.window.showWarningMessage('MLE Ideator: that idea is no longer in the history; ask again.');
    return { status: 'error', error: `No idea ${request.ideaId} in the history.` };
  }
  let question: string;
  try {
    question = followUpQuestion(request.kind, request.text);
  } catch (err) {
    void vscode.window.showWarningMessage(`MLE Ideator: ${(err as Error).message}`);
    return { status: 'error', error: (err as Error).message };
  }
  const controller = await asker.claim();
  if (!controller) {
    void vscode.window.showInformationMessage('MLE Ideator: already asking; cancel it first or wait for the answer.');
    return { status: 'cancelled' };
  }
  const { config } = services.config();
  const deadline = new RequestDeadline(config.requestTimeoutSeconds);
  try {
    const target = await targetFor(parent);
    const fromRun = parent.runId ? services.history?.run(parent.runId) : undefined;
    // The same state as the idea's ask: its steps (not the idea itself, nor what came after) and its score; the
    // code is the file's as it is now.
    const state = await gatherState(services, target, fromRun, { until: parent.createdAt, score: parent.scoreBefore });
    state.query = parent.query ?? draftQueryFor(state);
    const { provider } = await providerAndQuery(services, config, state.query, { offerChoice: false, review: false });
    const messages = buildFollowUpMessages(state, parent.raw, question, promptOptions(config));
    // Priced as Ask Ideator prices its question: the answer's reported usage gets its price.
    const price = ideatorPrice(config);
    const label = followUpLabel(request.kind);
    services.output.info(`Follow-up "${label}" on idea ${parent.id} to ${provider.label} (${messages.length} messages)`);
    await panel.reveal();
    panel.startStreaming(provider.label, `${label} — ${question}`);
    const completion = await streamAnswer(provider, messages, {
      title: `MLE Ideator: ${label === 'Your question' ? 'asking your question' : `asking "${label}"`}`,
      panel,
      controller,
      deadline,
      maxTokens: config.maxOutputTokens,
    });
    if (completion.usage) services.output.info(`Reported usage: ${usageLine(completion.usage, price, config.provider)}`);
    const answer = readFollowUpAnswer(request.kind, completion.text);
    const createdAt = new Date().toISOString();
    const ideas: IdeaRecord[] = answer.parts.map((part, i) => ({
      id: randomUUID(),
      createdAt,
      raw: answer.parts.length > 1 ? part.raw : completion.text,
      parsed: { ...part.parsed, thinking: i === 0 ? (part.parsed.thinking ?? completion.thinking) : undefined },
      query: state.query,
      provider: config.provider,
      model: completion.model,
      // The tokens were spent once, for the whole answer: counted on its first idea.
      usage: i === 0 ? completion.usage : undefined,
      ...(i === 0 && completion.usage ? { cost: usageCost(completion.usage, price, config.provider) } : {}),
      scoreBefore: state.score,
      runId: parent.runId,
      targetPath: target.relativePath,
      origin: 'follow-up',
      followUp: { of: parent.id, kind: request.kind, question, ...(answer.parts.length > 1 ? { part: i + 1 } : {}) },
    }));
    // Newest first in the editor's cache: the first alternative ends up on top, where the panel shows it.
    await recordIdeas(services, ideas, (idea) => !isProse(idea), 'follow-up');
    panel.showIdea(ideas[0], true);
    services.output.info(`Follow-up answered by ${completion.model}: ${answer.shape}${ideas.length > 1 ? ` (${ideas.length} ideas)` : ''}`);
    if (ideas.length > 1) {
      void vscode.window.showInformationMessage(`MLE Ideator: ${ideas.length} alternatives arrived; the first is shown, all are in Idea History.`);
    }
    return { status: 'ok', ideas };
  } catch (err) {
    return asker.fail(deadline.passed(controller) ? deadline.error() : err, controller, false, parent);
  } finally {
    await asker.release(controller);
  }
}
