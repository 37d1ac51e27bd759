/**
 * POST /v1/rewards, the workspace form (#16): the request is checked against the upload and the data roots first
 * (a 4xx in the usual error shape, nothing run), then the verification runs (verify/remote.ts) and its VerifyEvent
 * lines stream back as `application/x-ndjson`, the summary last. The client closing the connection (or the server
 * stopping) aborts it: every run is killed, and runs not started never start.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { VerifyEvent, WorkspaceRewardRequest } from '../../../../src/core/verify';
import { prepareRemote, RemoteVerifyError, runRemote, type RemoteVerifyEnv } from '../../verify/remote';
import { ErrorBodySchema, HttpError } from '../errors';

/** The header of a workspace verification's answer naming it for DELETE /v1/verifications/{id}. */
export const VERIFICATION_ID_HEADER = 'x-verification-id';

export interface WorkspaceVerifier {
  env: RemoteVerifyEnv;
  /** Aborted when the server closes: running verifications stop. */
  closing: AbortSignal;
  log?: (message: string) => void;
  /** Verifications running now, by id (DELETE /v1/verifications/{id} aborts one). */
  running: Map<string, AbortController>;
}

/** What a workspace verification refused for too many at once is told to wait (seconds). */
const VERIFY_RETRY_AFTER_SEC = 30;

const IdParamsSchema = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/).describe('the X-Verification-Id of a workspace verification') });

/**
 * DELETE /v1/verifications/:id: stops a running workspace verification (every run killed, the runs not started
 * never start); its stream then ends with the summary, `cancelled: true`. Closing the stream does the same,
 * without the summary.
 */
export function verificationRoutes(app: FastifyInstance, verifier: WorkspaceVerifier): void {
  app.withTypeProvider<ZodTypeProvider>().delete(
    '/v1/verifications/:id',
    {
      schema: {
        summary: 'Cancel a running workspace verification (POST /v1/rewards, workspace form)',
        params: IdParamsSchema,
        response: { 202: z.object({ cancelled: z.literal(true) }), 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const run = verifier.running.get(request.params.id);
      if (!run) throw new HttpError(404, 'unknown_verification', `no verification ${request.params.id} is running`);
      run.abort();
      return reply.code(202).send({ cancelled: true as const });
    },
  );
}

export async function verifyWorkspace(verifier: WorkspaceVerifier | undefined, body: WorkspaceRewardRequest, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (!verifier || verifier.env.gate.size < 1) throw new HttpError(503, 'no_slots', 'this server runs nothing itself (no --slots): it cannot verify a workspace');
  const abort = new AbortController();
  const res = reply.raw;
  let open = true;
  const emit = (e: VerifyEvent) => {
    if (open && !res.destroyed) res.write(JSON.stringify(e) + '\n');
  };
  // The client went away before the summary (or while its data is looked through): stop every run. Attached
  // first, and a connection already closed counts.
  res.once('close', () => {
    if (open) abort.abort();
  });
  if (res.destroyed) abort.abort();
  // Each verification holds its place from here (its data is looked through first): at most --max-queued at once.
  const max = verifier.env.maxVerifications;
  if (max > 0 && verifier.running.size >= max) {
    reply.header('retry-after', String(VERIFY_RETRY_AFTER_SEC));
    throw new HttpError(429, 'queue_full', `${verifier.running.size} workspace verifications are under way (this server's limit, --max-queued, is ${max}): retry after ${VERIFY_RETRY_AFTER_SEC} s`);
  }
  const id = randomBytes(16).toString('hex');
  verifier.running.set(id, abort);
  let run;
  try {
    run = await prepareRemote(verifier.env, body, abort.signal, emit);
  } catch (err) {
    verifier.running.delete(id);
    if (err instanceof RemoteVerifyError) throw new HttpError(err.statusCode, err.code, err.message);
    throw err;
  }
  const onClosing = () => abort.abort();
  verifier.closing.addEventListener('abort', onClosing, { once: true });
  if (verifier.closing.aborted) abort.abort();
  reply.hijack();
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', [VERIFICATION_ID_HEADER]: id });
  const started = Date.now();
  verifier.log?.(`verify ${body.workspace.sha256.slice(0, 10)}: ${body.ideas.length} idea(s), ${body.baselineSeeds} baseline run(s)`);
  try {
    await runRemote(run);
  } catch (err) {
    // After the first line the status is sent: the failure is the last line, in the progress shape.
    emit({ type: 'progress', phase: 'warning', message: `the verification stopped: ${(err as Error).message.split('\n')[0].slice(0, 500)}`, done: 0, total: 0 });
  } finally {
    verifier.closing.removeEventListener('abort', onClosing);
    verifier.running.delete(id);
    verifier.log?.(`verify ${body.workspace.sha256.slice(0, 10)}: ${abort.signal.aborted ? 'cancelled' : 'done'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    open = false;
    if (!res.destroyed) res.end();
  }
  return reply;
}
