/** `ideator parse-idea [FILE|-] [--json]` — the paper's format check plus a tolerant parse of an Ideator answer. */
import { parseIdea } from '../../../src/core/idea';
import { defineCommand, printJson, readInput, UsageError } from './common';

const HELP = `usage: ideator parse-idea [FILE|-] [--json]
Parses an Ideator answer (ANALYSIS_ON_CURRENT_PROGRESS / ACTION / RATIONALE). Exit code 0 whether or not the
answer passes the format check; "ok" says whether it does.`;

const FLAGS = { json: { type: 'boolean' } } as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  if (positionals.length > 1) throw new UsageError(`expected at most one answer file, got ${positionals.length}`);
  const idea = parseIdea(await readInput(positionals[0], io));
  if (values.json) {
    printJson(io, idea);
    return 0;
  }
  const lines = [
    `format check: ${idea.ok ? 'ok' : 'FAILED'}`,
    ...idea.errors.map((e) => `  - ${e}`),
    '',
    `ANALYSIS_ON_CURRENT_PROGRESS:\n${idea.analysis}`,
    '',
    `ACTION:\n${idea.action}`,
    '',
    `RATIONALE:\n${idea.rationale}`,
  ];
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
});
