/**
 * `ideator report [RUN_DIR] [--out FILE.html] [--png FILE.png]` — a self-contained HTML report of a bench run:
 * Table 1, best-so-far score vs step per configuration, seek_help frequency per step, idea types and their
 * effectiveness; optionally screenshotted to PNG with headless Chromium.
 */
import { join, resolve } from 'node:path';
import { writeReport } from '../report';
import { defineCommand, printJson, UsageError } from './common';
import { writeOutput } from './outputFile';

const HELP = `usage: ideator report [RUN_DIR | --run-dir DIR] [--out FILE.html] [--png FILE.png] [--chromium PATH] [--title TEXT] [--json]
Writes RUN_DIR/report.html (default RUN_DIR: .ideator/bench): one file, inline SVG, no scripts or CDN.
--png renders it with headless Chromium (/usr/bin/chromium, or CHROMIUM_PATH).`;

const FLAGS = {
  out: { type: 'string' },
  'run-dir': { type: 'string' },
  png: { type: 'string' },
  chromium: { type: 'string' },
  title: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  if (positionals.length > 1) throw new UsageError(`expected one RUN_DIR, got ${positionals.length}`);
  const runDir = resolve(positionals[0] ?? values['run-dir'] ?? '.ideator/bench');
  let result;
  try {
    // Named after the HTML file; a --png into a missing folder is reported the same way by its own write.
    result = await writeOutput(values.out ?? join(runDir, 'report.html'), (htmlFile) =>
      writeReport(runDir, { out: htmlFile, png: values.png, chromium: values.chromium, title: values.title }),
    );
  } catch (err) {
    const msg = (err as Error).message;
    if (/no bench store|no Chromium/.test(msg)) throw new UsageError(msg);
    throw err;
  }
  const summary = { html: result.htmlFile, png: result.pngFile ?? null, runs: result.data.runs.length, states: result.data.poolSize };
  if (values.json) printJson(io, summary);
  else io.stdout.write(`wrote ${summary.html}${summary.png ? ` and ${summary.png}` : ''}\n`);
  return 0;
});
