/**
 * Workspaces sent once to the companion server (#16, verify/upload.ts): PUT /v1/workspaces/:sha256 takes the gzipped
 * tar of a workspace's source files (`application/gzip`), refused unless its bytes hash to :sha256, unpacked with
 * limits (files and folders only; no link, device, absolute or `..` path); 201 new, 200 already there.
 * GET /v1/workspaces/:sha256 says whether it is there (a client uploads only on 404). POST /v1/rewards then names it.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_CONCURRENT_UPLOADS, MAX_WORKSPACE_BYTES, MAX_WORKSPACE_ENTRIES, MAX_WORKSPACE_UPLOAD_BYTES, Sha256Schema, UploadError, WorkspaceInfoSchema, type WorkspaceStore } from '../../verify/upload';
import { ErrorBodySchema, HttpError } from '../errors';

/** What a PUT refused for too many uploads at once is told to wait (seconds). */
const UPLOAD_RETRY_AFTER_SEC = 5;

const ParamsSchema = z.object({ sha256: Sha256Schema.describe('sha256 of the gzipped tar, 64 lowercase hex digits') });

export async function workspaceRoutes(app: FastifyInstance, uploads: WorkspaceStore): Promise<void> {
  // Its own context: the gzip body parser and its size limit hold for this route only.
  await app.register(async (sub) => {
    // At most MAX_CONCURRENT_UPLOADS bodies at once, held from before the body is read until the answer is sent or
    // the client goes away.
    sub.addHook('onRequest', async (request, reply) => {
      const release = uploads.beginUpload();
      if (!release) {
        reply.header('retry-after', String(UPLOAD_RETRY_AFTER_SEC));
        throw new HttpError(429, 'too_many_uploads', `${MAX_CONCURRENT_UPLOADS} workspace uploads are under way: retry after ${UPLOAD_RETRY_AFTER_SEC} s`);
      }
      reply.raw.once('close', release);
    });
    sub.addContentTypeParser(['application/gzip', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: MAX_WORKSPACE_UPLOAD_BYTES }, (_request, body, done) => done(null, body));
    const r = sub.withTypeProvider<ZodTypeProvider>();
    r.put(
      '/v1/workspaces/:sha256',
      {
        schema: {
          summary: 'Upload a workspace (its source files as a gzipped tar, Content-Type application/gzip) for verification runs',
          description:
            `The body's sha256 must be the path's. At most ${MAX_WORKSPACE_UPLOAD_BYTES} bytes, ${MAX_WORKSPACE_ENTRIES} entries, ${MAX_WORKSPACE_BYTES} bytes unpacked; ` +
            'regular files and folders only (no symlink, hard link or device; no absolute or .. path; modes reduced to 0644/0755). ' +
            'Data is never uploaded: the server binds its operator-named data roots.',
          params: ParamsSchema,
          response: {
            200: WorkspaceInfoSchema.describe('already uploaded'),
            201: WorkspaceInfoSchema.describe('stored'),
            400: ErrorBodySchema.describe('error.code: missing_body, hash_mismatch, invalid_archive (an unsafe or malformed entry, over a limit), invalid_request'),
            401: ErrorBodySchema,
            413: ErrorBodySchema,
            415: ErrorBodySchema,
            429: ErrorBodySchema.describe(`error.code: too_many_uploads — ${MAX_CONCURRENT_UPLOADS} uploads at once already; retry after the Retry-After header (seconds)`),
          },
        },
      },
      async (request, reply) => {
        const body = request.body as unknown;
        if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'missing_body', 'send the workspace as a gzipped tar with Content-Type: application/gzip');
        try {
          const { info, created } = await uploads.put(request.params.sha256, body);
          return reply.code(created ? 201 : 200).send(info);
        } catch (err) {
          if (err instanceof UploadError) throw new HttpError(err.statusCode, err.code, err.message);
          throw err;
        }
      },
    );
  });

  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/workspaces/:sha256',
    {
      schema: {
        summary: 'Whether a workspace is uploaded: its files and size',
        params: ParamsSchema,
        response: { 200: WorkspaceInfoSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const info = uploads.info(request.params.sha256);
      if (!info) throw new HttpError(404, 'unknown_workspace', `no workspace ${request.params.sha256} on this server`);
      return reply.code(200).send(info);
    },
  );
}
