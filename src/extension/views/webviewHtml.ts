/**
 * The one HTML shell of the extension's own webview pages (Idea panel and tab, Ideas side by side, the review form,
 * the score chart): a strict Content-Security-Policy (nothing by default; styles and fonts from the extension's media
 * folder; scripts only with this page's fresh nonce; images from media and data: only where the page asks for them),
 * its stylesheets, one script and the first paint inside <main id="root">. The body is HTML the caller escaped already.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export interface WebviewPage {
  /** The media folder the stylesheet and script are in (the webview's only local resource root). */
  media: vscode.Uri;
  /** File names in `media`, the stylesheets in the order they apply. */
  stylesheets: string[];
  script: string;
  title: string;
  /** data-ideator-view on the body: what tests and the page's script look the page up by. */
  view: string;
  /** The first paint, already escaped. */
  body: string;
  bodyClass?: string;
  /** Allow images from media and data: URIs (default: none). */
  images?: boolean;
  /** Screen readers read changes of the root (a page that updates itself). */
  live?: boolean;
}

export function webviewHtml(webview: vscode.Webview, page: WebviewPage): string {
  const nonce = randomBytes(16).toString('base64');
  const links = page.stylesheets.map((name) => `<link rel="stylesheet" href="${webview.asWebviewUri(vscode.Uri.joinPath(page.media, name)).toString()}">`).join('\n');
  const js = webview.asWebviewUri(vscode.Uri.joinPath(page.media, page.script));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    ...(page.images ? [`img-src ${webview.cspSource} data:`] : []),
    `font-src ${webview.cspSource}`,
  ].join('; ');
  const bodyClass = page.bodyClass ? ` class="${page.bodyClass}"` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
<title>${page.title}</title>
</head>
<body data-ideator-view="${page.view}"${bodyClass}>
<main id="root"${page.live ? ' aria-live="polite"' : ''}>${page.body}</main>
<script nonce="${nonce}" src="${js.toString()}"></script>
</body>
</html>`;
}
