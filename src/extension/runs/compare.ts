/**
 * Two runs side by side: "Compare Runs" (two runs selected in the Run History, or one and "Compare with…" picks the
 * other) opens an editor-area page with both runs' metrics (each value under `ideator.runScore`, the other one
 * beside it, Δ and which run is better), their command lines, durations, exit codes and the idea each followed;
 * "Show code diff" opens VS Code's diff editor between the two runs' code snapshots (`ideator.history.diffRuns`).
 * The page has no script: strict CSP, its links are the two command URIs the webview allows, every text escaped
 * (compareRender.ts).
 */
import * as vscode from 'vscode';
import { formatScore } from '../../core/format';
import { buildRunRows, formatDuration } from '../../core/historyRows';
import { compareRuns, runCurves, type RunComparison } from '../../core/runCurves';
import { SHOW_CURVES_COMMAND } from '../views/scoreChart';
import { runCodeUri } from './commands';
import { DIFF_RUNS_COMMAND, renderComparison } from './compareRender';
import type { RunRecorder } from './service';
import type { Services } from '../services';

export const COMPARE_COMMAND = 'ideator.history.compare';
export { DIFF_RUNS_COMMAND } from './compareRender';
const VIEW_TYPE = 'ideator.compareRuns';

export interface ComparisonShown {
  a: string;
  b: string;
  comparison: RunComparison;
  html: string;
}

function idsOf(arg: unknown): string[] {
  const one = (x: unknown): string | undefined => {
    if (typeof x === 'string') return x;
    if (x && typeof x === 'object') {
      const o = x as { runId?: unknown; row?: { run?: { id?: unknown } } };
      if (typeof o.runId === 'string') return o.runId;
      if (typeof o.row?.run?.id === 'string') return o.row.run.id;
    }
    return undefined;
  };
  if (Array.isArray(arg)) return arg.map(one).filter((x): x is string => !!x);
  const id = one(arg);
  return id ? [id] : [];
}

export function registerCompareCommands(services: Services, recorder: RunRecorder, tree: vscode.TreeView<vscode.TreeItem>): vscode.Disposable {
  let panel: vscode.WebviewPanel | undefined;
  let shown: [string, string] | undefined;
  const media = vscode.Uri.joinPath(services.context.extensionUri, 'media', 'chart');

  const rowsById = () => {
    const store = recorder.store;
    return new Map(buildRunRows({ runs: store.runs(), ideas: store.ideas(), outcomes: store.outcomes(), baselineId: store.baselineId() }).map((r) => [r.run.id, r]));
  };

  const render = (): ComparisonShown | undefined => {
    if (!panel || !shown) return undefined;
    const rows = rowsById();
    const [ra, rb] = [rows.get(shown[0]), rows.get(shown[1])];
    if (!ra || !rb) {
      panel.webview.html = page(panel.webview, '<p>One of these runs is no longer in the history.</p>');
      return undefined;
    }
    const store = recorder.store;
    // Each metric's last/best as recorded; the score row reads the same choice the history judges by.
    const [a, b] = [store.recordedRun(ra.run.id) ?? ra.run, store.recordedRun(rb.run.id) ?? rb.run];
    const comparison = compareRuns(a, b, store.scoreChoice());
    const body = renderComparison(ra, rb, comparison, { a: runCurves(a), b: runCurves(b) });
    panel.title = `Runs #${ra.n} ↔ #${rb.n}`;
    panel.webview.html = page(panel.webview, body);
    return { a: ra.run.id, b: rb.run.id, comparison, html: body };
  };

  const page = (webview: vscode.Webview, body: string) => {
    const chartCss = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chart.css'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(media, 'compare.css'));
    return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource};">
<meta name="viewport" content="width=device-width, initial-scale=1.0"><link rel="stylesheet" href="${chartCss}"><link rel="stylesheet" href="${css}"><title>Compare runs</title></head>
<body>${body}</body></html>`;
  };

  const show = (a: string, b: string): ComparisonShown | undefined => {
    // Oldest first, so Δ reads "newer − older".
    const order = recorder.store.runs().map((r) => r.id);
    shown = order.indexOf(a) <= order.indexOf(b) ? [a, b] : [b, a];
    if (!panel) {
      panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Compare runs', vscode.ViewColumn.Active, {
        enableScripts: false,
        enableCommandUris: [DIFF_RUNS_COMMAND, SHOW_CURVES_COMMAND],
        localResourceRoots: [media],
      });
      panel.onDidDispose(() => (panel = undefined));
    } else {
      panel.reveal(undefined, false);
    }
    return render();
  };

  const pickRuns = async (exclude: string | undefined, many: boolean): Promise<string[] | undefined> => {
    const rows = [...rowsById().values()].reverse().filter((r) => r.run.id !== exclude);
    const items = rows.map((r) => ({
      label: `#${r.n}  ${r.run.primary ? `${r.run.primary.name} ${formatScore(r.run.primary.value)}` : 'no score'}`,
      description: [formatDuration(r.durationMs), r.run.exitCode !== undefined && r.run.exitCode !== null ? `exit ${r.run.exitCode}` : ''].filter(Boolean).join(' · '),
      detail: r.run.command,
      id: r.run.id,
    }));
    if (many) {
      const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Compare two runs', placeHolder: 'Pick two runs' });
      if (!picked) return undefined;
      if (picked.length !== 2) {
        void vscode.window.showInformationMessage('MLE Ideator: pick exactly two runs to compare.');
        return undefined;
      }
      return picked.map((p) => p.id);
    }
    const picked = await vscode.window.showQuickPick(items, { title: 'Compare with…', placeHolder: 'The run to compare with' });
    return picked && [picked.id];
  };

  return vscode.Disposable.from(
    { dispose: () => panel?.dispose() },
    recorder.onDidChange(() => void render()),
    vscode.commands.registerCommand(COMPARE_COMMAND, async (item?: unknown, selected?: unknown) => {
      if (recorder.store.runs().length < 2) {
        void vscode.window.showInformationMessage('MLE Ideator: two runs are needed to compare; run your script again.');
        return undefined;
      }
      // Tree context menu: (clicked, all selected); tests and scripts: ([a, b]) or (a, b).
      let ids = [...new Set([...idsOf(selected), ...idsOf(item)])].filter((id) => recorder.store.run(id));
      if (ids.length < 2 && !item && !selected) ids = idsOf(tree.selection).filter((id) => recorder.store.run(id));
      if (ids.length > 2) {
        void vscode.window.showInformationMessage('MLE Ideator: select two runs to compare (the first two are compared).');
        ids = ids.slice(0, 2);
      }
      if (ids.length === 1) {
        const other = await pickRuns(ids[0], false);
        if (!other) return undefined;
        ids.push(other[0]);
      } else if (ids.length === 0) {
        const two = await pickRuns(undefined, true);
        if (!two) return undefined;
        ids = two;
      }
      return show(ids[0], ids[1]);
    }),
    vscode.commands.registerCommand(DIFF_RUNS_COMMAND, async (a?: unknown, b?: unknown) => {
      const [ida, idb] = Array.isArray(a) ? idsOf(a) : [...idsOf(a), ...idsOf(b)];
      const ra = ida ? recorder.store.run(ida) : undefined;
      const rb = idb ? recorder.store.run(idb) : undefined;
      if (!ra?.code || !rb?.code) {
        void vscode.window.showInformationMessage('MLE Ideator: both runs need their code recorded to diff it.');
        return false;
      }
      const n = (id: string) => recorder.store.runs().findIndex((r) => r.id === id) + 1;
      const title = `${rb.code.path ?? 'code'}: run #${n(ra.id)} ↔ run #${n(rb.id)}`;
      await vscode.commands.executeCommand('vscode.diff', runCodeUri(ra), runCodeUri(rb), title);
      return true;
    }),
  );
}
