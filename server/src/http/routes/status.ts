/**
 * GET /v1/status — what `ideator status` prints: the queue (waiting, running, done, the oldest waiting idea's age),
 * ideas finished in the last hour, and who runs them: this server's own slots, or (with --redis) every live
 * remote worker from its heartbeat, with its slots, busy slots and GPU ids.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { Runtime } from '../../queue/runtime';
import { ErrorBodySchema } from '../errors';

export const StatusSchema = z.object({
  mode: z.enum(['embedded', 'redis']).describe('embedded: this server (and `ideator worker`s on its store) run ideas; redis: remote workers do'),
  redisUp: z.boolean().optional(),
  queue: z.object({
    queued: z.number().describe('ideas waiting to run'),
    running: z.number(),
    done: z.number(),
    jobs: z.number(),
    oldestWaitingSec: z.number().nullable().describe('age of the oldest waiting idea; null when none waits'),
    maxQueued: z.number().describe('the 429 limit (0 = none)'),
  }),
  runsLastHour: z.number().describe('ideas that ran and finished in the last hour'),
  slots: z.object({ total: z.number(), busy: z.number() }),
  workers: z.array(
    z.object({
      id: z.string(),
      host: z.string(),
      pid: z.number(),
      slots: z.number(),
      busy: z.number(),
      gpus: z.array(z.string()),
      lastSeenSec: z.number().describe('seconds since its last heartbeat'),
    }),
  ),
});
export type Status = z.infer<typeof StatusSchema>;

export function statusRoutes(app: FastifyInstance, rt: Runtime): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/status',
    { schema: { summary: 'Queue, throughput and workers (what `ideator status` prints)', response: { 200: StatusSchema, 401: ErrorBodySchema } } },
    async () => {
      const now = Date.now();
      const counts = rt.store.counts();
      const flow = rt.store.flowFigures(now);
      const queue = {
        ...counts,
        oldestWaitingSec: flow.oldestQueuedAt === undefined ? null : Math.max(0, Math.round((now - flow.oldestQueuedAt) / 1000)),
        maxQueued: rt.config.maxQueued ?? 0,
      };
      if (rt.cluster) {
        const c = await rt.cluster.snapshot();
        const workers = (c.list ?? []).map((w) => ({ ...w, lastSeenSec: Math.max(0, Math.round((now - w.seenAt) / 1000)) }));
        return { mode: 'redis' as const, redisUp: c.redisUp, queue, runsLastHour: flow.finishedLastHour, slots: { total: c.slots, busy: c.busy }, workers };
      }
      const size = rt.pool?.size ?? 0;
      const busy = rt.pool?.busy ?? 0;
      const self = size > 0 ? [{ id: rt.pool!.owner, host: hostname(), pid: process.pid, slots: size, busy, gpus: rt.config.gpus ?? [], lastSeenSec: 0 }] : [];
      return { mode: 'embedded' as const, queue, runsLastHour: flow.finishedLastHour, slots: { total: size, busy }, workers: self };
    },
  );
}
