/**
 * Run watching, wired in one call from activate(): the recorder (run history store, lazily opened), the four
 * watchers (terminal, tasks, debug, notebooks), the Run History tree, the score chart, the history commands and
 * the comparison of two runs.
 * Nothing here reads the disk or starts a process at activation; the store opens on first use (or a moment after
 * start-up, so the status bar can show the last score).
 */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { registerIdeaClassifier } from './classify';
import { registerHistoryCommands } from './commands';
import { registerCompareCommands } from './compare';
import { ideaTypeSuccessRates, type TypeRate } from '../../core/historyRows';
import { RunRecorder } from './service';
import { registerRunHistoryTree, type RunHistoryTreeProvider } from '../views/runHistoryTree';
import { registerScoreChart, type ScoreChartProvider } from '../views/scoreChart';
import { registerDebugWatcher } from './watchers/debug';
import { registerNotebookWatcher } from './watchers/notebooks';
import { registerTaskWatcher } from './watchers/tasks';
import { registerTerminalWatcher } from './watchers/terminal';

export interface RunWatching {
  recorder: RunRecorder;
  chart: ScoreChartProvider;
  /** The Run History tree (its view and items: tests select runs through it). */
  history: { view: vscode.TreeView<vscode.TreeItem>; provider: RunHistoryTreeProvider };
  /** Per idea type: judged / improved / rate, for the idea panel. */
  ideaTypeRates(): TypeRate[];
}

export function registerRunWatching(context: vscode.ExtensionContext, services: Services): RunWatching {
  const recorder = new RunRecorder(services, RunRecorder.storageFor(context));
  const store = () => recorder.store;
  // Ask Ideator / Apply read services.history; a getter keeps the store lazy: it opens on first use, not here.
  Object.defineProperty(services, 'history', { configurable: true, enumerable: true, get: store, set: () => undefined });
  recorder.whenOpened((s) => registerIdeaClassifier(services, s));
  const chart = registerScoreChart(context, recorder);
  const tree = registerRunHistoryTree(recorder);
  context.subscriptions.push(
    recorder,
    registerTerminalWatcher(recorder, context, services.output),
    registerTaskWatcher(services, recorder),
    registerDebugWatcher(recorder),
    registerNotebookWatcher(recorder),
    tree.disposable,
    chart.disposable,
    registerHistoryCommands(services, recorder),
    registerCompareCommands(services, recorder, tree.view),
  );
  // Open the history shortly after start-up, off the activation path, so the status bar shows the last score.
  const timer = setTimeout(() => {
    try {
      const last = store().lastScore();
      if (last) services.setLastScore(last);
    } catch (err) {
      services.output.error(`Run history could not be opened: ${(err as Error).message}`);
    }
  }, 1500);
  context.subscriptions.push({ dispose: () => clearTimeout(timer) });
  return {
    recorder,
    chart: chart.provider,
    history: { view: tree.view, provider: tree.provider },
    ideaTypeRates: () => {
      const s = store();
      return ideaTypeSuccessRates(s.ideas(), s.outcomes());
    },
  };
}
