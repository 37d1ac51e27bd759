/**
 * `ideator serve` — the reward service: HTTP API + SQLite store + in-process worker pool. Prints one JSON line
 * `{"url": …, "port": …, "pid": …}` on stdout once listening (with --json), and a human line on stderr. SIGINT /
 * SIGTERM stop it cleanly: running ideas are aborted and handed back to the queue for the next start.
 *
 * With `--redis URL` (scale-out) the server runs nothing itself: it hands ideas to `ideator worker --redis`
 * processes on any number of machines through BullMQ and records their results (queue/redis/dispatcher.ts);
 * SQLite stays the one record. bullmq and ioredis are loaded only in that mode.
 */
import { DEFAULT_BODY_LIMIT, buildApp } from '../http/app';
import { isLoopback } from '../http/auth';
import { providerFromFlag, redisUrlFrom, RUNTIME_HELP, runtimeConfigFromFlags, runtimeFlags } from './runtimeFlags';
import { createRuntime, DEFAULT_MAX_TIMEOUT_SEC } from '../queue/runtime';
import type { IdeaOutcome, QueueOrder } from '../jobs/store';
import type { Dispatcher } from '../queue/redis/dispatcher';
import { redactRedisUrl } from '../queue/redis/protocol';
import { packageVersion } from './packageVersion';
import { defineCommand, log, untilStopSignal, UsageError } from './common';
import { readTrajectoryFlag } from './stateArgs';
import { parseDataRoots } from '../verify/remote';

export { packageVersion };

const HELP = `usage: ideator serve [--host 127.0.0.1] [--port 8787] [options]
  --host H              bind address (default 127.0.0.1; any other needs env IDEATOR_SERVER_TOKEN)
  --port N              port (default 8787; 0 = any free port)
  --body-limit-mb N     largest request body (default 16)
  --ideator SPEC        Ideator behind POST /v1/ideate: KIND[:MODEL][@URL], or ProviderConfig JSON (inline or file)
  --trajectory MODE     how /v1/ideate renders a state's trajectory when the request's trajectoryMode does not say:
                        compact (default: no progress bars, repeats or superseded code; every value, error, final code
                        kept) or full
  --json                print {"url","port","pid"} on stdout once listening
  --queue-order O       which waiting idea runs next: longest-first (default: by expected run time, learned per state
                        and per task; unknown first) or fifo (submission order)
  --max-queued N        queue-depth limit: a request that would take the ideas waiting to run past N is answered
                        429 with Retry-After (the VeRL bridge waits and retries); default 10000, 0 = no limit
  --redis URL           scale-out: queue ideas on Redis (redis://HOST:PORT[/DB], rediss:// for TLS) for
                        \`ideator worker --redis URL --server URL\` processes on any machine; this server then runs
                        nothing itself (no --slots / --gpus) and stays the one record of jobs and results
  --data-root NAME=PATH a data folder workspace verifications may bind read-only (repeatable): \`ideator verify
                        --server URL --data-root NAME\` binds the workspace's data paths from PATH at the same relative
                        paths (PATH mirrors the workspace's data: a local server can take the workspace folder itself)
${RUNTIME_HELP}
Env: IDEATOR_SERVER_TOKEN (bearer token; required beyond loopback), IDEATOR_PYTHON, IDEATOR_REDIS_URL (default of
--redis, keeps a password off the command line), provider API keys.`;

const FLAGS = {
  ...runtimeFlags,
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8787' },
  'body-limit-mb': { type: 'string' },
  ideator: { type: 'string' },
  trajectory: { type: 'string' },
  json: { type: 'boolean' },
  redis: { type: 'string' },
  'max-queued': { type: 'string' },
  'queue-order': { type: 'string' },
  'data-root': { type: 'string', multiple: true },
} as const;

function isQueueOrder(v: string): v is QueueOrder {
  return v === 'longest-first' || v === 'fifo';
}

/** Default of --max-queued: far above a trainer's batch (1,000 states × G = 8), low enough to stop a runaway client. */
export const DEFAULT_MAX_QUEUED = 10_000;


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
  const trajectoryMode = readTrajectoryFlag(values.trajectory);
  const redisUrl = redisUrlFrom(values.redis);
  const maxQueued = values['max-queued'] !== undefined ? Number(values['max-queued']) : DEFAULT_MAX_QUEUED;
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new UsageError(`--max-queued must be a whole number ≥ 0, got '${values['max-queued']}'`);
  const queueOrder = values['queue-order'] ?? 'longest-first';
  if (!isQueueOrder(queueOrder)) throw new UsageError(`--queue-order must be longest-first or fifo, got '${queueOrder}'`);
  let dataRoots: Map<string, string>;
  try {
    dataRoots = parseDataRoots(values['data-root'] ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const config = { ...runtimeConfigFromFlags(values, say), maxQueued, queueOrder };
  if (redisUrl && ((config.slots ?? 0) > 0 || config.gpus?.length)) {
    throw new UsageError('with --redis this server runs nothing itself: drop --slots / --gpus and start `ideator worker --redis URL --server URL` where the slots are');
  }
  // One line per finished idea: enough to follow a training run's reward phase from the server's log.
  const logIdea = (work: { key: string; attempts: number }, o: IdeaOutcome) =>
    say(`idea ${work.key.slice(0, 10)}: ${o.status} reward ${o.reward} (${o.scoreBefore ?? '—'} → ${o.scoreAfter ?? '—'}, ${(o.durationMs / 1000).toFixed(1)} s${work.attempts > 1 ? `, attempt ${work.attempts}` : ''})`);
  const runtime = createRuntime({ ...config, ...(redisUrl ? { slots: 0 } : {}), onComplete: logIdea });
  let dispatcher: Dispatcher | undefined;
  if (redisUrl) {
    const { Dispatcher } = await import('../queue/redis/dispatcher');
    dispatcher = new Dispatcher({
      store: runtime.store,
      redisUrl,
      policy: { baseline: config.baseline ?? 'measure', defaultTimeoutSec: config.defaultTimeoutSec, maxTimeoutSec: config.maxTimeoutSec ?? DEFAULT_MAX_TIMEOUT_SEC },
      leaseMs: config.leaseMs,
      pollMs: config.pollMs,
      log: say,
      taskHash: async (task) => (await runtime.bundles.get(task)).hash,
      taskBaselineSeeds: async (task) => (await runtime.catalog.load(task)).baselineSeeds,
      onComplete: (work, o) => {
        runtime.metrics.observeIdea(o.status, o.durationMs);
        logIdea(work, o);
      },
    });
    runtime.cluster = dispatcher;
  }
  const app = await buildApp({
    runtime,
    token,
    bodyLimitBytes: bodyMb !== undefined ? Math.round(bodyMb * 1024 * 1024) : DEFAULT_BODY_LIMIT,
    version: packageVersion(),
    ideator,
    trajectoryMode,
    log: say,
    dataRoots,
  });
  await app.listen({ host, port });
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  runtime.pool?.start();
  dispatcher?.start();
  const iso = runtime.isolation;
  const execution = redisUrl ? `ideas to remote workers through ${redactRedisUrl(redisUrl)}` : `${runtime.pool?.size ?? 0} slot(s), isolation ${iso.mode} (network ${iso.network ? 'off' : 'ON'}, fs ${iso.filesystem ? 'confined' : 'NOT confined'})`;
  say(`listening on ${url} — ${execution}, store ${runtime.store.path}${token ? ', token required' : ''}${dataRoots.size ? `, data roots: ${[...dataRoots.keys()].join(', ')}` : ''}`);
  if (values.json) io.stdout.write(JSON.stringify({ url, port: boundPort, pid: process.pid }) + '\n');

  await untilStopSignal(() => say('stopping'));
  await app.close();
  await dispatcher?.stop();
  await runtime.close();
  return 0;
});
