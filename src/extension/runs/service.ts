/**
 * The run recorder: owns the run history store (opened lazily; one per workspace, under global storage), turns finished
 * PendingRuns into history records, closes the loop on applied ideas (outcome), updates the status-bar score and
 * raises the plateau prompt. Watchers only call begin() / complete(); views only read store + active runs.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HistoryStore } from '../../core/history';
import { describeOutcome, formatScore } from '../../core/historyRows';
import { recordCompletedRun } from '../../core/outcome';
import { PlateauMonitor } from '../../core/plateau';
import type { CodeSnapshot, Outcome, Run } from '../../core/protocol';
import { activeTarget } from '../ideas/gatherState';
import { readConfig, readScoreOptions, readWatchConfig, type WatchConfig } from '../settings/config';
import type { ScoreChoice } from '../../core/metric';
import type { Services } from '../services';
import { makeSnapshot, readScript } from '../../core/codeSnapshot';
import { PendingRun, type PendingRunInit } from '../../core/pendingRun';

export interface BeginRunInit extends Omit<PendingRunInit, 'code' | 'scoreOptions'> {
  /** Script file the run executes (absolute, or relative to cwd / the first workspace folder). */
  scriptPath?: string;
  /** Code that is not a file on disk (a notebook's cells): [workspace-relative label, content]. */
  codeText?: [string, string];
}

/** Where a workspace's run history lives, and where an older version kept it. */
export interface HistoryLocation {
  dir: string;
  previousDir?: string;
}

/** The command Ask Ideator registers (issue 4); called with { runId } from the tree ("ask from this run"). */
export const ASK_IDEATOR_COMMAND = 'ideator.askIdeator';

/** Opens the script or notebook a run executed (notebooks in the notebook editor), so Ask Ideator has a target. */
export async function openRunScript(run: Run, log: { warn(message: string): void }): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!run.code?.path || !folder) return;
  const uri = path.isAbsolute(run.code.path) ? vscode.Uri.file(run.code.path) : vscode.Uri.joinPath(folder, run.code.path);
  try {
    await vscode.workspace.fs.stat(uri);
    await vscode.commands.executeCommand('vscode.open', uri, { preview: false });
  } catch {
    log.warn(`Run ${run.id}: its code ${run.code.path} is no longer in the workspace.`);
  }
}

export class RunRecorder implements vscode.Disposable {
  private opened: HistoryStore | undefined;
  private cachedConfig: WatchConfig | undefined;
  private plateau: PlateauMonitor | undefined;
  private readonly active = new Set<PendingRun>();
  /** Started but not yet known to be training runs (terminal commands whose text arrives late): not listed. */
  private readonly provisional = new Set<PendingRun>();
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly openedHandlers: ((store: HistoryStore) => vscode.Disposable)[] = [];
  /** History records appended or runs started/finished. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(
    private readonly services: Services,
    private readonly storage: HistoryLocation,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ideator.watch')) {
          this.cachedConfig = undefined;
          this.plateau = undefined;
        }
        if (e.affectsConfiguration('ideator.runScore') && this.opened) this.applyScoreChoice(this.opened);
      }),
    );
  }

  /**
   * The history's folder: global storage, keyed by the workspace (its .code-workspace file, else its first folder).
   * Not context.storageUri: when a window reloads while the previous extension host still holds that folder's lock,
   * VS Code hands the new host a suffixed sibling ("<id>-1"), and the run history would seem to vanish until the
   * next reload (seen in code-server on every few reloads). A history written to the old place (`previousDir`) is
   * copied over once, when the store first opens. No I/O here: this runs at activation.
   */
  static storageFor(context: vscode.ExtensionContext): HistoryLocation {
    const ws = vscode.workspace.workspaceFile ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!ws || ws.scheme === 'untitled') return { dir: path.join(context.globalStorageUri.fsPath, 'run-history-no-workspace') };
    const key = createHash('sha256').update(ws.toString()).digest('hex').slice(0, 16);
    return {
      dir: path.join(context.globalStorageUri.fsPath, 'run-history', key),
      previousDir: context.storageUri && path.join(context.storageUri.fsPath, 'run-history'),
    };
  }

  config(): WatchConfig {
    this.cachedConfig ??= readWatchConfig((m) => {
      this.services.output.warn(m);
      void vscode.window.showWarningMessage(`MLE Ideator: ${m}`);
    });
    return this.cachedConfig;
  }

  /** The store, opened on first use (reading the journal is the only slow part, so it never runs at activation). */
  get store(): HistoryStore {
    if (!this.opened) {
      const { dir, previousDir } = this.storage;
      try {
        if (previousDir && fs.existsSync(previousDir) && !fs.existsSync(dir)) fs.cpSync(previousDir, dir, { recursive: true });
      } catch (err) {
        this.services.output.warn(`Could not copy the run history from ${previousDir}: ${(err as Error).message}`);
      }
      const mb = this.config().maxHistoryMB;
      this.opened = HistoryStore.open(dir, {
        maxSegmentBytes: Math.max(64 * 1024, Math.floor((mb * 1024 * 1024) / 5)),
        maxSegments: 4,
        onWarning: (m) => this.services.output.warn(m),
        scoreChoice: readConfig().config.runScore,
      });
      this.disposables.push({ dispose: this.opened.onChange(() => this.changed.fire()) });
      for (const h of this.openedHandlers) this.disposables.push(h(this.opened));
    }
    return this.opened;
  }

  /** Which value of a run's primary metric is its score (ideator.runScore), as the store reads runs now. */
  scoreChoice(): ScoreChoice {
    return this.opened?.scoreChoice() ?? readConfig().config.runScore;
  }

  /** ideator.runScore changed: every run is read again under the new choice; views and the status bar follow. */
  private applyScoreChoice(store: HistoryStore): void {
    if (!store.setScoreChoice(readConfig().config.runScore)) return;
    this.plateau = undefined;
    const last = store.lastScore();
    if (last) this.services.setLastScore(last);
    this.changed.fire();
  }

  /** Runs `handler` when the store opens (at once if it is open): hooks that must not open it themselves. */
  whenOpened(handler: (store: HistoryStore) => vscode.Disposable): void {
    this.openedHandlers.push(handler);
    if (this.opened) this.disposables.push(handler(this.opened));
  }

  activeRuns(): PendingRun[] {
    return [...this.active];
  }

  /** Starts a run. A provisional run captures output but is listed (and recorded) only once confirmed. */
  begin(init: BeginRunInit, opts: { provisional?: boolean } = {}): PendingRun {
    const run = new PendingRun({ ...init, scoreOptions: readScoreOptions(), code: init.scriptPath || init.codeText ? this.snapshot(init) : undefined });
    if (opts.provisional) {
      this.provisional.add(run);
    } else {
      this.active.add(run);
      this.changed.fire();
    }
    return run;
  }

  /** A provisional run turned out to be a training run: list it; `update` fills what was unknown at start. */
  confirm(run: PendingRun, update: { command?: string; scriptPath?: string } = {}): void {
    if (!this.provisional.delete(run)) return;
    if (update.command) run.init.command = update.command;
    if (!run.init.code && update.scriptPath) run.init.code = this.snapshot({ ...run.init, scriptPath: update.scriptPath });
    this.active.add(run);
    this.changed.fire();
  }

  /** Drops a run that turned out not to be one (e.g. a command that did not match once its final text was known). */
  discard(run: PendingRun): void {
    run.dispose();
    this.provisional.delete(run);
    if (this.active.delete(run)) this.changed.fire();
  }

  async complete(pending: PendingRun, exitCode: number | null | undefined, endedAt?: Date): Promise<Run | undefined> {
    if (!this.active.has(pending)) return undefined;
    let result: { run: Run; outcome?: Outcome };
    try {
      const run = await pending.finish(exitCode, endedAt);
      result = recordCompletedRun(this.store, run);
    } catch (err) {
      this.services.output.error(`Could not record a ${pending.init.source} run: ${(err as Error).message}`);
      return undefined;
    } finally {
      this.active.delete(pending);
      this.changed.fire();
    }
    const { run, outcome } = result;
    this.services.output.info(
      `Run ${run.id} (${run.source}) ended, exit ${run.exitCode ?? 'unknown'}, ${run.primary ? `${run.primary.name}=${formatScore(run.primary.value)}` : 'no score'}: ${run.command ?? ''}`,
    );
    const last = this.store.lastScore();
    if (last) this.services.setLastScore(last);
    if (outcome) this.announceOutcome(outcome);
    else this.checkPlateau(run);
    return run;
  }

  /** Code snapshot at run start: the script on disk, or code passed as text, diffed with the previous run's. */
  private async snapshot(init: BeginRunInit): Promise<CodeSnapshot | undefined> {
    let rel: string;
    let content: string | undefined;
    if (init.codeText) {
      [rel, content] = init.codeText;
    } else if (init.scriptPath) {
      const base = init.cwd ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
      const abs = path.isAbsolute(init.scriptPath) ? init.scriptPath : path.resolve(base, init.scriptPath);
      content = await readScript(abs);
      rel = vscode.workspace.asRelativePath(vscode.Uri.file(abs), false);
    } else {
      return undefined;
    }
    if (content === undefined) return undefined;
    const previous = [...this.store.runs()].reverse().find((r) => r.code?.path === rel)?.code;
    return makeSnapshot(rel, content, previous ? { hash: previous.hash, content: this.store.codeContent(previous.hash) } : undefined);
  }

  private announceOutcome(o: Outcome): void {
    if (!this.config().notifyOutcomes) return;
    const idea = this.store.idea(o.ideaId);
    const metric = o.runId ? this.store.run(o.runId)?.primary?.name : undefined;
    // The verdict leads (a long notification is cut at the end): "Improved: val_auc 0.912 → 0.931 — after "…"".
    const action = idea?.parsed.action ? ` after "${truncate(idea.parsed.action, 80)}"` : '';
    void vscode.window.showInformationMessage(`${describeOutcome(o, metric)}${action}.`);
  }

  private checkPlateau(run: Run): void {
    const cfg = this.config();
    if (cfg.plateauRuns <= 0) return;
    this.plateau ??= new PlateauMonitor({ patience: cfg.plateauRuns, cooldownMs: cfg.plateauCooldownMinutes * 60_000 });
    const signal = this.plateau.check(this.store.runsSinceBaseline(), { ideaPending: this.store.pendingIdea() !== null });
    if (!signal) return;
    const { best } = signal;
    void vscode.window
      .showInformationMessage(
        `MLE Ideator: ${signal.runsSinceBest} run${signal.runsSinceBest === 1 ? '' : 's'} without beating the best ${best.name} (${formatScore(best.value)}). Ask the Ideator for the next idea?`,
        'Ask Ideator',
        'Not now',
      )
      .then((choice) => {
        if (choice !== 'Ask Ideator') return;
        // The newest state, as the palette command asks it; the run's script is opened when no editor is.
        void (activeTarget() ? Promise.resolve() : openRunScript(run, this.services.output)).then(() => vscode.commands.executeCommand(ASK_IDEATOR_COMMAND));
      });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function truncate(text: string, n: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}
