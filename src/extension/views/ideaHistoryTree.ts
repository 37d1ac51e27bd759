/**
 * Idea History: every idea of the run history (asked in the editor, follow-ups, asked by agents through the MCP
 * server or agent mode), newest first, each follow-up under the idea it was asked about. Each row says what became
 * of the idea in plain words: not applied, applied and waiting for a run, or the verdict of the run that judged it
 * (describeOutcome). A click shows the idea in the Idea panel; a judged idea's run output opens from its row.
 */
import * as vscode from 'vscode';
import type { HistoryStore } from '../../core/history';
import { isProse } from '../../core/followUp';
import type { IdeaRecord } from '../../core/protocol';
import type { Services } from '../services';
import { ideaForest, ideaStatus, type IdeaNode as Node, type IdeaStatus } from './ideaHistoryRows';
import { followUpLabel, ideaTitle } from './ideaPanelRender';

export { ideaStatus } from './ideaHistoryRows';

export const IDEA_HISTORY_VIEW_ID = 'ideator.ideaHistory';
export const SHOW_IDEA_COMMAND = 'ideator.ideas.show';
export const OPEN_JUDGING_RUN_COMMAND = 'ideator.ideas.openRun';

function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function iconOf(idea: IdeaRecord, status: IdeaStatus): vscode.ThemeIcon {
  if (isProse(idea)) return new vscode.ThemeIcon('comment-discussion');
  switch (status.outcome?.status) {
    case 'improved':
      return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
    case 'not_improved':
      return new vscode.ThemeIcon('circle-slash');
    case 'exec_failed':
    case 'timeout':
    case 'format_error':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    default:
      if (status.applied) return new vscode.ThemeIcon('history');
      return new vscode.ThemeIcon(idea.origin === 'agent' ? 'hubot' : 'lightbulb');
  }
}

class IdeaItem extends vscode.TreeItem {
  /** The idea this row shows. */
  readonly ideaId: string;

  constructor(
    readonly node: Node,
    status: IdeaStatus,
  ) {
    const { idea } = node;
    const prefix = idea.followUp ? `${followUpLabel(idea.followUp.kind)}${idea.followUp.part ? ` ${idea.followUp.part}` : ''}: ` : '';
    super(prefix + ideaTitle(idea, 60), node.children.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    this.ideaId = idea.id;
    // VS Code keeps a row's expanded state by its id: an idea that gets its first follow-up needs a new id to open.
    this.id = node.children.length ? `${idea.id}/${node.children.length}` : idea.id;
    this.description = `${status.short} · ${when(idea.createdAt)}`;
    this.iconPath = iconOf(idea, status);
    this.contextValue = status.outcome?.runId ? 'ideator.idea.judged' : 'ideator.idea';
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${idea.followUp ? 'Follow-up' : idea.origin === 'agent' ? 'Asked by an agent' : 'Asked'}** · ${when(idea.createdAt)}`);
    if (idea.model) md.appendText(` · ${idea.model}`);
    if (idea.followUp?.kind === 'free') md.appendText(`\nQuestion: ${idea.followUp.question}`);
    md.appendText(`\n\n${ideaTitle(idea, 400)}\n\n${status.text}`);
    if (idea.targetPath) md.appendText(`\nFile: ${idea.targetPath}`);
    this.tooltip = md;
    this.command = { command: SHOW_IDEA_COMMAND, title: 'Show Idea', arguments: [idea.id] };
  }
}

export class IdeaHistoryProvider implements vscode.TreeDataProvider<IdeaItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private unsubscribe: (() => void) | undefined;
  private subscribed: HistoryStore | undefined;

  constructor(private readonly services: Services) {
    this.disposables.push(services.ideas.onDidChange(() => this.refresh()));
  }

  refresh(): void {
    this.changed.fire();
  }

  /** The run history, subscribed to on first use (it opens lazily); undefined when it cannot be opened. */
  store(): HistoryStore | undefined {
    let store: HistoryStore | undefined;
    try {
      store = this.services.history;
    } catch (err) {
      this.services.output.warn(`Idea History: the run history could not be opened: ${(err as Error).message}`);
      return undefined;
    }
    if (store && store !== this.subscribed) {
      this.unsubscribe?.();
      this.subscribed = store;
      this.unsubscribe = store.onChange((rec) => {
        if (rec.kind === 'idea' || rec.kind === 'applied' || rec.kind === 'outcome') this.refresh();
      });
    }
    return store;
  }

  /** Every idea: the history's, plus recent ones only the editor's cache holds (history unavailable). */
  ideas(): IdeaRecord[] {
    const store = this.store();
    const byId = new Map<string, IdeaRecord>();
    for (const i of this.services.ideas.all()) byId.set(i.id, i);
    for (const i of store?.ideas() ?? []) byId.set(i.id, i);
    return [...byId.values()];
  }

  getTreeItem(item: IdeaItem): vscode.TreeItem {
    return item;
  }

  getChildren(parent?: IdeaItem): IdeaItem[] {
    const store = this.store();
    const nodes = parent ? parent.node.children : ideaForest(this.ideas());
    return nodes.map((n) => new IdeaItem(n, ideaStatus(store, n.idea)));
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    this.unsubscribe?.();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
