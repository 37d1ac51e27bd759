/**
 * Shows the drafted seek-help query before it is sent (unless `ideator.reviewQueryBeforeSending` is off): a form in
 * the editor area with the three parts in multi-line boxes at once (reviewQueryRender.ts), Send and Cancel. An
 * emptied part is an error said next to its box; closing the form cancels the ask. Returns undefined when the user
 * backs out.
 *
 * The form's Send and Cancel are also commands (`ideator.review.send` with the three parts as text,
 * `ideator.review.cancel`), not in the palette: keybindings and scripts can drive the form, and the same check runs.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import type { SeekHelpQuery } from '../../core/protocol';
import { checkReview, renderReviewForm, type ReviewCheck } from '../views/reviewQueryRender';
import { webviewHtml } from '../views/webviewHtml';

export const REVIEW_VIEW_TYPE = 'ideator.reviewQuery';

const InboundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('cancel') }),
  z.object({ type: z.literal('send'), problemStatement: z.unknown(), attemptsSoFar: z.unknown(), goal: z.unknown() }),
]);

interface OpenReview {
  submit(fields: unknown): ReviewCheck;
  cancel(): void;
}

let extensionUri: vscode.Uri | undefined;
let open: OpenReview | undefined;

/** The media folder the form's page loads from, and the form's commands. */
export function registerReviewQuery(uri: vscode.Uri): vscode.Disposable {
  extensionUri = uri;
  return vscode.Disposable.from(
    vscode.commands.registerCommand('ideator.review.send', (fields?: unknown) => open?.submit(fields ?? {})),
    vscode.commands.registerCommand('ideator.review.cancel', () => open?.cancel()),
  );
}

/** Whether a review form is waiting for Send or Cancel. */
export function reviewOpen(): boolean {
  return open !== undefined;
}

export async function reviewQuery(initial: SeekHelpQuery, providerLabel: string): Promise<SeekHelpQuery | undefined> {
  if (!extensionUri) throw new Error('the query review is not registered');
  open?.cancel();
  const media = vscode.Uri.joinPath(extensionUri, 'media');
  const panel = vscode.window.createWebviewPanel(
    REVIEW_VIEW_TYPE,
    'Ask Ideator: check what will be asked',
    { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
    { enableScripts: true, enableCommandUris: false, localResourceRoots: [media], retainContextWhenHidden: true },
  );
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activitybar.svg');
  panel.webview.html = page(panel.webview, media, initial, providerLabel);
  return new Promise<SeekHelpQuery | undefined>((resolve) => {
    let done = false;
    const finish = (query: SeekHelpQuery | undefined): void => {
      if (done) return;
      done = true;
      if (open === review) open = undefined;
      listener.dispose();
      resolve(query);
      panel.dispose();
    };
    const review: OpenReview = {
      submit(fields) {
        const check = checkReview(fields, initial);
        if (check.ok) finish(check.query);
        else void panel.webview.postMessage({ type: 'errors', errors: check.errors });
        return check;
      },
      cancel: () => finish(undefined),
    };
    open = review;
    const listener = panel.webview.onDidReceiveMessage((raw: unknown) => {
      const msg = InboundSchema.safeParse(raw);
      if (!msg.success) return;
      if (msg.data.type === 'cancel') review.cancel();
      else if (msg.data.type === 'send') review.submit({ problemStatement: msg.data.problemStatement, attemptsSoFar: msg.data.attemptsSoFar, goal: msg.data.goal });
    });
    panel.onDidDispose(() => finish(undefined));
  });
}

function page(webview: vscode.Webview, media: vscode.Uri, query: SeekHelpQuery, providerLabel: string): string {
  return webviewHtml(webview, {
    media,
    stylesheets: ['ideaPanel.css'],
    script: 'reviewQuery.js',
    title: 'Check what will be asked',
    view: 'review-query',
    bodyClass: 'wide',
    body: renderReviewForm(query, providerLabel),
  });
}
