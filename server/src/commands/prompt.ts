/** `ideator prompt --state STATE.json` — prints the exact messages the Ideator would receive, for inspection. */
import { buildIdeatorMessages } from '../../../src/core/prompts';
import { defineCommand, printJson } from './common';
import { readStateArgs, stateOptions } from './stateArgs';

const HELP = `usage: ideator prompt --state STATE.json [--budget TOKENS] [--prompts OVERRIDE_DIR] [--json]
Prints the full Ideator prompt that would be sent for this state (the seek-help query is drafted from the
trajectory when the state has none). --json prints {messages, query, trajectoryTokens}.`;

const FLAGS = { ...stateOptions, json: { type: 'boolean' } } as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  const { state, budgetTokens, overrideDir } = await readStateArgs(values, io);
  const built = buildIdeatorMessages(state, { budgetTokens, overrideDir });
  if (values.json) {
    printJson(io, built);
    return 0;
  }
  for (const m of built.messages) io.stdout.write(`===== ${m.role} =====\n${m.content}\n`);
  return 0;
});
