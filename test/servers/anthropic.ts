/**
 * A scripted Anthropic messages server (POST /v1/messages), speaking the real wire format: a `message` object for
 * plain requests; for `stream: true` the SSE sequence message_start, content_block_start, ping,
 * content_block_delta (thinking_delta / signature_delta / text_delta), content_block_stop, message_delta (with
 * usage), message_stop; `event: error` frames; and Anthropic's error JSON {"type":"error","error":{type,message}}.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { clientGone, listen, readBody, ReplyScript, roughTokens, sendJson, sendRaw, startSse, tokenPieces, wait, writeSse } from './http';

const Delay = { delayMs: z.number().nonnegative().optional() };

export const AnthropicTextReplySchema = z.strictObject({
  type: z.literal('text').optional(),
  text: z.string(),
  /** Sent as a thinking block before the text (the client must have asked for thinking; not checked). */
  thinking: z.string().optional(),
  stopReason: z.enum(['end_turn', 'max_tokens', 'stop_sequence']).optional(),
  usage: z.strictObject({ input_tokens: z.number().int(), output_tokens: z.number().int() }).optional(),
  model: z.string().optional(),
  chunkSize: z.number().int().positive().optional(),
  chunkDelayMs: z.number().nonnegative().optional(),
  /** Streamed: send this many SSE events, then go silent. Plain: headers and half the body, then silence. */
  stallAfterEvents: z.number().int().nonnegative().optional(),
  ...Delay,
});

export const AnthropicErrorReplySchema = z.strictObject({
  type: z.literal('error'),
  status: z.number().int().min(400).max(599),
  /** Anthropic error type; default from the status (429 rate_limit_error, 529 overloaded_error …). */
  errorType: z.string().optional(),
  message: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  ...Delay,
});

/** A 200 stream that fails part-way with `event: error` (what the API sends when overloaded mid-answer). */
export const AnthropicStreamErrorReplySchema = z.strictObject({
  type: z.literal('stream-error'),
  text: z.string().optional(),
  errorType: z.string().optional(),
  message: z.string().optional(),
  ...Delay,
});

export const AnthropicMalformedReplySchema = z.strictObject({ type: z.literal('malformed'), body: z.string().optional(), ...Delay });
export const AnthropicHangReplySchema = z.strictObject({ type: z.literal('hang') });
export const AnthropicDisconnectReplySchema = z.strictObject({ type: z.literal('disconnect'), ...Delay });

export const AnthropicScriptedReplySchema = z.union([
  AnthropicTextReplySchema,
  AnthropicErrorReplySchema,
  AnthropicStreamErrorReplySchema,
  AnthropicMalformedReplySchema,
  AnthropicHangReplySchema,
  AnthropicDisconnectReplySchema,
]);
export type AnthropicScriptedReply = z.input<typeof AnthropicScriptedReplySchema>;
export const AnthropicScriptSchema = z.array(AnthropicScriptedReplySchema);

export const MessagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.unknown() })).min(1),
  system: z.unknown().optional(),
  stream: z.boolean().optional(),
  temperature: z.number().optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;

export interface AnthropicServerOptions {
  responses: AnthropicScriptedReply[] | ((req: MessagesRequest, n: number) => AnthropicScriptedReply);
  /** When set, requests presenting another key get a 401 authentication_error. */
  apiKey?: string;
  /** When set, other models get a 404 not_found_error. */
  models?: string[];
  /**
   * The shortest prefix the prompt cache keeps, in (rough) tokens; shorter ones are neither written nor read, as on
   * the real API (1024 for Sonnet / Opus). Default 1024.
   */
  cacheMinTokens?: number;
}

export interface AnthropicServer {
  /** Root URL (no /v1): what the Anthropic SDK takes as baseURL. */
  url: string;
  requests: MessagesRequest[];
  headers: Record<string, string>[];
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const requestId = () => `req_${randomBytes(12).toString('hex')}`;
const errorBody = (type: string, message: string) => ({ type: 'error', error: { type, message }, request_id: requestId() });

export async function startAnthropicServer(opts: AnthropicServerOptions): Promise<AnthropicServer> {
  const script = new ReplyScript(opts.responses, AnthropicScriptedReplySchema);
  const cache = new PromptCache(opts.cacheMinTokens ?? 1024);

  const listening = await listen(async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      if (opts.apiKey !== undefined && presentedKey(req) !== opts.apiKey) return sendJson(res, 401, errorBody('authentication_error', 'invalid x-api-key'), { 'request-id': requestId() });
      return listModels(res, opts.models ?? ['claude-sonnet-4-5']);
    }
    if (req.method !== 'POST' || path !== '/v1/messages') return sendJson(res, 404, errorBody('not_found_error', 'Not Found'));
    const text = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return sendJson(res, 400, errorBody('invalid_request_error', 'request body is not valid JSON'));
    }
    const parsed = MessagesRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return sendJson(res, 400, errorBody('invalid_request_error', `${issue.path.join('.')}: ${issue.message}`));
    }
    const body = parsed.data;
    const n = script.record(req, body);
    if (opts.apiKey !== undefined && presentedKey(req) !== opts.apiKey) {
      return sendJson(res, 401, errorBody('authentication_error', 'invalid x-api-key'), { 'request-id': requestId() });
    }
    if (opts.models && !opts.models.includes(body.model)) {
      return sendJson(res, 404, errorBody('not_found_error', `model: ${body.model}`), { 'request-id': requestId() });
    }
    await answer(req, res, body, script.reply(body, n), cache);
  });
  return { url: listening.origin, requests: script.requests, headers: script.headers, close: listening.close };
}

/** The key as sent: `x-api-key` (older SDKs, curl examples) or `Authorization: Bearer` (SDK 1.x). */
function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
}

type Reply = z.infer<typeof AnthropicScriptedReplySchema>;
type TextReply = z.infer<typeof AnthropicTextReplySchema>;

/**
 * The prompt cache as the API accounts for it: the prefix (model, system, messages) up to the last block carrying
 * `cache_control` is written by the first request that marks it (cache_creation_input_tokens) and read by later
 * ones (cache_read_input_tokens); input_tokens counts only what follows the breakpoint. An entry becomes readable
 * once its response has begun, as on the real API.
 */
class PromptCache {
  private readonly entries = new Set<string>();

  constructor(private readonly minTokens: number) {}

  /** Called as a response begins: what this request wrote to or read from the cache. */
  account(body: MessagesRequest): { read: number; write: number } {
    const items: unknown[] = [body.model];
    let breakpoint = -1;
    const add = (block: unknown) => {
      items.push(block);
      if (block !== null && typeof block === 'object' && 'cache_control' in block) breakpoint = items.length - 1;
    };
    if (Array.isArray(body.system)) body.system.forEach(add);
    else if (body.system !== undefined) items.push(body.system);
    for (const m of body.messages) {
      items.push(m.role);
      if (Array.isArray(m.content)) m.content.forEach(add);
      else items.push(m.content);
    }
    if (breakpoint < 0) return { read: 0, write: 0 };
    const prefix = JSON.stringify(items.slice(0, breakpoint + 1));
    const tokens = roughTokens(prefix);
    if (tokens < this.minTokens) return { read: 0, write: 0 };
    if (this.entries.has(prefix)) return { read: tokens, write: 0 };
    this.entries.add(prefix);
    return { read: 0, write: tokens };
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, body: MessagesRequest, reply: Reply, cache: PromptCache): Promise<void> {
  if (reply.type === 'hang') return clientGone(res);
  if (reply.delayMs) await Promise.race([wait(reply.delayMs), clientGone(res)]);
  if (res.destroyed) return;
  const stream = body.stream === true;
  switch (reply.type) {
    case 'disconnect':
      req.socket.destroy();
      return;
    case 'error': {
      const type = reply.errorType ?? ERROR_TYPES[reply.status] ?? (reply.status >= 500 ? 'api_error' : 'invalid_request_error');
      return sendJson(res, reply.status, reply.body ?? errorBody(type, reply.message ?? type.replace(/_/g, ' ')), { 'request-id': requestId(), ...reply.headers });
    }
    case 'malformed':
      if (stream) {
        startSse(res);
        writeSse(res, reply.body ?? '{"type": "message_start", "message": {"id": "msg_', 'message_start');
        return void res.end();
      }
      return sendRaw(res, 200, reply.body ?? '{"id": "msg_01", "type": "message", "content": [', 'application/json');
    case 'stream-error':
      return streamError(res, body, reply, stream);
    default:
      return stream ? streamText(res, body, reply, cache.account(body)) : plainText(res, body, reply, cache.account(body));
  }
}

const messageId = () => `msg_01${randomBytes(11).toString('hex')}`;

function inputTokens(body: MessagesRequest): number {
  return roughTokens(JSON.stringify(body.system ?? '') + JSON.stringify(body.messages));
}

function usageOf(reply: TextReply, body: MessagesRequest, pieces: number, cached: { read: number; write: number }) {
  return {
    input_tokens: reply.usage?.input_tokens ?? Math.max(1, inputTokens(body) - cached.read - cached.write),
    cache_creation_input_tokens: cached.write,
    cache_read_input_tokens: cached.read,
    output_tokens: reply.usage?.output_tokens ?? pieces,
    service_tier: 'standard',
  };
}

const signatureOf = (thinking: string) => Buffer.from(`sig:${thinking.length}:${randomBytes(8).toString('hex')}`).toString('base64');

async function plainText(res: ServerResponse, body: MessagesRequest, reply: TextReply, cached: { read: number; write: number }): Promise<void> {
  const content = [
    ...(reply.thinking !== undefined ? [{ type: 'thinking', thinking: reply.thinking, signature: signatureOf(reply.thinking) }] : []),
    { type: 'text', text: reply.text },
  ];
  const pieces = tokenPieces(reply.text).length + (reply.thinking ? tokenPieces(reply.thinking).length : 0);
  const text = JSON.stringify({
    id: messageId(),
    type: 'message',
    role: 'assistant',
    model: reply.model ?? body.model,
    content,
    stop_reason: reply.stopReason ?? 'end_turn',
    stop_sequence: null,
    usage: usageOf(reply, body, pieces, cached),
  });
  if (reply.stallAfterEvents !== undefined) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': requestId() });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    return clientGone(res);
  }
  sendRaw(res, 200, text, 'application/json', { 'request-id': requestId() });
}

async function streamText(res: ServerResponse, body: MessagesRequest, reply: TextReply, cached: { read: number; write: number }): Promise<void> {
  const model = reply.model ?? body.model;
  const thinkingPieces = reply.thinking !== undefined ? tokenPieces(reply.thinking, reply.chunkSize) : [];
  const textPieces = tokenPieces(reply.text, reply.chunkSize);
  const usage = usageOf(reply, body, thinkingPieces.length + textPieces.length, cached);
  const events: [string, unknown][] = [
    ['message_start', { type: 'message_start', message: { id: messageId(), type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }],
  ];
  let index = 0;
  if (reply.thinking !== undefined) {
    events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }]);
    events.push(['ping', { type: 'ping' }]);
    for (const p of thinkingPieces) events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: p } }]);
    events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: signatureOf(reply.thinking) } }]);
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
    index++;
  }
  events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }]);
  if (index === 0) events.push(['ping', { type: 'ping' }]);
  for (const p of textPieces) events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } }]);
  events.push(['content_block_stop', { type: 'content_block_stop', index }]);
  events.push(['message_delta', { type: 'message_delta', delta: { stop_reason: reply.stopReason ?? 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }]);
  events.push(['message_stop', { type: 'message_stop' }]);

  startSse(res, { 'request-id': requestId() });
  for (let i = 0; i < events.length; i++) {
    if (reply.stallAfterEvents !== undefined && i >= reply.stallAfterEvents) return clientGone(res);
    if (res.destroyed) return;
    writeSse(res, JSON.stringify(events[i][1]), events[i][0]);
    if (reply.chunkDelayMs && events[i][0] === 'content_block_delta') await wait(reply.chunkDelayMs);
  }
  res.end();
}

/** GET /v1/models as the Messages API answers it: one page, newest first. */
function listModels(res: ServerResponse, models: string[]): void {
  const data = models.map((id, i) => ({ type: 'model', id, display_name: id, created_at: new Date(Date.UTC(2025, 0, 1) - i * 86_400_000).toISOString() }));
  sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null });
}

async function streamError(res: ServerResponse, body: MessagesRequest, reply: z.infer<typeof AnthropicStreamErrorReplySchema>, stream: boolean): Promise<void> {
  const type = reply.errorType ?? 'overloaded_error';
  const message = reply.message ?? 'Overloaded';
  if (!stream) return sendJson(res, 529, errorBody(type, message));
  startSse(res, { 'request-id': requestId() });
  writeSse(res, JSON.stringify({ type: 'message_start', message: { id: messageId(), type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens(body), output_tokens: 1 } } }), 'message_start');
  writeSse(res, JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), 'content_block_start');
  for (const p of tokenPieces(reply.text ?? '')) writeSse(res, JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }), 'content_block_delta');
  writeSse(res, JSON.stringify({ type: 'error', error: { type, message } }), 'error');
  res.end();
}
