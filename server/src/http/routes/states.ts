/**
 * POST /v1/states — registers exported states (statePool/registry.ts), so that a trainer label can name one:
 * `ideator export --format openrlhf --server URL` sends them; registering is idempotent and the server computes each
 * reference itself. A named task must be a task of this server (400 unknown_task: better now than at the first
 * reward). GET /v1/states/:ref — a registered state (404 unknown_state).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdeatorStateSchema } from '../../../../src/core/protocol';
import type { TaskCatalog } from '../../rewards/taskCatalog';
import { CorruptStateError, type StateRegistry } from '../../statePool/registry';
import { ErrorBodySchema, HttpError } from '../errors';

export const RegisterStatesSchema = z.object({
  states: z
    .array(
      z.object({
        state: IdeatorStateSchema,
        /** The server task the state is graded by; absent: the state's own taskId decides at reward time. */
        task: z.string().min(1).max(200).optional(),
      }),
    )
    .min(1)
    .max(1000),
});

const RegisteredSchema = z.object({
  states: z.array(z.object({ ref: z.string(), task: z.string().nullable(), created: z.boolean() })),
});

const StateEntrySchema = z.object({ ref: z.string(), task: z.string().nullable(), state: IdeatorStateSchema, registeredAt: z.string() });

export function stateRoutes(app: FastifyInstance, registry: StateRegistry, catalog: TaskCatalog): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/states',
    {
      schema: {
        summary: 'Register exported states so that a label (their reference, st_…) can name them (POST /get_reward)',
        body: RegisterStatesSchema,
        response: {
          200: RegisteredSchema,
          400: ErrorBodySchema.describe('error.code: invalid_request / invalid_json, unknown_task (a named task is not a task of this server)'),
          401: ErrorBodySchema,
          413: ErrorBodySchema,
        },
      },
    },
    async (request) => {
      const unknown = request.body.states.find((s) => s.task !== undefined && !catalog.has(s.task));
      if (unknown) throw new HttpError(400, 'unknown_task', `unknown task '${unknown.task}': not among this server's tasks (ideator serve --tasks-dir)`);
      return {
        states: request.body.states.map((s) => ({ ...registry.register(s.state, s.task), task: s.task ?? null })),
      };
    },
  );

  r.get(
    '/v1/states/:ref',
    {
      schema: {
        summary: 'A registered state by its reference',
        params: z.object({ ref: z.string().min(1).max(100) }),
        response: { 200: StateEntrySchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 500: ErrorBodySchema },
      },
    },
    async (request) => {
      let entry;
      try {
        entry = registry.get(request.params.ref);
      } catch (err) {
        if (err instanceof CorruptStateError) throw new HttpError(500, 'corrupt_state', err.message);
        throw err;
      }
      if (!entry) throw new HttpError(404, 'unknown_state', `no registered state '${request.params.ref}' (register it: ideator export --format openrlhf --server URL)`);
      return entry;
    },
  );
}
