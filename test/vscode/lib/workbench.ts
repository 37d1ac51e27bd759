/** Playwright helpers for driving the VS Code workbench served by code-server. */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import { RESULTS_DIR } from './codeServer';

export async function openWorkbench(page: Page, serverUrl: string, folder: string): Promise<void> {
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The explorer shows the folder once the workbench has restored its layout.
  await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1_000);
}

/** Opens the quick input with F1 (retrying: the first key press can land before the workbench takes focus). */
async function openQuickInput(page: Page): Promise<Locator> {
  const input = page.locator('.quick-input-widget input.input');
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.locator('.monaco-workbench .part.statusbar').click({ position: { x: 5, y: 5 } }).catch(() => undefined);
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 2_000 });
      return input;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  throw new Error('the command palette did not open');
}

/** F1, type the command's title, Enter. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = await openQuickInput(page);
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
}

/** Quick Open a workspace file by name and wait for its editor tab. */
export async function openFile(page: Page, name: string): Promise<void> {
  const input = await openQuickInput(page);
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab', { hasText: name }).first().waitFor({ timeout: 10_000 });
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ timeout: 10_000 });
}

/**
 * The content frame of the Idea panel. Webviews nest an iframe inside an iframe, and other views of the extension
 * (the score chart) are webviews too, so the frame is picked by the marker the panel's page carries.
 */
export async function ideaPanelFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  let nudged = false;
  while (Date.now() < deadline) {
    // A webview that has not loaded after half the time (seen once on a loaded machine) gets its view focused again.
    if (!nudged && Date.now() > deadline - timeoutMs / 2) {
      nudged = true;
      await runCommand(page, 'Ideator: Show Idea Panel').catch(() => undefined);
      // The idea itself is in the editor-area tab (ideator.openIdeaInEditor, the default): bring that forward too.
      await runCommand(page, 'Ideator: Open Idea in Editor').catch(() => undefined);
    }
    for (const frame of page.frames()) {
      const isPanel = await frame.evaluate(() => document.body?.dataset.ideatorView === 'idea').catch(() => false);
      if (isPanel) return frame;
    }
    await page.waitForTimeout(250);
  }
  const seen = await Promise.all(page.frames().map(async (f) => `${f.url().slice(0, 120)} title=${await f.title().catch(() => '?')}`));
  throw new Error(`the Idea panel webview did not appear; frames:\n${seen.join('\n')}`);
}

/** The content frame of one of our webviews, picked by the marker its page carries (data-ideator-view). */
export async function webviewFrame(page: Page, marker: string, timeoutMs = 30_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const found = await frame.evaluate((m) => document.body?.dataset.ideatorView === m, marker).catch(() => false);
      if (found) return frame;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`the ${marker} webview did not appear`);
}

/** The query review form (Ask Ideator's "check what will be asked"), once its page has loaded. */
export async function reviewQueryFrame(page: Page, timeoutMs = 30_000): Promise<Frame> {
  const frame = await webviewFrame(page, 'review-query', timeoutMs);
  await frame.locator('#send').waitFor({ timeout: timeoutMs });
  return frame;
}

export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text });
}

export function toastButton(page: Page, toastText: string | RegExp, button: string): Locator {
  return toast(page, toastText).locator('.monaco-button', { hasText: button }).first();
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Polls `check` until it returns true or the time runs out. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Collapses every expanded view in the side bar except `keep` (matched on the view header's title). */
export async function collapseOtherViews(page: Page, keep: string): Promise<void> {
  const headers = page.locator('.part.sidebar .pane-header[aria-expanded="true"]');
  for (let i = (await headers.count()) - 1; i >= 0; i--) {
    const header = headers.nth(i);
    const title = ((await header.locator('.title').first().textContent().catch(() => '')) ?? '').trim();
    if (title.toLowerCase() !== keep.toLowerCase()) await header.click();
  }
  await page.waitForTimeout(300);
}

/** The workbench's current theme kind, read from its class. */
export async function themeOf(page: Page): Promise<'dark' | 'light'> {
  const cls = (await page.locator('.monaco-workbench').first().getAttribute('class')) ?? '';
  return /\bvs-dark\b|\bhc-black\b/.test(cls) ? 'dark' : 'light';
}

/**
 * Whether the workbench is painted light or dark now: the background the browser computed for the first of its
 * parts that has one (an opaque colour), by luminance; undefined when none has one yet.
 */
async function paintedTheme(page: Page): Promise<'dark' | 'light' | undefined> {
  const colours = await page.evaluate(() =>
    ['.monaco-workbench .part.sidebar', '.monaco-workbench .part.statusbar', '.monaco-workbench .part.editor > .content', '.monaco-workbench'].map((sel) => {
      const el = document.querySelector(sel);
      return el ? getComputedStyle(el).backgroundColor : '';
    }),
  );
  for (const c of colours) {
    const [r, g, b, a = 1] = (c.match(/\d+(\.\d+)?/g) ?? []).map(Number);
    if (b === undefined || a === 0) continue;
    return 0.299 * r + 0.587 * g + 0.114 * b < 128 ? 'dark' : 'light';
  }
  return undefined;
}

/**
 * Light ↔ dark through the command palette; waits until the workbench is painted in the other theme (its class
 * changes before its colours do: a screenshot in between mixes both), then `settleMs` for the webviews to repaint.
 */
export async function toggleTheme(page: Page, settleMs = 900): Promise<void> {
  const before = await themeOf(page);
  const after = before === 'dark' ? 'light' : 'dark';
  await runCommand(page, 'Preferences: Toggle between Light/Dark Themes');
  await until(async () => (await themeOf(page)) === after && (await paintedTheme(page)) === after, 15_000, `the workbench to be painted ${after}`);
  // A loaded headless Chromium can keep showing parts painted in the old colours (the next screenshot came out in
  // the old theme while the page had the new one): a 1-px resize repaints everything, and a throw-away screenshot
  // makes the browser produce a frame before the one that counts.
  const size = page.viewportSize();
  if (size) {
    await page.setViewportSize({ width: size.width + 1, height: size.height });
    await page.setViewportSize(size);
  }
  await page.waitForTimeout(settleMs);
  await page.screenshot({ type: 'jpeg', quality: 10 });
}

/** Every run-history journal under a code-server user-data folder (the extension's global storage). */
export function allHistories(userData: string): string[] {
  return readdirSync(userData, { recursive: true })
    .map(String)
    .filter((f) => f.includes(`${join('mle-ideator.mle-ideator', 'run-history')}/`) && f.endsWith('history.jsonl'))
    .map((f) => join(userData, f));
}

/** The workspace's run-history journal: one per workspace, in global storage (a reload must not move it: historyService.storageFor). */
export function findHistory(userData: string): string | undefined {
  const all = allHistories(userData);
  if (all.length > 1) throw new Error(`${all.length} run histories for one workspace: ${all.map((f) => f.slice(userData.length)).join(', ')}`);
  return all[0];
}

/** Distinct runs recorded in a history journal (0 when there is none yet). */
export function runCount(file: string | undefined): number {
  if (!file || !existsSync(file)) return 0;
  const ids = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.includes('"kind":"run"')) ids.add((JSON.parse(line) as { run: { id: string } }).run.id);
  }
  return ids.size;
}

/** Opens a new terminal and waits until its shell integration is active. */
export async function newTerminal(page: Page): Promise<void> {
  await runCommand(page, 'Terminal: Create New Terminal');
  await page.locator('.terminal-wrapper.active .xterm').first().waitFor({ timeout: 20_000 });
  // Shell integration is active once the prompt gets its command decoration (the gutter circle); on a loaded
  // machine that can take several seconds, and a command typed before it would go unseen.
  await page.locator('.terminal-wrapper.active .terminal-command-decoration').first().waitFor({ timeout: 45_000 });
  await page.waitForTimeout(300);
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** A screenshot in the current theme and one in the other, then back to the first unless `back` is false. */
export async function bothThemes(page: Page, name: string, opts: { back?: boolean } = {}): Promise<void> {
  await shot(page, `${name}-${await themeOf(page)}`);
  await toggleTheme(page, 1200);
  await shot(page, `${name}-${await themeOf(page)}`);
  if (opts.back !== false) await toggleTheme(page, 1200);
}

/** The Ideas panel's phase (data-phase of its .compare root): ready, verifying, verified … ('' before it shows). */
export async function phase(frame: Frame): Promise<string> {
  return (await frame.locator('.compare').first().getAttribute('data-phase').catch(() => null)) ?? '';
}
