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
import { defaultPromptsDir } from '../../core/prompts';
import type { IdeaRecord } from '../../core/protocol';
import { draftQuery } from '../../core/query';
import type { Services } from '../services';
import type { IdeaPanelProvider } from '../views/ideaPanel';
import { followUpLabel } from '../views/ideaPanelRender';
import type { AskController, AskOutcome } from './askIdeator';
import { activeTarget, gatherState, targetOf, type TargetCode } from './gatherState';
import { makeProvider, SettingsError } from './provider';

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
  let deadline: AbortSignal | undefined;
  try {
    const { config } = services.config();
    const target = await targetFor(parent);
    const fromRun = parent.runId ? services.history?.run(parent.runId) : undefined;
    // The same state as the idea's ask: its steps (not the idea itself, nor what came after) and its score; the
    // code is the file's as it is now.
    const state = await gatherState(services, target, fromRun, { until: parent.createdAt, score: parent.scoreBefore });
    state.query =
      parent.query ?? draftQuery({ trajectory: state.trajectory, score: state.score, taskDescription: state.taskDescription, unit: 'run', submission: /submission/i.test(state.code ?? '') });
    const provider = await makeProvider(services, 'ideator');
    const messages = buildFollowUpMessages(state, parent.raw, question, {
      budgetTokens: config.trajectoryTokenBudget,
      promptsDir: defaultPromptsDir(),
      overrideDir: config.promptsOverrideDir,
      trajectoryMode: config.trajectoryMode,
    });
    const label = followUpLabel(request.kind);
    services.output.info(`Follow-up "${label}" on idea ${parent.id} to ${provider.label} (${messages.length} messages)`);
    await panel.reveal();
    panel.startStreaming(provider.label, `${label} — ${question}`);
    const completion = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `MLE Ideator: ${label === 'Your question' ? 'asking your question' : `asking "${label}"`}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let chars = 0;
        let lastReport = 0;
        deadline = AbortSignal.timeout(config.requestTimeoutSeconds * 1000);
        return provider.complete(messages, {
          signal: AbortSignal.any([controller.signal, deadline]),
          maxTokens: config.maxOutputTokens,
          onToken: (delta, channel) => {
            panel.appendToken(delta, channel);
            chars += delta.length;
            if (Date.now() - lastReport > 250) {
              lastReport = Date.now();
              progress.report({ message: `${channel === 'thinking' ? 'thinking' : 'writing'}… ${chars.toLocaleString('en-US')} chars` });
            }
          },
        });
      },
    );
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
      scoreBefore: state.score,
      runId: parent.runId,
      targetPath: target.relativePath,
      origin: 'follow-up',
      followUp: { of: parent.id, kind: request.kind, question, ...(answer.parts.length > 1 ? { part: i + 1 } : {}) },
    }));
    // Newest first in the editor's cache: the first alternative ends up on top, where the panel shows it.
    for (const idea of [...ideas].reverse()) {
      if (!isProse(idea)) await services.ideas.add(idea);
      try {
        services.history?.appendIdea(idea);
      } catch (err) {
        services.output.warn(`Could not record the follow-up in the run history: ${(err as Error).message}`);
      }
    }
    panel.showIdea(ideas[0], true);
    services.output.info(`Follow-up answered by ${completion.model}: ${answer.shape}${ideas.length > 1 ? ` (${ideas.length} ideas)` : ''}`);
    if (ideas.length > 1) {
      void vscode.window.showInformationMessage(`MLE Ideator: ${ideas.length} alternatives arrived; the first is shown, all are in Idea History.`);
    }
    return { status: 'ok', ideas };
  } catch (err) {
    if (deadline?.aborted && !controller.signal.aborted) {
      const seconds = services.config().config.requestTimeoutSeconds;
      return asker.fail(new SettingsError(`No complete answer within ${seconds} s; raise "ideator.requestTimeoutSeconds" or check the server.`), controller, false, parent);
    }
    return asker.fail(err, controller, false, parent);
  } finally {
    await asker.release(controller);
  }
}
