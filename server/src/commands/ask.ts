/**
 * `ideator ask --state STATE.json [--provider P] [--base-url U] [--model M]` — asks an Ideator, streams its tokens to
 * stderr, prints the parsed idea as JSON on stdout. Ctrl+C cancels the request (exit 130).
 */
import { askForIdeas, MAX_IDEA_COUNT } from '../../../src/core/askMany';
import { parseIdea } from '../../../src/core/idea';
import { buildIdeatorPrompt, parsePriceFlag, priceFor, promptCost, promptCostLine, usageLine, type ModelPrice } from '../../../src/core/promptCost';
import { ProviderKindSchema } from '../../../src/core/protocol';
import { createProvider, describeProviderError, ProviderConfigSchema } from '../../../src/core/providers/index';
import { looksLikeSpec, parseProviderSpec } from '../../../src/core/providers/spec';
import { ProviderError } from '../../../src/core/providers/types';
import { defineCommand, log, printJson, UsageError } from './common';
import { readStateArgs, stateOptions } from './stateArgs';

const HELP = `usage: ideator ask --state STATE.json [--provider KIND[:MODEL][@URL]]  (KIND: anthropic|openai|server|template-null|template-vague)
                   [--base-url URL] [--model MODEL] [--thinking | --no-thinking] [--timeout-ms N]
                   [--trajectory full|compact] [--budget TOKENS] [--prompts OVERRIDE_DIR] [--price IN,OUT[,CACHED]] [--n N] [--quiet]
--provider defaults to template-vague (no model: the paper's VAGUE ablation), with a note on stderr.
Keys come from the environment only: ANTHROPIC_API_KEY, OPENAI_API_KEY, IDEATOR_SERVER_TOKEN.
--trajectory compact (default) or full: see 'ideator prompt --help'. Before asking, stderr says the prompt's tokens,
cacheable tokens and price; after, the usage the provider reported (--price: dollars per million tokens).
Prints {ok, analysis, action, rationale, codeBlocks, errors, thinking?, raw, model, usage, query, cost} on stdout.
--n N (1..${MAX_IDEA_COUNT}) asks for N ideas: one request with n on an OpenAI-compatible server (parallel ones when it
ignores n), N requests sharing a cached prompt on Anthropic, parallel ones elsewhere; near-duplicates are dropped;
prints a JSON array of the ideas above, each with its answer's index (0-based), and a summary on stderr.`;

const FLAGS = {
  ...stateOptions,
  provider: { type: 'string' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  thinking: { type: 'boolean' },
  'no-thinking': { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  n: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  price: { type: 'string' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  // Without --provider the answer comes from the VAGUE template (works with no key or server); say so, or a user
  // would take its content-free advice for a model's.
  if (values.provider === undefined) {
    log(io, "ideator ask: no --provider given: answering with template-vague (the paper's VAGUE ablation, no model); use --provider anthropic|openai|server for a real Ideator");
  }
  // --provider takes the one provider spelling, KIND[:MODEL][@URL]; --model and --base-url fill the parts it leaves out.
  if (values.provider !== undefined && !looksLikeSpec(values.provider)) {
    throw new UsageError(`--provider must be one of ${ProviderKindSchema.options.join(', ')} (as KIND[:MODEL][@URL]), got '${values.provider}'`);
  }
  let spec;
  try {
    spec = parseProviderSpec(values.provider ?? 'template-vague', false);
  } catch (err) {
    throw new UsageError(`--provider: ${(err as Error).message}`);
  }
  if (spec.kind === 'none') throw new UsageError("--provider none has no answers to give");
  for (const [part, flag] of [['model', '--model'], ['baseUrl', '--base-url']] as const) {
    if (spec[part] !== undefined && values[flag.slice(2) as 'model' | 'base-url'] !== undefined) {
      throw new UsageError(`the ${part === 'model' ? 'model' : 'base URL'} is given twice: in --provider ${values.provider} and in ${flag}; give it once`);
    }
  }
  const configResult = ProviderConfigSchema.safeParse({
    kind: spec.kind,
    baseUrl: spec.baseUrl ?? values['base-url'],
    model: spec.model ?? values.model,
    thinking: values['no-thinking'] ? false : values.thinking,
    timeoutMs: values['timeout-ms'] !== undefined ? Number(values['timeout-ms']) : undefined,
  });
  if (!configResult.success) {
    const issue = configResult.error.issues[0];
    // Name the flag the user typed, not the config field behind it.
    const flag = { baseUrl: '--base-url', model: '--model', timeoutMs: '--timeout-ms', thinking: '--thinking' }[String(issue.path[0])];
    if (flag === '--timeout-ms') throw new UsageError(`--timeout-ms must be a whole number of milliseconds (1 to 3600000), got '${values['timeout-ms']}'`);
    throw new UsageError(`invalid ${flag ?? issue.path.join('.')}: ${issue.message}`);
  }
  let override: ModelPrice | undefined;
  try {
    override = values.price !== undefined ? parsePriceFlag(values.price) : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const count = values.n === undefined ? 1 : Number(values.n);
  if (!Number.isInteger(count) || count < 1 || count > MAX_IDEA_COUNT) throw new UsageError(`--n must be a whole number from 1 to ${MAX_IDEA_COUNT}, got '${values.n}'`);
  const { state, budgetTokens, overrideDir, trajectoryMode } = await readStateArgs(values, io);
  const prompt = buildIdeatorPrompt(state, { budgetTokens, overrideDir, trajectoryMode });
  const { messages, query } = prompt;
  const price = priceFor(configResult.data.kind, configResult.data.model, configResult.data.baseUrl, override);
  const cost = promptCost(prompt, price);

  let provider;
  try {
    // Errors name the flags the user can change, not the config fields behind them.
    provider = createProvider(configResult.data, {}, process.env, {
      names: { model: '--model (or MODEL in --provider KIND:MODEL@URL)', baseUrl: '--base-url (or @URL in --provider)', timeoutMs: '--timeout-ms' },
    });
  } catch (err) {
    throw new UsageError(describeProviderError(err));
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  if (!values.quiet) log(io, `asking ${provider.label} (${trajectoryMode} trajectory, ${promptCostLine(cost)}) …`);
  try {
    if (count > 1) {
      const r = await askForIdeas(provider, state, count, {
        signal: controller.signal,
        prompt: { messages, query },
        onProgress: (e) => {
          if (values.quiet) return;
          if (e.kind === 'answer') log(io, `answer ${e.index + 1} of ${count} in (${e.done}/${count})`);
          else if (e.kind === 'failed') log(io, `answer ${e.index + 1} of ${count} failed: ${e.message}`);
          else if (e.kind === 'note') log(io, `note: ${e.message}`);
        },
      });
      if (!values.quiet) {
        log(io, `${r.ideas.length} distinct idea${r.ideas.length === 1 ? '' : 's'} of ${count} asked (${r.mode}, ${r.requests} request${r.requests === 1 ? '' : 's'})`);
        log(io, `reported usage, all requests: ${usageLine(r.usage, price, configResult.data.kind)}`);
      }
      printJson(
        io,
        r.ideas.map((a) => ({ ...a.idea, raw: a.completion.text, model: a.completion.model, usage: a.completion.usage, query: r.query, cost, index: a.index })),
      );
      return 0;
    }
    const completion = await provider.complete(messages, {
      signal: controller.signal,
      onToken: values.quiet ? undefined : (delta) => io.stderr.write(delta),
    });
    if (!values.quiet) io.stderr.write('\n');
    if (!values.quiet && completion.usage) log(io, `reported usage: ${usageLine(completion.usage, price, configResult.data.kind)}`);
    const idea = parseIdea(completion.text);
    printJson(io, {
      ...idea,
      thinking: idea.thinking ?? completion.thinking,
      raw: completion.text,
      model: completion.model,
      usage: completion.usage,
      query,
      cost,
    });
    return 0;
  } catch (err) {
    if (err instanceof ProviderError && err.kind === 'aborted') {
      log(io, '\nideator ask: cancelled');
      return 130;
    }
    if (err instanceof ProviderError) {
      log(io, `ideator ask: ${describeProviderError(err)}`);
      return 1;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
});
