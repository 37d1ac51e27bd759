/**
 * The scripted servers as other processes use them: `test/servers/run.ts` started as a child process, its
 * {"url"} line read, a provider pointed at it, the request log checked; plus wire-level details a raw HTTP client
 * sees (the SDKs hide them): [DONE], usage chunk, Anthropic event names, /v1/models, 404 on unknown paths.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { createProvider } from '../../src/core/providers/index';
import { startAnthropicServer } from '../servers/anthropic';
import { tokenPieces } from '../servers/http';
import { startOpenAIServer } from '../servers/openai';

const RUN = join(__dirname, '..', 'servers', 'run.ts');
const dir = mkdtempSync(join(tmpdir(), 'ideator-servers-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

function startCli(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('exit', (code) => reject(new Error(`run.ts exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ url: (JSON.parse(line) as { url: string }).url, child }));
  });
}

function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('test/servers/run.ts (CLI)', () => {
  it('serves a scripted OpenAI conversation to another process and logs requests', async () => {
    const script = join(dir, 'openai.json');
    const log = join(dir, 'openai.jsonl');
    writeFileSync(script, JSON.stringify([{ type: 'error', status: 503, headers: { 'retry-after-ms': '20' } }, { text: 'ANSWER', reasoning: 'why', reasoningField: 'reasoning' }]));
    const { url, child } = await startCli(['openai', '--script', script, '--log', log, '--models', 'ideator']);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const provider = createProvider({ kind: 'openai', baseUrl: url, thinking: false, timeoutMs: 3000 }, {}, {});
    const c = await provider.complete([{ role: 'user', content: 'hi' }], { onToken: () => {} });
    assert.equal(c.text, 'ANSWER');
    assert.equal(c.thinking, 'why');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { n: number; request: { chat_template_kwargs?: unknown } });
    assert.deepEqual(lines.map((l) => l.n), [0, 1]);
    assert.deepEqual(lines[1].request.chat_template_kwargs, { enable_thinking: false });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  it('serves anthropic and ideate scripts too', async () => {
    const a = join(dir, 'anthropic.json');
    writeFileSync(a, JSON.stringify([{ text: 'from claude', thinking: 'hmm' }]));
    const anth = await startCli(['anthropic', '--script', a, '--api-key', 'sk-ant-test-123456']);
    const p = createProvider({ kind: 'anthropic', baseUrl: anth.url, thinking: true }, { apiKey: 'sk-ant-test-123456' }, {});
    const c = await p.complete([{ role: 'user', content: 'hi' }], { onToken: () => {} });
    assert.deepEqual([c.text, c.thinking], ['from claude', 'hmm']);

    const i = join(dir, 'ideate.json');
    writeFileSync(i, JSON.stringify([{ text: 'from server' }]));
    const ideate = await startCli(['ideate', '--script', i, '--token', 'tok-123456789']);
    const s = createProvider({ kind: 'server', baseUrl: ideate.url }, {}, { IDEATOR_SERVER_TOKEN: 'tok-123456789' });
    assert.equal((await s.complete([{ role: 'user', content: 'hi' }])).text, 'from server');
  });

  it('bad invocations exit 2 with one line', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ type: 'error' }]));
    const r1 = await runToExit(['openai', '--script', bad]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /not a list of scripted replies/);
    const r2 = await runToExit(['gemini', '--script', bad]);
    assert.equal(r2.code, 2);
    const r3 = await runToExit(['openai', '--script', join(dir, 'missing.json')]);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /cannot read script/);
  });
});

describe('wire format seen by a raw client', () => {
  it('OpenAI SSE: chunk objects, finish_reason, usage chunk only when asked, [DONE]; /v1/models; unknown path', async () => {
    const s = await startOpenAIServer({ responses: [{ text: 'Hello world' }] });
    try {
      const post = (body: object) => fetch(`${s.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const res = await post({ model: 'ideator', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] });
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const frames = (await res.text()).split('\n\n').filter(Boolean);
      assert.equal(frames.at(-1), 'data: [DONE]');
      const objs = frames.slice(0, -1).map((f) => JSON.parse(f.replace(/^data: /, '')) as { object: string; choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[]; usage: unknown });
      assert.ok(objs.every((o) => o.object === 'chat.completion.chunk'));
      assert.equal(objs[0].choices[0].delta.role, 'assistant');
      assert.equal(objs.at(-2)!.choices[0].finish_reason, 'stop');
      assert.deepEqual(objs.at(-1)!.choices, []);
      assert.ok(objs.at(-1)!.usage);
      const plain = await post({ model: 'ideator', stream: true, messages: [{ role: 'user', content: 'x' }] });
      const plainFrames = (await plain.text()).split('\n\n').filter(Boolean);
      assert.ok(!plainFrames.some((f) => f.includes('"usage"')), 'no usage without include_usage');

      const models = (await (await fetch(`${s.url}/models`)).json()) as { object: string; data: { id: string }[] };
      assert.equal(models.object, 'list');
      assert.equal(models.data[0].id, 'ideator');
      assert.equal((await fetch(`${s.url}/completions`, { method: 'POST' })).status, 404);
      const invalid = await fetch(`${s.url}/chat/completions`, { method: 'POST', body: '{"model": 1}' });
      assert.equal(invalid.status, 400);
      assert.ok(((await invalid.json()) as { error: { message: string } }).error.message);
    } finally {
      await s.close();
    }
  });

  it('Anthropic SSE: the event sequence the API sends', async () => {
    const s = await startAnthropicServer({ responses: [{ text: 'Hi there', thinking: 'Think' }] });
    try {
      const res = await fetch(`${s.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
        body: JSON.stringify({ model: 'm', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      const events = (await res.text()).split('\n\n').filter(Boolean).map((f) => f.split('\n')[0].replace('event: ', ''));
      const compact = events.filter((e, i) => e !== events[i - 1]);
      assert.deepEqual(compact, ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    } finally {
      await s.close();
    }
  });

  it('token pieces look like a tokenizer: <think> whole, words with their leading space, nothing lost', () => {
    const text = '<think>\nok</think>\n\nUse  lightgbm_v2 with lr=0.05, café ✓\ttab';
    const pieces = tokenPieces(text);
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.includes('<think>') && pieces.includes('</think>'));
    assert.ok(pieces.includes(' with'));
    assert.deepEqual(tokenPieces('abcdefgh', 3), ['abc', 'def', 'gh']);
  });
});
