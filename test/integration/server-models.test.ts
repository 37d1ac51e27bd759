/**
 * The server's model-facing parts against a scripted OpenAI-compatible server (the real wire format, as vLLM
 * answers): the LLM implementer writes C_{t+1} for an idea that carries no code, and POST /v1/ideate proxies the
 * configured Ideator, as JSON and as SSE.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { expandTables } from '../../src/core/compactTable';
import { formatIdea } from '../../src/core/idea';
import type { IdeateResponse } from '../../src/core/protocol';
import { createProvider, ProviderConfigSchema } from '../../src/core/providers/index';
import { startOpenAIServer, type OpenAIServer } from '../servers/openai';
import { api, removeDir, startServer, toyState, type RunningServer } from './serverHarness';

const IDEA_TEXT = formatIdea({
  analysis: 'The score is flat at 0.5.',
  action: 'Print a higher accuracy.',
  rationale: 'It is the metric.',
});

describe('server with model providers', () => {
  let models: OpenAIServer;
  let server: RunningServer;
  before(async () => {
    models = await startOpenAIServer({
      responses: (req) => {
        const prompt = JSON.stringify(req.messages);
        if (req.model === 'ideator') return { text: IDEA_TEXT };
        if (prompt.includes('BREAK THE IMPLEMENTER')) return { type: 'error', status: 400, message: 'bad request' };
        return { text: 'Here is the new program:\n```python\nimport sys\nprint("acc: 0.8")\n```\n' };
      },
    });
    const provider = (model: string) => JSON.stringify({ kind: 'openai', baseUrl: models.url, model, maxRetries: 0, timeoutMs: 20_000 });
    server = await startServer({
      args: ['--slots', '1', '--implementer', provider('implementer'), '--ideator', provider('ideator')],
      env: { OPENAI_API_KEY: 'test-key' },
    });
  });
  after(async () => {
    await server.stop();
    removeDir(server.dataDir);
    await models.close();
  });

  it('implements an idea without code through the implementer model', async () => {
    const idea = formatIdea({ analysis: 'Flat score.', action: 'Make the script report 0.8 accuracy.', rationale: 'Higher is better.' });
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas: [idea] });
    assert.equal(r.status, 200, r.text);
    const [res] = r.json.results;
    assert.equal(res.status, 'improved', JSON.stringify(res));
    assert.equal(res.scoreAfter, 0.8);
    assert.match(res.codeDiff, /^\+print\("acc: 0.8"\)$/m);
    const call = models.requests.find((q) => q.model === 'implementer');
    assert.ok(call, 'the implementer model was called');
    const prompt = JSON.stringify(call.messages);
    assert.match(prompt, /Make the script report 0\.8 accuracy/);
    assert.match(prompt, /acc: 0\.5/, 'the prompt carries the current code');
  });

  it('a failing implementer model is an execution failure with the reason', async () => {
    const idea = formatIdea({ analysis: 'x', action: 'BREAK THE IMPLEMENTER please', rationale: 'y' });
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas: [idea] });
    const [res] = r.json.results;
    assert.equal(res.status, 'exec_failed');
    assert.equal(res.reward, 0);
    assert.match(res.error ?? '', /implementer model failed/);
  });

  it('POST /v1/ideate answers with the parsed idea (JSON)', async () => {
    const r = await api(server, 'POST', '/v1/ideate', { state: toyState(0.5) });
    assert.equal(r.status, 200, r.text);
    const body = r.json as unknown as IdeateResponse;
    assert.equal(body.idea.ok, true);
    assert.match(body.idea.action, /higher accuracy/);
    assert.equal(body.completion.text, IDEA_TEXT);
    const call = models.requests.filter((q) => q.model === 'ideator').pop()!;
    assert.match(JSON.stringify(call.messages), /acc: 0\.5/, 'the server built the Ideator prompt from the state');
  });

  it('POST /v1/ideate streams tokens then the parsed idea (SSE)', async () => {
    const res = await fetch(`${server.url}/v1/ideate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'an idea please' }], stream: true }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const text = await res.text();
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((block) => ({ event: /^event: (.*)$/m.exec(block)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') }));
    const tokens = events.filter((e) => e.event === 'token');
    assert.ok(tokens.length > 1, 'several token events');
    assert.equal(tokens.map((t) => (t.data as { delta: string }).delta).join(''), IDEA_TEXT);
    const done = events.at(-1)!;
    assert.equal(done.event, 'done');
    assert.equal((done.data as IdeateResponse).idea.ok, true);
  });

  it("the extension's 'server' provider talks to it end to end", async () => {
    const provider = createProvider(ProviderConfigSchema.parse({ kind: 'server', baseUrl: server.url, maxRetries: 0 }));
    const deltas: string[] = [];
    const completion = await provider.complete([{ role: 'user', content: 'an idea please' }], { onToken: (d) => deltas.push(d) });
    assert.equal(completion.text, IDEA_TEXT);
    assert.equal(deltas.join(''), IDEA_TEXT);
  });

  it('POST /v1/ideate renders the trajectory compact by default, full when the request says so (#16)', async () => {
    const bars = Array.from({ length: 40 }, (_, i) => `${i * 10}/400 [${'='.repeat(i % 30)}>${'.'.repeat(29 - (i % 30))}] - ETA: ${40 - i}s - loss: 0.${String(7000 - i).padStart(4, '0')}`).join('\n');
    const spam = Array.from({ length: 30 }, () => '[LightGBM] [Warning] No further splits with positive gain, best gain: -inf').join('\n');
    const state = { ...toyState(0.5), trajectory: [{ kind: 'execute' as const, action: 'python train.py', observation: `${spam}\n${bars}\nval_auc: 0.8123`, exitCode: 0 }] };
    const sent = async (body: object) => {
      const r = await api(server, 'POST', '/v1/ideate', body);
      assert.equal(r.status, 200, r.text);
      return JSON.stringify(models.requests.filter((q) => q.model === 'ideator').pop()!.messages);
    };
    const compact = await sent({ state });
    assert.match(compact, /repeated 29 more times/);
    assert.doesNotMatch(compact, /ETA:/);
    // The 40 progress lines, without their bars, are then one table (core/compactTable.ts): read through it.
    assert.match(compact, /printed 40 times, one row of values each, filling the \{\} in order/);
    const contents = (JSON.parse(compact) as { content: string }[]).map((m) => m.content).join('\n');
    assert.match(expandTables(contents), /^390\/400 - loss: 0\.6961$/m);
    assert.match(compact, /val_auc: 0\.8123/);
    const full = await sent({ state, trajectoryMode: 'full' });
    assert.match(full, /ETA: 40s/);
    assert.doesNotMatch(full, /repeated 29 more times/);
    assert.ok(compact.length < full.length * 0.7, `${compact.length} vs ${full.length}`);
    const bad = await api(server, 'POST', '/v1/ideate', { state, trajectoryMode: 'short' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /trajectoryMode/);
  });

  it('POST /v1/ideate validates its body', async () => {
    const r = await api(server, 'POST', '/v1/ideate', { stream: true });
    assert.equal(r.status, 400);
    assert.match(r.text, /exactly one of state or messages/);
  });
});
