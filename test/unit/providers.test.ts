/**
 * Pure parts of the providers: <think> splitting (also across arbitrary chunk boundaries), retry-after parsing,
 * the retry loop, SSE reading, key redaction, error descriptions, and the NULL / VAGUE template ideators.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIdea } from '../../src/core/idea';
import { describeProviderError, httpFailure, redact, type ErrorContext } from '../../src/core/providers/errors';
import { normaliseErrorBody, retryAfterMs, withRetries } from '../../src/core/providers/http';
import { isOpenAIItself } from '../../src/core/providers/openai-compatible';
import { readSse } from '../../src/core/providers/sse';
import { NULL_IDEA, TemplateProvider, VAGUE_IDEA } from '../../src/core/providers/template';
import { splitThink, ThinkSplitter } from '../../src/core/providers/think';
import { ProviderError } from '../../src/core/providers/types';

function streamSplit(chunks: string[]) {
  const events: [string, string][] = [];
  const s = new ThinkSplitter((d, ch) => events.push([ch, d]));
  for (const c of chunks) s.push(c);
  s.end();
  return { text: s.text, thinking: s.thinking, events };
}

/** Deterministic pseudo-random chunking. */
function chunkings(text: string, seeds: number): string[][] {
  const out: string[][] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    let x = seed * 7919;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; ) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const n = 1 + (x % 6);
      chunks.push(text.slice(i, i + n));
      i += n;
    }
    out.push(chunks);
  }
  return out;
}

describe('ThinkSplitter / splitThink', () => {
  const cases: { raw: string; text: string; thinking: string }[] = [
    { raw: '<think>plan</think>\n\nANSWER', text: 'ANSWER', thinking: 'plan' },
    { raw: '  \n<think>\nplan\n</think>ANSWER', text: 'ANSWER', thinking: '\nplan\n' },
    { raw: 'ANSWER with <think>inline</think> tag', text: 'ANSWER with <think>inline</think> tag', thinking: '' },
    { raw: '<think>never closed', text: '', thinking: 'never closed' },
    { raw: '<thin', text: '<thin', thinking: '' },
    { raw: '<think>a </thin b</think>c', text: 'c', thinking: 'a </thin b' },
    { raw: '', text: '', thinking: '' },
  ];
  for (const c of cases) {
    it(`splits ${JSON.stringify(c.raw)} the same whatever the chunking`, () => {
      for (const chunks of [[c.raw], [...c.raw], ...chunkings(c.raw, 20)]) {
        const got = streamSplit(chunks);
        assert.equal(got.text, c.text, JSON.stringify(chunks));
        assert.equal(got.thinking, c.thinking, JSON.stringify(chunks));
        assert.equal(got.events.filter((e) => e[0] === 'text').map((e) => e[1]).join(''), c.text);
        assert.equal(got.events.filter((e) => e[0] === 'thinking').map((e) => e[1]).join(''), c.thinking);
      }
    });
  }

  it('routes thinking tokens before the close tag arrives (unclosed while streaming)', () => {
    const seen: string[] = [];
    const s = new ThinkSplitter((d, ch) => seen.push(`${ch}:${d}`));
    s.push('<think>');
    s.push('step one');
    assert.deepEqual(seen, ['thinking:step one']);
  });

  it('splitThink trims, drops an empty think block, and handles a lone </think>', () => {
    assert.deepEqual(splitThink('<think>\n\n</think>\n\nA'), { text: 'A', thinking: undefined });
    assert.deepEqual(splitThink('<think>\n x \n</think>\nA'), { text: 'A', thinking: 'x' });
    assert.deepEqual(splitThink('reasoning</think>\n\nA'), { text: 'A', thinking: 'reasoning' });
    assert.deepEqual(splitThink('plain answer'), { text: 'plain answer', thinking: undefined });
  });
});

describe('retry-after parsing', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('reads retry-after-ms first, then seconds, then an HTTP date', () => {
    const now = Date.parse('Mon, 23 Nov 2026 10:00:00 GMT');
    assert.equal(retryAfterMs(h({ 'retry-after-ms': '250', 'retry-after': '9' }), now), 250);
    assert.equal(retryAfterMs(h({ 'retry-after': '2' }), now), 2000);
    assert.equal(retryAfterMs(h({ 'retry-after': '0.5' }), now), 500);
    assert.equal(retryAfterMs(h({ 'retry-after': 'Mon, 23 Nov 2026 10:00:07 GMT' }), now), 7000);
    assert.equal(retryAfterMs(h({ 'retry-after': 'Mon, 23 Nov 2026 09:59:00 GMT' }), now), 0, 'a past date means now');
    assert.equal(retryAfterMs(h({ 'retry-after': 'soon' }), now), undefined);
    assert.equal(retryAfterMs(h({ 'retry-after-ms': 'x', 'retry-after': '1' }), now), 1000);
    assert.equal(retryAfterMs(h({}), now), undefined);
  });
});

describe('withRetries', () => {
  const retryable = (headers?: Headers) => () => ({ retryable: true, headers });
  it('retries up to maxRetries and reports attempts', async () => {
    const seen: number[] = [];
    await assert.rejects(
      withRetries(async () => Promise.reject(new Error('boom')), retryable(new Headers({ 'retry-after-ms': '1' })), { maxRetries: 2, onAttempt: (n) => seen.push(n) }),
      /boom/,
    );
    assert.deepEqual(seen, [0, 1, 2]);
  });
  it('stops at a non-retryable failure and at an over-long retry-after', async () => {
    let calls = 0;
    const fail = async () => {
      calls++;
      throw new Error('x');
    };
    await assert.rejects(withRetries(fail, () => ({ retryable: false }), { maxRetries: 5 }));
    assert.equal(calls, 1);
    await assert.rejects(withRetries(fail, retryable(new Headers({ 'retry-after': '120' })), { maxRetries: 5 }));
    assert.equal(calls, 2);
  });
  it('an abort during the wait rejects at once with aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const t0 = performance.now();
    await assert.rejects(
      withRetries(async () => Promise.reject(new Error('x')), retryable(new Headers({ 'retry-after': '30' })), { maxRetries: 3, signal: ac.signal }),
      (e: unknown) => e instanceof ProviderError && e.kind === 'aborted',
    );
    assert.ok(performance.now() - t0 < 500);
  });
});

describe('readSse', () => {
  const streamOf = (parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
  it('parses events, multi-line data, comments and CRLF, across chunk splits', async () => {
    const raw = ': keep-alive\r\nevent: token\r\ndata: {"a":1}\r\n\r\ndata: line1\ndata: line2\n\nevent: done\ndata:{}\n\n';
    for (const parts of [[raw], [...raw], ...chunkings(raw, 10)]) {
      const events = [];
      for await (const e of readSse(streamOf(parts))) events.push(e);
      assert.deepEqual(events, [
        { event: 'token', data: '{"a":1}' },
        { event: 'message', data: 'line1\nline2' },
        { event: 'done', data: '{}' },
      ]);
    }
  });
});

describe('errors', () => {
  const ctx: ErrorContext = { service: 'X', baseUrl: 'http://h/v1', model: 'm', keyHint: 'env K', timeoutMs: 5, attempts: 4, secrets: ['supersecretvalue'] };
  it('redacts the configured secret and key-shaped strings', () => {
    assert.equal(redact('key supersecretvalue!', ['supersecretvalue']), 'key ***!');
    assert.equal(redact('Incorrect API key provided: sk-proj-abcdef123456'), 'Incorrect API key provided: ***');
    assert.equal(redact('Authorization: Bearer abc.def.ghijkl'), 'Authorization: ***');
  });
  it('maps statuses to kinds with the setting to fix', () => {
    const e401 = httpFailure(401, 'bad key supersecretvalue', ctx);
    assert.equal(e401.kind, 'auth');
    assert.equal(e401.setting, 'apiKey');
    assert.ok(!e401.message.includes('supersecretvalue'));
    assert.equal(httpFailure(404, 'The model `m` does not exist.', ctx).setting, 'model');
    assert.equal(httpFailure(404, 'Not Found', ctx).setting, 'baseUrl');
    assert.match(httpFailure(503, undefined, ctx, undefined, new Headers({ 'retry-after': '30' })).message, /asks to wait 30 s/);
    assert.equal(httpFailure(429, undefined, ctx).kind, 'rate_limited');
    assert.match(httpFailure(529, undefined, ctx).message, /overloaded \(HTTP 529, 4 attempt/);
    assert.equal(httpFailure(503, undefined, ctx).kind, 'server');
    assert.equal(httpFailure(400, 'max_tokens too large', ctx).kind, 'config');
  });
  it('error bodies reach the SDKs in the shape they read: vLLM flat, Ollama string, FastAPI detail', () => {
    const flat = '{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}';
    assert.deepEqual(JSON.parse(normaliseErrorBody(flat)!).error, { message: 'The model `x` does not exist.', type: 'NotFoundError', param: null, code: 404 });
    assert.equal(JSON.parse(normaliseErrorBody('{"error":"model \\"x\\" not found, try pulling it first"}')!).error.message, 'model "x" not found, try pulling it first');
    assert.equal(JSON.parse(normaliseErrorBody('{"detail":"Not Found"}')!).error.message, 'Not Found');
    assert.equal(JSON.parse(normaliseErrorBody('{"detail":[{"msg":"field required"},{"msg":"bad type"}]}')!).error.message, 'field required; bad type');
    // Already in shape, not JSON, or nothing to say: left alone.
    assert.equal(normaliseErrorBody('{"error":{"message":"m"}}'), undefined);
    assert.equal(normaliseErrorBody('{"type":"error","error":{"type":"not_found_error","message":"model: x"}}'), undefined);
    assert.equal(normaliseErrorBody('<html>502</html>'), undefined);
    assert.equal(normaliseErrorBody('{"status":"bad"}'), undefined);
  });
  it('a 404 about the model leads with the server\'s words; names come from the host', () => {
    const e = httpFailure(404, 'The model `m` does not exist.', { ...ctx, names: { model: 'ideator.model' } });
    assert.match(e.message, /^The model `m` does not exist \(X at http:\/\/h\/v1, HTTP 404\): ideator\.model is "m"/);
    assert.match(httpFailure(408, undefined, { ...ctx, timeoutMs: 300_000, names: { timeoutMs: 'ideator.requestTimeoutSeconds' } }).message, /raise ideator\.requestTimeoutSeconds, now 300 s/);
  });
  it('describeProviderError gives one safe line for anything', () => {
    assert.equal(describeProviderError(new ProviderError('timeout', 'took too long')), 'took too long');
    assert.equal(describeProviderError(new DOMException('x', 'AbortError')), 'the request was cancelled');
    assert.equal(describeProviderError(new Error('key sk-abcdefghijkl leaked')), 'key *** leaked');
    assert.equal(describeProviderError('plain'), 'plain');
  });
});

describe('template ideators (NULL / VAGUE ablations)', () => {
  for (const [kind, text] of [
    ['template-null', NULL_IDEA],
    ['template-vague', VAGUE_IDEA],
  ] as const) {
    it(`${kind} answers in the strict three-field format and streams it`, async () => {
      const p = new TemplateProvider(kind);
      const tokens: string[] = [];
      const c = await p.complete([{ role: 'user', content: 'anything' }], { onToken: (d) => tokens.push(d) });
      assert.equal(c.text, text);
      assert.equal(tokens.join(''), text);
      assert.equal(c.model, kind);
      const idea = parseIdea(c.text);
      assert.equal(idea.ok, true, idea.errors.join('; '));
      assert.ok(idea.action.length > 10);
      await assert.rejects(p.complete([], { signal: AbortSignal.abort() }), (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
    });
  }
  it('NULL gives no suggestion; VAGUE only says to keep improving', () => {
    assert.match(parseIdea(NULL_IDEA).action, /No specific suggestion/);
    assert.match(parseIdea(VAGUE_IDEA).action, /Continue improving/);
    assert.notEqual(NULL_IDEA, VAGUE_IDEA);
  });
});

describe('openai-compatible request shape', () => {
  it('recognises OpenAI itself (max_completion_tokens, no chat_template_kwargs) and nothing else', () => {
    assert.equal(isOpenAIItself('https://api.openai.com/v1'), true);
    assert.equal(isOpenAIItself('http://localhost:8000/v1'), false);
    assert.equal(isOpenAIItself('http://localhost:11434/v1'), false);
    assert.equal(isOpenAIItself('not a url'), false);
  });
});
