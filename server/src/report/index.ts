/**
 * `ideator report` internals: read a bench run directory, compute the figures, write the HTML (and a PNG).
 *
 *   buildReport(runDir, { title? }): { html, data }
 *   writeReport(runDir, { out?, png?, chromium?, title? }): Promise<{ htmlFile, pngFile? }>
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BenchStore } from '../dualAgent/benchStore';
import { STORE_FILE } from '../dualAgent/benchRun';
import { PlanSchema, reportData, type Plan, type ReportData } from './data';
import { reportHtml } from './html';
import { renderPng } from './render';

export { findChromium, renderPng } from './render';

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

export function buildReport(runDir: string, opts: { title?: string } = {}): { html: string; data: ReportData } {
  const file = join(runDir, STORE_FILE);
  if (!existsSync(file)) throw new Error(`no bench store in ${runDir} (expected ${STORE_FILE})`);
  const store = new BenchStore(file);
  try {
    let plan: Plan | null = null;
    const rawPlan = store.getMeta('plan');
    if (rawPlan) {
      const parsed = PlanSchema.safeParse(JSON.parse(rawPlan));
      plan = parsed.success ? parsed.data : null;
    }
    const data = reportData(store.allRuns(), store.steps(), store.pool(), plan, (r) => `logs/${safe(r.task)}__${safe(r.config)}__${r.runIndex + 1}.log`);
    return { html: reportHtml(data, opts.title ?? `MLE Ideator bench — ${basename(resolve(runDir))}`), data };
  } finally {
    store.close();
  }
}

export async function writeReport(runDir: string, opts: { out?: string; png?: string; chromium?: string; title?: string } = {}): Promise<{ htmlFile: string; pngFile?: string; data: ReportData }> {
  const { html, data } = buildReport(runDir, opts);
  const htmlFile = resolve(opts.out ?? join(runDir, 'report.html'));
  writeFileSync(htmlFile, html);
  let pngFile: string | undefined;
  if (opts.png) {
    pngFile = resolve(opts.png);
    await renderPng(htmlFile, pngFile, { chromium: opts.chromium });
  }
  return { htmlFile, pngFile, data };
}
