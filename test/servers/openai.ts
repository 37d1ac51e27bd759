/**
 * A scripted OpenAI chat-completions server (what vLLM / SGLang / Ollama / OpenAI answer on /v1), for tests and
 * for other processes (see run.ts and README.md). Replies are scripted per request; the wire format is the real
 * one: `chat.completion` objects, `chat.completion.chunk` SSE frames with `choices[].delta`, `finish_reason`,
 * a usage chunk when `stream_options.include_usage`, `data: [DONE]`, and OpenAI's error JSON.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { clientGone, listen, readBody, ReplyScript, roughTokens, sendJson, sendRaw, startSse, tokenPieces, wait, writeSse } from './http';

const Delay = { delayMs: z.number().nonnegative().optional() };

/** A normal answer. `text` is the content exactly (put a raw "<think>…" in it to imitate a server without a reasoning parser). */
export const TextReplySchema = z.strictObject({
  type: z.literal('text').optional(),
  text: z.string(),
  /** Reasoning sent in a separate field (a server with a reasoning parser). */
  reasoning: z.string().optional(),
  /** Which field carries `reasoning`: 'reasoning_content' (older vLLM, default), 'reasoning' (newer), or both. */
  reasoningField: z.enum(['reasoning_content', 'reasoning', 'both']).optional(),
  finishReason: z.enum(['stop', 'length']).optional(),
  /** Overrides the usage figures (default: rough counts). */
  usage: z.strictObject({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }).optional(),
  /** The model echoed back (default: the model the request named). */
  model: z.string().optional(),
  /** Fixed-size chunks instead of token-sized ones. */
  chunkSize: z.number().int().positive().optional(),
  /** Pause between stream chunks. */
  chunkDelayMs: z.number().nonnegative().optional(),
  /** Send this many stream frames (or, unstreamed, the headers and half the body), then go silent forever. */
  stallAfterChunks: z.number().int().nonnegative().optional(),
  ...Delay,
});

/** An HTTP error in OpenAI's JSON shape: {"error": {"message", "type", "param", "code"}}. */
export const ErrorReplySchema = z.strictObject({
  type: z.literal('error'),
  status: z.number().int().min(400).max(599),
  message: z.string().optional(),
  errorType: z.string().optional(),
  code: z.union([z.string(), z.number(), z.null()]).optional(),
  /** e.g. {"retry-after": "1"}, {"retry-after-ms": "50"}. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Raw body instead of the OpenAI shape (e.g. vLLM's {"detail": "Not Found"}). */
  body: z.unknown().optional(),
  ...Delay,
});

/** A 200 whose body is not valid JSON (or, streamed, a data frame that is not). */
export const MalformedReplySchema = z.strictObject({
  type: z.literal('malformed'),
  body: z.string().optional(),
  ...Delay,
});

/** An error reported inside a 200 stream, the way vLLM does: `data: {"error": {...}}`. */
export const StreamErrorReplySchema = z.strictObject({
  type: z.literal('stream-error'),
  /** Content streamed before the error. */
  text: z.string().optional(),
  message: z.string().optional(),
  ...Delay,
});

/** Never answers (the connection stays open until the client gives up or the server closes). */
export const HangReplySchema = z.strictObject({ type: z.literal('hang') });

/** Drops the connection without answering. */
export const DisconnectReplySchema = z.strictObject({ type: z.literal('disconnect'), ...Delay });

export const ScriptedReplySchema = z.union([
  TextReplySchema,
  ErrorReplySchema,
  MalformedReplySchema,
  StreamErrorReplySchema,
  HangReplySchema,
  DisconnectReplySchema,
]);
export type ScriptedReply = z.input<typeof ScriptedReplySchema>;
export const ScriptSchema = z.array(ScriptedReplySchema);

/** What the client sent (the parsed JSON body; unknown fields kept). */
export const ChatRequestSchema = z.looseObject({
  model: z.string(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.unknown() })).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  max_tokens: z.number().nullish(),
  temperature: z.number().nullish(),
  /** Answers wanted (vLLM, SGLang and OpenAI honour it; some servers ignore it: see `ignoreN`). */
  n: z.number().int().min(1).max(128).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

export interface OpenAIServerOptions {
  /** Reply n goes to request n; past the end the last reply repeats. Or a function of the request and its index. */
  responses: ScriptedReply[] | ((req: ChatRequest, n: number) => ScriptedReply);
  /** When set, requests naming another model get vLLM's 404 (without using up a scripted reply). */
  models?: string[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's 401 (on /v1/models too). */
  apiKey?: string;
  /**
   * The body of the unknown-model 404 (`models`): 'openai' (default; OpenAI and vLLM with OpenAI-shaped errors:
   * `{"error": {message, type, param, code}}`), 'vllm-flat' (vLLM's older top-level ErrorResponse: `{"object":
   * "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "param": null, "code": 404}`),
   * 'ollama' (`{"error": "model \"x\" not found, try pulling it first"}`).
   */
  errorShape?: ErrorShape;
  /**
   * Answer one choice whatever `n` the request asks for, like servers that ignore it. Default false: a request with
   * `n` gets n choices, taking n consecutive replies of the script (all must be text replies).
   */
  ignoreN?: boolean;
}

export const ErrorShapeSchema = z.enum(['openai', 'vllm-flat', 'ollama']);
export type ErrorShape = z.infer<typeof ErrorShapeSchema>;

/** The unknown-model 404 body each kind of server sends. */
export function modelNotFoundBody(model: string, shape: ErrorShape = 'openai'): unknown {
  if (shape === 'ollama') return { error: `model "${model}" not found, try pulling it first` };
  const message = `The model \`${model}\` does not exist.`;
  if (shape === 'vllm-flat') return { object: 'error', message, type: 'NotFoundError', param: null, code: 404 };
  return errorBody(message, 'NotFoundError', 404, 'model');
}

export interface OpenAIServer {
  /** Base URL including /v1, ready for the SDK's baseURL. */
  url: string;
  requests: ChatRequest[];
  /** Request headers, parallel to `requests`. */
  headers: Record<string, string>[];
  close(): Promise<void>;
}

const errorBody = (message: string, type: string, code: string | number | null, param: string | null = null) => ({
  error: { message, type, param, code },
});

export async function startOpenAIServer(opts: OpenAIServerOptions): Promise<OpenAIServer> {
  const script = new ReplyScript(opts.responses, ScriptedReplySchema);
  // Which scripted reply answers next: one per request, or n for a request with `n` choices.
  let slot = 0;

  const listening = await listen(async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const wrongKey = opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`;
    const unauthorized = () =>
      sendJson(res, 401, errorBody('Incorrect API key provided. You can find your API key in your account settings.', 'invalid_request_error', 'invalid_api_key'));
    if (req.method === 'GET' && path === '/v1/models') return wrongKey ? unauthorized() : listModels(res, opts.models ?? ['ideator']);
    if (req.method !== 'POST' || path !== '/v1/chat/completions') return sendJson(res, 404, { detail: 'Not Found' });

    const text = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return sendJson(res, 400, errorBody('Request body is not valid JSON', 'BadRequestError', 400));
    }
    const parsed = ChatRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return sendJson(res, 400, errorBody(`${issue.path.join('.')}: ${issue.message}`, 'BadRequestError', 400));
    }
    const chat = parsed.data;
    script.record(req, chat);

    if (wrongKey) return unauthorized();
    if (opts.models && !opts.models.includes(chat.model)) return sendJson(res, 404, modelNotFoundBody(chat.model, opts.errorShape));
    const wanted = opts.ignoreN ? 1 : (chat.n ?? 1);
    const first = slot;
    slot += wanted;
    const replies = Array.from({ length: wanted }, (_, i) => script.reply(chat, first + i));
    if (wanted === 1 || replies[0].type === 'hang' || replies[0].type === 'disconnect' || replies[0].type === 'error') return answer(req, res, chat, replies[0]);
    const texts = replies.filter((r): r is TextReply => r.type === undefined || r.type === 'text');
    if (texts.length !== replies.length) return sendJson(res, 500, errorBody('test server: a request with n > 1 choices needs text replies for all of them', 'InternalServerError', 500));
    await answerChoices(res, chat, texts);
  });

  return { url: `${listening.origin}/v1`, requests: script.requests, headers: script.headers, close: listening.close };
}

function listModels(res: ServerResponse, models: string[]): void {
  const created = Math.floor(Date.now() / 1000);
  sendJson(res, 200, {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent: null, max_model_len: 32768 })),
  });
}

type Reply = z.infer<typeof ScriptedReplySchema>;

async function answer(req: IncomingMessage, res: ServerResponse, chat: ChatRequest, reply: Reply): Promise<void> {
  if (reply.type === 'hang') return clientGone(res);
  if (reply.delayMs) await Promise.race([wait(reply.delayMs), clientGone(res)]);
  if (res.destroyed) return;
  const stream = chat.stream === true;
  switch (reply.type) {
    case 'disconnect':
      req.socket.destroy();
      return;
    case 'error':
      return sendJson(res, reply.status, reply.body ?? errorBody(reply.message ?? `HTTP ${reply.status}`, reply.errorType ?? defaultErrorType(reply.status), reply.code ?? null), reply.headers);
    case 'malformed':
      if (stream) {
        startSse(res);
        writeSse(res, reply.body ?? '{"id": "chatcmpl-x", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "Hel');
        writeSse(res, '[DONE]');
        return void res.end();
      }
      return sendRaw(res, 200, reply.body ?? '{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"message": ', 'application/json');
    case 'stream-error':
      return streamError(res, chat, reply, stream);
    default:
      return stream ? streamText(res, chat, reply) : plainText(res, chat, reply);
  }
}

function defaultErrorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 404) return 'NotFoundError';
  if (status === 429) return 'rate_limit_exceeded';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

const completionId = () => `chatcmpl-${randomBytes(12).toString('hex')}`;

function promptTokens(chat: ChatRequest): number {
  return roughTokens(chat.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n'));
}

type TextReply = z.infer<typeof TextReplySchema>;

function reasoningFields(reply: TextReply, value: string | null): Record<string, string | null> {
  const field = reply.reasoningField ?? 'reasoning_content';
  if (field === 'both') return { reasoning_content: value, reasoning: value };
  return { [field]: value };
}

function usageOf(reply: TextReply, chat: ChatRequest, completionTokens: number) {
  const prompt = reply.usage?.prompt_tokens ?? promptTokens(chat);
  const completion = reply.usage?.completion_tokens ?? completionTokens;
  return { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion, prompt_tokens_details: null };
}

async function plainText(res: ServerResponse, chat: ChatRequest, reply: TextReply): Promise<void> {
  const pieces = tokenPieces(reply.text).length + (reply.reasoning ? tokenPieces(reply.reasoning).length : 0);
  const body = JSON.stringify({
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model ?? chat.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.text, ...reasoningFields(reply, reply.reasoning ?? null), tool_calls: [] },
        logprobs: null,
        finish_reason: reply.finishReason ?? 'stop',
        stop_reason: null,
      },
    ],
    usage: usageOf(reply, chat, pieces),
    prompt_logprobs: null,
  });
  if (reply.stallAfterChunks !== undefined) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.write(body.slice(0, Math.floor(body.length / 2)));
    return clientGone(res);
  }
  sendRaw(res, 200, body, 'application/json');
}

async function streamText(res: ServerResponse, chat: ChatRequest, reply: TextReply): Promise<void> {
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const model = reply.model ?? chat.model;
  const includeUsage = chat.stream_options?.include_usage === true;
  const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
  const frames = [frame({ role: 'assistant', content: '' })];
  const reasoning = reply.reasoning ? tokenPieces(reply.reasoning, reply.chunkSize) : [];
  const content = tokenPieces(reply.text, reply.chunkSize);
  for (const r of reasoning) frames.push(frame(reasoningFields(reply, r)));
  for (const c of content) frames.push(frame({ content: c }));
  frames.push(frame({}, reply.finishReason ?? 'stop'));

  startSse(res);
  for (let i = 0; i < frames.length; i++) {
    if (reply.stallAfterChunks !== undefined && i >= reply.stallAfterChunks) return clientGone(res);
    if (res.destroyed) return;
    writeSse(res, frames[i]);
    if (reply.chunkDelayMs) await wait(reply.chunkDelayMs);
  }
  if (includeUsage) {
    writeSse(res, JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(reply, chat, reasoning.length + content.length) }));
  }
  writeSse(res, '[DONE]');
  res.end();
}

/** n choices in one answer: one `choices` list (plain), or each choice's frames interleaved by `index` (streamed). */
async function answerChoices(res: ServerResponse, chat: ChatRequest, replies: TextReply[]): Promise<void> {
  const delay = replies[0].delayMs;
  if (delay) await Promise.race([wait(delay), clientGone(res)]);
  if (res.destroyed) return;
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const model = replies[0].model ?? chat.model;
  const pieces = replies.map((r) => ({ reasoning: r.reasoning ? tokenPieces(r.reasoning, r.chunkSize) : [], content: tokenPieces(r.text, r.chunkSize) }));
  const completionTokens = pieces.reduce((sum, p) => sum + p.reasoning.length + p.content.length, 0);
  const prompt = replies[0].usage?.prompt_tokens ?? promptTokens(chat);
  const usage = { prompt_tokens: prompt, total_tokens: prompt + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null };
  if (chat.stream !== true) {
    return sendRaw(
      res,
      200,
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: replies.map((reply, index) => ({
          index,
          message: { role: 'assistant', content: reply.text, ...reasoningFields(reply, reply.reasoning ?? null), tool_calls: [] },
          logprobs: null,
          finish_reason: reply.finishReason ?? 'stop',
          stop_reason: null,
        })),
        usage,
        prompt_logprobs: null,
      }),
      'application/json',
    );
  }
  const includeUsage = chat.stream_options?.include_usage === true;
  const frame = (index: number, delta: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
  const queues = replies.map((reply, index) => [
    frame(index, { role: 'assistant', content: '' }),
    ...pieces[index].reasoning.map((r) => frame(index, reasoningFields(reply, r))),
    ...pieces[index].content.map((c) => frame(index, { content: c })),
    frame(index, {}, reply.finishReason ?? 'stop'),
  ]);
  startSse(res);
  // Round robin, as a server batching the n sequences emits them.
  for (let step = 0; queues.some((q) => step < q.length); step++) {
    for (let index = 0; index < queues.length; index++) {
      if (res.destroyed) return;
      if (step < queues[index].length) writeSse(res, queues[index][step]);
    }
    const pause = replies[0].chunkDelayMs;
    if (pause) await wait(pause);
  }
  if (includeUsage) writeSse(res, JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }));
  writeSse(res, '[DONE]');
  res.end();
}

async function streamError(res: ServerResponse, chat: ChatRequest, reply: z.infer<typeof StreamErrorReplySchema>, stream: boolean): Promise<void> {
  const message = reply.message ?? 'The engine encountered an internal error.';
  if (!stream) return sendJson(res, 500, errorBody(message, 'InternalServerError', 500));
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  startSse(res);
  for (const piece of tokenPieces(reply.text ?? '')) {
    writeSse(res, JSON.stringify({ id, object: 'chat.completion.chunk', created, model: chat.model, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] }));
  }
  writeSse(res, JSON.stringify({ error: { object: 'error', message, type: 'InternalServerError', param: null, code: 500 } }));
  writeSse(res, '[DONE]');
  res.end();
}
