/**
 * The "Run History" sidebar tree: runs in progress first (live score), then finished runs newest first with their
 * score, ▲/▼ against the best so far, duration, exit status, and the idea they followed with its outcome.
 * Context menu commands are registered in runs/commands.ts and runs/compare.ts; items carry contextValue
 * `ideator.run[.code]`. Several runs can be selected: clicking one opens its output and shows its curves in the Score
 * Chart, two selected can be compared side by side. Scores are each run's last or best epoch (`ideator.runScore`); the tooltip says which.
 */
import * as vscode from 'vscode';
import type { RunRecorder } from '../runs/service';
import { buildRunRows, describeOutcome, formatDuration, formatScore, type RunRow } from '../../core/historyRows';
import { describeScoreChoice, type ScoreChoice } from '../../core/metric';
import type { PendingRun } from '../../core/pendingRun';
import { SHOW_CURVES_COMMAND } from './scoreChart';

export const RUN_HISTORY_VIEW_ID = 'ideator.runHistory';
/** What clicking a run does: its output in an editor, its curves in the Score Chart. */
export const OPEN_RUN_COMMAND = 'ideator.history.openRun';

export class RunItem extends vscode.TreeItem {
  constructor(
    readonly row: RunRow,
    choice: ScoreChoice = 'last',
  ) {
    super(label(row), vscode.TreeItemCollapsibleState.None);
    const r = row.run;
    this.id = r.id;
    const parts = [
      // The default (last epoch) goes without saying in the row; the best epoch is said (and both in the tooltip).
      r.primary ? (choice === 'best' ? `${r.primary.name} (best epoch)` : r.primary.name) : 'no score',
      formatDuration(row.durationMs),
      r.exitCode === null || r.exitCode === undefined ? 'exit ?' : `exit ${r.exitCode}`,
      r.source,
    ];
    if (row.idea) parts.push(row.outcome ? (row.outcome.status === 'improved' ? 'idea ✓ +1' : 'idea ✗ 0') : 'idea');
    this.description = parts.filter(Boolean).join(' · ');
    this.iconPath = icon(row);
    this.contextValue = r.code?.diffFromPrevious ? 'ideator.run.code' : 'ideator.run';
    this.tooltip = tooltip(row, choice);
    // A click opens the run's output and shows its curves in the Score Chart (keyboard focus alone does neither).
    this.command = { command: OPEN_RUN_COMMAND, title: 'Open Run', arguments: [r.id] };
  }
}

class ActiveItem extends vscode.TreeItem {
  constructor(run: PendingRun) {
    super(`running  ${run.init.command ?? run.init.source}`, vscode.TreeItemCollapsibleState.None);
    const live = run.live();
    const secs = Math.round((Date.now() - run.startedAt.getTime()) / 1000);
    this.description = [live.primary ? `${live.primary.name} ${formatScore(live.primary.value)}` : '', `${secs}s`, run.init.source].filter(Boolean).join(' · ');
    this.iconPath = new vscode.ThemeIcon('loading~spin');
    this.contextValue = 'ideator.activeRun';
  }
}

function label(row: RunRow): string {
  const p = row.run.primary;
  if (!p) return `#${row.n}  —`;
  if (p.diverged) return `#${row.n}  NaN ▼ (diverged after ${formatScore(p.value)})`;
  const arrow = row.trend === 'new-best' ? '▲' : row.trend === 'worse' ? '▼' : row.trend === 'tie' ? '=' : '';
  const delta = row.trend === 'worse' && row.bestBefore !== null ? ` (${formatScore(p.value - row.bestBefore)} vs best)` : '';
  return `#${row.n}  ${formatScore(p.value)} ${arrow}${delta}`.trimEnd();
}

function icon(row: RunRow): vscode.ThemeIcon {
  const r = row.run;
  if (typeof r.exitCode === 'number' && r.exitCode !== 0) return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
  if (r.primary?.diverged && !row.idea) return new vscode.ThemeIcon('warning', new vscode.ThemeColor('testing.iconFailed'));
  if (row.idea) {
    const color = !row.outcome ? undefined : new vscode.ThemeColor(row.outcome.status === 'improved' ? 'testing.iconPassed' : 'testing.iconFailed');
    return new vscode.ThemeIcon('lightbulb', color);
  }
  if (row.isBest) return new vscode.ThemeIcon('star-full', new vscode.ThemeColor('charts.yellow'));
  if (row.trend === 'new-best') return new vscode.ThemeIcon('arrow-up', new vscode.ThemeColor('testing.iconPassed'));
  if (row.trend === 'worse') return new vscode.ThemeIcon('arrow-down');
  return new vscode.ThemeIcon('circle-outline');
}

function tooltip(row: RunRow, choice: ScoreChoice): vscode.MarkdownString {
  // Every user/LLM-provided string goes through appendText / appendCodeblock: never interpreted as markdown/HTML.
  const r = row.run;
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**Run #${row.n}** · `);
  md.appendText(`${r.source} · ${new Date(r.startedAt).toLocaleString()}`);
  if (r.command) md.appendCodeblock(r.command, 'shell');
  if (r.primary) {
    const m = r.metrics.find((x) => x.name === r.primary!.name);
    const both = m ? `; last ${formatScore(m.last)}, best ${formatScore(m.best)}` : '';
    md.appendText(`\n${r.primary.name} = ${formatScore(r.primary.value)}: the run's ${describeScoreChoice(choice)}${both} (${r.primary.direction} is better)`);
  }
  if (row.bestBefore !== null) md.appendText(`\nbest before: ${formatScore(row.bestBefore)}`);
  const others = r.metrics.filter((m) => m.name !== r.primary?.name).slice(0, 8);
  if (others.length) md.appendText(`\nother metrics: ${others.map((m) => `${m.name}=${formatScore(m.last)}`).join(', ')}`);
  if (r.code?.path) md.appendText(`\ncode: ${r.code.path}${r.code.diffFromPrevious ? ' (changed since the previous run)' : ''}`);
  if (row.idea) {
    md.appendMarkdown('\n\n**Followed idea:** ');
    md.appendText(row.idea.parsed.action || row.idea.raw.slice(0, 300));
    if (row.outcome) md.appendText(`\n${describeOutcome(row.outcome, r.primary?.name)}`);
  }
  if (r.note) md.appendText(`\n${r.note}`);
  return md;
}

export class RunHistoryTreeProvider implements vscode.TreeDataProvider<vscode.TreeItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private ticker: NodeJS.Timeout | undefined;
  private visible = false;
  /** The run items of the latest getChildren, by run id (TreeView.reveal needs the very objects it was given). */
  private items = new Map<string, RunItem>();

  constructor(private readonly recorder: RunRecorder) {
    this.disposables.push(recorder.onDidChange(() => this.refresh()));
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    this.refresh();
  }

  private refresh(): void {
    this.changed.fire();
    // While runs are in progress and the view is shown, refresh their live score every 2 s.
    const live = this.visible && this.recorder.activeRuns().length > 0;
    if (live && !this.ticker) this.ticker = setInterval(() => this.changed.fire(), 2000);
    if (!live && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  getTreeItem(item: vscode.TreeItem): vscode.TreeItem {
    return item;
  }

  /** Every item is at the root. */
  getParent(): undefined {
    return undefined;
  }

  /** The item shown for a run, once the tree has been drawn. */
  itemFor(runId: string): RunItem | undefined {
    return this.items.get(runId);
  }

  getChildren(parent?: vscode.TreeItem): vscode.TreeItem[] {
    if (parent) return [];
    const store = this.recorder.store;
    const rows = buildRunRows({ runs: store.runs(), ideas: store.ideas(), outcomes: store.outcomes(), baselineId: store.baselineId() });
    const baseline = store.baselineId();
    const items: vscode.TreeItem[] = this.recorder.activeRuns().map((r) => new ActiveItem(r));
    const choice = store.scoreChoice();
    this.items = new Map();
    for (const row of rows.reverse()) {
      const item = new RunItem(row, choice);
      this.items.set(row.run.id, item);
      if (row.run.id === baseline) item.description = `baseline · ${item.description}`;
      items.push(item);
    }
    return items;
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

export function registerRunHistoryTree(recorder: RunRecorder): { view: vscode.TreeView<vscode.TreeItem>; provider: RunHistoryTreeProvider; disposable: vscode.Disposable } {
  const provider = new RunHistoryTreeProvider(recorder);
  const view = vscode.window.createTreeView(RUN_HISTORY_VIEW_ID, { treeDataProvider: provider, showCollapseAll: false, canSelectMany: true });
  provider.setVisible(view.visible);
  return {
    view,
    provider,
    disposable: vscode.Disposable.from(
      provider,
      view,
      view.onDidChangeVisibility((e) => provider.setVisible(e.visible)),
      // A run clicked: its output, and its curves in the Score Chart (without taking the focus from the tree). Not
      // on selection: focusing the tree selects its first run, which would switch the chart under the user.
      vscode.commands.registerCommand(OPEN_RUN_COMMAND, async (runId?: unknown) => {
        if (typeof runId !== 'string') return undefined;
        await vscode.commands.executeCommand(SHOW_CURVES_COMMAND, runId, { reveal: false });
        return vscode.commands.executeCommand('ideator.history.openOutput', runId);
      }),
    ),
  };
}
