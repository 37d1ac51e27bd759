/**
 * The score chart webview view: renders scoreChartSvg's inline SVG under a strict CSP (default-src 'none'; styles
 * and the one script from the extension's media folder, the script with a fresh nonce). Re-rendered, debounced,
 * whenever the history changes; clicking a point opens that run's output.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { RunRecorder } from '../runs/service';
import { buildRunRows, formatScore } from '../../core/historyRows';
import { CHART_LEGEND_HTML, escapeXml, renderScoreChart } from './scoreChartSvg';

export const SCORE_CHART_VIEW_ID = 'ideator.scoreChart';

const MessageSchema = z.object({ type: z.literal('openRun'), runId: z.string().min(1) });

export class ScoreChartProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

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
        if (msg.success) void vscode.commands.executeCommand('ideator.history.openOutput', msg.data.runId);
      }),
      view.onDidChangeVisibility(() => view.visible && this.render()),
      view.onDidDispose(() => (this.view = undefined)),
    );
    this.render();
  }

  private scheduleRender(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, 300);
  }

  /** The page for the current history (exposed for tests and screenshots). */
  html(webview: vscode.Webview): string {
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
    const nonce = randomBytes(16).toString('base64');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media', 'chart');
    const css = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chart.css'));
    const js = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chart.js'));
    return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}"><title>Score chart</title></head>
<body><div id="summary">${escapeXml(summary)}</div><div id="chart">${renderScoreChart(rows)}</div><div id="legend">${CHART_LEGEND_HTML}</div><div id="tip" hidden></div>
<script nonce="${nonce}" src="${js}"></script></body></html>`;
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

export function registerScoreChart(context: vscode.ExtensionContext, recorder: RunRecorder): { provider: ScoreChartProvider; disposable: vscode.Disposable } {
  const provider = new ScoreChartProvider(context.extensionUri, recorder);
  return { provider, disposable: vscode.Disposable.from(provider, vscode.window.registerWebviewViewProvider(SCORE_CHART_VIEW_ID, provider)) };
}
