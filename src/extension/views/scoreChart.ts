/**
 * The score chart webview view: scoreChartSvg's inline SVG in the extension's one page shell (webviewHtml.ts: strict
 * CSP, default-src 'none', styles and the one script from media/chart, the script with a fresh nonce; no images).
 * Re-rendered, debounced, whenever the history changes. Two views:
 *   - all runs: each run's score (its last or best epoch, as `ideator.runScore` says; the subtitle says which);
 *     clicking a point shows that run;
 *   - one run (a point clicked, a run selected in the Run History, or `ideator.history.showCurves`): its metrics'
 *     per-epoch curves, train dashed and validation solid; "All runs" goes back, "Open output" opens its output.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import type { RunRecorder } from '../runs/service';
import { buildRunRows, formatDuration, formatScore } from '../../core/historyRows';
import { describeScoreChoice } from '../../core/metric';
import { runCurves, type RunCurves } from '../../core/runCurves';
import type { Run } from '../../core/protocol';
import { chartLegendHtml, escapeXml, renderRunCurves, renderScoreChart, SHOW_CURVES_COMMAND } from './scoreChartSvg';
import { webviewHtml } from './webviewHtml';

export const SCORE_CHART_VIEW_ID = 'ideator.scoreChart';
export { SHOW_CURVES_COMMAND } from './scoreChartSvg';

const MessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('openRun'), runId: z.string().min(1).max(200) }),
  z.object({ type: z.literal('showRun'), runId: z.string().min(1).max(200) }),
  z.object({ type: z.literal('back') }),
]);

export class ScoreChartProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** The run whose curves are shown; undefined: all runs. */
  private focus: string | undefined;
  /** Curves per run id (a finished run's record does not change; re-read when it is re-recorded). */
  private readonly curvesCache = new Map<string, { run: Run; curves: RunCurves }>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly recorder: RunRecorder,
  ) {
    this.disposables.push(recorder.onDidChange(() => this.scheduleRender()));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const media = vscode.Uri.joinPath(this.extensionUri, 'media', 'chart');
    view.webview.options = { enableScripts: true, localResourceRoots: [media] };
    this.disposables.push(
      view.webview.onDidReceiveMessage((m: unknown) => {
        const msg = MessageSchema.safeParse(m);
        if (!msg.success) return;
        if (msg.data.type === 'openRun') void vscode.commands.executeCommand('ideator.history.openOutput', msg.data.runId);
        else if (msg.data.type === 'showRun') this.showRun(msg.data.runId);
        else this.showAll();
      }),
      view.onDidChangeVisibility(() => view.visible && this.render()),
      view.onDidDispose(() => (this.view = undefined)),
    );
    this.render();
  }

  /** Shows one run's curves (false when the run is not in the history). */
  showRun(runId: string): boolean {
    if (!this.recorder.store.run(runId)) return false;
    this.focus = runId;
    this.render();
    return true;
  }

  /** Back to all runs. */
  showAll(): void {
    this.focus = undefined;
    this.render();
  }

  /** The run whose curves are shown, if any (for tests). */
  focusedRun(): string | undefined {
    return this.focus && this.recorder.store.run(this.focus) ? this.focus : undefined;
  }

  /** The curves of a run (cached per record). */
  curvesOf(run: Run): RunCurves {
    const hit = this.curvesCache.get(run.id);
    if (hit && hit.run.endedAt === run.endedAt && hit.run.outputBytes === run.outputBytes && hit.run.metrics.length === run.metrics.length) return hit.curves;
    const curves = runCurves(run);
    if (this.curvesCache.size > 64) this.curvesCache.clear();
    this.curvesCache.set(run.id, { run, curves });
    return curves;
  }

  private scheduleRender(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, 300);
  }

  /** The page for the current history and view (exposed for tests and screenshots). */
  html(webview: vscode.Webview): string {
    const focused = this.focusedRun();
    return webviewHtml(webview, {
      media: vscode.Uri.joinPath(this.extensionUri, 'media', 'chart'),
      stylesheets: ['chart.css'],
      script: 'chart.js',
      title: 'Score chart',
      view: 'score-chart',
      // chart.js and chart.css tell the two views apart by the body's class.
      bodyClass: focused ? 'run-view' : 'runs-view',
      body: `${focused ? this.runBody(focused) : this.runsBody()}<div id="tip" hidden></div>`,
    });
  }

  private runsBody(): string {
    const store = this.recorder.store;
    const rows = buildRunRows({ runs: store.runs(), ideas: store.ideas(), outcomes: store.outcomes(), baselineId: store.baselineId() });
    const best = store.bestScore();
    const judged = store.outcomes();
    const improved = judged.filter((o) => o.status === 'improved').length;
    const summary = [
      `${rows.length} run${rows.length === 1 ? '' : 's'}`,
      best ? `best ${best.name} ${formatScore(best.value)}` : '',
      judged.length ? `ideas improved ${improved}/${judged.length}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    const hint = rows.some((r) => r.run.primary) ? '<div id="hint">Click a point, or select a run in the Run History, to see its curves.</div>' : '';
    // Summary and legend first: in a short view the chart scrolls, never the legend off the bottom.
    return `<div id="summary">${escapeXml(summary)}</div><div id="legend">${chartLegendHtml(rows)}</div><div id="chart">${renderScoreChart(rows, { scoreChoice: store.scoreChoice() })}</div>${hint}`;
  }

  private runBody(runId: string): string {
    const store = this.recorder.store;
    const run = store.run(runId)!;
    const n = store.runs().findIndex((r) => r.id === runId) + 1;
    const curves = this.curvesOf(store.recordedRun(runId) ?? run);
    const p = run.primary;
    const choice = store.scoreChoice();
    const primaryLine = curves.panels.flatMap((x) => x.lines).find((l) => l.metric === p?.name);
    const bestAt = primaryLine?.points.find((pt) => pt[1] === primaryLine.best);
    const score = p
      ? `${p.name} ${formatScore(p.value)} (${describeScoreChoice(choice)}${primaryLine ? `; last ${formatScore(primaryLine.last)}, best ${formatScore(primaryLine.best)}${bestAt && curves.axis !== 'value printed' ? ` at ${curves.axis} ${formatScore(bestAt[0])}` : ''}` : ''})`
      : 'no score';
    const start = Date.parse(run.startedAt);
    const end = run.endedAt ? Date.parse(run.endedAt) : NaN;
    const facts = [score, Number.isFinite(end) ? formatDuration(end - start) : '', `exit ${run.exitCode ?? '?'}`].filter(Boolean).join(' · ');
    const command = run.command ? `<div class="command" title="${escapeXml(run.command)}">${escapeXml(run.command)}</div>` : '';
    const id = escapeXml(run.id);
    return `<div id="bar"><button type="button" data-action="back" title="Back to the chart of all runs">← All runs</button><button type="button" data-action="openRun" data-run="${id}" title="Open this run's output">Open output</button></div>
<div id="summary"><b>Run #${n}</b> · ${escapeXml(facts)}${command}</div>
<div id="panels" data-run="${id}" data-axis="${escapeXml(curves.axis)}">${renderRunCurves(curves, p?.name)}</div>`;
  }

  private render(): void {
    if (!this.view?.visible) return;
    this.view.webview.html = this.html(this.view.webview);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object') {
    const a = arg as { runId?: unknown; row?: { run?: { id?: unknown } } };
    if (typeof a.runId === 'string') return a.runId;
    if (typeof a.row?.run?.id === 'string') return a.row.run.id;
  }
  return undefined;
}

export function registerScoreChart(context: vscode.ExtensionContext, recorder: RunRecorder): { provider: ScoreChartProvider; disposable: vscode.Disposable } {
  const provider = new ScoreChartProvider(context.extensionUri, recorder);
  return {
    provider,
    disposable: vscode.Disposable.from(
      provider,
      vscode.window.registerWebviewViewProvider(SCORE_CHART_VIEW_ID, provider),
      // From the Run History's context menu (and tests): show the chart view with the run's curves.
      vscode.commands.registerCommand(SHOW_CURVES_COMMAND, async (arg?: unknown, opts?: { reveal?: boolean }) => {
        const id = runIdOf(arg);
        if (!id || !provider.showRun(id)) {
          void vscode.window.showWarningMessage('MLE Ideator: pick a run in the Run History view first.');
          return false;
        }
        if (opts?.reveal !== false) await vscode.commands.executeCommand(`${SCORE_CHART_VIEW_ID}.focus`);
        return true;
      }),
    ),
  };
}
