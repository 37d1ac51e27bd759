/**
 * Task bundles for `ideator worker --redis` (rewards/taskBundles.ts): GET /v1/tasks lists each task with the sha256
 * of its bundle; GET /v1/tasks/:id/bundle sends the bundle (gzipped tar: sources, prepared public data AND the
 * private answers the worker's grader sandbox needs), with its hash in X-Content-SHA256 and the ETag. Behind the
 * bearer token like every /v1 route: the answers must reach workers only. Not in the OpenAPI document (a worker's
 * API, not a client's).
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TaskBundles } from '../../rewards/taskBundles';
import { sendError } from '../errors';

export const HASH_HEADER = 'x-content-sha256';

export function taskRoutes(app: FastifyInstance, bundles: TaskBundles): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/tasks', { schema: { hide: true } }, async () => bundles.list());

  r.get('/v1/tasks/:id/bundle', { schema: { hide: true, params: z.object({ id: z.string().min(1).max(128) }) } }, async (request, reply) => {
    const { id } = request.params;
    if (!bundles.catalog.has(id)) return sendError(reply, 404, 'unknown_task', `no task '${id}' on this server`);
    let b;
    try {
      b = await bundles.get(id);
    } catch (err) {
      return sendError(reply, 503, 'bundle_unavailable', `task '${id}': cannot make its bundle: ${(err as Error).message.slice(0, 500)}`);
    }
    const etag = `"sha256-${b.hash}"`;
    reply.header(HASH_HEADER, b.hash).header('etag', etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/gzip').header('content-length', b.size).send(createReadStream(b.file));
  });
}
