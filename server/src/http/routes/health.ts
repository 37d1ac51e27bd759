/** GET /healthz (liveness + what isolation the sandbox has) and GET /metrics (Prometheus text). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Runtime } from '../../queue/runtime';

export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeSec: z.number(),
  isolation: z.object({
    mode: z.string(),
    network: z.boolean().describe('runs have no network (empty network namespace)'),
    filesystem: z.boolean().describe('runs cannot write outside their workdir (read-only mount namespace)'),
    pid: z.boolean().describe('runs live in their own pid namespace (killing one kills its whole tree)'),
    parentDeath: z.boolean(),
    dropToNobody: z.boolean().optional().describe('without a mount namespace, runs execute as uid 65534'),
    notes: z.array(z.string()),
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
  r.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format 0.0.4)', produces: ['text/plain'], response: { 200: z.string() } } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(rt.metrics.render(rt.store, rt.pool)),
  );
}
