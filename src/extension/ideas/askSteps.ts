/**
 * The steps every question to the Ideator shares (Ask Ideator, a follow-up, Ask for N Ideas): the seek-help query
 * drafted from the state, the provider (offering the choice on a first ask), the user's review of the query, the
 * prompt options from the settings, the configured model's price (the pre-send cost and the reported usage are priced
 * by it), the streamed answer with a cancellable progress notification and the overall time limit, and recording
 * the ideas in the idea cache and the run history.
 */
import * as vscode from 'vscode';
import { priceFor, usageDollars, type IdeatorPromptOptions, type Price } from '../../core/promptCost';
import { defaultPromptsDir } from '../../core/prompts';
import type { ChatMessage, Completion, IdeaRecord, IdeatorState, SeekHelpQuery, Usage } from '../../core/protocol';
import { DEFAULT_ANTHROPIC_MODEL } from '../../core/providers/anthropic';
import { DEFAULT_OPENAI_BASE_URL } from '../../core/providers/index';
import type { Provider } from '../../core/providers/types';
import { draftQuery } from '../../core/query';
import type { Services } from '../services';
import type { ExtensionConfig } from '../settings/config';
import type { IdeaPanelProvider } from '../views/ideaPanel';
import { UserCancelled } from './gatherState';
import { makeProvider, SettingsError } from './provider';
import { reviewQuery } from './reviewQuery';
import { chooseProvider, providerChosen } from './setup';

/** The seek-help query drafted from the state (what the user reviews before it is sent). */
export function draftQueryFor(state: IdeatorState): SeekHelpQuery {
  return draftQuery({ trajectory: state.trajectory, score: state.score, taskDescription: state.taskDescription, unit: 'run', submission: /submission/i.test(state.code ?? '') });
}

/** How the settings shape the Ideator prompt (budget, prompts folder and override, trajectory mode). */
export function promptOptions(config: ExtensionConfig): IdeatorPromptOptions {
  return {
    budgetTokens: config.trajectoryTokenBudget,
    promptsDir: defaultPromptsDir(),
    overrideDir: config.promptsOverrideDir,
    trajectoryMode: config.trajectoryMode,
  };
}

/**
 * The Ideator's provider, and the query as the user reviewed it (when `review`): on a first ask with nothing set up
 * (`offerChoice`), the choice of provider is offered instead of an error about a missing Anthropic key.
 */
export async function providerAndQuery(
  services: Services,
  config: ExtensionConfig,
  query: SeekHelpQuery,
  opts: { offerChoice: boolean; review: boolean },
): Promise<{ provider: Provider; query: SeekHelpQuery }> {
  if (opts.offerChoice && !providerChosen() && config.provider === 'anthropic' && !(await services.secrets.get('anthropic'))) {
    services.output.info('No provider chosen yet: offering the choice.');
    if (!(await chooseProvider(services))) throw new UserCancelled();
  }
  const provider = await makeProvider(services, 'ideator');
  if (opts.review && config.reviewQueryBeforeSending) {
    const reviewed = await reviewQuery(query, provider.label);
    if (!reviewed) throw new UserCancelled();
    query = reviewed;
  }
  return { provider, query };
}

/** The configured Ideator model's price: ideator.modelPrice, else the core price table (the providers' default model and URL). */
export function ideatorPrice(config: ExtensionConfig): Price {
  return priceFor(
    config.provider,
    config.model ?? (config.provider === 'anthropic' ? DEFAULT_ANTHROPIC_MODEL : undefined),
    config.baseUrl ?? (config.provider === 'openai' ? DEFAULT_OPENAI_BASE_URL : undefined),
    config.modelPrice,
  );
}

/** What a reported usage cost, as an idea carries it (its dollars, null when the price is unknown, and why). */
export function usageCost(usage: Usage, price: Price, kind: string): NonNullable<IdeaRecord['cost']> {
  return { dollars: usageDollars(usage, price, kind), source: price.source };
}

/**
 * The overall time limit of a request (ideator.requestTimeoutSeconds); the provider has its own per-attempt and idle
 * timeouts. Started when the request is sent; `passed` tells a request stopped by it from one the user cancelled.
 */
export class RequestDeadline {
  private timer: AbortSignal | undefined;

  constructor(readonly seconds: number) {}

  /** Starts the clock: the signal aborts when the controller does or the time is up. */
  start(controller: AbortController): AbortSignal {
    this.timer = AbortSignal.timeout(this.seconds * 1000);
    return AbortSignal.any([controller.signal, this.timer]);
  }

  passed(controller: AbortController): boolean {
    return this.timer?.aborted === true && !controller.signal.aborted;
  }

  /** The one-line error told when it passed; `what` is what did not arrive in time. */
  error(what = 'No complete answer'): SettingsError {
    return new SettingsError(`${what} within ${this.seconds} s; raise "ideator.requestTimeoutSeconds" or check the server.`);
  }
}

/**
 * One streamed answer into the Idea panel, under a cancellable progress notification titled `title` that counts
 * the characters as they come (thinking or writing). Cancel (notification or the controller) aborts the request.
 */
export function streamAnswer(
  provider: Provider,
  messages: ChatMessage[],
  opts: { title: string; panel: IdeaPanelProvider; controller: AbortController; deadline: RequestDeadline; maxTokens: number },
): Thenable<Completion> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: opts.title, cancellable: true }, async (progress, token) => {
    token.onCancellationRequested(() => opts.controller.abort());
    let chars = 0;
    let lastReport = 0;
    return provider.complete(messages, {
      signal: opts.deadline.start(opts.controller),
      maxTokens: opts.maxTokens,
      onToken: (delta, channel) => {
        opts.panel.appendToken(delta, channel);
        chars += delta.length;
        if (Date.now() - lastReport > 250) {
          lastReport = Date.now();
          progress.report({ message: `${channel === 'thinking' ? 'thinking' : 'writing'}… ${chars.toLocaleString('en-US')} chars` });
        }
      },
    });
  });
}

/**
 * Records the ideas of one answer: newest first in the editor's idea cache (so the first idea ends up on top; only
 * those `cache` keeps: an explanation has nothing for the lightbulb) and each in the run history.
 */
export async function recordIdeas(services: Services, ideas: IdeaRecord[], cache: (idea: IdeaRecord) => boolean = () => true, what = 'idea'): Promise<void> {
  for (const idea of [...ideas].reverse()) {
    if (cache(idea)) await services.ideas.add(idea);
    try {
      services.history?.appendIdea(idea);
    } catch (err) {
      services.output.warn(`Could not record the ${what} in the run history: ${(err as Error).message}`);
    }
  }
}
