/**
 * The Idea panel, in two places rendered by one renderer (ideaPanelRender.ts, everything escaped):
 *  - the editor-area panel (a WebviewPanel beside the code, opened without taking focus when an ask starts) shows
 *    the idea whole: ANALYSIS / ACTION / RATIONALE, Apply, Ask again and the follow-up questions;
 *  - the sidebar's Idea view (a WebviewView in our activity-bar container) shows a summary of it (the ACTION's
 *    first lines, what became of it, "Open idea"). With `ideator.openIdeaInEditor` off the sidebar shows the idea
 *    whole, as before, and no editor panel opens.
 * Each page's first paint is in its HTML; later states are posted and the page script only swaps them in and
 * appends streamed tokens as text. A page that never reports ready is loaded again. CSP: nothing but our own
 * stylesheet and one nonce'd script. Messages from the pages are validated (zod) before anything runs.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { MAX_FOLLOW_UP_CHARS } from '../../core/followUp';
import type { IdeaRecord } from '../../core/protocol';
import type { Fix } from '../ideas/setup';
import { renderEmpty, renderError, renderIdea, renderStreaming, renderSummary, renderSummaryStreaming, type Problem } from './ideaPanelRender';
import { webviewHtml } from './webviewHtml';

export const IDEA_PANEL_VIEW_ID = 'ideator.ideaPanel';
/** The editor-area panel's view type (also its serializer's). */
export const IDEA_EDITOR_VIEW_TYPE = 'ideator.ideaEditor';

const IdString = z.string().min(1).max(200);
const InboundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('fix'), index: z.number().int().min(0).max(20) }),
  z.object({ type: z.literal('command'), command: z.enum(['apply', 'ask', 'cancel', 'log', 'open']), ideaId: IdString.optional() }),
  z.object({ type: z.literal('followUp'), kind: z.enum(['why', 'alternatives', 'cheaper', 'free']), ideaId: IdString, text: z.string().max(MAX_FOLLOW_UP_CHARS).optional() }),
]);

/** What a page asks the extension to do (its buttons). */
export type PanelRequest =
  | { type: 'command'; command: 'apply' | 'ask' | 'cancel' | 'log' | 'open'; ideaId?: string }
  | { type: 'followUp'; kind: 'why' | 'alternatives' | 'cheaper' | 'free'; ideaId: string; text?: string };

/** A failure to show: its message, a hint, and the fixes its buttons run. */
export interface PanelProblem {
  message: string;
  hint?: string;
  fixes?: Fix[];
}

/** What the panel says about an idea beyond its text: its outcome in words, the idea it follows up on. */
export interface IdeaInfo {
  outcome?: string;
  parentTitle?: string;
}

/** Whether ideas open in the editor area (`ideator.openIdeaInEditor`, validated with the other settings). */
export type EditorModeSetting = () => boolean;

/** One page (sidebar or editor panel): its webview, whether it reported ready, and what it shows. */
interface Page {
  webview: vscode.Webview;
  ready: boolean;
}

export class IdeaPanelProvider implements vscode.WebviewViewProvider, vscode.WebviewPanelSerializer, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private sidebarPage: Page | undefined;
  private editor: vscode.WebviewPanel | undefined;
  private editorPage: Page | undefined;
  /** The whole idea (or stream, or error): what the editor panel shows, and the sidebar with the setting off. */
  private html = renderEmpty();
  /** The sidebar's summary of it. */
  private summary = renderEmpty();
  /** Streamed text so far (kept so a panel opened mid-stream shows everything). */
  private live = { text: '', thinking: '' };
  private streaming = false;
  /** The idea shown, to re-render when its outcome changes. */
  private shown: { idea: IdeaRecord; canApply: boolean; problem?: PanelProblem } | undefined;
  /** The commands behind the fix buttons now shown (the page only sends their index). */
  private fixes: Fix[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  /** Looked up for each idea shown (set by whoever knows the run history). */
  infoOf: (idea: IdeaRecord) => IdeaInfo = () => ({});
  /** Finds an idea by id (a restored panel's), set by whoever knows the ideas. */
  find: (id: string) => IdeaRecord | undefined = () => undefined;

  /** The whole idea as last rendered (the editor panel's content), for tests and for re-resolved views. */
  get currentHtml(): string {
    return this.html;
  }

  /** The sidebar's summary as last rendered. */
  get summaryHtml(): string {
    return this.summary;
  }

  /** The id of the idea on show, if an idea is on show. */
  get shownIdeaId(): string | undefined {
    return this.shown?.idea.id;
  }

  /** Whether the editor-area panel is open. */
  get editorOpen(): boolean {
    return this.editor !== undefined;
  }

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onRequest: (request: PanelRequest) => void,
    private readonly inEditor: EditorModeSetting = () => true,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('ideator.openIdeaInEditor') || !this.view || !this.sidebarPage) return;
        // The sidebar switches between the summary and the whole idea: a new page with the right marker.
        this.sidebarPage.ready = false;
        this.view.webview.html = this.shell(this.view.webview, this.sidebarMarker(), this.sidebarHtml());
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const page: Page = { webview: view.webview, ready: false };
    this.sidebarPage = page;
    this.configure(view.webview);
    view.webview.html = this.shell(view.webview, this.sidebarMarker(), this.sidebarHtml());
    // A webview whose page never reports (its frame or script lost a race with the webview's service worker, seen
    // in fresh browser sessions) is loaded again, a few times, instead of staying blank.
    // Only time the page spends visible counts (a hidden webview does not load), and a slow start gets 8 s: then the
    // page is sent again, and 8 s later its frame is rebuilt.
    this.watch(page, () => this.view === view, () => view.visible, (attempt) => {
      if (attempt === 1) view.webview.html = this.shell(view.webview, this.sidebarMarker(), this.sidebarHtml());
      // The page's frame itself is stuck (its service worker never took control): hiding the view releases the
      // frame and showing it again builds a new one. Only the Idea view's container flickers.
      else void vscode.commands.executeCommand('workbench.view.explorer').then(() => vscode.commands.executeCommand(`${IDEA_PANEL_VIEW_ID}.focus`));
    });
    this.disposables.push(
      this.listen(page),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
          this.sidebarPage = undefined;
        }
      }),
    );
  }

  /** A panel VS Code restores after a reload: the idea it showed (its page kept the id), else the one now on show. */
  deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Thenable<void> {
    if (this.editor) {
      panel.dispose();
      return Promise.resolve();
    }
    const saved = z.object({ ideaId: IdString }).safeParse(state);
    const idea = saved.success ? this.find(saved.data.ideaId) : undefined;
    if (idea && idea.id !== this.shown?.idea.id && !this.streaming) this.showIdea(idea, true);
    this.adopt(panel);
    return Promise.resolve();
  }

  /** Brings the idea into view: the editor panel beside the code (focus stays where it is), or the sidebar. */
  async reveal(): Promise<void> {
    if (this.inEditor()) {
      this.openEditor(true);
      return;
    }
    await this.revealSidebar();
  }

  /** Shows the sidebar's Idea view (the summary, or the whole idea with the setting off). */
  async revealSidebar(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${IDEA_PANEL_VIEW_ID}.focus`);
  }

  /** Opens (or shows) the editor-area panel; `preserveFocus` keeps the cursor in the code. */
  openEditor(preserveFocus = false): void {
    if (this.editor) {
      this.editor.reveal(undefined, preserveFocus);
      return;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(
      IDEA_EDITOR_VIEW_TYPE,
      'Idea',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      // Kept while hidden (a diff or another tab on top of it): a question being typed stays, nothing reloads.
      { enableScripts: true, enableCommandUris: false, localResourceRoots: [media], retainContextWhenHidden: true },
    );
    this.adopt(panel);
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.editor = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'activitybar.svg');
    this.configure(panel.webview);
    const page: Page = { webview: panel.webview, ready: false };
    this.editorPage = page;
    panel.webview.html = this.shell(panel.webview, 'idea', this.html);
    this.watch(page, () => this.editor === panel, () => panel.visible, () => {
      panel.webview.html = this.shell(panel.webview, 'idea', this.html);
    });
    const listener = this.listen(page);
    panel.onDidDispose(() => {
      listener.dispose();
      if (this.editor === panel) {
        this.editor = undefined;
        this.editorPage = undefined;
      }
    });
  }

  /** The idea; with `problem`, a failed request shown above it (the idea stays the one Apply uses). */
  showIdea(idea: IdeaRecord, canApply: boolean, problem?: PanelProblem): void {
    this.streaming = false;
    this.shown = { idea, canApply, problem };
    this.fixes = problem?.fixes ?? [];
    const info = this.infoOf(idea);
    const view = { idea, canApply, problem: problem && toProblem(problem), outcome: info.outcome, parentTitle: info.parentTitle };
    if (this.editor) this.editor.title = idea.followUp ? 'Idea · follow-up' : 'Idea';
    this.setHtml(renderIdea({ ...view, followUps: true }), renderSummary(view));
  }

  /** Renders the idea on show again (its outcome or the history changed). */
  refresh(): void {
    if (this.shown && !this.streaming) this.showIdea(this.shown.idea, this.shown.canApply, this.shown.problem);
  }

  showEmpty(): void {
    this.streaming = false;
    this.shown = undefined;
    this.fixes = [];
    this.setHtml(renderEmpty(), renderEmpty());
  }

  startStreaming(label: string, query: string): void {
    this.streaming = true;
    this.fixes = [];
    this.live = { text: '', thinking: '' };
    this.setHtml(renderStreaming(label, query), renderSummaryStreaming(label));
  }

  appendToken(delta: string, channel: 'text' | 'thinking'): void {
    if (!this.streaming) return;
    if (channel === 'thinking') this.live.thinking += delta;
    else this.live.text += delta;
    // The summary page has no live area and ignores tokens.
    for (const page of this.pages()) void page.webview.postMessage({ type: 'token', delta, channel });
  }

  showError(message: string, hint?: string, fixes: Fix[] = []): void {
    this.streaming = false;
    this.shown = undefined;
    this.fixes = fixes;
    const html = renderError(toProblem({ message, hint, fixes }));
    this.setHtml(html, html);
  }

  private pages(): Page[] {
    return [this.sidebarPage, this.editorPage].filter((p): p is Page => p !== undefined);
  }

  private sidebarMarker(): string {
    return this.inEditor() ? 'idea-summary' : 'idea';
  }

  private sidebarHtml(): string {
    return this.inEditor() ? this.summary : this.html;
  }

  private setHtml(html: string, summary: string): void {
    this.html = html;
    this.summary = summary;
    if (this.editorPage) void this.editorPage.webview.postMessage({ type: 'render', html });
    if (this.sidebarPage) void this.sidebarPage.webview.postMessage({ type: 'render', html: this.sidebarHtml() });
  }

  private postAll(page: Page): void {
    const html = page === this.editorPage ? this.html : this.sidebarHtml();
    void page.webview.postMessage({ type: 'render', html });
    if (this.streaming) {
      if (this.live.thinking) void page.webview.postMessage({ type: 'token', delta: this.live.thinking, channel: 'thinking' });
      if (this.live.text) void page.webview.postMessage({ type: 'token', delta: this.live.text, channel: 'text' });
    }
  }

  private listen(page: Page): vscode.Disposable {
    return page.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = InboundSchema.safeParse(raw);
      if (!parsed.success) return;
      const msg = parsed.data;
      if (msg.type === 'ready') {
        page.ready = true;
        this.postAll(page);
      } else if (msg.type === 'fix') {
        const fix = this.fixes[msg.index];
        if (fix) void vscode.commands.executeCommand(fix.command, ...(fix.args ?? []));
      } else {
        this.onRequest(msg);
      }
    });
  }

  /**
   * A page that has not reported ready after 8 s of visible time is reloaded (`reload(1)`), then once more
   * (`reload(2)`), then left alone.
   */
  private watch(page: Page, current: () => boolean, visible: () => boolean, reload: (attempt: number) => void): void {
    let reloads = 0;
    let waited = 0;
    const watchdog = setInterval(() => {
      if (page.ready || !current() || reloads >= 2) return clearInterval(watchdog);
      if (!visible()) return;
      waited += 1000;
      if (waited < 8000) return;
      waited = 0;
      reloads++;
      reload(reloads);
    }, 1000);
    this.disposables.push({ dispose: () => clearInterval(watchdog) });
  }

  private configure(webview: vscode.Webview): void {
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [media] };
  }

  private shell(webview: vscode.Webview, marker: string, body: string): string {
    return webviewHtml(webview, {
      media: vscode.Uri.joinPath(this.extensionUri, 'media'),
      stylesheets: ['highlight.css', 'ideaPanel.css'],
      script: 'ideaPanel.js',
      title: 'Idea',
      view: marker,
      bodyClass: marker === 'idea' && webview === this.editor?.webview ? 'wide' : '',
      body,
      images: true,
      live: true,
    });
  }

  dispose(): void {
    this.editor?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function toProblem(p: PanelProblem): Problem {
  return { message: p.message, hint: p.hint, fixLabels: (p.fixes ?? []).map((f) => f.label) };
}
