/**
 * The HTTP face of the reward service (fastify 5). The zod schemas of src/core/protocol validate every route and,
 * through @fastify/swagger, generate the OpenAPI 3 document served at GET /openapi.json — one source of truth for
 * the server, its clients and schemathesis.
 */
import { existsSync, readdirSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { TrajectoryMode } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import type { Runtime } from '../queue/runtime';
import { installAuth } from './auth';
import { installErrorHandlers, sendError } from './errors';
import { healthRoutes } from './routes/health';
import { ideateRoutes } from './routes/ideate';
import { openrlhfRoutes } from './routes/openrlhf';
import { rewardRoutes } from './routes/rewards';
import { stateRoutes } from './routes/states';
import { StateRegistry } from '../statePool/registry';
import { statusRoutes } from './routes/status';
import { taskRoutes } from './routes/tasks';
import { verificationRoutes } from './routes/verifyWorkspace';
import { workspaceRoutes } from './routes/workspaces';
import { remoteVerifyEnv } from '../verify/remote';

export interface AppOptions {
  runtime: Runtime;
  /** Bearer token required on every route but /healthz and /openapi.json; none = open (loopback only). */
  token?: string;
  bodyLimitBytes?: number;
  version?: string;
  /** The Ideator behind POST /v1/ideate; without one the route answers 503. */
  ideator?: Provider;
  /** POST /v1/ideate: the trajectory rendering of states whose request does not name one (default compact). */
  trajectoryMode?: TrajectoryMode;
  log?: (message: string) => void;
  /** Data folders a workspace verification may bind, by name (`serve --data-root NAME=PATH`, real paths). */
  dataRoots?: ReadonlyMap<string, string>;
}

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const log = opts.log ?? (() => undefined);
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    // Long-polling (?wait=1) can outlast any fixed request timeout; the client decides how long it waits.
    requestTimeout: 0,
    forceCloseConnections: true,
    // Router-level failures (malformed URL, over-long path parameter) answer in our error shape too.
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply as unknown as FastifyReply, 400, 'invalid_url', error.message);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app, log);
  installAuth(app, opts.token);
  app.addHook('onResponse', async (request, reply) => {
    opts.runtime.metrics.observeRequest(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'MLE Ideator reward server',
        description: 'Execution-based rewards for Ideator ideas (paper §3.2), job store, and an Ideator proxy.',
        version: opts.version ?? '0.0.0',
      },
      components: opts.token ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : undefined,
      security: opts.token ? [{ bearer: [] }] : undefined,
    },
    transform: jsonSchemaTransform,
  });

  const tasks = opts.runtime.catalog;
  // Workspaces uploaded once, verified by POST /v1/rewards' workspace form; a closing server stops those runs.
  const closing = new AbortController();
  app.addHook('onClose', async () => closing.abort());
  const verifyEnv = await remoteVerifyEnv(opts.runtime, opts.dataRoots ?? new Map());
  await workspaceRoutes(app, verifyEnv.uploads);
  const verifier = { env: verifyEnv, closing: closing.signal, log, running: new Map<string, AbortController>() };
  rewardRoutes(app, opts.runtime, verifier);
  verificationRoutes(app, verifier);
  // Exported states a trainer's label can name (OpenRLHF), kept in the data dir beside the job store.
  const registry = StateRegistry.forDataDir(opts.runtime.config.dataDir);
  stateRoutes(app, registry, tasks);
  openrlhfRoutes(app, opts.runtime, registry, log);
  statusRoutes(app, opts.runtime);
  taskRoutes(app, opts.runtime.bundles);
  ideateRoutes(app, opts.ideator, opts.trajectoryMode);
  healthRoutes(app, opts.runtime, {
    version: opts.version ?? '0.0.0',
    ideator: opts.ideator !== undefined,
    taskIds: () => listTaskIds(tasks.taskDirs),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}

function listTaskIds(dirs: string[]): string[] {
  const ids = new Set<string>();
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d)) if (existsSync(`${d}/${n}/config.yaml`)) ids.add(n);
  }
  return [...ids].sort();
}
