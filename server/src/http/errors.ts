/**
 * Every error leaves the server as JSON `{error: {code, message}}` with a fitting status: 400 for schema errors
 * (the message names the failing path, e.g. "body/ideas Too small: …"), 413 over the body limit, 401/404/409/503
 * from the routes, and 500 without internals for anything unexpected.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } } satisfies ErrorBody);
}

function fastifyCode(err: FastifyError): { status: number; code: string } | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'invalid_json' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'invalid_content_length' };
    default:
      return undefined;
  }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function installErrorHandlers(app: FastifyInstance, log: (m: string) => void): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.statusCode, err.code, err.message);
    if (err.validation) return sendError(reply, 400, 'invalid_request', err.message);
    const known = fastifyCode(err);
    if (known) return sendError(reply, known.status, known.code, err.message);
    if (err instanceof SyntaxError) return sendError(reply, 400, 'invalid_json', err.message);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, (err.code ?? 'bad_request').toLowerCase(), err.message);
    log(`internal error on ${request.method} ${request.url}: ${err.stack ?? err.message}`);
    return sendError(reply, 500, 'internal', 'internal server error');
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    // A known path asked with the wrong method is a 405 with the methods it does accept.
    const allowed = METHODS.filter((method) => method !== request.method && app.hasRoute({ method, url: path }));
    if (allowed.length) {
      reply.header('allow', allowed.join(', '));
      return sendError(reply, 405, 'method_not_allowed', `${request.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`);
    }
    return sendError(reply, 404, 'not_found', `no route ${request.method} ${path}`);
  });
}
