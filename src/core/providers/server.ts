/**
 * Client of the companion server's `POST /v1/ideate` (the 'server' provider): the extension sends the prompt it
 * built, the server runs whichever Ideator it is configured with and streams the answer back as SSE —
 * `event: token` {delta, channel} as it is generated, then `event: done` with an IdeateResponse (an `event: error`
 * {error: {code, message}} if it fails part-way). Plain fetch, so the retry loop, timeouts and abort handling are
 * the shared ones from http.ts. The bearer token is optional (loopback servers run without one).
 */
import { z } from 'zod';
import { IdeateResponseSchema, type ChatMessage, type Completion, type IdeateRequest } from '../protocol';
import { BadResponseError, httpFailure, midStreamFailure, timeoutFailure, transportFailure, type ErrorContext, type SettingNames } from './errors';
import { idleGuard, isRetryableStatus, raceAbort, withRetries, type RetryVerdict } from './http';
import { readSse } from './sse';
import type { CompleteOptions, Provider } from './types';

export interface ServerSettings {
  /** The server's root URL, e.g. http://127.0.0.1:8787 (the path /v1/ideate is added). */
  baseUrl: string;
  token?: string;
  timeoutMs: number;
  maxRetries: number;
  maxTokens?: number;
  /** How the host names its settings in error messages. */
  names?: Partial<SettingNames>;
}

const TokenEventSchema = z.object({ delta: z.string(), channel: z.enum(['text', 'thinking']) });
const ErrorBodySchema = z.object({ error: z.object({ code: z.string().optional(), message: z.string() }) });

/** A non-2xx answer, kept raw until retries are over. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly serverMessage: string | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

/** The per-attempt connect timeout fired (distinct from the caller's abort). */
class AttemptTimeout extends Error {
  constructor() {
    super('attempt timed out');
  }
}

function errorMessageOf(text: string): string | undefined {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data.error.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 300) || undefined;
}

export class ServerIdeatorProvider implements Provider {
  readonly kind = 'server' as const;
  readonly label: string;
  private readonly endpoint: string;
  private readonly ctx: ErrorContext;

  constructor(private readonly settings: ServerSettings) {
    const root = settings.baseUrl.replace(/\/+$/, '');
    this.endpoint = `${root}/v1/ideate`;
    this.label = `ideator server ${root}`;
    this.ctx = {
      service: 'Ideator server',
      baseUrl: root,
      keyHint: "command 'Ideator: Set API Key' or env IDEATOR_SERVER_TOKEN",
      timeoutMs: settings.timeoutMs,
      attempts: settings.maxRetries + 1,
      secrets: settings.token ? [settings.token] : [],
      names: settings.names,
    };
  }

  async complete(messages: ChatMessage[], options: CompleteOptions = {}): Promise<Completion> {
    const { signal } = options;
    const tries = { n: 0 };
    // One controller for the whole call: the caller's abort and the end of the call both cancel the body.
    const call = new AbortController();
    const onAbort = () => call.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const work = (async () => {
        const res = await withRetries(() => this.open(messages, options, call.signal), classify, {
          maxRetries: this.settings.maxRetries,
          signal,
          onAttempt: (n) => (tries.n = n + 1),
        });
        return this.read(res, options);
      })();
      return await raceAbort(work, signal);
    } catch (err) {
      const ctx = { ...this.ctx, attempts: Math.max(1, tries.n) };
      if (signal?.aborted) throw transportFailure(err, ctx, signal);
      if (err instanceof HttpStatusError) throw httpFailure(err.status, err.serverMessage, ctx, err, err.headers);
      if (err instanceof AttemptTimeout) throw timeoutFailure(ctx, err);
      throw transportFailure(err, ctx, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.abort();
    }
  }

  /** One attempt: POST and wait for the status line, within timeoutMs. */
  private async open(messages: ChatMessage[], options: CompleteOptions, callSignal: AbortSignal): Promise<Response> {
    const maxTokens = options.maxTokens ?? this.settings.maxTokens;
    const body: Omit<IdeateRequest, 'state'> = { messages, stream: true, ...(maxTokens !== undefined ? { maxTokens } : {}) };
    const attempt = new AbortController();
    const timedOut = { value: false };
    const timer = setTimeout(() => {
      timedOut.value = true;
      attempt.abort();
    }, this.settings.timeoutMs);
    const onCall = () => attempt.abort(callSignal.reason);
    callSignal.addEventListener('abort', onCall, { once: true });
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: attempt.signal,
      });
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        throw new HttpStatusError(res.status, res.headers, errorMessageOf(text));
      }
      return res;
    } catch (err) {
      callSignal.removeEventListener('abort', onCall);
      if (timedOut.value) throw new AttemptTimeout();
      throw err;
    } finally {
      // The timeout covers the status line only; after it, the idle guard watches the body, and the call
      // controller (still linked on success) cancels it.
      clearTimeout(timer);
    }
  }

  private async read(res: Response, options: CompleteOptions): Promise<Completion> {
    const { signal, onToken } = options;
    if (!res.body) throw new BadResponseError('empty body');
    const type = res.headers.get('content-type') ?? '';
    const body = idleGuard(res.body, this.settings.timeoutMs);
    if (!type.includes('text/event-stream')) {
      // A server may answer a stream request with plain JSON; accept it.
      const text = await new Response(body).text();
      return this.parseDone(text);
    }
    for await (const ev of readSse(body)) {
      if (signal?.aborted) break;
      if (ev.event === 'token') {
        const token = TokenEventSchema.safeParse(safeJson(ev.data));
        if (!token.success) throw new BadResponseError('a token event is not {delta, channel}');
        onToken?.(token.data.delta, token.data.channel);
      } else if (ev.event === 'done') {
        return this.parseDone(ev.data);
      } else if (ev.event === 'error') {
        const parsed = ErrorBodySchema.safeParse(safeJson(ev.data));
        throw midStreamFailure(parsed.success ? parsed.data.error.message : ev.data, this.ctx);
      }
    }
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    throw new BadResponseError('the stream ended without a done event');
  }

  private parseDone(text: string): Completion {
    const parsed = IdeateResponseSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadResponseError(`the final answer is not an IdeateResponse (${issue?.path.join('.') || 'root'}: ${issue?.message})`);
    }
    return parsed.data.completion;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadResponseError(`not JSON: ${text.slice(0, 80)}`);
  }
}

function classify(err: unknown): RetryVerdict {
  if (err instanceof HttpStatusError) return { retryable: isRetryableStatus(err.status, err.headers), headers: err.headers };
  if (err instanceof AttemptTimeout) return { retryable: true };
  // fetch's own failures (refused, reset, DNS) are TypeErrors; aborts are not retried.
  return { retryable: err instanceof TypeError };
}
