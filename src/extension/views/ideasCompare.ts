/**
 * The "N ideas" view: an editor-area webview panel with the ideas side by side (ideasCompareRender.ts, everything
 * escaped). The first paint is in the page's HTML; later states are posted whole (throttled while answers stream)
 * and the page script only swaps them in. CSP: our stylesheet and one nonce'd script, nothing else. Messages from
 * the page are validated (zod) before anything runs.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { renderCompare, type CompareView } from './ideasCompareRender';
import { webviewHtml } from './webviewHtml';

export const IDEAS_COMPARE_VIEW_TYPE = 'ideator.ideasCompare';

const InboundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('apply'), ideaId: z.string().min(1).max(200) }),
  z.object({ type: z.literal('cancel') }),
  z.object({ type: z.literal('verify') }),
]);

/** What the page asks for (its buttons). */
export type CompareRequest = { type: 'apply'; ideaId: string } | { type: 'cancel' } | { type: 'verify' };

/** Most re-renders a second while answers stream in. */
const RENDER_EVERY_MS = 150;

export class IdeasComparePanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private view: CompareView | undefined;
  private body = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPost = 0;
  private readonly disposables: vscode.Disposable[] = [];
  /** Whether the page reported ready (its script runs). */
  ready = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onRequest: (request: CompareRequest) => void,
  ) {}

  /** What the panel shows now (the extension-host tests read it). */
  get current(): CompareView | undefined {
    return this.view;
  }

  /** The page body as last rendered. */
  get html(): string {
    return this.body;
  }

  get visible(): boolean {
    return this.panel?.visible ?? false;
  }

  /** Opens the panel (in the editor group of the code, as its own tab) showing `view`, or shows `view` in the open one. */
  show(view: CompareView): void {
    this.view = view;
    this.body = renderCompare(view);
    if (this.panel) {
      this.panel.reveal(undefined, true);
      this.post();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      IDEAS_COMPARE_VIEW_TYPE,
      this.title(view),
      // The whole editor group: four ideas side by side need the width; the code is one tab away.
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      { ...this.options(), retainContextWhenHidden: true },
    );
    this.attach(panel);
  }

  /**
   * Takes over a panel VS Code restored after a window reload (the serializer in ideas/askMany.ts) and shows `view`
   * in it. A panel already open is closed first: there is one Ideas tab.
   */
  adopt(panel: vscode.WebviewPanel, view: CompareView): void {
    if (this.panel && this.panel !== panel) this.panel.dispose();
    this.view = view;
    this.body = renderCompare(view);
    panel.webview.options = this.options();
    panel.title = this.title(view);
    this.attach(panel);
  }

  private options(): vscode.WebviewOptions {
    return { enableScripts: true, enableCommandUris: false, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')] };
  }

  private attach(panel: vscode.WebviewPanel): void {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'activitybar.svg');
    this.panel = panel;
    this.ready = false;
    panel.webview.html = this.shell(panel.webview, this.body);
    const listener = panel.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = InboundSchema.safeParse(raw);
      if (!parsed.success) return;
      if (parsed.data.type === 'ready') {
        this.ready = true;
        // A state that changed while the page loaded is sent now.
        this.post();
        return;
      }
      this.onRequest(parsed.data);
    });
    panel.onDidDispose(() => {
      listener.dispose();
      if (this.panel === panel) {
        this.panel = undefined;
        this.ready = false;
      }
    });
  }

  /** Changes what is shown; `urgent` skips the throttle (a phase change, a result). */
  update(view: CompareView, urgent = false): void {
    this.view = view;
    this.body = renderCompare(view);
    if (!this.panel) return;
    this.panel.title = this.title(view);
    const wait = urgent ? 0 : Math.max(0, RENDER_EVERY_MS - (Date.now() - this.lastPost));
    if (wait === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.post();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.post();
      }, wait);
    }
  }

  /** For tests and scripts: acts as if the page's button was pressed. */
  press(request: CompareRequest): void {
    this.onRequest(request);
  }

  private title(view: CompareView): string {
    return view.phase === 'asking' ? `Ideas (asking ${view.requested}…)` : `Ideas (${view.cards.length})`;
  }

  private post(): void {
    this.lastPost = Date.now();
    if (this.panel && this.ready) void this.panel.webview.postMessage({ type: 'render', html: this.body });
  }

  private shell(webview: vscode.Webview, body: string): string {
    return webviewHtml(webview, {
      media: vscode.Uri.joinPath(this.extensionUri, 'media'),
      stylesheets: ['highlight.css', 'ideasCompare.css'],
      script: 'ideasCompare.js',
      title: 'Ideas',
      view: 'ideas-compare',
      body,
      images: true,
      live: true,
    });
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
