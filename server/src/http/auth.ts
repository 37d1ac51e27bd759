/**
 * Bearer-token check. Loopback binds may run open (a local trainer, the extension); any other bind must have a
 * token (IDEATOR_SERVER_TOKEN), and once a token is set every route but /healthz and /openapi.json requires it.
 * POST /get_reward also takes it as `?token=`: OpenRLHF's HTTP client sends no headers (the URL then holds the
 * secret, so it can end up in the trainer's logs; the reward_func file sends the header instead).
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sendError } from './errors';

const OPEN_ROUTES = new Set(['/healthz', '/openapi.json']);
/** The one route that may carry the token in its query string (OpenRLHF's client cannot set headers). */
const QUERY_TOKEN_ROUTE = '/get_reward';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function installAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (OPEN_ROUTES.has(path)) return;
    const header = request.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const given = m ? m[1].trim() : path === QUERY_TOKEN_ROUTE ? new URLSearchParams(request.url.slice(path.length + 1)).get('token') : null;
    if (given === null || !sameToken(given, token)) {
      reply.header('www-authenticate', 'Bearer');
      const how = path === QUERY_TOKEN_ROUTE ? 'header (or ?token=<token>)' : 'header';
      return sendError(reply, 401, 'unauthorized', `a valid "Authorization: Bearer <token>" ${how} is required`);
    }
  });
}
