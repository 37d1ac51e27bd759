/**
 * `ideator worker` — a standalone worker pool on the same SQLite store as `ideator serve` (same machine, same
 * --data-dir). Run `ideator serve --slots 0` to accept jobs and any number of workers to execute them; a worker
 * killed mid-run loses nothing: its leases expire (or its death is noticed) and another worker resumes the ideas.
 */
import { RUNTIME_HELP, runtimeConfigFromFlags, runtimeFlags } from './runtimeFlags';
import { createRuntime } from '../queue/runtime';
import { defineCommand, log, untilStopSignal, UsageError } from './common';

const HELP = `usage: ideator worker --data-dir DIR [options]
Executes queued reward ideas from the store in DIR until SIGINT/SIGTERM.
  --json                print {"pid","owner","slots"} on stdout once running
${RUNTIME_HELP}`;

const FLAGS = { ...runtimeFlags, json: { type: 'boolean' } } as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  if (!values['data-dir']) throw new UsageError('--data-dir is required (the folder `ideator serve --data-dir` uses)');
  const say = (m: string) => log(io, `ideator worker: ${m}`);
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
