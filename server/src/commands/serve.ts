/**
 * `ideator serve` — the reward service: HTTP API + SQLite store + in-process worker pool. Prints one JSON line
 * `{"url": …, "port": …, "pid": …}` on stdout once listening (with --json), and a human line on stderr. SIGINT /
 * SIGTERM stop it cleanly: running ideas are aborted and handed back to the queue for the next start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BODY_LIMIT, buildApp } from '../http/app';
import { isLoopback } from '../http/auth';
import { providerFromFlag, RUNTIME_HELP, runtimeConfigFromFlags, runtimeFlags } from './runtimeFlags';
import { createRuntime } from '../queue/runtime';
import { packageRoot } from '../tasks/python';
import { defineCommand, log, untilStopSignal, UsageError } from './common';

const HELP = `usage: ideator serve [--host 127.0.0.1] [--port 8787] [options]
  --host H              bind address (default 127.0.0.1; any other needs env IDEATOR_SERVER_TOKEN)
  --port N              port (default 8787; 0 = any free port)
  --body-limit-mb N     largest request body (default 16)
  --ideator SPEC        Ideator behind POST /v1/ideate: KIND[:MODEL][@URL], or ProviderConfig JSON (inline or file)
  --json                print {"url","port","pid"} on stdout once listening
${RUNTIME_HELP}
Env: IDEATOR_SERVER_TOKEN (bearer token; required beyond loopback), IDEATOR_PYTHON, provider API keys.`;

export function packageVersion(): string {
  try {
    const root = packageRoot();
    return root ? (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const FLAGS = {
  ...runtimeFlags,
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8787' },
  'body-limit-mb': { type: 'string' },
  ideator: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got '${values.port}'`);
  const host = values.host;
  const token = process.env.IDEATOR_SERVER_TOKEN?.trim() || undefined;
  if (!isLoopback(host) && !token) {
    throw new UsageError(`binding to ${host} (beyond loopback) requires a bearer token: set IDEATOR_SERVER_TOKEN`);
  }
  const bodyMb = values['body-limit-mb'] !== undefined ? Number(values['body-limit-mb']) : undefined;
  if (bodyMb !== undefined && !(bodyMb > 0)) throw new UsageError(`--body-limit-mb must be > 0`);
  const say = (m: string) => log(io, `ideator serve: ${m}`);
  const ideator = providerFromFlag(values.ideator, 'ideator');
  const runtime = createRuntime({
    ...runtimeConfigFromFlags(values, say),
    // One line per finished idea: enough to follow a training run's reward phase from the server's log.
    onComplete: (work, o) =>
      say(`idea ${work.key.slice(0, 10)}: ${o.status} reward ${o.reward} (${o.scoreBefore ?? '—'} → ${o.scoreAfter ?? '—'}, ${(o.durationMs / 1000).toFixed(1)} s${work.attempts > 1 ? `, attempt ${work.attempts}` : ''})`),
  });
  const app = await buildApp({
    runtime,
    token,
    bodyLimitBytes: bodyMb !== undefined ? Math.round(bodyMb * 1024 * 1024) : DEFAULT_BODY_LIMIT,
    version: packageVersion(),
    ideator,
    log: say,
  });
  await app.listen({ host, port });
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  runtime.pool?.start();
  const iso = runtime.isolation;
  say(
    `listening on ${url} — ${runtime.pool?.size ?? 0} slot(s), isolation ${iso.mode} (network ${iso.network ? 'off' : 'ON'}, ` +
      `fs ${iso.filesystem ? 'confined' : 'NOT confined'}), store ${runtime.store.path}${token ? ', token required' : ''}`,
  );
  if (values.json) io.stdout.write(JSON.stringify({ url, port: boundPort, pid: process.pid }) + '\n');

  await untilStopSignal(() => say('stopping'));
  await app.close();
  await runtime.close();
  return 0;
});
