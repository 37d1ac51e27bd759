/**
 * "Ideator: Ask for N Ideas": the state of the file in view → one prompt → N answers through core/askMany.ts (one
 * request with `n` on an OpenAI-compatible server, N requests sharing a cached prompt on Claude) → the distinct ideas
 * side by side in the "Ideas" panel (views/ideasCompare.ts), each recorded like an asked idea (idea cache, run
 * history). Apply on a card goes through the one safe apply path (applyIdea.ts: already-applied detection, diff
 * preview, large-deletion confirmation, one undoable edit). Progress in a cancellable notification and in the cards;
 * Cancel (notification or panel) aborts every request at once.
 */
import { randomUUID } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import * as vscode from 'vscode';
import { z } from 'zod';
import { askForIdeas, MAX_IDEA_COUNT, type AskedIdea, type AskManyResult } from '../../core/askMany';
import { alreadyApplied, changeCounts } from '../../core/ideaApply';
import { buildIdeatorPrompt, priceFor, usageLine } from '../../core/promptCost';
import { defaultPromptsDir } from '../../core/prompts';
import type { IdeaRecord } from '../../core/protocol';
import { describeProviderError } from '../../core/providers/index';
import { ProviderError } from '../../core/providers/types';
import { draftQuery } from '../../core/query';
import type { Services } from '../services';
import { IdeasComparePanel, type CompareRequest } from '../views/ideasCompare';
import type { CompareCard, CompareView } from '../views/ideasCompareRender';
import { applyIdea, type ApplyOutcome } from './applyIdea';
import type { ProposalFiles } from './diffPreview';
import { activeTarget, gatherState, UserCancelled, type TargetCode } from './gatherState';
import { makeProvider, SettingsError } from './provider';
import { reviewQuery } from './reviewQuery';
import { chooseProvider, fixesFor, providerChosen } from './setup';

export const ASK_FOR_IDEAS_COMMAND = 'ideator.askForIdeas';

export interface AskManyOptions {
  /** How many ideas (default: the setting ideator.ideaCount). */
  n?: number;
  /** Skip the review of the seek-help query (scripts, tests). */
  noReview?: boolean;
  /** The file the ideas are about, when it is not the active editor's. */
  target?: TargetCode;
}

export interface AskManyOutcome {
  status: 'ok' | 'cancelled' | 'error' | 'no-target' | 'busy';
  /** The distinct ideas, as recorded, in answer order. */
  ideas?: IdeaRecord[];
  result?: Omit<AskManyResult, 'ideas'>;
  error?: string;
}

/** The one-line description of a diff: what the proposal does and its size in lines. */
function diffOf(target: TargetCode, a: AskedIdea): CompareCard['diff'] {
  if (!a.proposal) return undefined;
  const text = createTwoFilesPatch(`a/${target.relativePath}`, `b/${target.relativePath}`, target.code, a.proposal.content, '', '', { context: 2 })
    .split('\n')
    .filter((l) => !/^={5,}$/.test(l))
    .join('\n')
    .trimEnd();
  const { added, removed } = changeCounts(target.code, a.proposal.content);
  return { text, summary: `${a.proposal.summary} (+${added} −${removed} line${added + removed === 1 ? '' : 's'})` };
}

function codeNoteOf(target: TargetCode, a: AskedIdea): string | undefined {
  if (a.proposal) return undefined;
  if (target.isNotebook) return a.idea.codeBlocks.length ? 'Apply puts its code into the notebook cell it fits, with a preview first.' : 'No code in this idea.';
  if (a.idea.codeBlocks.length && alreadyApplied(target.code, a.idea.codeBlocks)) return `Its code is already in ${target.relativePath}: nothing to apply.`;
  if (a.idea.codeBlocks.length) return `Its code does not fit ${target.relativePath} as it is: Apply asks the implementer model to write the change, with a preview first.`;
  return 'No code in this idea: Apply asks the implementer model to write the change, with a preview first.';
}

export class AskManyController implements vscode.Disposable {
  readonly panel: IdeasComparePanel;
  private running: AbortController | undefined;
  private view: CompareView | undefined;
  private target: TargetCode | undefined;
  /** The last Apply started from the panel (tests await it). */
  lastApply: Promise<ApplyOutcome> | undefined;

  constructor(
    private readonly services: Services,
    private readonly deps: { proposals: ProposalFiles; askerBusy: () => boolean },
  ) {
    this.panel = new IdeasComparePanel(services.context.extensionUri, (r) => this.onRequest(r));
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  cancel(): void {
    this.running?.abort();
  }

  private onRequest(request: CompareRequest): void {
    if (request.type === 'cancel') this.cancel();
    else if (request.type === 'apply') this.lastApply = this.apply(request.ideaId);
    else if (request.type === 'verify') void vscode.window.showInformationMessage('MLE Ideator: verifying ideas by running them is not available in this version; apply one and run it.');
  }

  /** Applies one of the shown ideas through the safe apply path; its card says "applied" when it was. */
  async apply(ideaId: string): Promise<ApplyOutcome> {
    const outcome = await applyIdea(this.services, this.deps.proposals, ideaId, this.target?.uri.toString());
    if (outcome.status === 'applied' && this.view) {
      this.setView({ ...this.view, cards: this.view.cards.map((c) => (c.ideaId === ideaId ? { ...c, applied: true } : c)) }, true);
    }
    return outcome;
  }

  private setView(view: CompareView, urgent = false): void {
    this.view = view;
    this.panel.update(view, urgent);
  }

  async run(options: AskManyOptions = {}): Promise<AskManyOutcome> {
    if (this.running || this.deps.askerBusy()) {
      void vscode.window.showInformationMessage('MLE Ideator: already asking; cancel it first or wait for the answer.');
      return { status: 'busy' };
    }
    const services = this.services;
    const target = options.target ?? activeTarget();
    if (!target) {
      void vscode.window.showWarningMessage('MLE Ideator: open the training script (or notebook) the ideas should be about, then ask again.');
      return { status: 'no-target', error: 'No training script or notebook is open.' };
    }
    const { config } = services.config();
    const n = options.n ?? config.ideaCount;
    if (!Number.isInteger(n) || n < 1 || n > MAX_IDEA_COUNT) {
      void vscode.window.showWarningMessage(`MLE Ideator: the number of ideas must be from 1 to ${MAX_IDEA_COUNT} (setting "ideator.ideaCount").`);
      return { status: 'error', error: `n must be from 1 to ${MAX_IDEA_COUNT}` };
    }
    const controller = new AbortController();
    this.running = controller;
    this.target = target;
    let deadline: AbortSignal | undefined;
    try {
      const state = await gatherState(services, target);
      let query = draftQuery({ trajectory: state.trajectory, score: state.score, taskDescription: state.taskDescription, unit: 'run', submission: /submission/i.test(state.code ?? '') });
      if (!providerChosen() && config.provider === 'anthropic' && !(await services.secrets.get('anthropic'))) {
        services.output.info('No provider chosen yet: offering the choice.');
        if (!(await chooseProvider(services))) throw new UserCancelled();
      }
      const provider = await makeProvider(services, 'ideator');
      if (config.reviewQueryBeforeSending && !options.noReview) {
        const reviewed = await reviewQuery(query, provider.label);
        if (!reviewed) throw new UserCancelled();
        query = reviewed;
      }
      state.query = query;
      const prompt = buildIdeatorPrompt(state, { budgetTokens: config.trajectoryTokenBudget, promptsDir: defaultPromptsDir(), overrideDir: config.promptsOverrideDir });
      services.output.info(`Asking ${provider.label} for ${n} ideas about ${target.relativePath} (${prompt.tokens} prompt tokens, ${prompt.cacheableTokens} cacheable)`);

      const pending: CompareCard[] = Array.from({ length: n }, (_, i) => ({ number: i + 1, action: '', verify: { status: 'not-verified' }, streaming: { chars: 0 } }));
      const base: CompareView = {
        phase: 'asking',
        target: target.relativePath,
        provider: provider.label,
        requested: n,
        cards: pending,
        notes: [],
        metric: state.score.metric,
        direction: state.score.direction,
        verifyAvailable: false,
      };
      this.view = base;
      this.panel.show(base);

      const started = Date.now();
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MLE Ideator: asking for ${n} ideas`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          deadline = AbortSignal.timeout(config.requestTimeoutSeconds * 1000);
          let reported = 0;
          return askForIdeas(provider, state, n, {
            signal: AbortSignal.any([controller.signal, deadline]),
            maxTokens: config.maxOutputTokens,
            prompt: { messages: prompt.messages, query },
            onProgress: (e) => {
              const view = this.view!;
              if (e.kind === 'token' || e.kind === 'failed') {
                const cards = view.cards.map((c) =>
                  c.number !== e.index + 1 ? c : { ...c, streaming: e.kind === 'token' ? { chars: e.chars } : { chars: c.streaming?.chars ?? 0, failed: e.message } },
                );
                this.setView({ ...view, cards });
              } else if (e.kind === 'answer') {
                progress.report({ message: `${e.done} of ${n} in`, increment: ((e.done - reported) / n) * 100 });
                reported = e.done;
              } else if (e.kind === 'note') {
                this.setView({ ...view, notes: [...view.notes, e.message] }, true);
                services.output.info(e.message);
              }
            },
          });
        },
      );

      // Record each idea like an asked one; added last-first so the first answer is the newest in the cache.
      const createdAt = new Date().toISOString();
      const records = result.ideas.map(
        (a): IdeaRecord => ({
          id: randomUUID(),
          createdAt,
          raw: a.completion.text,
          parsed: a.idea,
          query,
          provider: config.provider,
          model: a.completion.model,
          ...(a.completion.usage ? { usage: a.completion.usage } : {}),
          scoreBefore: state.score,
          targetPath: target.relativePath,
        }),
      );
      for (const idea of [...records].reverse()) {
        await services.ideas.add(idea);
        try {
          services.history?.appendIdea(idea);
        } catch (err) {
          services.output.warn(`Could not record the idea in the run history: ${(err as Error).message}`);
        }
      }
      await vscode.commands.executeCommand('setContext', 'ideator.hasIdea', true);

      const price = priceFor(config.provider, config.model, config.baseUrl);
      const usage = `${result.requests} request${result.requests === 1 ? '' : 's'}: ${usageLine(result.usage, price, config.provider)}`;
      const cards: CompareCard[] = result.ideas.map((a, i) => ({
        ideaId: records[i].id,
        number: a.index + 1,
        action: a.idea.action,
        analysis: a.idea.analysis,
        rationale: a.idea.rationale,
        diff: diffOf(target, a),
        codeNote: codeNoteOf(target, a),
        verify: { status: 'not-verified' },
        ...(a.idea.ok ? {} : { parseProblem: `Not in the expected layout: ${a.idea.errors[0] ?? 'unknown'}. Shown as well as it could be read.` }),
      }));
      this.setView({ ...this.view!, phase: 'ready', cards, notes: [...result.notes, usage] }, true);
      services.output.info(`${records.length} ideas (${result.mode}, ${usage}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const { ideas: _kept, ...rest } = result;
      return { status: 'ok', ideas: records, result: rest };
    } catch (err) {
      if (deadline?.aborted && !controller.signal.aborted) {
        return this.fail(new SettingsError(`Not all answers within ${config.requestTimeoutSeconds} s; raise "ideator.requestTimeoutSeconds" or check the server.`), controller);
      }
      return this.fail(err, controller);
    } finally {
      this.running = undefined;
    }
  }

  private fail(err: unknown, controller: AbortController): AskManyOutcome {
    const services = this.services;
    if (err instanceof UserCancelled || (err instanceof ProviderError && err.kind === 'aborted' && controller.signal.aborted)) {
      services.output.info('Ask for N Ideas cancelled.');
      if (this.view) this.setView({ ...this.view, phase: 'cancelled', cards: this.view.cards.filter((c) => c.ideaId), message: 'Cancelled: every request was stopped.' }, true);
      return { status: 'cancelled' };
    }
    const message = err instanceof SettingsError ? err.message : describeProviderError(err);
    const { config } = services.config();
    const { hint, fixes } = fixesFor(err, 'ideator', providerChosen(), config.provider);
    services.output.error(`Ask for N Ideas failed: ${message}`);
    if (this.view) this.setView({ ...this.view, phase: 'error', cards: [], message: hint ? `${message} ${hint}` : message }, true);
    void vscode.window.showErrorMessage(`MLE Ideator: ${message}`, ...fixes.map((f) => f.label), 'Show Log').then((choice) => {
      const fix = fixes.find((f) => f.label === choice);
      if (fix) void vscode.commands.executeCommand(fix.command, ...(fix.args ?? []));
      else if (choice === 'Show Log') services.output.show();
    });
    return { status: 'error', error: message };
  }

  dispose(): void {
    this.running?.abort();
    this.panel.dispose();
  }
}

const CommandArgSchema = z.object({ n: z.number().int().min(1).max(MAX_IDEA_COUNT).optional(), noReview: z.boolean().optional() });

/** Registers "Ideator: Ask for N Ideas"; the controller is returned for the extension's API (tests, scripts). */
export function registerAskMany(services: Services, deps: { proposals: ProposalFiles; askerBusy: () => boolean }): { controller: AskManyController; disposable: vscode.Disposable } {
  const controller = new AskManyController(services, deps);
  const command = vscode.commands.registerCommand(ASK_FOR_IDEAS_COMMAND, (arg?: unknown) => {
    // From the palette or a keybinding the argument is absent (or a Uri); scripts may pass {n, noReview}.
    const parsed = CommandArgSchema.safeParse(arg instanceof vscode.Uri || arg === undefined || arg === null ? {} : arg);
    if (!parsed.success) {
      void vscode.window.showWarningMessage(`MLE Ideator: Ask for N Ideas takes {n, noReview}: ${parsed.error.issues[0]?.message ?? 'bad argument'}`);
      return Promise.resolve<AskManyOutcome>({ status: 'error', error: 'bad argument' });
    }
    return controller.run(parsed.data);
  });
  return { controller, disposable: vscode.Disposable.from(command, controller) };
}
