/**
 * "Ideator: Ask Ideator": state → seek-help query (reviewed) → Ideator prompt → streamed answer → parsed idea in
 * the panel, cached for the lightbulb and recorded in the run history. Cancellable from the progress notification,
 * the panel, or the "Cancel Ask Ideator" command (one AbortController, passed to the provider).
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { parseIdea } from '../../core/idea';
import { buildIdeatorPrompt, promptCost, promptCostLine, promptCostShort, usageLine } from '../../core/promptCost';
import type { IdeaRecord, SeekHelpQuery } from '../../core/protocol';
import { describeProviderError } from '../../core/providers/index';
import { ProviderError } from '../../core/providers/types';
import { renderSeekHelp } from '../../core/query';
import type { Services } from '../services';
import type { IdeaPanelProvider } from '../views/ideaPanel';
import { draftQueryFor, ideatorPrice, promptOptions, providerAndQuery, recordIdeas, RequestDeadline, streamAnswer, usageCost } from './askSteps';
import { activeTarget, gatherState, UserCancelled, type TargetCode } from './gatherState';
import { SettingsError } from './provider';
import { fixesFor, providerChosen } from './setup';

export interface AskOptions {
  /** Skip the review step regardless of the setting (scripts, tests). */
  noReview?: boolean;
  /** Ask from this run of the history: its trajectory prefix, score and code (see gatherState). */
  runId?: string;
  /** Send this seek-help query as it is (an agent wrote it): nothing drafted, no review. */
  query?: SeekHelpQuery;
  /** The file or notebook the idea is about, when it is not the one in the active editor (agent mode names it). */
  target?: TargetCode;
  /** Cancels the request from outside (a language-model tool's cancellation token). */
  signal?: AbortSignal;
  /** No notifications: the caller tells the outcome itself (agent tools answer the agent in words). */
  quiet?: boolean;
}

export interface AskOutcome {
  status: 'ok' | 'cancelled' | 'error' | 'no-target';
  idea?: IdeaRecord;
  error?: string;
}

export class AskController {
  private running: AbortController | undefined;

  constructor(
    private readonly services: Services,
    private readonly panel: IdeaPanelProvider,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  cancel(): void {
    this.running?.abort();
  }

  /** Takes the one-request slot for another flow (follow-ups share Ask's cancel, lock and context key). */
  async claim(): Promise<AbortController | undefined> {
    if (this.running) return undefined;
    const controller = new AbortController();
    this.running = controller;
    await vscode.commands.executeCommand('setContext', 'ideator.asking', true);
    return controller;
  }

  async release(controller: AbortController): Promise<void> {
    if (this.running !== controller) return;
    this.running = undefined;
    await vscode.commands.executeCommand('setContext', 'ideator.asking', false);
  }

  async ask(options: AskOptions = {}): Promise<AskOutcome> {
    if (this.running) {
      if (options.quiet) return { status: 'error', error: 'The Ideator is already answering another request; wait for that answer or cancel it first.' };
      void vscode.window.showInformationMessage('MLE Ideator: already asking; cancel it first or wait for the answer.');
      return { status: 'cancelled' };
    }
    const services = this.services;
    const target = options.target ?? activeTarget();
    if (!target) {
      if (!options.quiet) void vscode.window.showWarningMessage('MLE Ideator: open the training script (or notebook) the idea should be about, then ask again.');
      return { status: 'no-target', error: 'No training script or notebook is open, and none was named.' };
    }
    const controller = new AbortController();
    if (options.signal?.aborted) return { status: 'cancelled' };
    options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const deadline = new RequestDeadline(services.config().config.requestTimeoutSeconds);
    this.running = controller;
    await vscode.commands.executeCommand('setContext', 'ideator.asking', true);
    try {
      const { config } = services.config();
      const fromRun = options.runId ? services.history?.run(options.runId) : undefined;
      if (options.runId && !fromRun) throw new SettingsError(`Run ${options.runId} is not in the run history (deleted?).`);
      const state = await gatherState(services, target, fromRun);
      const { provider, query } = await providerAndQuery(services, config, options.query ?? draftQueryFor(state), {
        offerChoice: !options.quiet,
        review: !options.noReview && !options.query,
      });
      state.query = query;
      const prompt = buildIdeatorPrompt(state, promptOptions(config));
      const { messages } = prompt;
      // What the question costs before it is sent and after.
      const price = ideatorPrice(config);
      const cost = promptCost(prompt, price);
      services.output.info(
        `Asking ${provider.label} about ${target.relativePath} (${messages.length} messages, trajectory ${state.trajectory.length} steps, ${config.trajectoryMode}: ${promptCostLine(cost)})`,
      );

      await this.panel.reveal();
      this.panel.startStreaming(provider.label, renderSeekHelp(query));
      const started = Date.now();
      const completion = await streamAnswer(provider, messages, {
        title: `MLE Ideator: asking the Ideator (${promptCostShort(cost)})`,
        panel: this.panel,
        controller,
        deadline,
        maxTokens: config.maxOutputTokens,
      });
      if (completion.usage) services.output.info(`Reported usage: ${usageLine(completion.usage, price, config.provider)}`);
      const parsed = parseIdea(completion.text);
      const idea: IdeaRecord = {
        id: randomUUID(),
        createdAt: new Date().toISOString(),
        raw: completion.text,
        parsed: { ...parsed, thinking: parsed.thinking ?? completion.thinking },
        query,
        provider: config.provider,
        model: completion.model,
        usage: completion.usage,
        ...(completion.usage ? { cost: usageCost(completion.usage, price, config.provider) } : {}),
        scoreBefore: state.score,
        runId: fromRun?.id,
        targetPath: target.relativePath,
        origin: options.query ? 'agent' : 'ask',
      };
      await recordIdeas(services, [idea]);
      await vscode.commands.executeCommand('setContext', 'ideator.hasIdea', true);
      this.panel.showIdea(idea, true);
      services.output.info(
        `Idea ${idea.id} from ${completion.model} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${parsed.ok ? 'all three parts present' : 'not in the expected layout: ' + parsed.errors.join('; ')}`,
      );
      if (!parsed.ok && !options.quiet) {
        void vscode.window.showWarningMessage(`MLE Ideator: the answer is not in the expected layout (analysis, action, rationale): ${parsed.errors[0] ?? 'unknown'}. It is shown as well as it could be read.`);
      }
      return { status: 'ok', idea };
    } catch (err) {
      return this.fail(deadline.passed(controller) ? deadline.error() : err, controller, options.quiet);
    } finally {
      this.running = undefined;
      await vscode.commands.executeCommand('setContext', 'ideator.asking', false);
    }
  }

  /** A failed or cancelled request, told in the panel (the idea `keep`, else the last one, stays) and a toast. */
  fail(err: unknown, controller: AbortController, quiet = false, keep?: IdeaRecord): AskOutcome {
    const services = this.services;
    if (err instanceof UserCancelled || (err instanceof ProviderError && err.kind === 'aborted' && controller.signal.aborted)) {
      services.output.info('Ask Ideator cancelled.');
      const latest = keep ?? services.ideas.latest;
      if (latest) this.panel.showIdea(latest, true);
      else this.panel.showEmpty();
      if (!quiet) void vscode.window.showInformationMessage('MLE Ideator: request cancelled.');
      return { status: 'cancelled' };
    }
    const message = err instanceof SettingsError ? err.message : describeProviderError(err);
    const { config } = services.config();
    const { hint, fixes } = fixesFor(err, 'ideator', providerChosen(), config.provider);
    services.output.error(`Ask Ideator failed: ${message}`);
    // The last good idea stays in the panel (and stays the one Apply uses), with the failure shown above it.
    const latest = keep ?? services.ideas.latest;
    if (latest) this.panel.showIdea(latest, true, { message, hint, fixes });
    else this.panel.showError(message, hint, fixes);
    if (quiet) return { status: 'error', error: hint ? `${message} ${hint}` : message };
    const buttons = [...fixes.map((f) => f.label), 'Show Log'];
    void vscode.window.showErrorMessage(`MLE Ideator: ${message}`, ...buttons).then((choice) => {
      const fix = fixes.find((f) => f.label === choice);
      if (fix) void vscode.commands.executeCommand(fix.command, ...(fix.args ?? []));
      else if (choice === 'Show Log') services.output.show();
    });
    return { status: 'error', error: message };
  }
}
