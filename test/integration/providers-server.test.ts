/**
 * The 'server' provider (client of POST /v1/ideate) against the scripted fake in test/servers/ideate.ts, and
 * createProvider wiring it up from config + env.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createProvider } from '../../src/core/providers/index';
import { ServerIdeatorProvider, type ServerSettings } from '../../src/core/providers/server';
import { ProviderError } from '../../src/core/providers/types';
import { listen } from '../servers/http';
import { startIdeateServer, type IdeateServer, type IdeateServerOptions } from '../servers/ideate';
import { rejectsWith } from '../providerAsserts';

const ANSWER = 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep going.\n\nACTION:\nTry 5-fold CV.\n\nRATIONALE:\nThe holdout is small.';
const MESSAGES = [
  { role: 'system' as const, content: 'You are the Ideator.' },
  { role: 'user' as const, content: 'STATE' },
];
const TOKEN = 'ideator-token-0123456789';

const servers: IdeateServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(opts: IdeateServerOptions, settings: Partial<ServerSettings> = {}) {
  const server = await startIdeateServer(opts);
  servers.push(server);
  const provider = new ServerIdeatorProvider({ baseUrl: server.url, timeoutMs: 2000, maxRetries: 3, ...settings });
  return { server, provider };
}

describe('server provider (POST /v1/ideate)', () => {
  it('streams tokens on both channels and returns the done completion; sends messages + stream:true + bearer', async () => {
    const { server, provider } = await setup({ responses: [{ text: ANSWER, thinking: 'Small data, so CV.' }], token: TOKEN }, { token: TOKEN, maxTokens: 900 });
    const got: Record<string, string> = { text: '', thinking: '' };
    const c = await provider.complete(MESSAGES, { onToken: (d, ch) => (got[ch] += d) });
    assert.equal(c.text, ANSWER);
    assert.equal(c.thinking, 'Small data, so CV.');
    assert.equal(c.model, 'ideator');
    assert.equal(got.text, ANSWER);
    assert.equal(got.thinking, 'Small data, so CV.');
    assert.deepEqual(server.requests[0].messages, MESSAGES);
    assert.equal(server.requests[0].stream, true);
    assert.equal(server.requests[0].maxTokens, 900);
    assert.equal(server.headers[0].authorization, `Bearer ${TOKEN}`);
    assert.equal(server.headers[0].accept, 'text/event-stream');
  });

  it('without onToken the answer is the same', async () => {
    const { provider } = await setup({ responses: [{ text: ANSWER }] });
    assert.equal((await provider.complete(MESSAGES)).text, ANSWER);
  });

  it('401 names the server token', async () => {
    const { provider } = await setup({ responses: [{ text: ANSWER }], token: TOKEN }, { token: 'wrong-token-abcdefgh' });
    const err = await rejectsWith(provider.complete(MESSAGES), 'auth', /IDEATOR_SERVER_TOKEN/);
    assert.ok(!err.message.includes('wrong-token-abcdefgh'));
  });

  it('429 with retry-after then success, timing honoured', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 429, headers: { 'retry-after': '0.25' } }, { text: ANSWER }] });
    const t0 = performance.now();
    assert.equal((await provider.complete(MESSAGES, { onToken: () => {} })).text, ANSWER);
    const ms = performance.now() - t0;
    assert.ok(ms >= 240 && ms < 1500, `${ms.toFixed(0)} ms`);
    assert.equal(server.requests.length, 2);
  });

  it('500 forever: server error after maxRetries + 1 attempts, with the server message', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 500, message: 'worker crashed', headers: { 'retry-after-ms': '5' } }] }, { maxRetries: 2 });
    await rejectsWith(provider.complete(MESSAGES), 'server', /HTTP 500, 3 attempt.*worker crashed/);
    assert.equal(server.requests.length, 3);
  });

  it('404 (no such route: wrong base URL) names the base URL', async () => {
    const { server } = await setup({ responses: [{ text: ANSWER }] });
    const provider = new ServerIdeatorProvider({ baseUrl: `${server.url}/api`, timeoutMs: 1000, maxRetries: 0 });
    await rejectsWith(provider.complete(MESSAGES), 'not_found', /base URL setting \(baseUrl\), now http:\/\/127\.0\.0\.1:\d+\/api\./);
  });

  it('error event mid-stream, malformed done, and a stream with no done are reported', async () => {
    const a = await setup({ responses: [{ type: 'stream-error', text: 'Part', message: 'model crashed' }] });
    await rejectsWith(a.provider.complete(MESSAGES), 'server', /model crashed/);
    const b = await setup({ responses: [{ type: 'malformed' }] });
    await rejectsWith(b.provider.complete(MESSAGES), 'bad_response', /IdeateResponse/);
  });

  it('connection refused, timeout, stall and abort', async () => {
    const closed = await listen(() => {});
    await closed.close();
    const refused = new ServerIdeatorProvider({ baseUrl: closed.origin, timeoutMs: 500, maxRetries: 0 });
    await rejectsWith(refused.complete(MESSAGES), 'unreachable', /ECONNREFUSED/);

    const slow = await setup({ responses: [{ type: 'hang' }] }, { timeoutMs: 150, maxRetries: 1 });
    await rejectsWith(slow.provider.complete(MESSAGES), 'timeout', /within 150 ms \(2 attempt/);
    assert.equal(slow.server.requests.length, 2);

    const stall = await setup({ responses: [{ text: ANSWER, stallAfterEvents: 3 }] }, { timeoutMs: 200 });
    await rejectsWith(stall.provider.complete(MESSAGES, { onToken: () => {} }), 'timeout', /stopped sending data/);

    const streaming = await setup({ responses: [{ text: ANSWER, chunkDelayMs: 20 }] });
    const ac = new AbortController();
    let n = 0;
    await rejectsWith(streaming.provider.complete(MESSAGES, { signal: ac.signal, onToken: () => ++n === 2 && ac.abort() }), 'aborted');
    assert.equal(n, 2);

    const waiting = await setup({ responses: [{ type: 'error', status: 503, headers: { 'retry-after': '20' } }] });
    const t0 = performance.now();
    await rejectsWith(waiting.provider.complete(MESSAGES, { signal: AbortSignal.timeout(100) }), 'aborted');
    assert.ok(performance.now() - t0 < 1000);
  });
});

describe('createProvider', () => {
  it('builds each kind from config; keys only from secrets or env', async () => {
    const { server } = await setup({ responses: [{ text: ANSWER }], token: TOKEN });
    const fromEnv = createProvider({ kind: 'server', baseUrl: server.url }, {}, { IDEATOR_SERVER_TOKEN: TOKEN });
    assert.equal((await fromEnv.complete(MESSAGES)).text, ANSWER);
    const fromSecrets = createProvider({ kind: 'server', baseUrl: server.url }, { apiKey: TOKEN }, {});
    assert.equal((await fromSecrets.complete(MESSAGES)).text, ANSWER);
    // A key smuggled into config is ignored (the schema strips it), so the request is unauthorised.
    const smuggled = createProvider({ kind: 'server', baseUrl: server.url, apiKey: TOKEN } as never, {}, {});
    await rejectsWith(smuggled.complete(MESSAGES), 'auth');
    assert.ok(!fromEnv.label.includes(TOKEN));
  });

  it('config errors are ProviderErrors naming the setting', () => {
    assert.throws(() => createProvider({ kind: 'anthropic' }, {}, {}), (e: unknown) => e instanceof ProviderError && e.kind === 'auth' && /ANTHROPIC_API_KEY/.test(e.message));
    assert.throws(() => createProvider({ kind: 'server' }, {}, {}), (e: unknown) => e instanceof ProviderError && e.kind === 'config' && e.setting === 'baseUrl');
    assert.throws(() => createProvider({ kind: 'openai', baseUrl: 'localhost:8000' }, {}, {}), (e: unknown) => e instanceof ProviderError && e.setting === 'baseUrl');
    assert.throws(() => createProvider({ kind: 'openai', timeoutMs: -1 }, {}, {}), (e: unknown) => e instanceof ProviderError && e.setting === 'timeoutMs');
  });

  it('defaults: vLLM address and the "ideator" adapter; blank settings count as unset; env base URLs', () => {
    assert.equal(createProvider({ kind: 'openai', baseUrl: '', model: '' }, {}, {}).label, 'openai-compatible http://localhost:8000/v1 (ideator)');
    assert.equal(createProvider({ kind: 'openai' }, {}, { OPENAI_BASE_URL: 'http://localhost:11434/v1' }).label, 'openai-compatible http://localhost:11434/v1 (ideator)');
    assert.match(createProvider({ kind: 'anthropic' }, { apiKey: 'k-123456' }, {}).label, /^anthropic https:\/\/api\.anthropic\.com \(claude-/);
    assert.equal(createProvider({ kind: 'template-null' }).kind, 'template-null');
  });
});
