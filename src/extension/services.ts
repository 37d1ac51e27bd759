/**
 * The extension's service locator: one object, built in activate() without doing any slow work, handed to every
 * command, view and watcher. Anything expensive (providers, the python interpreter, the run history on disk) is
 * created on first use by whoever needs it.
 */
import * as vscode from 'vscode';
import type { HistoryStore } from '../core/history';
import type { IdeaRecord } from '../core/protocol';
import { readConfig, type ConfigResult } from './settings/config';
import { resolvePython, type PythonInterpreter } from './settings/python';
import { ApiKeyStore } from './settings/secrets';

const IDEA_CACHE_KEY = 'ideator.ideaCache.v1';
const IDEA_CACHE_MAX = 20;

/**
 * Ideas already asked for, newest first, persisted in workspaceState so the lightbulb still offers them after a
 * reload. Code actions read only this cache: a cursor move never calls a model.
 */
export class IdeaCache {
  private ideas: IdeaRecord[];
  private readonly changed = new vscode.EventEmitter<IdeaRecord | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly memento?: vscode.Memento) {
    this.ideas = (memento?.get<IdeaRecord[]>(IDEA_CACHE_KEY) ?? []).filter((i) => i && typeof i.id === 'string');
  }

  get latest(): IdeaRecord | undefined {
    return this.ideas[0];
  }

  all(): readonly IdeaRecord[] {
    return this.ideas;
  }

  byId(id: string): IdeaRecord | undefined {
    return this.ideas.find((i) => i.id === id);
  }

  /** Newest idea about this workspace-relative path. */
  forPath(relativePath: string): IdeaRecord | undefined {
    return this.ideas.find((i) => i.targetPath === relativePath);
  }

  async add(idea: IdeaRecord): Promise<void> {
    this.ideas = [idea, ...this.ideas.filter((i) => i.id !== idea.id)].slice(0, IDEA_CACHE_MAX);
    await this.memento?.update(IDEA_CACHE_KEY, this.ideas);
    this.changed.fire(idea);
  }

  async clear(): Promise<void> {
    this.ideas = [];
    await this.memento?.update(IDEA_CACHE_KEY, undefined);
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * Hooks the UI needs from the user; tests replace them to drive flows without clicking (the default
 * implementations are the real dialogs).
 */
export interface UserPrompts {
  /** Shown after the diff preview opens; true = apply. */
  confirmApply(targetLabel: string, summary: string): Promise<boolean>;
  /** A change that deletes most of a file: a modal warning in plain words; true only on an explicit "replace". */
  confirmLargeDeletion(targetLabel: string, warning: string): Promise<boolean>;
  /** A Quick Pick; resolves to the chosen item's value (its label when it has none), undefined when dismissed. */
  pick<T = string>(items: PickItem<T>[], placeHolder: string): Promise<T | undefined>;
}

export interface PickItem<T = string> {
  label: string;
  description?: string;
  detail?: string;
  value?: T;
}

export class Services implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  readonly secrets: ApiKeyStore;
  readonly ideas: IdeaCache;
  /**
   * The run history, set by run watching (issue 5) from extension.ts. Optional: without it Ask Ideator works with an
   * empty trajectory and the score the user last reported.
   */
  history: HistoryStore | undefined;
  /** Last primary score seen (by the history or reported by the user), for the status bar and the state. */
  lastScore: { value: number | null; direction: 'higher' | 'lower'; metric?: string } | undefined;
  prompts: UserPrompts;
  private readonly scoreChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeScore = this.scoreChanged.event;
  private cachedConfig: ConfigResult | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('MLE Ideator', { log: true });
    this.secrets = new ApiKeyStore(context.secrets);
    this.ideas = new IdeaCache(context.workspaceState);
    this.prompts = { confirmApply: defaultConfirmApply, confirmLargeDeletion: defaultConfirmLargeDeletion, pick: defaultPick };
    this.disposables.push(
      this.output,
      this.ideas,
      this.scoreChanged,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ideator')) this.cachedConfig = undefined;
      }),
    );
  }

  /** Validated settings (cached until a setting under `ideator` changes). */
  config(): ConfigResult {
    this.cachedConfig ??= readConfig();
    return this.cachedConfig;
  }

  setLastScore(score: Services['lastScore']): void {
    this.lastScore = score;
    this.scoreChanged.fire();
  }

  /** Current score p_t: the history's best run when it knows one, else the last one set. */
  currentScore(): Services['lastScore'] {
    const best = this.history?.bestScore();
    if (best) return { value: best.value, direction: best.direction, metric: best.name };
    return this.lastScore;
  }

  /** The python interpreter for runs (resolved on each call: the user may switch interpreters at any time). */
  python(resource?: vscode.Uri): Promise<PythonInterpreter> {
    return resolvePython({ setting: this.config().config.pythonPath, resource });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

async function defaultConfirmApply(targetLabel: string, summary: string): Promise<boolean> {
  const choice = await vscode.window.showInformationMessage(
    `Apply the Ideator change to ${targetLabel}? ${summary}. To leave a part out, revert its block in the diff first.`,
    'Apply',
    'Discard',
  );
  return choice === 'Apply';
}

async function defaultConfirmLargeDeletion(targetLabel: string, warning: string): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(`Replace most of ${targetLabel}?`, { modal: true, detail: warning }, 'Replace Anyway');
  return choice === 'Replace Anyway';
}

async function defaultPick<T>(items: PickItem<T>[], placeHolder: string): Promise<T | undefined> {
  const chosen = await vscode.window.showQuickPick(items, { placeHolder, ignoreFocusOut: true, matchOnDescription: true, matchOnDetail: true });
  return chosen === undefined ? undefined : ((chosen.value ?? chosen.label) as T);
}
