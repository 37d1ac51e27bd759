/**
 * Small HTTP helpers shared by the providers: the SDKs do retries and connect timeouts themselves; what they do not
 * do is time out a body that stops mid-way, refuse absurd retry-after waits, or let an abort interrupt a retry
 * wait (openai 6.x sleeps through it). These helpers add exactly that, and the fetch-based 'server' client reuses
 * the same pieces for its own retry loop.
 */
import { abortedError, IdleTimeoutError } from './errors';
import { retryAfterMs } from './retry-after';

export { retryAfterMs };

/** Longest wait a retry-after may impose before we give up instead (a 1 h wait is better reported than slept). */
export const MAX_RETRY_WAIT_MS = 60_000;

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 8 s (the SDKs' own curve). */
export function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 8000) * (1 - Math.random() * 0.25);
}

/** Resolves after `ms`; rejects with ProviderError('aborted') as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles with `work`, or rejects with ProviderError('aborted') the moment `signal` fires — even while an SDK is
 * sleeping between retries. The SDK gets the same signal, so its own request is cancelled too; its late rejection
 * is swallowed here.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(abortedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Re-emits a body, erroring it with IdleTimeoutError when no chunk arrives for `idleMs`. */
export function idleGuard(body: ReadableStream<Uint8Array>, idleMs: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<'stalled'>((resolve) => {
        timer = setTimeout(() => resolve('stalled'), idleMs);
      });
      try {
        const next = await Promise.race([reader.read(), stalled]);
        if (next === 'stalled') {
          reader.cancel().catch(() => {});
          controller.error(new IdleTimeoutError(idleMs));
        } else if (next.done) {
          controller.close();
        } else {
          controller.enqueue(next.value);
        }
      } catch (err) {
        controller.error(err);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * A fetch for the SDKs' `fetch` option: 2xx bodies get an idle timeout (the SDK timers stop at the headers), and a
 * retryable failure whose retry-after exceeds MAX_RETRY_WAIT_MS is marked `x-should-retry: false` so the SDK
 * reports it at once instead of sleeping for an hour.
 */
export function guardedFetch(idleMs: number, maxRetryWaitMs = MAX_RETRY_WAIT_MS): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (res.ok && res.body) {
      return new Response(idleGuard(res.body, idleMs), { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    if (res.ok) return res;
    const headers = new Headers(res.headers);
    const wait = retryAfterMs(res.headers);
    if (wait !== undefined && wait > maxRetryWaitMs) headers.set('x-should-retry', 'false');
    // Error bodies are small; read them to put the server's message where the SDKs look for it.
    const text = await res.text().catch(() => '');
    const body = normaliseErrorBody(text) ?? text;
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(body, { status: res.status, statusText: res.statusText, headers });
  };
}

/** A string worth showing: trimmed, non-empty. */
const said = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/**
 * An error body rewritten into the shape both SDKs read (`{"error": {"message": …}}`), or undefined when it already
 * has it or carries no message. Servers differ: vLLM without OpenAI-shaped errors answers at the top level
 * (`{"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "param": null, "code":
 * 404}`), Ollama with a string (`{"error": "model \"x\" not found, try pulling it first"}`), FastAPI with
 * `{"detail": "Not Found"}` or a list of `{msg}`. Left as they are, the openai SDK reports "404 status code (no
 * body)" and the server's own explanation is lost.
 */
export function normaliseErrorBody(text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const err = o.error;
  if (err !== null && typeof err === 'object' && !Array.isArray(err)) return undefined;
  const detail = Array.isArray(o.detail)
    ? o.detail.map((d) => said((d as { msg?: unknown } | null)?.msg)).filter(Boolean).join('; ') || undefined
    : said(o.detail);
  const message = said(err) ?? said(o.message) ?? detail;
  if (message === undefined) return undefined;
  const type = said(o.type);
  const code = typeof o.code === 'string' || typeof o.code === 'number' ? o.code : null;
  return JSON.stringify({ ...o, error: { message, type: type ?? null, param: said(o.param) ?? null, code } });
}

/** The SDKs' rule: 408, 409, 429 and 5xx are worth another try, unless the server says `x-should-retry`. */
export function isRetryableStatus(status: number, headers?: Headers): boolean {
  const says = headers?.get('x-should-retry');
  if (says === 'true') return true;
  if (says === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export interface RetryVerdict {
  retryable: boolean;
  /** Response headers, for retry-after. */
  headers?: Headers;
}

export interface RetryPolicy {
  maxRetries: number;
  signal?: AbortSignal;
  maxWaitMs?: number;
  /** Called before each attempt with its 0-based index (providers count attempts for their messages). */
  onAttempt?: (n: number) => void;
}

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, or retries run out. Waits what the server asked
 * (retry-after-ms / retry-after), else backs off; the wait ends at once when the signal fires. A requested wait
 * beyond maxWaitMs ends the loop with the server's error.
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, classify: (err: unknown) => RetryVerdict, policy: RetryPolicy): Promise<T> {
  const maxWait = policy.maxWaitMs ?? MAX_RETRY_WAIT_MS;
  for (let n = 0; ; n++) {
    if (policy.signal?.aborted) throw abortedError(policy.signal.reason);
    policy.onAttempt?.(n);
    try {
      return await attempt(n);
    } catch (err) {
      if (policy.signal?.aborted || n >= policy.maxRetries) throw err;
      const verdict = classify(err);
      if (!verdict.retryable) throw err;
      const asked = verdict.headers ? retryAfterMs(verdict.headers) : undefined;
      if (asked !== undefined && asked > maxWait) throw err;
      await sleep(asked ?? backoffMs(n), policy.signal);
    }
  }
}
