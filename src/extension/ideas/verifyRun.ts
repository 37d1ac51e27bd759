/**
 * The Ideas tab's verification: the ideas shown are run (ideas/verify.ts → `ideator verify`) once the user agrees to
 * the slots and the time budget; each card gets its status as it comes, the cards are ranked by measured score and
 * each judged idea's outcome is recorded in the run history. The Ideas tab's controller (askMany.ts) holds the ideas
 * and the view; this module drives one verification against them through `VerifyHost`.
 */
import { cpus } from 'node:os';
import * as vscode from 'vscode';
import { proposeFromCodeBlocks } from '../../core/ideaApply';
import type { IdeaRecord } from '../../core/protocol';
import type { VerifyResult, VerifySummary } from '../../core/verify';
import type { Services } from '../services';
import { readConfig } from '../settings/config';
import { providerConfigInput } from '../settings/providerConfig';
import { ENV_FALLBACK } from '../settings/secrets';
import type { CompareCard, CompareView } from '../views/ideasCompareRender';
import { ideaTitle } from '../views/ideaPanelRender';
import type { TargetCode } from './gatherState';
import { verifyIdeas, type VerifyCli } from './verify';

export interface VerifyChoice {
  /** Runs at once. */
  slots: number;
  /** The whole verification's time budget. */
  budgetMinutes: number;
  /** The command that produced the current score (default: the newest scored run's, else asked). */
  command?: string;
  /** Baseline runs that measure the noise (default 3). */
  baselineSeeds?: number;
}

export interface VerifyOutcome {
  status: 'done' | 'cancelled' | 'error' | 'declined' | 'nothing';
  results?: VerifyResult[];
  summary?: VerifySummary;
  error?: string;
}

/** The verification's defaults: 2 at a time (fewer with fewer ideas or cores), 10 minutes. */
export function defaultVerifyChoice(ideas: number, cores = cpus().length): VerifyChoice {
  return { slots: Math.max(1, Math.min(2, ideas, cores)), budgetMinutes: 10 };
}

/** The host of the companion server verification runs on (ideator.verifyServer), or undefined: this machine. */
export function verifyServerHost(url: string | undefined = readConfig().config.verifyServer): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** The Verify button's label for a choice ("Verify on gpu-box:8787 (…)…" when a companion server runs them). */
export const verifyLabel = (c: VerifyChoice, host: string | undefined = verifyServerHost()) => `Verify${host ? ` on ${host}` : ''} (${c.slots} parallel, budget ${c.budgetMinutes} min)…`;

/** What a verification reads from and writes to the Ideas tab (each read when it is needed, as the tab is now). */
export interface VerifyHost {
  readonly services: Services;
  /** How the verification CLI is started. */
  cli(): VerifyCli;
  /** The file the ideas are about. */
  target(): TargetCode | undefined;
  /** The ideas shown, as recorded. */
  records(): IdeaRecord[];
  /** Each idea's main file with its code applied, against the file as it was asked about. */
  proposals(): Map<string, string>;
  /** The view shown now. */
  view(): CompareView | undefined;
  setView(view: CompareView, urgent: boolean): void;
  /** The runs started (Cancel aborts `controller`) or ended (undefined). */
  running(controller: AbortController | undefined): void;
}

/** The command that produced the current score: the newest scored run's with a command. */
function scoredCommand(services: Services): string | undefined {
  const runs = services.history?.runs() ?? [];
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i];
    if (r.command?.trim() && r.primary && r.primary.value !== null) return r.command.trim();
  }
  return undefined;
}

/**
 * Verifies the shown ideas by running them (src/extension/ideas/verify.ts → `ideator verify`): the user agrees
 * to the slots and the time budget (or `choice` gives them), each idea runs in its own copy of the project, the
 * cards get each status as it comes and are ranked by measured score; Cancel stops every run. Each judged idea's
 * outcome is recorded in the run history like an applied one's.
 */
export async function verifyShownIdeas(host: VerifyHost, choice?: VerifyChoice): Promise<VerifyOutcome> {
  const services = host.services;
  const view = host.view();
  const target = host.target();
  if (!view || !target || view.phase === 'asking' || view.phase === 'verifying' || host.records().length === 0) return { status: 'nothing' };
  const folder = vscode.workspace.getWorkspaceFolder(target.uri);
  if (!folder) {
    void vscode.window.showWarningMessage('MLE Ideator: verification runs a copy of the workspace folder; open the folder that holds the script.');
    return { status: 'nothing' };
  }
  if (!choice) {
    const base = defaultVerifyChoice(host.records().length);
    const command = scoredCommand(services);
    const options: VerifyChoice[] = [base, { ...base, slots: 1 }, { ...base, budgetMinutes: 30 }, { slots: Math.min(4, host.records().length), budgetMinutes: 30 }];
    const seen = new Set<string>();
    const items = options
      .filter((o) => !seen.has(`${o.slots}/${o.budgetMinutes}`) && seen.add(`${o.slots}/${o.budgetMinutes}`))
      .map((o) => ({ label: `${o.slots} at a time, at most ${o.budgetMinutes} min`, detail: o === base ? 'the default' : undefined, value: o }));
    const picked = await services.prompts.pick<VerifyChoice>(
      items,
      `Run each of the ${host.records().length} ideas${command ? ` with \`${command}\`` : ''} in its own copy of the project (data read-only)${verifyServerHost() ? ` on ${verifyServerHost()}` : ''}, after 3 runs of the current code that measure the noise. How many at once, and how long in all?`,
    );
    if (!picked) return { status: 'declined' };
    choice = picked;
  }
  // The runs copy the files on disk: unsaved changes would not be what is measured.
  const doc = await vscode.workspace.openTextDocument(target.uri);
  if (doc.isDirty) {
    const save = await vscode.window.showWarningMessage(`${target.relativePath} has unsaved changes; the verification runs the files on disk.`, { modal: true }, 'Save and Verify');
    if (save !== 'Save and Verify' || !(await doc.save())) return { status: 'declined' };
  }
  // The file changed since the ideas were asked (one was applied, say): each idea's code is applied to it as it is now.
  const now = doc.getText();
  const codes = new Map(host.proposals());
  if (!target.isNotebook && now !== target.code) {
    codes.clear();
    for (const r of host.records()) {
      const p = proposeFromCodeBlocks(now, r.parsed.codeBlocks);
      if (p) codes.set(r.id, p.content);
    }
    services.output.info(`${target.relativePath} changed since the ideas were asked: verifying each idea against it as it is now.`);
  }
  let command = choice.command ?? scoredCommand(services);
  if (!command) {
    command = await vscode.window.showInputBox({
      title: 'The command that produced the current score',
      prompt: `Runs in each idea's copy of ${folder.name}; its output must print the score.`,
      value: `python ${target.relativePath}`,
      ignoreFocusOut: true,
      validateInput: (s) => (s.trim() ? undefined : 'Type the command, e.g. python train.py'),
    });
    if (!command?.trim()) return { status: 'declined' };
    command = command.trim();
  }
  const { config } = services.config();
  const controller = new AbortController();
  host.running(controller);
  const byId = new Map(host.records().map((r) => [r.id, r]));
  const setCards = (f: (c: CompareCard) => CompareCard, extra: Partial<CompareView> = {}, urgent = true) =>
    host.setView({ ...host.view()!, ...extra, cards: host.view()!.cards.map(f) }, urgent);
  // What a card showed before this verification: a card this one does not judge (cancelled, failed) gets it back,
  // without its old rank, so a second Verify cancelled early does not wipe the first one's results.
  const before = new Map(host.view()!.cards.map((c) => [c.ideaId, c.verify]));
  const earlier = (c: CompareCard): CompareCard['verify'] => {
    const v = before.get(c.ideaId);
    if (!v || v.status === 'queued' || v.status === 'running' || v.status === 'not-verified') return { status: 'not-verified' };
    const { rank: _rank, ...rest } = v;
    return rest;
  };
  const unjudged = (c: CompareCard): CompareCard => (c.verify.status === 'queued' || c.verify.status === 'running' ? { ...c, verify: earlier(c) } : c);
  const previousBaseline = host.view()!.baseline;
  setCards((c) => ({ ...c, verify: { status: 'queued' } }), { phase: 'verifying', message: `Starting: ${command}`, baseline: undefined });
  services.output.info(`Verifying ${host.records().length} ideas${config.verifyServer ? ` on ${config.verifyServer}` : ''}: ${command}, ${choice.slots} at a time, budget ${choice.budgetMinutes} min`);
  try {
    // On a companion server (ideator.verifyServer) its token goes in the environment, as the provider keys do; the
    // implementer, interpreter and key are then the server's own.
    const remote = config.verifyServer ? { url: config.verifyServer, ...(config.verifyDataRoot ? { dataRoot: config.verifyDataRoot } : {}) } : undefined;
    const keyKind = remote ? 'server' : config.provider;
    const keyEnv = ENV_FALLBACK[keyKind];
    const key = keyEnv ? await services.secrets.get(keyKind) : undefined;
    const implementer = remote || config.provider.startsWith('template') ? undefined : providerConfigInput(config, 'implementer');
    const shipped = host.cli();
    const cli: VerifyCli = { ...shipped, env: { ...shipped.env, ...(key && keyEnv ? { [keyEnv]: key } : {}) } };
    const where = remote ? ` on ${verifyServerHost(remote.url) ?? remote.url}` : '';
    const run = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `MLE Ideator: verifying ${host.records().length} ideas${where}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let reported = 0;
        return verifyIdeas(
          {
            workspace: folder.uri.fsPath,
            command: command!,
            main: vscode.workspace.asRelativePath(target.uri, false),
            ideas: host.records().map((r) => {
              const code = codes.get(r.id);
              return { id: r.id, title: ideaTitle(r, 120), ...(code !== undefined ? { code } : { raw: r.raw }) };
            }),
            slots: choice.slots,
            budgetMinutes: choice.budgetMinutes,
            ...(choice.baselineSeeds !== undefined ? { baselineSeeds: choice.baselineSeeds } : {}),
            ...(config.primaryMetric ? { metric: config.primaryMetric } : {}),
            ...(config.metricDirection !== 'auto' ? { direction: config.metricDirection } : {}),
            // Each run scored as the history scores it (ideator.runScore: last or best epoch).
            score: config.runScore,
            ...(config.pythonPath && !remote ? { python: config.pythonPath } : {}),
            ...(implementer ? { implementer } : {}),
            ...(remote ? { server: remote } : {}),
          },
          {
            cli,
            signal: controller.signal,
            history: services.history ? { store: services.history, ideas: byId } : undefined,
            onProgress: (p) => {
              progress.report({ message: p.message, increment: p.total ? ((p.done - reported) / p.total) * 100 : undefined });
              reported = p.done;
              if (p.phase === 'warning') services.output.warn(p.message);
              if (p.phase === 'idea' && p.event === 'started' && p.idea) setCards((c) => (c.ideaId === p.idea ? { ...c, verify: { status: 'running' } } : c), { message: p.message }, false);
              else host.setView({ ...host.view()!, message: p.message }, false);
            },
            onResult: (r) =>
              setCards((c) =>
                c.ideaId === r.idea
                  ? { ...c, verify: { status: r.status, ...(r.score !== null ? { score: r.score } : {}), ...(r.delta !== null ? { delta: r.delta } : {}), noise: r.noise, seconds: r.seconds, ...(r.error ? { error: r.error } : {}) } }
                  : c,
              ),
          },
        );
      },
    );
    const { summary, results } = run;
    const rank = new Map(summary.ranking.filter((id) => results.some((r) => r.idea === id && r.score !== null && (r.status === 'improved' || r.status === 'within_noise' || r.status === 'worse'))).map((id, i) => [id, i + 1]));
    // This verification's notes replace the previous one's.
    const notes = host.view()!.notes.filter((n) => !n.startsWith('Verification: ') && !n.startsWith('The runs were not isolated'));
    if (!summary.sandbox.isolated) notes.push(`The runs were not isolated on this machine (missing: ${summary.sandbox.missing.join(', ') || 'the sandbox'}).`);
    if (summary.parallelRatio !== null) notes.push(`Verification: ${summary.wallSeconds.toFixed(1)} s for ${summary.runSeconds.toFixed(1)} s of runs on ${summary.slots} slot${summary.slots === 1 ? '' : 's'}.`);
    const cancelled = summary.cancelled || controller.signal.aborted;
    setCards((c) => (c.ideaId && rank.has(c.ideaId) ? { ...c, verify: { ...c.verify, rank: rank.get(c.ideaId) } } : unjudged(c)), {
      phase: cancelled ? 'cancelled' : 'verified',
      message: cancelled ? 'Verification cancelled: every run was stopped; the ideas judged before are shown.' : undefined,
      baseline: summary.baseline.mean !== null ? { mean: summary.baseline.mean, noise: summary.baseline.threshold, runs: summary.baseline.k } : previousBaseline,
      metric: summary.metric ?? host.view()!.metric,
      direction: summary.direction,
      notes,
    });
    services.output.info(`Verification ${cancelled ? 'cancelled' : 'done'}: ${results.map((r) => `${r.idea.slice(0, 8)} ${r.status}${r.score !== null ? ` ${r.score}` : ''}`).join(', ')}`);
    return { status: cancelled ? 'cancelled' : 'done', results, summary };
  } catch (err) {
    const cancelled = controller.signal.aborted;
    const message = cancelled ? 'Verification cancelled: every run was stopped.' : `Verification failed: ${(err as Error).message}`;
    services.output[cancelled ? 'info' : 'error'](message);
    setCards(unjudged, { phase: cancelled ? 'cancelled' : 'ready', message, baseline: host.view()!.baseline ?? previousBaseline });
    if (!cancelled) void vscode.window.showErrorMessage(`MLE Ideator: ${message}`);
    return { status: cancelled ? 'cancelled' : 'error', error: message };
  } finally {
    host.running(undefined);
  }
}
