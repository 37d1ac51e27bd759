/**
 * POST /v1/rewards — a state and G candidate ideas in, a job out (202), or the finished job with `?wait=1` (200;
 * 202 if `waitSec` ran out first). GET /v1/jobs/:id — the job, optionally long-polled the same way.
 * Idempotency: the body's `idempotencyKey` or an `Idempotency-Key` header; without either, identical content is
 * the key. A replay answers the original job with `Idempotent-Replayed: true`; a key reused for other content is
 * a 409.
 * Errors: 400 `invalid_request` (schema), `unknown_task` (`task` names no task of this server), `no_grader` (no task
 * resolves and `allowPrintedScore` is not true: printed scores are opt-in, see rewards/submit.ts); 429 `queue_full`
 * with `Retry-After` (seconds) when the queue is at `--max-queued` (a replay of a stored request is never refused).
 * The workspace form (a body with `workspace`: core/verify.ts WorkspaceRewardRequestSchema) verifies ideas on an
 * uploaded workspace instead and streams VerifyEvent lines (routes/verifyWorkspace.ts).
 */
import type { FastifyInstance } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { JobSchema, RewardRequestSchema, type Job, type RewardRequest } from '../../../../src/core/protocol';
import { WorkspaceRewardRequestSchema, type WorkspaceRewardRequest } from '../../../../src/core/verify';
import { IdempotencyConflictError, QueueFullError } from '../../jobs/store';
import { waitForJob } from '../../jobs/wait';
import type { Runtime } from '../../queue/runtime';
import { NoGraderError, submitRewardJob, UnknownTaskError } from '../../rewards/submit';
import { ErrorBodySchema, HttpError } from '../errors';
import { verifyWorkspace, type WorkspaceVerifier } from './verifyWorkspace';

const WaitQuerySchema = z.object({
  wait: z.enum(['0', '1', 'true', 'false']).optional().describe('1/true: answer only when the job is done (or waitSec ran out)'),
  waitSec: z.coerce.number().positive().max(86_400).optional().describe('longest wait in seconds (default: until done)'),
});

const IdempotencyHeaderSchema = z.object({
  'idempotency-key': z.string().min(1).max(200).optional(),
});

function wants(wait: string | undefined): boolean {
  return wait === '1' || wait === 'true';
}

function finished(job: Job): boolean {
  return job.status === 'done' || job.status === 'failed';
}

/** Either form of the body: the workspace form has `workspace`, the catalog form never does. */
const RewardBodySchema = z.union([RewardRequestSchema, WorkspaceRewardRequestSchema]);

/** The body validated by the one form it claims, so its errors name that form's fields (not "invalid union"). */
const bodyValidator = ({ schema, method, url, httpPart }: { schema: unknown; method: string; url: string; httpPart?: string }) => {
  if (httpPart !== 'body') return validatorCompiler({ schema: schema as z.ZodType, method, url, httpPart });
  const catalog = validatorCompiler({ schema: RewardRequestSchema, method, url, httpPart });
  const workspace = validatorCompiler({ schema: WorkspaceRewardRequestSchema, method, url, httpPart });
  return (data: unknown) => (data !== null && typeof data === 'object' && 'workspace' in data ? workspace(data) : catalog(data));
};

function isWorkspaceForm(body: RewardRequest | WorkspaceRewardRequest): body is WorkspaceRewardRequest {
  return 'workspace' in body;
}

export function rewardRoutes(app: FastifyInstance, rt: Runtime, verifier?: WorkspaceVerifier): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/rewards',
    {
      schema: {
        summary: 'Submit a state and G candidate ideas for execution-based rewards, or verify ideas on an uploaded workspace',
        description:
          'The catalog form (state, ideas, task …) makes a reward job: 202, or 200 with ?wait=1. The workspace form (workspace.sha256 of a ' +
          'PUT /v1/workspaces upload, command, main, ideas, baselineSeeds …) runs the baseline and each idea in the sandbox as `ideator verify` ' +
          'does and answers 200 application/x-ndjson: one VerifyEvent a line (progress, a result per idea, the summary last); closing the ' +
          'connection stops every run.',
        body: RewardBodySchema,
        querystring: WaitQuerySchema,
        headers: IdempotencyHeaderSchema,
        response: {
          200: JobSchema,
          202: JobSchema,
          400: ErrorBodySchema.describe(
            'error.code: invalid_request / invalid_json (malformed body), unknown_task (`task` is not a task of this server), ' +
              'no_grader (no task grades the state and allowPrintedScore is not true); workspace form: unknown_main, no_data_root, ' +
              'unknown_data_root, refused_data_path (outside the data root, or a hidden entry / key file), missing_data, data_too_large',
          ),
          401: ErrorBodySchema,
          404: ErrorBodySchema.describe('error.code: unknown_workspace — the workspace form names no upload of this server'),
          409: ErrorBodySchema,
          413: ErrorBodySchema,
          429: ErrorBodySchema.describe('error.code: queue_full — the queue is at its depth limit; retry after the Retry-After header (seconds)'),
          503: ErrorBodySchema.describe('error.code: no_slots — the workspace form on a server that runs nothing itself'),
        },
      },
      validatorCompiler: bodyValidator,
    },
    async (request, reply) => {
      if (isWorkspaceForm(request.body)) return verifyWorkspace(verifier, request.body, request, reply);
      const body = { ...request.body };
      const headerKey = request.headers['idempotency-key'];
      if (body.idempotencyKey === undefined && headerKey !== undefined) body.idempotencyKey = headerKey;
      let submitted: { job: Job; created: boolean };
      try {
        submitted = submitRewardJob(rt.store, rt.catalog, body, { maxQueued: rt.config.maxQueued });
      } catch (err) {
        if (err instanceof QueueFullError) {
          const after = await retryAfterSec(rt, err);
          reply.header('retry-after', String(after));
          throw new HttpError(429, 'queue_full', `${err.message}: retry after ${after} s`);
        }
        if (err instanceof UnknownTaskError) throw new HttpError(400, 'unknown_task', err.message);
        if (err instanceof NoGraderError) throw new HttpError(400, 'no_grader', err.message);
        if (err instanceof IdempotencyConflictError) throw new HttpError(409, 'idempotency_conflict', err.message);
        throw err;
      }
      reply.header('location', `/v1/jobs/${submitted.job.id}`);
      if (!submitted.created) reply.header('idempotent-replayed', 'true');
      let job = submitted.job;
      if (wants(request.query.wait) && !finished(job)) {
        const ac = new AbortController();
        reply.raw.once('close', () => ac.abort());
        job = (await waitForJob(rt.store, job.id, { signal: ac.signal, timeoutMs: secs(request.query.waitSec) })) ?? job;
      }
      return reply.code(finished(job) && wants(request.query.wait) ? 200 : 202).send(job);
    },
  );

  r.get(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'A reward job: status, progress and the results so far',
        params: z.object({ id: z.string().min(1).max(100) }),
        querystring: WaitQuerySchema,
        response: { 200: JobSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      let job = rt.store.getJob(request.params.id);
      if (!job) throw new HttpError(404, 'not_found', `no job '${request.params.id}'`);
      if (wants(request.query.wait) && !finished(job)) {
        const ac = new AbortController();
        reply.raw.once('close', () => ac.abort());
        job = (await waitForJob(rt.store, job.id, { signal: ac.signal, timeoutMs: secs(request.query.waitSec) })) ?? job;
      }
      return reply.code(200).send(job);
    },
  );
}

function secs(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.round(s * 1000);
}

/**
 * When the excess over the limit should have drained: recent mean run time × excess ÷ slots, 1 s to 10 min (30 s
 * per excess idea before anything ran here).
 */
export async function retryAfterSec(rt: Runtime, err: QueueFullError): Promise<number> {
  const excess = err.queued + err.incoming - err.limit;
  const remote = rt.cluster ? await rt.cluster.snapshot().then((c) => c.slots, () => 0) : 0;
  const slots = Math.max(1, rt.pool?.size ?? 0, remote);
  const meanMs = rt.store.recentMeanDurationMs() ?? 30_000;
  return Math.min(600, Math.max(1, Math.ceil((meanMs * excess) / slots / 1000)));
}
