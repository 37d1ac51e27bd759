/**
 * POST /v1/ideate — the server as an Ideator proxy (the extension's 'server' provider). Either a state (the
 * server builds the Ideator prompt with the core prompt builder) or ready messages. With `stream: true` the
 * answer is text/event-stream: `event: token` {delta, channel} for each delta, then `event: done` with the
 * IdeateResponse, or `event: error` {error: {code, message}}.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DEFAULT_TRAJECTORY_MODE } from '../../../../src/core/compact';
import { parseIdea } from '../../../../src/core/idea';
import { IdeateRequestSchema, IdeateResponseSchema, type ChatMessage, type TrajectoryMode } from '../../../../src/core/protocol';
import { ProviderError, type Provider } from '../../../../src/core/providers/types';
import { ErrorBodySchema, HttpError } from '../errors';

function providerStatus(err: ProviderError): { status: number; code: string } {
  switch (err.kind) {
    case 'rate_limited':
      return { status: 429, code: 'ideator_rate_limited' };
    case 'timeout':
      return { status: 504, code: 'ideator_timeout' };
    case 'auth':
    case 'config':
    case 'not_found':
      return { status: 502, code: `ideator_${err.kind}` };
    default:
      return { status: 502, code: 'ideator_unavailable' };
  }
}

/** `trajectoryMode`: how a state's trajectory is rendered when the request does not say (serve --trajectory). */
export function ideateRoutes(app: FastifyInstance, ideator: Provider | undefined, trajectoryMode: TrajectoryMode = DEFAULT_TRAJECTORY_MODE): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/ideate',
    {
      schema: {
        summary: 'Ask the configured Ideator for one idea (JSON, or SSE with stream: true)',
        body: IdeateRequestSchema,
        response: { 200: IdeateResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema, 503: ErrorBodySchema, 504: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      if (!ideator) throw new HttpError(503, 'no_ideator', 'this server has no Ideator configured (ideator serve --ideator CONFIG.json)');
      const body = request.body;
      // Loaded on first use: the prompt templates are not needed by a server that only computes rewards.
      const messages: ChatMessage[] = body.state
        ? (await import('../../../../src/core/promptCost')).buildIdeatorPrompt(body.state, { trajectoryMode: body.trajectoryMode ?? trajectoryMode }).messages
        : body.messages!;
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());

      if (!body.stream) {
        try {
          const completion = await ideator.complete(messages, { signal: ac.signal, maxTokens: body.maxTokens });
          return reply.code(200).send({ completion, idea: parseIdea(completion.text) });
        } catch (err) {
          if (err instanceof ProviderError) {
            const s = providerStatus(err);
            throw new HttpError(s.status, s.code, err.message);
          }
          throw err;
        }
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const send = (event: string, data: unknown) => {
        if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      try {
        const completion = await ideator.complete(messages, {
          signal: ac.signal,
          maxTokens: body.maxTokens,
          onToken: (delta, channel) => send('token', { delta, channel }),
        });
        send('done', { completion, idea: parseIdea(completion.text) });
      } catch (err) {
        const e = err instanceof ProviderError ? { code: providerStatus(err).code, message: err.message } : { code: 'internal', message: 'ideator call failed' };
        send('error', { error: e });
      } finally {
        res.end();
      }
    },
  );
}
