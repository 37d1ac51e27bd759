/** `ideator prompt --state STATE.json` — prints the exact messages the Ideator would receive, for inspection. */
import { buildIdeatorPrompt, parsePriceFlag, priceFor, promptCost, promptCostLine, type ModelPrice } from '../../../src/core/promptCost';
import { parseProviderSpec } from '../../../src/core/providers/spec';
import { defineCommand, log, printJson, UsageError } from './common';
import { readStateArgs, stateOptions } from './stateArgs';

const HELP = `usage: ideator prompt --state STATE.json [--trajectory full|compact] [--budget TOKENS] [--prompts OVERRIDE_DIR]
                      [--provider KIND[:MODEL][@URL]] [--price IN,OUT[,CACHED]] [--json]
Prints the full Ideator prompt that would be sent for this state (the seek-help query is drafted from the
trajectory when the state has none). --trajectory compact (the default) collapses progress bars, repeated log
lines, library traceback frames and superseded code versions, keeping every metric value, error line and the
final code; full renders the steps as recorded. The cost goes to stderr: estimated tokens, the cacheable prefix
(instructions, task, query, trajectory) and the input price for --provider's model (Claude list prices; a local
server is free; --price sets dollars per million input,output[,cached] tokens).
--json prints {messages, query, trajectoryTokens, trajectoryMode, tokens, cacheableTokens, compact?, cost}.`;

const FLAGS = { ...stateOptions, provider: { type: 'string' }, price: { type: 'string' }, json: { type: 'boolean' } } as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  let override: ModelPrice | undefined;
  try {
    override = values.price !== undefined ? parsePriceFlag(values.price) : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let spec: { kind: string; model?: string; baseUrl?: string } = { kind: 'template-vague' };
  if (values.provider !== undefined) {
    try {
      spec = parseProviderSpec(values.provider, false);
    } catch (err) {
      throw new UsageError(`--provider: ${(err as Error).message}`);
    }
  }
  const { state, budgetTokens, overrideDir, trajectoryMode } = await readStateArgs(values, io);
  const built = buildIdeatorPrompt(state, { budgetTokens, overrideDir, trajectoryMode });
  const cost = promptCost(built, priceFor(spec.kind, spec.model, spec.baseUrl, override));
  if (values.json) {
    printJson(io, { ...built, cost });
    return 0;
  }
  for (const m of built.messages) io.stdout.write(`===== ${m.role} =====\n${m.content}\n`);
  log(io, `ideator prompt: ${trajectoryMode} trajectory, ${promptCostLine(cost)}`);
  return 0;
});
