/**
 * Renders the report HTML to a PNG with a headless Chromium (playwright-core; no browser download: it drives
 * the system's chromium, or the one named by CHROMIUM_PATH / --chromium).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function findChromium(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const p of [explicit, env.CHROMIUM_PATH, ...CHROMIUM_CANDIDATES]) if (p && existsSync(p)) return p;
  return undefined;
}

export async function renderPng(htmlFile: string, pngFile: string, opts: { chromium?: string; width?: number } = {}): Promise<void> {
  // A browser the user named but that is not there is an error, not a silent fallback to another one.
  if (opts.chromium && !existsSync(opts.chromium)) throw new Error(`no Chromium at ${opts.chromium} (--chromium)`);
  const executablePath = findChromium(opts.chromium);
  if (!executablePath) throw new Error('no Chromium found: install it (apt-get install -y chromium) or set CHROMIUM_PATH');
  // A computed specifier keeps esbuild from bundling playwright-core (it reads its own files at run time, and
  // only --png needs it): it is resolved from node_modules when a report is rendered.
  const specifier = 'playwright-core';
  const { chromium } = (await import(specifier)) as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1180, height: 900 } });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    await page.screenshot({ path: pngFile, fullPage: true });
  } finally {
    await browser.close();
  }
}
