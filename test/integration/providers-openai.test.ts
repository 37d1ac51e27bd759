/**
 * The openai-compatible provider through the real openai SDK against the scripted server in test/servers/openai.ts
 * (the wire format vLLM / OpenAI use). Retry waits and timeouts are kept to tens of milliseconds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OpenAICompatibleProvider, type OpenAICompatibleSettings } from '../../src/core/providers/openai-compatible';
import { startOpenAIServer, type OpenAIServer, type OpenAIServerOptions } from '../servers/openai';
import { listen } from '../servers/http';
import { rejectsWith } from '../providerAsserts';

const ANSWER = 'ANALYSIS_ON_CURRENT_PROGRESS:\nKeep refining.\n\nACTION:\nAdd a log1p transform to the target.\n\nRATIONALE:\nThe target is skewed.';
const MESSAGES = [
  { role: 'system' as const, content: 'You are the Ideator.' },
  { role: 'user' as const, content: 'TASK: predict prices.\nSCORE: 0.81' },
];

const servers: OpenAIServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(opts: OpenAIServerOptions, settings: Partial<OpenAICompatibleSettings> = {}) {
  const server = await startOpenAIServer(opts);
  servers.push(server);
  const provider = new OpenAICompatibleProvider({ baseUrl: server.url, model: 'ideator', timeoutMs: 2000, maxRetries: 3, ...settings });
  return { server, provider };
}

function collector() {
  const tokens: { delta: string; channel: 'text' | 'thinking' }[] = [];
  return {
    tokens,
    onToken: (delta: string, channel: 'text' | 'thinking') => tokens.push({ delta, channel }),
    joined: (channel: 'text' | 'thinking') => tokens.filter((t) => t.channel === channel).map((t) => t.delta).join(''),
  };
}

describe('openai-compatible: answers', () => {
  it('plain completion: text, model, usage, finish reason, request body', async () => {
    const { server, provider } = await setup({ responses: [{ text: ANSWER, usage: { prompt_tokens: 42, completion_tokens: 17 } }] }, { stream: false });
    const c = await provider.complete(MESSAGES, { maxTokens: 512, temperature: 0.3 });
    assert.equal(c.text, ANSWER);
    assert.equal(c.thinking, undefined);
    assert.equal(c.model, 'ideator');
    assert.deepEqual(c.usage, { inputTokens: 42, outputTokens: 17 });
    assert.equal(c.finishReason, 'stop');
    const body = server.requests[0];
    assert.equal(body.model, 'ideator');
    assert.deepEqual(body.messages, MESSAGES);
    assert.equal(body.max_tokens, 512);
    assert.equal(body.temperature, 0.3);
    assert.ok(!body.stream, 'not streamed with stream: false and no onToken');
    assert.equal(body.chat_template_kwargs, undefined, 'no chat_template_kwargs unless thinking is set');
    // vLLM/Ollama need no key: the SDK still sends a placeholder bearer.
    assert.equal(server.headers[0].authorization, 'Bearer EMPTY');
  });

  it('streams by default even without onToken (timeouts bound silences, not whole answers)', async () => {
    const { server, provider } = await setup({ responses: [{ text: ANSWER }] });
    assert.equal((await provider.complete(MESSAGES)).text, ANSWER);
    assert.equal(server.requests[0].stream, true);
  });

  it('streaming: tokens arrive in order, usage from the last chunk', async () => {
    const { server, provider } = await setup({ responses: [{ text: ANSWER, usage: { prompt_tokens: 30, completion_tokens: 25 } }] });
    const col = collector();
    const c = await provider.complete(MESSAGES, { onToken: col.onToken });
    assert.equal(c.text, ANSWER);
    assert.equal(col.joined('text'), ANSWER);
    assert.ok(col.tokens.length > 10, `streamed in many chunks (${col.tokens.length})`);
    assert.deepEqual(c.usage, { inputTokens: 30, outputTokens: 25 });
    assert.equal(c.finishReason, 'stop');
    assert.equal(server.requests[0].stream, true);
    assert.deepEqual(server.requests[0].stream_options, { include_usage: true });
  });

  it('enable_thinking goes through chat_template_kwargs (true and false)', async () => {
    const on = await setup({ responses: [{ text: 'x' }] }, { thinking: true, stream: false });
    await on.provider.complete(MESSAGES);
    assert.deepEqual(on.server.requests[0].chat_template_kwargs, { enable_thinking: true });
    const off = await setup({ responses: [{ text: 'x' }] }, { thinking: false });
    await off.provider.complete(MESSAGES, { onToken: () => {} });
    assert.deepEqual(off.server.requests[0].chat_template_kwargs, { enable_thinking: false });
  });

  it('a LoRA adapter is selected by model name', async () => {
    const { server, provider } = await setup({ responses: [{ text: 'ok' }], models: ['Qwen/Qwen3-8B', 'ideator'] });
    const c = await provider.complete(MESSAGES);
    assert.equal(c.model, 'ideator');
    assert.equal(server.requests[0].model, 'ideator');
  });
});

describe('openai-compatible: reasoning', () => {
  for (const field of ['reasoning_content', 'reasoning', 'both'] as const) {
    it(`reads ${field} on the message and on stream deltas`, async () => {
      const reply = { text: ANSWER, reasoning: 'The score plateaued; the target looks skewed.', reasoningField: field };
      const { provider } = await setup({ responses: [reply] }, { stream: false });
      const plain = await provider.complete(MESSAGES);
      assert.equal(plain.text, ANSWER);
      assert.equal(plain.thinking, reply.reasoning);
      const col = collector();
      const streamed = await provider.complete(MESSAGES, { onToken: col.onToken });
      assert.equal(streamed.text, ANSWER);
      assert.equal(streamed.thinking, reply.reasoning, 'not doubled when both fields carry it');
      assert.equal(col.joined('thinking'), reply.reasoning);
      assert.equal(col.joined('text'), ANSWER);
    });
  }

  it('a raw <think> prefix in content (no reasoning parser), split at awkward chunk boundaries', async () => {
    const raw = `<think>\nLet me look at the trajectory.\n</think>\n\n${ANSWER}`;
    for (const chunkSize of [1, 3, 5, 7]) {
      const { provider } = await setup({ responses: [{ text: raw, chunkSize }] });
      const col = collector();
      const c = await provider.complete(MESSAGES, { onToken: col.onToken });
      assert.equal(c.text, ANSWER, `chunkSize ${chunkSize}`);
      assert.equal(c.thinking, 'Let me look at the trajectory.');
      assert.ok(!col.joined('text').includes('think>'), `no tag leaks to the text channel (chunkSize ${chunkSize})`);
      assert.equal(col.joined('text'), ANSWER);
    }
    const { provider } = await setup({ responses: [{ text: raw }] }, { stream: false });
    const plain = await provider.complete(MESSAGES);
    assert.equal(plain.text, ANSWER);
    assert.equal(plain.thinking, 'Let me look at the trajectory.');
  });

  it('an unclosed <think> (cut off by max_tokens) streams to the thinking channel', async () => {
    const { provider } = await setup({ responses: [{ text: '<think>\nFirst, the validation AUC is 0.81 and', finishReason: 'length' }] });
    const col = collector();
    const c = await provider.complete(MESSAGES, { onToken: col.onToken });
    assert.equal(c.text, '');
    assert.equal(c.thinking, 'First, the validation AUC is 0.81 and');
    assert.equal(c.finishReason, 'length');
    assert.equal(col.joined('text'), '');
    assert.match(col.joined('thinking'), /validation AUC is 0\.81 and$/);
  });

  it('Qwen3 with thinking off: the empty think block is dropped', async () => {
    const { provider } = await setup({ responses: [{ text: `<think>\n\n</think>\n\n${ANSWER}` }] }, { stream: false });
    const c = await provider.complete(MESSAGES);
    assert.equal(c.text, ANSWER);
    assert.equal(c.thinking, undefined);
  });

  it('a lone </think> (template opened the block in the prompt) still separates thinking', async () => {
    const { provider } = await setup({ responses: [{ text: `Reasoning here.\n</think>\n\n${ANSWER}` }] }, { stream: false });
    const plain = await provider.complete(MESSAGES);
    assert.equal(plain.text, ANSWER);
    assert.equal(plain.thinking, 'Reasoning here.');
    const streamed = await provider.complete(MESSAGES, { onToken: () => {} });
    assert.equal(streamed.text, ANSWER);
    assert.equal(streamed.thinking, 'Reasoning here.');
  });
});

describe('openai-compatible: retries and errors', () => {
  it('429 with retry-after (seconds) then success: the wait is honoured', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '0.3' } }, { text: 'ok' }] });
    const t0 = performance.now();
    const c = await provider.complete(MESSAGES);
    const ms = performance.now() - t0;
    assert.equal(c.text, 'ok');
    assert.equal(server.requests.length, 2);
    assert.ok(ms >= 280, `waited ${ms.toFixed(0)} ms for retry-after 0.3 s`);
    assert.ok(ms < 1500, `but not much longer (${ms.toFixed(0)} ms)`);
  });

  it('429 with retry-after as an HTTP date, and retry-after-ms', async () => {
    const date = await setup({
      responses: () => ({ type: 'error', status: 429, headers: { 'retry-after': new Date(Date.now() + 2500).toUTCString() } }),
    });
    // An HTTP date has 1 s resolution: just check that the SDK waited rather than failing at once.
    date.server.requests.length = 0;
    const p = date.provider.complete(MESSAGES, { signal: AbortSignal.timeout(400) });
    await rejectsWith(p, 'aborted');
    assert.equal(date.server.requests.length, 1, 'still waiting for the date when aborted');

    const { server, provider } = await setup({ responses: [{ type: 'error', status: 429, headers: { 'retry-after-ms': '150', 'retry-after': '30' } }, { text: 'ok' }] });
    const t0 = performance.now();
    assert.equal((await provider.complete(MESSAGES)).text, 'ok');
    const ms = performance.now() - t0;
    assert.ok(ms >= 140 && ms < 1500, `retry-after-ms 150 wins over retry-after 30 (${ms.toFixed(0)} ms)`);
    assert.equal(server.requests.length, 2);
  });

  it('500 then success', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 500, headers: { 'retry-after-ms': '10' } }, { text: 'recovered' }] });
    assert.equal((await provider.complete(MESSAGES, { onToken: () => {} })).text, 'recovered');
    assert.equal(server.requests.length, 2);
  });

  it('a dropped connection is retried like the SDK would', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'disconnect' }, { text: 'after reset' }] });
    assert.equal((await provider.complete(MESSAGES)).text, 'after reset');
    assert.equal(server.requests.length, 2);
  });

  it('500 forever: a clear error after maxRetries + 1 attempts', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 500, message: 'CUDA out of memory', headers: { 'retry-after-ms': '5' } }] }, { maxRetries: 2 });
    const err = await rejectsWith(provider.complete(MESSAGES), 'server', /HTTP 500, 3 attempt/);
    assert.match(err.message, /CUDA out of memory/);
    assert.equal(err.status, 500);
    assert.equal(server.requests.length, 3);
  });

  it('a retry-after beyond a minute is reported, not slept', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 429, headers: { 'retry-after': '3600' } }] });
    await rejectsWith(provider.complete(MESSAGES), 'rate_limited', /HTTP 429, 1 attempt.*asks to wait 3600 s/);
    assert.equal(server.requests.length, 1);
  });

  it('a bare 404 (wrong path, e.g. base URL without /v1) names the base URL setting', async () => {
    const { server } = await setup({ responses: [{ text: 'never' }] });
    const root = server.url.replace(/\/v1$/, '');
    const provider = new OpenAICompatibleProvider({ baseUrl: root, model: 'ideator', timeoutMs: 1000, maxRetries: 0 });
    const err = await rejectsWith(provider.complete(MESSAGES), 'not_found', /no such endpoint \(HTTP 404\): check the base URL setting \(baseUrl\), now http/);
    assert.equal(err.setting, 'baseUrl');
  });

  it('401 names the API key setting and never shows the key', async () => {
    const key = 'sk-test-SECRET-0123456789abcdef';
    const { provider } = await setup({ responses: [{ text: 'never' }], apiKey: 'sk-right-key-0000000000' }, { apiKey: key });
    const err = await rejectsWith(provider.complete(MESSAGES), 'auth', /check the API key \(command 'Ideator: Set API Key' or env OPENAI_API_KEY\)/);
    assert.equal(err.setting, 'apiKey');
    assert.ok(!err.message.includes(key) && !err.message.includes('SECRET'));
    assert.ok(!provider.label.includes(key));
  });

  it('the right key is sent as a bearer token', async () => {
    const { provider } = await setup({ responses: [{ text: 'hello' }], apiKey: 'sk-right-key-0000000000' }, { apiKey: 'sk-right-key-0000000000' });
    assert.equal((await provider.complete(MESSAGES)).text, 'hello');
  });

  it('404 unknown model leads with the server\'s own message and names the model setting', async () => {
    const { provider } = await setup({ responses: [{ text: 'never' }], models: ['Qwen/Qwen3-8B'] }, { model: 'ideatr' });
    const err = await rejectsWith(provider.complete(MESSAGES), 'not_found', /^The model `ideatr` does not exist \(OpenAI-compatible server at .*, HTTP 404\): the model setting \(model\) is "ideatr"/);
    assert.equal(err.setting, 'model');
  });

  for (const [shape, said] of [
    ['vllm-flat', /^The model `ideator-v2` does not exist \(/],
    ['ollama', /^model "ideator-v2" not found, try pulling it first \(/],
  ] as const) {
    it(`404 unknown model in the ${shape} body shape: the server's own message, not "no such endpoint"`, async () => {
      // vLLM's older top-level error body is what the openai SDK alone reports as "404 status code (no body)".
      const { provider } = await setup({ responses: [{ text: 'never' }], models: ['ideator'], errorShape: shape }, { model: 'ideator-v2', maxRetries: 0 });
      const err = await rejectsWith(provider.complete(MESSAGES), 'not_found', said);
      assert.equal(err.setting, 'model');
      assert.doesNotMatch(err.message, /no such endpoint|no body/);
    });
  }

  it('setting names given by the host appear in the messages', async () => {
    const names = { model: '"ideator.model"', baseUrl: '"ideator.baseUrl"' };
    const { server, provider } = await setup({ responses: [{ text: 'never' }], models: ['ideator'] }, { model: 'nope', maxRetries: 0, names });
    await rejectsWith(provider.complete(MESSAGES), 'not_found', /"ideator\.model" is "nope"/);
    const wrongPath = new OpenAICompatibleProvider({ baseUrl: server.url.replace(/\/v1$/, ''), model: 'ideator', timeoutMs: 1000, maxRetries: 0, names });
    await rejectsWith(wrongPath.complete(MESSAGES), 'not_found', /check "ideator\.baseUrl", now http/);
  });

  it('listModels: the models the server serves, sorted; a wrong key is auth; a wrong path names the base URL', async () => {
    const { server, provider } = await setup({ responses: [{ text: 'never' }], models: ['qwen3-8b', 'ideator', 'Qwen/Qwen3-8B'] });
    assert.deepEqual(await provider.listModels(), ['ideator', 'Qwen/Qwen3-8B', 'qwen3-8b']);
    const keyed = await setup({ responses: [{ text: 'never' }], apiKey: 'sk-right-key-0000000000' }, { apiKey: 'sk-wrong-key-0000000000', maxRetries: 0 });
    await rejectsWith(keyed.provider.listModels(), 'auth');
    const wrongPath = new OpenAICompatibleProvider({ baseUrl: server.url.replace(/\/v1$/, ''), model: 'ideator', timeoutMs: 1000, maxRetries: 0 });
    const err = await rejectsWith(wrongPath.listModels(), 'not_found', /no such endpoint/);
    assert.equal(err.setting, 'baseUrl');
  });

  it('malformed JSON and empty choices are bad_response', async () => {
    const { provider } = await setup({ responses: [{ type: 'malformed' }] }, { stream: false });
    await rejectsWith(provider.complete(MESSAGES), 'bad_response');
    await rejectsWith(provider.complete(MESSAGES, { onToken: () => {} }), 'bad_response');
    const noChoices = await setup({ responses: [{ type: 'malformed', body: JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: 'ideator', choices: [] }) }] }, { stream: false });
    await rejectsWith(noChoices.provider.complete(MESSAGES), 'bad_response', /no choices/);
  });

  it('an error event inside the stream is a server error', async () => {
    const { provider } = await setup({ responses: [{ type: 'stream-error', text: 'Partial answer', message: 'engine dead' }] });
    await rejectsWith(provider.complete(MESSAGES, { onToken: () => {} }), 'server', /engine dead/);
  });

  it('connection refused names the base URL setting and the URL', async () => {
    const closed = await listen(() => {});
    const url = `${closed.origin}/v1`;
    await closed.close();
    const provider = new OpenAICompatibleProvider({ baseUrl: url, model: 'ideator', timeoutMs: 1000, maxRetries: 1 });
    const err = await rejectsWith(provider.complete(MESSAGES), 'unreachable', /ECONNREFUSED/);
    assert.ok(err.message.includes(`base URL setting (baseUrl), now ${url}`), err.message);
  });

  it('unknown host (DNS) is unreachable too', async () => {
    const provider = new OpenAICompatibleProvider({ baseUrl: 'http://no-such-host.invalid:8000/v1', model: 'ideator', timeoutMs: 2000, maxRetries: 0 });
    await rejectsWith(provider.complete(MESSAGES), 'unreachable', /no-such-host\.invalid/);
  });

  it('a slow server times out after timeoutMs per attempt', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'hang' }] }, { timeoutMs: 150, maxRetries: 1 });
    const t0 = performance.now();
    const err = await rejectsWith(provider.complete(MESSAGES), 'timeout', /within 150 ms \(2 attempt/);
    assert.equal(err.setting, 'timeoutMs');
    assert.equal(server.requests.length, 2);
    assert.ok(performance.now() - t0 < 2500);
  });

  it('a stream that stalls mid-way times out instead of hanging', async () => {
    const { provider } = await setup({ responses: [{ text: ANSWER, stallAfterChunks: 4 }] }, { timeoutMs: 200 });
    const col = collector();
    await rejectsWith(provider.complete(MESSAGES, { onToken: col.onToken }), 'timeout', /stopped sending data for 200 ms/);
    assert.ok(col.tokens.length > 0, 'tokens before the stall were delivered');
    const plain = await setup({ responses: [{ text: ANSWER, stallAfterChunks: 1 }] }, { timeoutMs: 200, stream: false });
    await rejectsWith(plain.provider.complete(MESSAGES), 'timeout');
  });

  it('abort mid-stream rejects at once with aborted and stops tokens', async () => {
    const { provider } = await setup({ responses: [{ text: ANSWER, chunkDelayMs: 20 }] });
    const ac = new AbortController();
    const col = collector();
    const p = provider.complete(MESSAGES, {
      signal: ac.signal,
      onToken: (d, ch) => {
        col.onToken(d, ch);
        if (col.tokens.length === 3) ac.abort();
      },
    });
    await rejectsWith(p, 'aborted');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(col.tokens.length, 3, 'no token after the abort');
  });

  it('abort during a retry wait rejects promptly', async () => {
    const { server, provider } = await setup({ responses: [{ type: 'error', status: 503, headers: { 'retry-after': '20' } }] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    await rejectsWith(provider.complete(MESSAGES, { signal: ac.signal }), 'aborted');
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `aborted after ${ms.toFixed(0)} ms, not after the 20 s wait`);
    assert.equal(server.requests.length, 1);
  });

  it('an already-aborted signal sends nothing', async () => {
    const { server, provider } = await setup({ responses: [{ text: 'x' }] });
    await rejectsWith(provider.complete(MESSAGES, { signal: AbortSignal.abort() }), 'aborted');
    assert.equal(server.requests.length, 0);
  });
});
