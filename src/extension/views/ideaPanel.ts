/**
 * The Idea panel: a webview view in our activity-bar container. The extension renders HTML (ideaPanelRender.ts,
 * everything escaped); the page's first paint is in the HTML itself, later states are posted and the page script
 * only swaps them in and appends streamed tokens as text. A page that never reports ready is loaded again.
 * CSP: nothing but our own stylesheet and one nonce'd script.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { IdeaRecord } from '../../core/protocol';
import type { Fix } from '../ideas/setup';
import { renderEmpty, renderError, renderIdea, renderStreaming, type Problem } from './ideaPanelRender';

export const IDEA_PANEL_VIEW_ID = 'ideator.ideaPanel';

type Inbound = { type: 'command'; command: 'apply' | 'ask' | 'cancel' | 'log'; ideaId?: string } | { type: 'fix'; index: number } | { type: 'ready' };

/** A failure to show: its message, a hint, and the fixes its buttons run. */
export interface PanelProblem {
  message: string;
  hint?: string;
  fixes?: Fix[];
}

export class IdeaPanelProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private html = renderEmpty();
  /** Streamed text so far (kept so a panel opened mid-stream shows everything). */
  private live = { text: '', thinking: '' };
  private streaming = false;
  /** The commands behind the fix buttons now shown (the page only sends their index). */
  private fixes: Fix[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  /** The last HTML posted, for tests and for a re-resolved view. */
  get currentHtml(): string {
    return this.html;
  }

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onCommand: (command: 'apply' | 'ask' | 'cancel' | 'log', ideaId?: string) => void,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [media] };
    view.webview.html = this.shell(view.webview);
    // A webview whose page never reports (its frame or script lost a race with the webview's service worker, seen
    // in fresh browser sessions) is loaded again, a few times, instead of staying blank.
    // Only time the page spends visible counts (a hidden webview does not load), and a slow start gets 8 s: then the
    // page is sent again, and 8 s later its frame is rebuilt.
    let ready = false;
    let reloads = 0;
    let waited = 0;
    const watchdog = setInterval(() => {
      if (ready || this.view !== view || reloads >= 2) return clearInterval(watchdog);
      if (!view.visible) return;
      waited += 1000;
      if (waited < 8000) return;
      waited = 0;
      reloads++;
      if (reloads === 1) {
        view.webview.html = this.shell(view.webview);
      } else {
        // The page's frame itself is stuck (its service worker never took control): hiding the view releases the
        // frame and showing it again builds a new one. Only the Idea view's container flickers.
        void vscode.commands.executeCommand('workbench.view.explorer').then(() => vscode.commands.executeCommand(`${IDEA_PANEL_VIEW_ID}.focus`));
      }
    }, 1000);
    this.disposables.push(
      { dispose: () => clearInterval(watchdog) },
      view.webview.onDidReceiveMessage((msg: Inbound) => {
        if (msg?.type === 'ready') {
          ready = true;
          this.postAll();
        }
        else if (msg?.type === 'fix' && Number.isInteger(msg.index) && this.fixes[msg.index]) {
          const fix = this.fixes[msg.index];
          void vscode.commands.executeCommand(fix.command, ...(fix.args ?? []));
        }
        else if (msg?.type === 'command' && ['apply', 'ask', 'cancel', 'log'].includes(msg.command)) {
          this.onCommand(msg.command, typeof msg.ideaId === 'string' ? msg.ideaId : undefined);
        }
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
      }),
    );
  }

  /** Brings the panel into view (opens our activity-bar container). */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${IDEA_PANEL_VIEW_ID}.focus`);
  }

  /** The idea; with `problem`, a failed request shown above it (the idea stays the one Apply uses). */
  showIdea(idea: IdeaRecord, canApply: boolean, problem?: PanelProblem): void {
    this.streaming = false;
    this.fixes = problem?.fixes ?? [];
    this.setHtml(renderIdea({ idea, canApply, problem: problem && toProblem(problem) }));
  }

  showEmpty(): void {
    this.streaming = false;
    this.fixes = [];
    this.setHtml(renderEmpty());
  }

  startStreaming(label: string, query: string): void {
    this.streaming = true;
    this.fixes = [];
    this.live = { text: '', thinking: '' };
    this.setHtml(renderStreaming(label, query));
  }

  appendToken(delta: string, channel: 'text' | 'thinking'): void {
    if (!this.streaming) return;
    if (channel === 'thinking') this.live.thinking += delta;
    else this.live.text += delta;
    void this.view?.webview.postMessage({ type: 'token', delta, channel });
  }

  showError(message: string, hint?: string, fixes: Fix[] = []): void {
    this.streaming = false;
    this.fixes = fixes;
    this.setHtml(renderError(toProblem({ message, hint, fixes })));
  }

  private setHtml(html: string): void {
    this.html = html;
    void this.view?.webview.postMessage({ type: 'render', html });
  }

  private postAll(): void {
    const webview = this.view?.webview;
    if (!webview) return;
    void webview.postMessage({ type: 'render', html: this.html });
    if (this.streaming) {
      if (this.live.thinking) void webview.postMessage({ type: 'token', delta: this.live.thinking, channel: 'thinking' });
      if (this.live.text) void webview.postMessage({ type: 'token', delta: this.live.text, channel: 'text' });
    }
  }

  private shell(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const css = webview.asWebviewUri(vscode.Uri.joinPath(media, 'ideaPanel.css'));
    const js = webview.asWebviewUri(vscode.Uri.joinPath(media, 'ideaPanel.js'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css.toString()}">
<title>Idea</title>
</head>
<body data-ideator-view="idea">
<main id="root" aria-live="polite">${this.html}</main>
<script nonce="${nonce}" src="${js.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function toProblem(p: PanelProblem): Problem {
  return { message: p.message, hint: p.hint, fixLabels: (p.fixes ?? []).map((f) => f.label) };
}
