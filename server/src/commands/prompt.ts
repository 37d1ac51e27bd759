/** `ideator prompt --state STATE.json` — prints the exact messages the Ideator would receive, for inspection. */
import { buildIdeatorMessages } from '../../../src/core/prompts';
import { parseFlags, printJson, type Command } from './common';
import { readStateArgs, stateOptions } from './stateArgs';

const HELP = `usage: ideator prompt --state STATE.json [--budget TOKENS] [--prompts OVERRIDE_DIR] [--json]
Prints the full Ideator prompt that would be sent for this state (the seek-help query is drafted from the
trajectory when the state has none). --json prints {messages, query, trajectoryTokens}.`;

export default (async (argv, io) => {
  const { values } = parseFlags(argv, { ...stateOptions, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) {
    io.stdout.write(HELP + '\n');
    return 0;
  }
  const { state, budgetTokens, overrideDir } = await readStateArgs(values, io);
  const built = buildIdeatorMessages(state, { budgetTokens, overrideDir });
  if (values.json) {
    printJson(io, built);
    return 0;
  }
  for (const m of built.messages) io.stdout.write(`===== ${m.role} =====\n${m.content}\n`);
  return 0;
}) satisfies Command;
