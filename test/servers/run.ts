/**
 * Starts one scripted server for another process (the VS Code e2e, the benchmark, a shell):
 *
 *   node --import tsx test/servers/run.ts openai|anthropic|ideate --script FILE.json [--models a,b]
 *        [--api-key KEY] [--error-shape openai|vllm-flat|ollama] [--token TOKEN] [--log FILE.jsonl]
 *
 * Prints one JSON line {"url": "..."} on stdout once listening, then serves until SIGTERM / SIGINT. FILE.json is
 * a JSON array of scripted replies (shapes in README.md); reply n answers request n, the last one repeats.
 * --log appends each request body as one JSON line, so the caller can check what was sent.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseFlags, UsageError } from '../../server/src/commands/common';
import { AnthropicScriptSchema, startAnthropicServer } from './anthropic';
import { IdeateScriptSchema, startIdeateServer } from './ideate';
import { ErrorShapeSchema, ScriptSchema, startOpenAIServer } from './openai';

const USAGE = 'usage: run.ts openai|anthropic|ideate --script FILE.json [--models a,b] [--api-key KEY] [--error-shape openai|vllm-flat|ollama] [--ignore-n] [--token TOKEN] [--log FILE.jsonl]';

function readScript<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read script ${file}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`script ${file} is not a list of scripted replies: at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Turns a script into a responder that also logs each request. */
function responder<Req, Reply>(script: Reply[], log: string | undefined) {
  return (req: Req, n: number): Reply => {
    if (log) appendFileSync(log, `${JSON.stringify({ n, request: req })}\n`);
    return script[Math.min(n, script.length - 1)];
  };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(
    argv,
    {
      script: { type: 'string' },
      models: { type: 'string' },
      'api-key': { type: 'string' },
      'error-shape': { type: 'string' },
      token: { type: 'string' },
      log: { type: 'string' },
      'ignore-n': { type: 'boolean' },
    },
    true,
  );
  const kind = positionals[0];
  if (positionals.length !== 1 || !values.script) throw new UsageError(USAGE);
  const models = values.models ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : undefined;

  const shape = values['error-shape'] === undefined ? undefined : ErrorShapeSchema.safeParse(values['error-shape']);
  if (shape && !shape.success) throw new UsageError(`--error-shape must be one of ${ErrorShapeSchema.options.join(', ')}`);
  let server: { url: string; close(): Promise<void> };
  if (kind === 'openai') {
    const script = readScript(values.script, ScriptSchema);
    if (script.length === 0) throw new UsageError('the script has no replies');
    server = await startOpenAIServer({ responses: responder(script, values.log), models, apiKey: values['api-key'], errorShape: shape?.data, ignoreN: values['ignore-n'] === true });
  } else if (kind === 'anthropic') {
    const script = readScript(values.script, AnthropicScriptSchema);
    if (script.length === 0) throw new UsageError('the script has no replies');
    server = await startAnthropicServer({ responses: responder(script, values.log), models, apiKey: values['api-key'] });
  } else if (kind === 'ideate') {
    const script = readScript(values.script, IdeateScriptSchema);
    if (script.length === 0) throw new UsageError('the script has no replies');
    server = await startIdeateServer({ responses: responder(script, values.log), token: values.token });
  } else {
    throw new UsageError(`unknown server kind '${kind}'\n${USAGE}`);
  }

  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof UsageError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(2);
});
