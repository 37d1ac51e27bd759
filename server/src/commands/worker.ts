/**
 * `ideator worker` — executes reward ideas for an `ideator serve`, in one of two ways:
 * - embedded (default): a standalone worker pool on the same SQLite store (same machine, same --data-dir). Run
 *   `ideator serve --slots 0` to accept jobs and any number of workers to execute them; a worker killed mid-run
 *   loses nothing: its leases expire (or its death is noticed) and another worker resumes the ideas.
 * - scale-out (`--redis URL --server URL`): on any machine, takes ideas from the Redis queue of an
 *   `ideator serve --redis URL` and sends results back through it (queue/redis/remoteWorker.ts). Tasks come from
 *   the server as hash-checked bundles (GET /v1/tasks/:id/bundle), cached in <data-dir>/task-cache.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { redisUrlFrom, RUNTIME_HELP, runtimeConfigFromFlags, runtimeFlags } from './runtimeFlags';
import { createEvalHost, createRuntime } from '../queue/runtime';
import { makeSlots } from '../queue/workerPool';
import { packageVersion } from './packageVersion';
import { defineCommand, log, untilStopSignal, UsageError, type CliIO } from './common';

const HELP = `usage: ideator worker --data-dir DIR [options]
       ideator worker --redis URL --server URL [--slots N | --gpus 0,1,…] [options]
Executes queued reward ideas until SIGINT/SIGTERM: from the store in DIR (the folder \`ideator serve --data-dir\`
uses, same machine), or, with --redis, from the Redis queue of an \`ideator serve --redis\` on any machine.
  --redis URL           take ideas from this Redis (redis://HOST:PORT[/DB]; env IDEATOR_REDIS_URL) and send results
                        back through it; --data-dir then only holds this worker's run folders and task cache
                        (default ./.ideator/worker). Tasks come from --server as bundles checked against their
                        sha256 and cached in <data-dir>/task-cache (the 16 most recently used)
  --server URL          the \`ideator serve --redis\` this worker works for (required with --redis)
  --json                print {"pid","owner","slots"} on stdout once running
${RUNTIME_HELP}`;

const FLAGS = { ...runtimeFlags, json: { type: 'boolean' }, redis: { type: 'string' }, server: { type: 'string' } } as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  const say = (m: string) => log(io, `ideator worker: ${m}`);
  const redisUrl = redisUrlFrom(values.redis);
  if (redisUrl) return remoteWorker(values, redisUrl, io, say);
  if (values.server) throw new UsageError('--server goes with --redis (a worker on the same store needs only --data-dir)');
  if (!values['data-dir']) throw new UsageError('--data-dir is required (the folder `ideator serve --data-dir` uses), or --redis URL --server URL');
  const config = runtimeConfigFromFlags(values, say);
  if (config.slots === 0) throw new UsageError('--slots must be at least 1 for a worker');
  const runtime = createRuntime({ ...config, ownerLabel: 'worker' });
  const pool = runtime.pool!;
  pool.start();
  say(`running ${pool.size} slot(s) on ${runtime.store.path} as ${pool.owner}, isolation ${runtime.isolation.mode}`);
  if (values.json) io.stdout.write(JSON.stringify({ pid: process.pid, owner: pool.owner, slots: pool.size }) + '\n');
  await untilStopSignal(() => say('stopping (running ideas go back to the queue)'));
  await runtime.close();
  return 0;
});

async function remoteWorker(
  values: Record<string, unknown>,
  redisUrl: string,
  io: CliIO,
  say: (m: string) => void,
): Promise<number> {
  const server = values.server as string | undefined;
  if (!server) throw new UsageError('--server URL is required with --redis (the `ideator serve --redis` this worker works for)');
  if (!/^https?:\/\/[^/\s]+/.test(server)) throw new UsageError(`--server must be an http(s) URL, got '${server}'`);
  const config = runtimeConfigFromFlags({ ...values, 'data-dir': values['data-dir'] ?? join(process.cwd(), '.ideator', 'worker') }, say);
  if (config.slots === 0) throw new UsageError('--slots must be at least 1 for a worker');
  const host = createEvalHost(config);
  const slots = makeSlots({ slots: config.slots, gpus: host.gpus, cpus: cpus().length });
  const { RemoteWorker } = await import('../queue/redis/remoteWorker');
  const { redactRedisUrl } = await import('../queue/redis/protocol');
  const { TaskCache } = await import('../queue/redis/taskCache');
  const version = packageVersion();
  const serverUrl = server.replace(/\/+$/, '');
  const tasks = new TaskCache({ dir: join(host.dataDir, 'task-cache'), serverUrl, token: process.env.IDEATOR_SERVER_TOKEN?.trim() || undefined, log: say });
  const worker = new RemoteWorker({
    env: host.env,
    slots,
    gpus: host.gpus ?? [],
    redisUrl,
    serverUrl,
    tasks,
    version,
    leaseMs: config.leaseMs,
    maxAttempts: config.maxAttempts,
    log: say,
  });
  worker.start();
  say(`running ${worker.size} slot(s) for ${server} through ${redactRedisUrl(redisUrl)} as ${worker.id}, isolation ${host.isolation.mode}`);
  if (values.json) io.stdout.write(JSON.stringify({ pid: process.pid, owner: worker.id, slots: worker.size }) + '\n');
  void checkServer(server, version, say);
  await untilStopSignal(() => say('stopping (running ideas go back to the queue)'));
  await worker.stop();
  return 0;
}

/** One look at the server (its version); never fatal: results travel through Redis, the server may be restarting. */
async function checkServer(server: string, version: string, say: (m: string) => void): Promise<void> {
  const token = process.env.IDEATOR_SERVER_TOKEN?.trim();
  try {
    const res = await fetch(`${server.replace(/\/+$/, '')}/healthz`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) return say(`server ${server}: /healthz answered ${res.status}`);
    const h = (await res.json()) as { version?: string };
    if (h.version && h.version !== version) say(`WARNING: server ${server} is version ${h.version}, this worker ${version}`);
  } catch (err) {
    say(`server ${server} not reachable now (${(err as Error).message}); going on: ideas and results travel through Redis`);
  }
}
