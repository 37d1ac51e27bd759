/**
 * The Anthropic provider through the real @anthropic-ai/sdk against the scripted messages server in
 * test/servers/anthropic.ts. Retry waits and timeouts are kept to tens of milliseconds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AnthropicProvider, toAnthropicMessages, type AnthropicSettings } from '../../src/core/providers/anthropic';
import { startAnthropicServer, type AnthropicServer, type AnthropicServerOptions } from '../servers/anthropic';
import { listen } from '../servers/http';
import { rejectsWith } from '../providerAsserts';

const KEY = 'sk-ant-api03-TESTKEY-abcdefghijklmnop';
const ANSWER = 'ANALYSIS_ON_CURRENT_PROGRESS:\nRevert to the LightGBM baseline.\n\nACTION:\nSet num_leaves=63.\n\nRATIONALE:\nThe deeper net overfits.';
const MESSAGES = [
  { role: 'system' as const, content: 'You are the Ideator.' },
  { role: 'user' as const, content: 'TRAJECTORY: …' },
];

const servers: AnthropicServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(opts: AnthropicServerOptions, settings: Partial<AnthropicSettings> = {}) {
  const server = await startAnthropicServer({ apiKey: KEY, ...opts });
  servers.push(server);
  const provider = new AnthropicProvider({ apiKey: KEY, baseUrl: server.url, model: 'claude-test-1', timeoutMs: 2000, maxRetries: 3, ...settings });
  return { server, provider };
}

describe('anthropic: answers', () => {
  it('plain: system prompt the Anthropic way, usage, stop reason, key header', async () => {
    const { server, provider } = await setup({ responses: [{ text: ANSWER, usage: { input_tokens: 120, output_tokens: 40 } }] }, { stream: false });
    const c = await provider.complete(MESSAGES, { maxTokens: 800, temperature: 0.2 });
    assert.equal(c.text, ANSWER);
    assert.equal(c.model, 'claude-test-1');
    assert.deepEqual(c.usage, { inputTokens: 120, outputTokens: 40 });
    assert.equal(c.finishReason, 'end_turn');
    const body = server.requests[0];
    assert.equal(body.system, 'You are the Ideator.');
    assert.deepEqual(body.messages, [{ role: 'user', content: 'TRAJECTORY: …' }]);
    assert.equal(body.max_tokens, 800);
    assert.equal(body.temperature, 0.2);
    assert.ok(!body.stream);
    // SDK 1.x sends the key as a bearer token (older SDKs used x-api-key; the server accepts both).
    assert.equal(server.headers[0].authorization, `Bearer ${KEY}`);
    assert.ok(server.headers[0]['anthropic-version'], 'SDK sends anthropic-version');
  });

  it('streaming: text deltas in order, usage from message_start + message_delta', async () => {
    const { server, provider } = await setup({ responses: [{ text: ANSWER, usage: { input_tokens: 99, output_tokens: 33 } }] });
    const tokens: string[] = [];
    const c = await provider.complete(MESSAGES, { onToken: (d, ch) => tokens.push(`${ch}:${d}`) });
    assert.equal(c.text, ANSWER);
    assert.equal(tokens.map((t) => t.slice(5)).join(''), ANSWER);
    assert.ok(tokens.every((t) => t.startsWith('text:')));
    assert.ok(tokens.length > 10);
    assert.deepEqual(c.usage, { inputTokens: 99, outputTokens: 33 });
    assert.equal(server.requests[0].stream, true);
  });

  it('thinking on: adaptive thinking requested, thinking deltas on the thinking channel, no temperature', async () => {
    const thinking = 'The last three runs changed only the learning rate.';
    const { server, provider } = await setup({ responses: [{ text: ANSWER, thinking }] }, { thinking: true, temperature: 0.5 });
    const channels: Record<string, string> = { text: '', thinking: '' };
    const c = await provider.complete(MESSAGES, { onToken: (d, ch) => (channels[ch] += d) });
    assert.equal(c.text, ANSWER);
    assert.equal(c.thinking, thinking);
    assert.equal(channels.thinking, thinking);
    assert.equal(channels.text, ANSWER);
    const body = server.requests[0];
    assert.deepEqual(body.thinking, { type: 'adaptive', display: 'summarized' });
    assert.equal(body.temperature, undefined);
    assert.equal(body.max_tokens, 16000);
    const plain = await new AnthropicProvider({ apiKey: KEY, baseUrl: server.url, model: 'claude-test-1', thinking: true, timeoutMs: 2000, maxRetries: 0, stream: false }).complete(MESSAGES);
    assert.equal(server.requests.at(-1)!.stream, false);
    assert.equal(plain.thinking, thinking);
    assert.equal(plain.text, ANSWER);
  });

  it('thinking off is sent as disabled', async () => {
    const { server, provider } = await setup({ responses: [{ text: 'x' }] }, { thinking: false });
    await provider.complete(MESSAGES);
    assert.deepEqual(server.requests[0].thinking, { type: 'disabled' });
  });

  it('merges system messages and consecutive turns of one role', () => {
    const { system, turns } = toAnthropicMessages([
      { role: 'system', content: 'A' },
      { role: 'user', content: 'u1' },
      { role: 'user', content: 'u2' },
      { role: 'system', content: 'B' },
      { role: 'assistant', content: 'a1' },
    ]);
    assert.equal(system, 'A\n\nB');
    assert.deepEqual(turns, [
      { role: 'user', content: 'u1\n\nu2' },
      { role: 'assistant', content: 'a1' },
    ]);
  });

  it('only a system prompt is a config error, not a request', async () => {
    const { server, provider } = await setup({ responses: [{ text: 'x' }] });
    await rejectsWith(provider.complete([{ role: 'system', content: 'hi' }]), 'config', /user message/);
    assert.equal(server.requests.length, 0);
  });
});

describe('anthropic: retries and errors', () => {
  it('429 with retry-after then success: the wait is honoured', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 429, headers: { 'retry-after': '0.3' } }, { text: 'ok' }] });
    const t0 = performance.now();
    assert.equal((await provider.complete(MESSAGES, { onToken: () => {} })).text, 'ok');
    const ms = performance.now() - t0;
    assert.equal(server.requests.length, 2);
    assert.ok(ms >= 280 && ms < 1500, `waited ${ms.toFixed(0)} ms for retry-after 0.3 s`);
  });

  it('529 overloaded then success', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 529, headers: { 'retry-after-ms': '20' } }, { text: 'ok' }] });
    assert.equal((await provider.complete(MESSAGES)).text, 'ok');
    assert.equal(server.requests.length, 2);
  });

  it('a dropped connection is retried by the SDK', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'disconnect' }, { text: 'after reset' }] });
    assert.equal((await provider.complete(MESSAGES)).text, 'after reset');
    assert.equal(server.requests.length, 2);
  });

  it('529 forever: overloaded after maxRetries + 1 attempts', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 529, headers: { 'retry-after-ms': '5' } }] }, { maxRetries: 2 });
    await rejectsWith(provider.complete(MESSAGES), 'server', /overloaded \(HTTP 529, 3 attempt/);
    assert.equal(server.requests.length, 3);
  });

  it('401 authentication_error names the key setting, never the key', async () => {
    const wrong = 'sk-ant-api03-WRONG-zzzzzzzzzzzzzzzz';
    const { provider } = await setup({ responses: [{ text: 'never' }] }, { apiKey: wrong });
    const err = await rejectsWith(provider.complete(MESSAGES), 'auth', /check the API key \(command 'Ideator: Set API Key' or env ANTHROPIC_API_KEY\)/);
    assert.match(err.message, /invalid x-api-key/);
    assert.ok(!err.message.includes(wrong));
    assert.equal(err.status, 401);
  });

  it('404 unknown model leads with the server\'s message and names the model', async () => {
    const { provider } = await setup({ responses: [{ text: 'never' }], models: ['claude-test-1'] }, { model: 'claude-old-0' });
    const err = await rejectsWith(provider.complete(MESSAGES), 'not_found', /^model: claude-old-0 \(Anthropic API at .*HTTP 404\): the model setting \(model\) is "claude-old-0"/);
    assert.equal(err.setting, 'model');
  });

  it('listModels lists the models of GET /v1/models', async () => {
    const { provider } = await setup({ responses: [{ text: 'never' }], models: ['claude-test-2', 'claude-test-1'] });
    assert.deepEqual(await provider.listModels(), ['claude-test-1', 'claude-test-2']);
  });

  it('error event mid-stream is a server error', async () => {
    const { provider } = await setup({ responses: [{ type: 'stream-error', text: 'Partial', message: 'Overloaded' }] });
    await rejectsWith(provider.complete(MESSAGES, { onToken: () => {} }), 'server', /Overloaded/);
  });

  it('malformed JSON is bad_response', async () => {
    const { provider } = await setup({ responses: [{ type: 'malformed' }] }, { stream: false });
    await rejectsWith(provider.complete(MESSAGES), 'bad_response');
    await rejectsWith(provider.complete(MESSAGES, { onToken: () => {} }), 'bad_response');
  });

  it('connection refused names the base URL', async () => {
    const closed = await listen(() => {});
    await closed.close();
    const provider = new AnthropicProvider({ apiKey: KEY, baseUrl: closed.origin, model: 'm', timeoutMs: 1000, maxRetries: 0 });
    await rejectsWith(provider.complete(MESSAGES), 'unreachable', new RegExp(`\\(baseUrl\\), now ${closed.origin.replace(/[.]/g, '\\.')}`));
  });

  it('slow server: timeout per attempt, retried by the SDK', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'hang' }] }, { timeoutMs: 150, maxRetries: 1 });
    await rejectsWith(provider.complete(MESSAGES), 'timeout', /within 150 ms/);
    assert.equal(server.requests.length, 2);
  });

  it('a stream that stalls times out', async () => {
    const { provider } = await setup({ responses: [{ text: ANSWER, stallAfterEvents: 5 }] }, { timeoutMs: 200 });
    await rejectsWith(provider.complete(MESSAGES, { onToken: () => {} }), 'timeout', /stopped sending data/);
  });

  it('abort mid-stream and during a retry wait', async () => {
    const slow = await setup({ responses: [{ text: ANSWER, chunkDelayMs: 20 }] });
    const ac = new AbortController();
    let n = 0;
    await rejectsWith(
      slow.provider.complete(MESSAGES, {
        signal: ac.signal,
        onToken: () => {
          if (++n === 2) ac.abort();
        },
      }),
      'aborted',
    );
    assert.equal(n, 2);

    const { server, provider } = await setup({ responses: [{ type: 'error', status: 429, headers: { 'retry-after': '20' } }] });
    const t0 = performance.now();
    await rejectsWith(provider.complete(MESSAGES, { signal: AbortSignal.timeout(100) }), 'aborted');
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(server.requests.length, 1);
  });
});
