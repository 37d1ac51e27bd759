/** GET /healthz (liveness + what isolation the sandbox has) and GET /metrics (Prometheus text). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Runtime } from '../../queue/runtime';

export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeSec: z.number(),
  isolation: z
    .object({
      mode: z.enum(['bubblewrap', 'none']).describe('bubblewrap: every run is sandboxed; none: runs are NOT isolated'),
      bwrapVersion: z.string().optional(),
      network: z.boolean().describe('runs have no network (their own network namespace)'),
      filesystem: z.boolean().describe('runs see only read-only binds and their own workdir'),
      pid: z.boolean().describe('runs live in their own pid namespace (the whole tree dies with the run)'),
      parentDeath: z.boolean(),
      unprivileged: z.boolean().describe('uid 65534, no capabilities, no_new_privs'),
      noUserNamespaces: z.boolean(),
      seccomp: z.boolean(),
      limits: z.object({
        processes: z.enum(['cgroup-v1', 'cgroup-v2', 'rlimit', 'none']),
        memory: z.enum(['cgroup-v1', 'cgroup-v2', 'rlimit', 'none']),
        cpu: z.enum(['cgroup-v1', 'cgroup-v2', 'rlimit', 'none']),
        disk: z.enum(['tmpfs', 'rlimit-per-file', 'none']),
        wallTime: z.literal(true),
        output: z.literal(true),
      }),
      minimumMet: z.boolean().describe('everything the reward service requires is enforced'),
      missing: z.array(z.string()),
      notes: z.array(z.string()),
    })
    .describe('what the sandbox enforces on this host (see SECURITY.md)'),
  runLimits: z.object({
    timeoutSecDefault: z.number(),
    maxTimeoutSec: z.number(),
    memoryMb: z.number(),
    maxProcesses: z.number(),
    diskMb: z.number(),
    maxOutputBytes: z.number(),
  }),
  slots: z.number().int(),
  busy: z.number().int(),
  gpus: z.array(z.string()),
  memoryCapMb: z.number(),
  python: z.string(),
  tasks: z.array(z.string()),
  queue: z.object({ queued: z.number().int(), running: z.number().int(), done: z.number().int(), jobs: z.number().int() }),
  implementer: z.boolean().describe('an implementer model is configured (else only ideas carrying code can run)'),
  baseline: z.enum(['measure', 'state']).describe('how p_t of task-graded states is obtained'),
  ideator: z.boolean().describe('POST /v1/ideate is available'),
});

export function healthRoutes(app: FastifyInstance, rt: Runtime, extra: { version: string; ideator: boolean; taskIds: () => string[] }): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const started = Date.now();
  r.get('/healthz', { schema: { summary: 'Liveness, sandbox isolation and queue state', response: { 200: HealthSchema } } }, async () => ({
    status: 'ok' as const,
    version: extra.version,
    uptimeSec: Math.round((Date.now() - started) / 1000),
    isolation: rt.isolation,
    runLimits: {
      timeoutSecDefault: rt.env.defaultTimeoutSec ?? rt.env.limits.timeoutMs / 1000,
      maxTimeoutSec: rt.env.maxTimeoutSec ?? rt.env.limits.timeoutMs / 1000,
      memoryMb: rt.env.limits.memoryMb,
      maxProcesses: rt.env.limits.maxProcesses,
      diskMb: rt.env.limits.diskMb,
      maxOutputBytes: rt.env.limits.maxOutputBytes,
    },
    slots: rt.pool?.size ?? 0,
    busy: rt.pool?.busy ?? 0,
    gpus: rt.config.gpus ?? [],
    memoryCapMb: rt.env.limits.memoryMb,
    python: rt.python,
    tasks: extra.taskIds(),
    queue: rt.store.counts(),
    implementer: rt.env.implementer !== undefined,
    baseline: rt.env.baselines?.mode ?? 'state',
    ideator: extra.ideator,
  }));
  r.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format 0.0.4)', produces: ['text/plain'], response: { 200: z.string() } } }, async (_request, reply) => {
    const cluster = rt.cluster ? await rt.cluster.snapshot() : undefined;
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(rt.metrics.render(rt.store, rt.pool, cluster, rt.env.runShare?.shared ?? 0));
  });
}
