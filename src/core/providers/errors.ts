/**
 * Turns whatever a request threw (an SDK error, a fetch failure, a timeout, an abort) into a ProviderError whose
 * message tells the user which setting to fix. One mapping for every provider, so the same failure reads the same
 * whether it came from the openai SDK, the Anthropic SDK or our own fetch client. Keys never appear in messages:
 * everything that leaves this file goes through redact().
 */
import { retryAfterMs } from './retry-after';
import { ProviderError, type ProviderErrorKind } from './types';

/** The abstract settings an error can point at (ProviderError.setting); each host maps them to its own names. */
export const SETTING = {
  apiKey: 'apiKey',
  baseUrl: 'baseUrl',
  model: 'model',
  timeoutMs: 'timeoutMs',
  maxTokens: 'maxTokens',
} as const;
export type SettingKey = keyof typeof SETTING;

/**
 * How a host names each setting in its messages: the extension says "ideator.model" and "the command 'Ideator: Set
 * API Key'", the CLI "--model". Messages must name something the user can actually find.
 */
export type SettingNames = Record<SettingKey, string>;

/** Host-neutral names (the CLI and the library): the config field with its meaning. */
export const DEFAULT_SETTING_NAMES: SettingNames = {
  apiKey: 'the API key',
  baseUrl: 'the base URL setting (baseUrl)',
  model: 'the model setting (model)',
  timeoutMs: 'the timeout setting (timeoutMs)',
  maxTokens: 'the max-tokens setting (maxTokens)',
};

export interface ErrorContext {
  /** Who answered, for messages: "OpenAI-compatible server", "Anthropic API", "Ideator server". */
  service: string;
  baseUrl: string;
  model?: string;
  /** Where the key comes from, e.g. "command 'Ideator: Set API Key' or env ANTHROPIC_API_KEY". */
  keyHint: string;
  timeoutMs: number;
  /** Total attempts made for retryable failures (maxRetries + 1). */
  attempts: number;
  /** Strings that must never be shown (the API key). */
  secrets: readonly string[];
  /** How the host names its settings (default DEFAULT_SETTING_NAMES). */
  names?: Partial<SettingNames>;
}

function nameOf(ctx: ErrorContext, key: SettingKey): string {
  return ctx.names?.[key] ?? DEFAULT_SETTING_NAMES[key];
}

/** A timeout for people: "120 s", "1.5 s", "800 ms". */
function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toPrecision(3))} s` : `${ms} ms`;
}

/** Thrown into a response body when no bytes arrived for too long (see guardedFetch). */
export class IdleTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no data for ${ms} ms`);
    this.name = 'IdleTimeoutError';
  }
}

/** The server answered 2xx but not with what the protocol promises (bad JSON, no choices, wrong shape). */
export class BadResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadResponseError';
  }
}

const KEY_PATTERNS = [/\bsk-[A-Za-z0-9_\-*]{6,}/g, /\bBearer\s+[A-Za-z0-9._\-~+/]{8,}=*/gi];

/** Removes the given secrets and anything shaped like an API key or bearer token. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  for (const re of KEY_PATTERNS) out = out.replace(re, '***');
  return out;
}

/** Walks `cause` chains and AggregateError lists. */
function* causes(err: unknown, depth = 0): Generator<unknown> {
  if (err === null || err === undefined || depth > 8) return;
  yield err;
  if (typeof err !== 'object') return;
  const e = err as { cause?: unknown; errors?: unknown };
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* causes(inner, depth + 1);
  if (e.cause !== undefined) yield* causes(e.cause, depth + 1);
}

export function findCause<T>(err: unknown, test: (e: unknown) => e is T): T | undefined {
  for (const c of causes(err)) if (test(c)) return c;
  return undefined;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function networkCode(err: unknown): string | undefined {
  for (const c of causes(err)) {
    const code = (c as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
  }
  return undefined;
}

function isAbortLike(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'APIUserAbortError';
}

function make(kind: ProviderErrorKind, message: string, ctx: ErrorContext, setting?: string, status?: number, cause?: unknown) {
  return new ProviderError(kind, redact(message, ctx.secrets), setting, status, cause === undefined ? undefined : { cause });
}

export function abortedError(cause?: unknown): ProviderError {
  return new ProviderError('aborted', 'the request was cancelled', undefined, undefined, cause === undefined ? undefined : { cause });
}

/** The server's own words, on one line and at most 300 characters. */
function excerpt(message: string | undefined): string {
  const m = (message ?? '').replace(/\s+/g, ' ').trim();
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}

/** Short, safe excerpt of what the server said. */
function serverSays(message: string | undefined): string {
  const m = excerpt(message);
  return m ? ` The server said: "${m}".` : '';
}

/** Whether a 404's message is about the model rather than the path (vLLM, OpenAI, Ollama and Anthropic all say "model"). */
export function isModelNotFound(serverMessage: string | undefined, model: string | undefined): boolean {
  const m = serverMessage ?? '';
  return model !== undefined && (/\bmodel\b/i.test(m) || m.includes(model));
}

/** An HTTP status the server answered with, after the SDK (or our client) gave up retrying. */
export function httpFailure(status: number, serverMessage: string | undefined, ctx: ErrorContext, cause?: unknown, headers?: Headers): ProviderError {
  const said = serverSays(serverMessage);
  const at = `${ctx.service} at ${ctx.baseUrl}`;
  const asked = headers ? retryAfterMs(headers) : undefined;
  const waitHint = asked !== undefined && asked > 0 ? `the server asks to wait ${Math.ceil(asked / 1000)} s` : 'wait a little';
  if (status === 401 || status === 403) {
    const key = ctx.names?.apiKey ?? `the API key (${ctx.keyHint})`;
    return make('auth', `${at} rejected the credentials (HTTP ${status}): check ${key}.${said}`, ctx, SETTING.apiKey, status, cause);
  }
  if (status === 404) {
    if (isModelNotFound(serverMessage, ctx.model)) {
      // The server's own sentence leads: it names the model it does not know better than any guess of ours.
      const own = excerpt(serverMessage);
      return make(
        'not_found',
        `${own.replace(/[.!]?$/, '')} (${at}, HTTP 404): ${nameOf(ctx, 'model')} is "${ctx.model}", which this server does not serve; pick one of the models it lists, or for a vLLM LoRA adapter use the name given to --lora-modules.`,
        ctx,
        SETTING.model,
        status,
        cause,
      );
    }
    const hint = ctx.model === undefined ? '' : ` (or the model "${ctx.model}" is unknown there: ${nameOf(ctx, 'model')})`;
    return make('not_found', `${at} has no such endpoint (HTTP 404): check ${nameOf(ctx, 'baseUrl')}, now ${ctx.baseUrl}${hint}.${said}`, ctx, SETTING.baseUrl, status, cause);
  }
  if (status === 429) {
    return make('rate_limited', `${at} is rate-limiting requests (HTTP 429, ${ctx.attempts} attempt(s)); ${waitHint} and try again.${said}`, ctx, undefined, status, cause);
  }
  if (status === 529 || status >= 500) {
    const what = status === 529 ? 'is overloaded' : 'failed with a server error';
    return make('server', `${at} ${what} (HTTP ${status}, ${ctx.attempts} attempt(s)); ${asked !== undefined && asked > 0 ? waitHint + ', then try again' : 'try again later'}.${said}`, ctx, undefined, status, cause);
  }
  if (status === 408) {
    return make('timeout', `${at} timed out the request (HTTP 408, ${ctx.attempts} attempt(s)); raise ${nameOf(ctx, 'timeoutMs')}, now ${formatMs(ctx.timeoutMs)}.`, ctx, SETTING.timeoutMs, status, cause);
  }
  // 400, 413, 422 …: the request itself is wrong for this server (too many tokens, unsupported option).
  return make('config', `${at} refused the request (HTTP ${status}); check the model (${ctx.model ?? 'default'}) and ${nameOf(ctx, 'maxTokens')}.${said}`, ctx, undefined, status, cause);
}

/** The server started a 200 answer, then reported an error inside the stream (an SSE error event). */
export function midStreamFailure(serverMessage: string | undefined, ctx: ErrorContext, cause?: unknown): ProviderError {
  return make('server', `${ctx.service} at ${ctx.baseUrl} reported an error in the middle of the answer; try again.${serverSays(serverMessage)}`, ctx, undefined, undefined, cause);
}

/** No answer (headers) within the per-attempt timeout, on every attempt. */
export function timeoutFailure(ctx: ErrorContext, cause?: unknown): ProviderError {
  return make('timeout', `${ctx.service} at ${ctx.baseUrl} did not answer within ${formatMs(ctx.timeoutMs)} (${ctx.attempts} attempt(s)); raise ${nameOf(ctx, 'timeoutMs')} or check the server.`, ctx, SETTING.timeoutMs, undefined, cause);
}

/** Connection refused / reset, DNS failure, TLS failure. */
export function unreachableFailure(ctx: ErrorContext, cause?: unknown): ProviderError {
  const code = networkCode(cause);
  return make('unreachable', `cannot reach ${ctx.service} at ${ctx.baseUrl}${code ? ` (${code})` : ''}: check ${nameOf(ctx, 'baseUrl')}, now ${ctx.baseUrl}, and that the server is running.`, ctx, SETTING.baseUrl, undefined, cause);
}

/**
 * Everything that is not an HTTP status: aborts, timeouts, unreachable hosts, malformed answers. `signal` is the
 * caller's: when it fired, the failure is a cancellation whatever the SDK reported.
 */
export function transportFailure(err: unknown, ctx: ErrorContext, signal?: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return abortedError(err);
  const idle = findCause(err, (e): e is IdleTimeoutError => e instanceof IdleTimeoutError);
  if (idle) {
    return make('timeout', `${ctx.service} at ${ctx.baseUrl} stopped sending data for ${formatMs(idle.ms)} in the middle of the answer; raise ${nameOf(ctx, 'timeoutMs')} or check the server.`, ctx, SETTING.timeoutMs, undefined, err);
  }
  if ((err as { name?: unknown } | null)?.name === 'TimeoutError') return timeoutFailure(ctx, err);
  if (isAbortLike(err)) return abortedError(err);
  if (networkCode(err)) return unreachableFailure(ctx, err);
  const bad = findCause(err, (e): e is Error => e instanceof BadResponseError || e instanceof SyntaxError);
  if (bad) {
    return make('bad_response', `${ctx.service} at ${ctx.baseUrl} sent an answer that is not what the API promises (${bad.message}); is ${nameOf(ctx, 'baseUrl')} (${ctx.baseUrl}) pointing at the right kind of server?`, ctx, SETTING.baseUrl, undefined, err);
  }
  const message = err instanceof Error ? err.message : String(err);
  return make('bad_response', `${ctx.service} at ${ctx.baseUrl}: unexpected failure: ${message}`, ctx, undefined, undefined, err);
}

/** One line for a UI / log, whatever was thrown. Never includes keys. */
export function describeProviderError(err: unknown): string {
  if (err instanceof ProviderError) return redact(err.message);
  if (isAbortLike(err)) return 'the request was cancelled';
  if (err instanceof Error) return redact(err.message || err.name);
  return redact(String(err));
}
