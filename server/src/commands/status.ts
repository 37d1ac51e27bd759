/**
 * `ideator status [--server URL] [--json]` — a running reward service at a glance: the queue (waiting, running, the
 * oldest waiting idea), ideas finished in the last hour, slots in use, and each worker with its slots and GPUs
 * (remote workers from their heartbeats with --redis). Reads GET /v1/status; token from IDEATOR_SERVER_TOKEN.
 */
import { StatusSchema, type Status } from '../http/routes/status';
import { defineCommand, printJson, UsageError } from './common';

const HELP = `usage: ideator status [--server URL] [--json]
Shows a running 'ideator serve': queue depth, the oldest waiting idea, ideas finished in the last hour, slots in
use, and its workers (with --redis: every live remote worker, its slots, busy slots and GPU ids).
  --server URL          the server (default http://127.0.0.1:8787; token: env IDEATOR_SERVER_TOKEN)
  --json                print the status document (GET /v1/status) instead of the table`;

const FLAGS = { server: { type: 'string', default: 'http://127.0.0.1:8787' }, json: { type: 'boolean' } } as const;

function age(sec: number | null): string {
  if (sec === null) return '—';
  if (sec < 120) return `${sec} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

export function renderStatus(s: Status, server: string): string {
  const q = s.queue;
  const lines = [
    `server      ${server} (${s.mode === 'redis' ? `scale-out on Redis${s.redisUp === false ? ', REDIS DOWN' : ''}` : 'embedded'})`,
    `queue       ${q.queued} waiting${q.maxQueued ? ` (limit ${q.maxQueued})` : ''}, ${q.running} running, ${q.done} done, ${q.jobs} jobs`,
    `oldest      ${q.queued ? `waiting for ${age(q.oldestWaitingSec)}` : 'nothing waits'}`,
    `last hour   ${s.runsLastHour} idea(s) ran`,
    `slots       ${s.slots.busy} of ${s.slots.total} busy`,
  ];
  if (!s.workers.length) lines.push(`workers     none${s.mode === 'redis' ? ' (start `ideator worker --redis URL --server URL`)' : ''}`);
  else {
    lines.push('workers');
    const rows = s.workers.map((w) => [w.id, `${w.host}:${w.pid}`, `${w.busy}/${w.slots}`, w.gpus.length ? w.gpus.join(',') : 'cpu', s.mode === 'redis' ? `${w.lastSeenSec} s ago` : 'this server']);
    const head = ['id', 'host:pid', 'busy', 'gpus', 'seen'];
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows]) lines.push(`  ${r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()}`);
  }
  return lines.join('\n') + '\n';
}

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  const base = values.server.replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(base)) throw new UsageError(`--server must be an http:// or https:// URL, got '${values.server}'`);
  const token = process.env.IDEATOR_SERVER_TOKEN?.trim();
  let res: Response;
  try {
    res = await fetch(`${base}/v1/status`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new UsageError(`cannot reach ${base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message} (is 'ideator serve' running there?)`);
  }
  const text = await res.text();
  if (res.status === 401) throw new UsageError(`${base} wants a bearer token: set IDEATOR_SERVER_TOKEN`);
  if (!res.ok) throw new UsageError(`${base}/v1/status answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  let status: Status;
  try {
    status = StatusSchema.parse(JSON.parse(text));
  } catch {
    throw new UsageError(`${base}/v1/status did not answer a status document (an older server, or not an ideator server?)`);
  }
  if (values.json) printJson(io, status);
  else io.stdout.write(renderStatus(status, base));
  return 0;
});
