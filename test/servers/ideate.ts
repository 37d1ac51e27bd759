/**
 * A scripted fake of the companion server's `POST /v1/ideate`, for testing the 'server' provider (the real route
 * lives in server/src/http). Same contract: the body is validated with IdeateRequestSchema (400 {error:{code,
 * message}} otherwise), a bearer token is required when one is configured, `stream: true` answers with SSE
 * `event: token` {delta, channel} frames and a final `event: done` IdeateResponse; `stream: false` with the JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseIdea } from '../../src/core/idea';
import { IdeateRequestSchema, type IdeateRequest, type IdeateResponse } from '../../src/core/protocol';
import { clientGone, listen, readBody, ReplyScript, roughTokens, sendJson, sendRaw, startSse, tokenPieces, wait, writeSse } from './http';

const Delay = { delayMs: z.number().nonnegative().optional() };

export const IdeateTextReplySchema = z.strictObject({
  type: z.literal('text').optional(),
  text: z.string(),
  thinking: z.string().optional(),
  model: z.string().optional(),
  chunkDelayMs: z.number().nonnegative().optional(),
  /** Send this many SSE events, then go silent. */
  stallAfterEvents: z.number().int().nonnegative().optional(),
  ...Delay,
});
export const IdeateErrorReplySchema = z.strictObject({
  type: z.literal('error'),
  status: z.number().int().min(400).max(599),
  code: z.string().optional(),
  message: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  ...Delay,
});
export const IdeateStreamErrorReplySchema = z.strictObject({ type: z.literal('stream-error'), text: z.string().optional(), message: z.string().optional(), ...Delay });
/** A done event (or JSON body) that is not an IdeateResponse. */
export const IdeateMalformedReplySchema = z.strictObject({ type: z.literal('malformed'), body: z.string().optional(), ...Delay });
export const IdeateHangReplySchema = z.strictObject({ type: z.literal('hang') });

export const IdeateScriptedReplySchema = z.union([IdeateTextReplySchema, IdeateErrorReplySchema, IdeateStreamErrorReplySchema, IdeateMalformedReplySchema, IdeateHangReplySchema]);
export type IdeateScriptedReply = z.input<typeof IdeateScriptedReplySchema>;
export const IdeateScriptSchema = z.array(IdeateScriptedReplySchema);

export interface IdeateServerOptions {
  responses: IdeateScriptedReply[] | ((req: IdeateRequest, n: number) => IdeateScriptedReply);
  /** When set, `Authorization: Bearer <token>` is required (401 otherwise). */
  token?: string;
}

export interface IdeateServer {
  /** Server root; the client adds /v1/ideate. */
  url: string;
  requests: IdeateRequest[];
  headers: Record<string, string>[];
  close(): Promise<void>;
}

const fail = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) => sendJson(res, status, { error: { code, message } }, headers);

export async function startIdeateServer(opts: IdeateServerOptions): Promise<IdeateServer> {
  const script = new ReplyScript(opts.responses, IdeateScriptedReplySchema);
  const listening = await listen(async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/ideate') return fail(res, 404, 'not_found', `no route ${req.method} ${path}`);
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      return fail(res, 401, 'unauthorized', 'missing or wrong bearer token');
    }
    let json: unknown;
    try {
      json = JSON.parse(await readBody(req));
    } catch {
      return fail(res, 400, 'bad_request', 'body is not valid JSON');
    }
    const parsed = IdeateRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(res, 400, 'bad_request', `body/${issue.path.join('/')} ${issue.message}`);
    }
    const n = script.record(req, parsed.data);
    await answer(req, res, parsed.data, script.reply(parsed.data, n));
  });
  return { url: listening.origin, requests: script.requests, headers: script.headers, close: listening.close };
}

type Reply = z.infer<typeof IdeateScriptedReplySchema>;

function responseFor(reply: z.infer<typeof IdeateTextReplySchema>, body: IdeateRequest): IdeateResponse {
  const promptText = (body.messages ?? []).map((m) => m.content).join('\n');
  return {
    completion: {
      text: reply.text,
      ...(reply.thinking ? { thinking: reply.thinking } : {}),
      model: reply.model ?? 'ideator',
      usage: { inputTokens: roughTokens(promptText), outputTokens: tokenPieces(reply.text).length },
      finishReason: 'stop',
    },
    idea: parseIdea(reply.text),
  };
}

async function answer(_req: IncomingMessage, res: ServerResponse, body: IdeateRequest, reply: Reply): Promise<void> {
  if (reply.type === 'hang') return clientGone(res);
  if (reply.delayMs) await Promise.race([wait(reply.delayMs), clientGone(res)]);
  if (res.destroyed) return;
  switch (reply.type) {
    case 'error':
      return fail(res, reply.status, reply.code ?? (reply.status >= 500 ? 'internal' : 'bad_request'), reply.message ?? `HTTP ${reply.status}`, reply.headers);
    case 'malformed':
      if (!body.stream) return sendRaw(res, 200, reply.body ?? '{"completion": {"text": 1}}', 'application/json');
      startSse(res);
      writeSse(res, reply.body ?? '{"completion": {"text": 1}}', 'done');
      return void res.end();
    case 'stream-error':
      if (!body.stream) return fail(res, 500, 'internal', reply.message ?? 'ideator failed');
      startSse(res);
      for (const p of tokenPieces(reply.text ?? '')) writeSse(res, JSON.stringify({ delta: p, channel: 'text' }), 'token');
      writeSse(res, JSON.stringify({ error: { code: 'upstream', message: reply.message ?? 'ideator failed' } }), 'error');
      return void res.end();
    default: {
      const done = responseFor(reply, body);
      if (!body.stream) return sendJson(res, 200, done);
      const events: [string, string][] = [
        ...tokenPieces(reply.thinking ?? '').map((p): [string, string] => ['token', JSON.stringify({ delta: p, channel: 'thinking' })]),
        ...tokenPieces(reply.text).map((p): [string, string] => ['token', JSON.stringify({ delta: p, channel: 'text' })]),
        ['done', JSON.stringify(done)],
      ];
      startSse(res);
      for (let i = 0; i < events.length; i++) {
        if (reply.stallAfterEvents !== undefined && i >= reply.stallAfterEvents) return clientGone(res);
        if (res.destroyed) return;
        writeSse(res, events[i][1], events[i][0]);
        if (reply.chunkDelayMs) await wait(reply.chunkDelayMs);
      }
      return void res.end();
    }
  }
}
