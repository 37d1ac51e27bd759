/**
 * "Ideator: Ask for N Ideas": the state of the file in view → one prompt → N answers through core/askMany.ts (one
 * request with `n` on an OpenAI-compatible server, N requests sharing a cached prompt on Claude) → the distinct ideas
 * side by side in the "Ideas" panel (views/ideasCompare.ts), each recorded like an asked idea (idea cache, run
 * history). Apply on a card goes through the one safe apply path (applyIdea.ts: already-applied detection, the review
 * ideator.applyReview chooses — Keep / Undo per change in the editor by default, or the diff preview —, large-deletion
 * confirmation, one undoable edit); Verify runs the shown ideas (verifyRun.ts). Progress in a
 * cancellable notification and in the cards; Cancel (notification or panel) aborts every request at once.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { z } from 'zod';
import { askForIdeas, MAX_IDEA_COUNT, type AskManyResult } from '../../core/askMany';
import { proposeFromCodeBlocks, type Proposal } from '../../core/ideaApply';
import { buildIdeatorPrompt, usageLine } from '../../core/promptCost';
import { IdeaRecordSchema, type IdeaRecord } from '../../core/protocol';
import { describeProviderError } from '../../core/providers/index';
import { ProviderError } from '../../core/providers/types';
import type { Services } from '../services';
import { IDEAS_COMPARE_VIEW_TYPE, IdeasComparePanel, type CompareRequest } from '../views/ideasCompare';
import { cardChange, type CompareCard, type CompareView } from '../views/ideasCompareRender';
import { applyIdea, type ApplyOutcome } from './applyIdea';
import { draftQueryFor, ideatorPrice, promptOptions, providerAndQuery, recordIdeas, RequestDeadline } from './askSteps';
import type { ProposalFiles } from './diffPreview';
import { activeTarget, gatherState, targetOf, UserCancelled, type TargetCode } from './gatherState';
import { SettingsError } from './provider';
import { fixesFor, providerChosen } from './setup';
import { verifyCli, type VerifyCli } from './verify';
import { defaultVerifyChoice, verifyLabel, verifyShownIdeas, type VerifyChoice, type VerifyOutcome } from './verifyRun';

export const ASK_FOR_IDEAS_COMMAND = 'ideator.askForIdeas';

export interface AskManyOptions {
  /** How many ideas (default: the setting ideator.ideaCount). */
  n?: number;
  /** Skip the review of the seek-help query (scripts, tests). */
  noReview?: boolean;
  /** The file the ideas are about, when it is not the active editor's. */
  target?: TargetCode;
}

/** Where the last shown ideas are kept (workspaceState), so the Ideas tab comes back after a window reload. */
export const LAST_IDEAS_KEY = 'ideator.ideasCompare.last';
/** The most characters kept there (the file's code, the ideas, the cards); a larger result is not kept. */
const LAST_IDEAS_MAX_CHARS = 2_000_000;

const STATUSES = ['not-verified', 'queued', 'running', 'improved', 'within_noise', 'worse', 'failed', 'timed_out'] as const;
/** What was kept, read back (validated: workspaceState is a file on disk another version may have written). */
const KeptSchema = z.object({
  v: z.literal(1),
  target: z.object({ uri: z.string().min(1), relativePath: z.string(), code: z.string(), isNotebook: z.boolean() }),
  records: z.array(IdeaRecordSchema).min(1).max(MAX_IDEA_COUNT),
  view: z
    .object({
      phase: z.enum(['ready', 'verified', 'cancelled']),
      target: z.string(),
      provider: z.string(),
      requested: z.number().int(),
      notes: z.array(z.string()),
      verifyAvailable: z.boolean(),
      cards: z.array(
        z
          .object({
            ideaId: z.string().optional(),
            number: z.number().int(),
            action: z.string(),
            verify: z.object({ status: z.enum(STATUSES) }).passthrough(),
          })
          .passthrough(),
      ),
    })
    .passthrough(),
});

/** How long after the last edit of the file the cards' diffs are recomputed. */
const REFRESH_AFTER_MS = 250;

export interface AskManyOutcome {
  status: 'ok' | 'cancelled' | 'error' | 'no-target' | 'busy';
  /** The distinct ideas, as recorded, in answer order. */
  ideas?: IdeaRecord[];
  result?: Omit<AskManyResult, 'ideas'>;
  error?: string;
}

export class AskManyController implements vscode.Disposable {
  readonly panel: IdeasComparePanel;
  private running: AbortController | undefined;
  private view: CompareView | undefined;
  private target: TargetCode | undefined;
  /** The ideas shown, as recorded, and the file's code each one's card was computed from. */
  private records: IdeaRecord[] = [];
  private proposals = new Map<string, string>();
  /** Each idea's proposal against the file as it was asked about (its card's first diff). */
  private asked = new Map<string, Proposal>();
  private verifying: AbortController | undefined;
  private verifyOpen = false;
  /** The last Apply started from the panel (tests await it). */
  lastApply: Promise<ApplyOutcome> | undefined;
  /** The last verification started from the panel (tests await it). */
  lastVerify: Promise<VerifyOutcome> | undefined;
  /** How the verification CLI is started (tests may point it elsewhere). */
  cli: VerifyCli;

  constructor(
    private readonly services: Services,
    private readonly deps: { proposals: ProposalFiles; askerBusy: () => boolean },
  ) {
    this.panel = new IdeasComparePanel(services.context.extensionUri, (r) => this.onRequest(r));
    this.cli = verifyCli(services.context.extensionPath);
    // An Apply, an Undo or the user's typing changes the file: each card's change is shown against it as it is now.
    this.listeners.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length && this.target && !this.target.isNotebook && e.document.uri.toString() === this.target.uri.toString()) this.scheduleRefresh();
      }),
    );
  }

  private readonly listeners: vscode.Disposable[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshChanges();
    }, REFRESH_AFTER_MS);
  }

  /**
   * Recomputes each card's diff against the target file as it is now (open document, else the copy it was asked
   * about): a card whose code is in the file says "already applied". Skipped while the answers still arrive.
   */
  refreshChanges(): void {
    const view = this.view;
    const target = this.target;
    if (!view || !target || target.isNotebook || view.phase === 'asking' || this.records.length === 0) return;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.uri.toString());
    const code = doc?.getText() ?? target.code;
    const byId = new Map(this.records.map((r) => [r.id, r]));
    const now = { relativePath: target.relativePath, code, isNotebook: false };
    const cards = view.cards.map((c) => {
      const r = c.ideaId ? byId.get(c.ideaId) : undefined;
      if (!r) return c;
      const { diff: _d, codeNote: _n, inFile: _i, ...rest } = c;
      return { ...rest, ...cardChange(now, r.parsed.codeBlocks, code === target.code ? this.asked.get(r.id) : undefined) };
    });
    this.setView({ ...view, cards }, true);
  }

  get busy(): boolean {
    return this.running !== undefined || this.verifying !== undefined;
  }

  /** Stops the asking, or every verification run, at once. */
  cancel(): void {
    this.running?.abort();
    this.verifying?.abort();
  }

  private onRequest(request: CompareRequest): void {
    if (request.type === 'cancel') this.cancel();
    else if (request.type === 'apply') this.lastApply = this.apply(request.ideaId);
    else if (request.type === 'verify' && !this.verifyOpen) {
      // One verification at a time, from its first question on (a double click asks once).
      this.verifyOpen = true;
      this.lastVerify = this.verify().finally(() => (this.verifyOpen = false));
    }
  }

  /**
   * Verifies the shown ideas by running them (verifyRun.ts): the user agrees to the slots and the time budget (or
   * `choice` gives them); the cards get each status as it comes and are ranked by measured score.
   */
  verify(choice?: VerifyChoice): Promise<VerifyOutcome> {
    return verifyShownIdeas(
      {
        services: this.services,
        cli: () => this.cli,
        target: () => this.target,
        records: () => this.records,
        proposals: () => this.proposals,
        view: () => this.view,
        setView: (view, urgent) => this.setView(view, urgent),
        running: (controller) => (this.verifying = controller),
      },
      choice,
    );
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
    if (view.phase === 'ready' || view.phase === 'verified' || view.phase === 'cancelled') this.keep(view);
  }

  /**
   * Keeps the shown result in workspaceState (bounded: diffs are left out, being recomputed on restore; a result
   * over LAST_IDEAS_MAX_CHARS is not kept), for the Ideas tab after a window reload.
   */
  private keep(view: CompareView): void {
    const target = this.target;
    if (!target || this.records.length === 0) return;
    const kept = {
      v: 1,
      target: { uri: target.uri.toString(), relativePath: target.relativePath, code: target.code, isNotebook: target.isNotebook },
      records: this.records,
      view: { ...view, cards: view.cards.filter((c) => c.ideaId).map(({ diff: _d, ...c }) => c) },
    };
    const size = JSON.stringify(kept).length;
    const state = this.services.context.workspaceState;
    if (size > LAST_IDEAS_MAX_CHARS) {
      this.services.output.info(`The ideas shown are not kept for a window reload: ${size.toLocaleString('en-US')} characters (at most ${LAST_IDEAS_MAX_CHARS.toLocaleString('en-US')}).`);
      void state.update(LAST_IDEAS_KEY, undefined);
      return;
    }
    void state.update(LAST_IDEAS_KEY, kept);
  }

  /**
   * Shows the last kept result in `panel` (VS Code restored the Ideas tab after a window reload; the serializer
   * calls this): the cards, the ideas Apply and Verify work on, the diffs recomputed against the file as it is now.
   * Nothing kept (or unreadable): the panel says so in one line.
   */
  async restore(panel: vscode.WebviewPanel): Promise<boolean> {
    const parsed = KeptSchema.safeParse(this.services.context.workspaceState.get(LAST_IDEAS_KEY));
    if (!parsed.success || this.busy) {
      if (!parsed.success && this.services.context.workspaceState.get(LAST_IDEAS_KEY) !== undefined) this.services.output.warn(`The last ideas could not be read back: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
      this.panel.adopt(panel, { phase: 'error', target: '', provider: '', requested: 0, cards: [], notes: [], verifyAvailable: false, message: 'Nothing to show: ask again (Ideator: Ask for N Ideas).' });
      return false;
    }
    const { target: t, records, view } = parsed.data;
    const target: TargetCode = { uri: vscode.Uri.parse(t.uri), relativePath: t.relativePath, code: t.code, isNotebook: t.isNotebook };
    this.target = target;
    this.records = records;
    this.asked = new Map();
    this.proposals = new Map();
    if (!target.isNotebook) {
      for (const r of records) {
        const p = target.code.trim() && r.parsed.codeBlocks.length ? proposeFromCodeBlocks(target.code, r.parsed.codeBlocks) : undefined;
        if (p) {
          this.asked.set(r.id, p);
          this.proposals.set(r.id, p.content);
        }
      }
    }
    // The file as it is now: the open document, else the file on disk (it may have changed while the window was closed).
    let now = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.uri.toString())?.getText();
    if (now === undefined && !target.isNotebook) now = await vscode.workspace.fs.readFile(target.uri).then((b) => new TextDecoder().decode(b), () => undefined);
    const byId = new Map(records.map((r) => [r.id, r]));
    const cards = (view.cards as CompareCard[]).filter((c) => c.ideaId && byId.has(c.ideaId)).map((c) => {
      const r = byId.get(c.ideaId!)!;
      const { diff: _d, codeNote: _n, inFile: _i, ...rest } = c;
      const code = now ?? target.code;
      return { ...rest, ...cardChange({ relativePath: target.relativePath, code, isNotebook: target.isNotebook }, r.parsed.codeBlocks, code === target.code ? this.asked.get(r.id) : undefined) };
    });
    this.view = { ...(view as CompareView), cards };
    this.panel.adopt(panel, this.view);
    return true;
  }

  async run(options: AskManyOptions = {}): Promise<AskManyOutcome> {
    if (this.running || this.verifying || this.deps.askerBusy()) {
      void vscode.window.showInformationMessage('MLE Ideator: already asking; cancel it first or wait for the answer.');
      return { status: 'busy' };
    }
    const services = this.services;
    // Asked again from the Ideas panel (no text editor active): the file the last ideas were about.
    const target = options.target ?? activeTarget() ?? (this.target ? await targetOf(this.target.uri).catch(() => undefined) : undefined);
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
    this.records = [];
    this.proposals = new Map();
    this.asked = new Map();
    const deadline = new RequestDeadline(config.requestTimeoutSeconds);
    try {
      const state = await gatherState(services, target);
      const { provider, query } = await providerAndQuery(services, config, draftQueryFor(state), { offerChoice: true, review: !options.noReview });
      state.query = query;
      const prompt = buildIdeatorPrompt(state, promptOptions(config));
      // Priced as Ask Ideator prices its question.
      const price = ideatorPrice(config);
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
          let reported = 0;
          return askForIdeas(provider, state, n, {
            signal: deadline.start(controller),
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
      await recordIdeas(services, records);
      await vscode.commands.executeCommand('setContext', 'ideator.hasIdea', true);

      this.records = records;
      this.proposals = new Map(result.ideas.flatMap((a, i) => (a.proposal ? [[records[i].id, a.proposal.content] as const] : [])));
      this.asked = new Map(result.ideas.flatMap((a, i) => (a.proposal ? [[records[i].id, a.proposal] as const] : [])));
      const usage = `${result.requests} request${result.requests === 1 ? '' : 's'}: ${usageLine(result.usage, price, config.provider)}`;
      const cards: CompareCard[] = result.ideas.map((a, i) => ({
        ideaId: records[i].id,
        number: a.index + 1,
        action: a.idea.action,
        analysis: a.idea.analysis,
        rationale: a.idea.rationale,
        ...cardChange(target, a.idea.codeBlocks, a.proposal),
        verify: { status: 'not-verified' },
        ...(a.idea.ok ? {} : { parseProblem: `Not in the expected layout: ${a.idea.errors[0] ?? 'unknown'}. Shown as well as it could be read.` }),
      }));
      const verifyNote = target.isNotebook ? 'Verification runs scripts: apply an idea to the notebook and run it.' : undefined;
      this.setView({ ...this.view!, phase: 'ready', cards, notes: [...result.notes, usage], verifyAvailable: !verifyNote && records.length > 0, verifyNote, verifyLabel: verifyLabel(defaultVerifyChoice(records.length)) }, true);
      services.output.info(`${records.length} ideas (${result.mode}, ${usage}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const { ideas: _kept, ...rest } = result;
      return { status: 'ok', ideas: records, result: rest };
    } catch (err) {
      return this.fail(deadline.passed(controller) ? deadline.error('Not all answers') : err, controller);
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
    this.verifying?.abort();
    clearTimeout(this.refreshTimer);
    for (const l of this.listeners.splice(0)) l.dispose();
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
  // The Ideas tab comes back after a window reload with the last result (kept in workspaceState).
  const serializer = vscode.window.registerWebviewPanelSerializer(IDEAS_COMPARE_VIEW_TYPE, {
    deserializeWebviewPanel: async (panel) => {
      await controller.restore(panel);
    },
  });
  return { controller, disposable: vscode.Disposable.from(command, serializer, controller) };
}
