/**
 * askForIdeas (src/core/askMany.ts) against the scripted servers speaking the real wire protocols
 * (test/servers/openai.ts, test/servers/anthropic.ts) through the real SDKs: `n` honoured in one request, `n`
 * ignored and the rest asked in parallel, Anthropic's cache breakpoint in the bodies the server received and the
 * cache usage read back, near-duplicates dropped, one cancel stopping every request.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { actionKey, askForIdeas, dropDuplicates, type AskManyProgress } from '../../src/core/askMany';
import { formatIdea } from '../../src/core/idea';
import { AnthropicProvider } from '../../src/core/providers/anthropic';
import { OpenAICompatibleProvider } from '../../src/core/providers/openai-compatible';
import { TemplateProvider } from '../../src/core/providers/template';
import { ProviderError } from '../../src/core/providers/types';
import { isOneLineUserError, runCli } from '../cliHarness';
import { startAnthropicServer } from '../servers/anthropic';
import { startOpenAIServer, type OpenAIServerOptions } from '../servers/openai';

const CODE = readFileSync(join(__dirname, '../vscode/demo-workspace/train.py'), 'utf8');
const STATE = {
  ...JSON.parse(readFileSync(join(__dirname, '../../server/examples/state.json'), 'utf8')),
  code: CODE,
  codePath: 'train.py',
};

const answer = (action: string, rationale = 'It should help.') =>
  formatIdea({ analysis: 'Keep refining the current approach.', action, rationale });
const FOUR = [
  answer('Set `max_iter=1000` and `C=0.5` in build_model.'),
  answer('Standardize the features with a StandardScaler pipeline before the logistic regression.'),
  answer('Replace the model with a GradientBoostingClassifier(n_estimators=300).'),
  answer('Use 5-fold stratified cross-validation and average the fold models.'),
];

const closers: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(closers.map((c) => c()));
});

async function openai(opts: OpenAIServerOptions, stream = true) {
  const server = await startOpenAIServer(opts);
  closers.push(server.close);
  const provider = new OpenAICompatibleProvider({ baseUrl: server.url, model: 'ideator', timeoutMs: 3000, maxRetries: 0, stream });
  return { server, provider };
}

describe('askForIdeas: OpenAI-compatible', () => {
  it('one request with n = 4, streamed: four distinct ideas, progress per answer', async () => {
    const { server, provider } = await openai({ responses: FOUR.map((text) => ({ text, chunkSize: 7 })) });
    const events: AskManyProgress[] = [];
    const r = await askForIdeas(provider, STATE, 4, { onProgress: (e) => events.push(e) });
    assert.equal(server.requests.length, 1, 'one request');
    assert.equal(server.requests[0].n, 4);
    assert.equal(r.mode, 'n');
    assert.equal(r.requests, 1);
    assert.deepEqual(
      r.ideas.map((i) => i.idea.action),
      FOUR.map((t) => /ACTION:\n(.*)\n/.exec(t)![1]),
    );
    assert.ok(r.ideas.every((i) => i.idea.ok));
    assert.deepEqual(r.dropped, []);
    assert.equal(events.filter((e) => e.kind === 'answer').length, 4);
    // Tokens of every choice streamed, each under its own index.
    assert.deepEqual([...new Set(events.filter((e) => e.kind === 'token').map((e) => (e as { index: number }).index))].sort(), [0, 1, 2, 3]);
    assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
  });

  it('completeChoices unstreamed (stream: false, nobody listening): one request, the choices in index order, usage once', async () => {
    const { server, provider } = await openai({ responses: FOUR.slice(0, 3).map((text) => ({ text })) }, false);
    const r = await provider.completeChoices([{ role: 'user', content: 'ideas?' }], 3);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].stream, false);
    assert.equal(server.requests[0].n, 3);
    assert.deepEqual(r.completions.map((c) => c.text), FOUR.slice(0, 3));
    assert.ok(r.usage && r.usage.inputTokens > 0);
  });

  it('a server that ignores n: one answer back, the other three asked in parallel, and a note says so', async () => {
    const { server, provider } = await openai({ responses: FOUR.map((text) => ({ text })), ignoreN: true });
    const r = await askForIdeas(provider, STATE, 4);
    assert.equal(r.mode, 'n-fallback');
    assert.equal(server.requests.length, 4);
    assert.equal(server.requests[0].n, 4);
    assert.ok(server.requests.slice(1).every((q) => q.n === undefined), 'the fallback asks for one answer each');
    assert.equal(r.ideas.length, 4);
    assert.ok(r.notes.some((n) => /answered 1 of the 4 .*ignores n.*other 3 in parallel/.test(n)), r.notes.join(' | '));
  });

  it('a server that refuses n (400): the four asked in parallel instead, and a note says so; other errors are not retried that way', async () => {
    const { server, provider } = await openai({
      responses: (req, n) => (req.n != null ? { type: 'error', status: 400, message: 'n > 1 is not supported' } : { text: FOUR[(n - 1) % 4] }),
    });
    const r = await askForIdeas(provider, STATE, 4);
    assert.equal(r.mode, 'n-fallback');
    assert.equal(server.requests.length, 5);
    assert.equal(r.ideas.length, 4);
    assert.ok(r.notes.some((m) => /refused one request for 4 answers .*n > 1 is not supported.*parallel/.test(m)), r.notes.join(' | '));

    const down = await openai({ responses: [{ type: 'error', status: 401, message: 'bad key' }] });
    await assert.rejects(askForIdeas(down.provider, STATE, 4), (e: unknown) => e instanceof ProviderError && e.kind === 'auth');
    assert.equal(down.server.requests.length, 1, 'an auth error is not asked again in parallel');
  });

  it('near-duplicates are dropped: the same action in other case/punctuation, and the same code', async () => {
    const patch = '```python\ndef build_model():\n    return LogisticRegression(max_iter=1000, C=0.5)\n```';
    const texts = [
      answer(`Raise max_iter and lower C:\n${patch}`),
      answer('standardize the features, with a StandardScaler pipeline before the logistic regression'),
      answer(`Regularise more strongly and give the solver more iterations:\n${patch}`),
      answer('Standardize the features with a StandardScaler pipeline before the logistic regression.'),
    ];
    const { provider } = await openai({ responses: texts.map((text) => ({ text })) });
    const r = await askForIdeas(provider, STATE, 4);
    assert.deepEqual(r.ideas.map((i) => i.index), [0, 1]);
    assert.deepEqual(
      r.dropped.map((d) => [d.index, d.duplicateOf, d.reason]),
      [
        [2, 0, 'same-code'],
        [3, 1, 'same-action'],
      ],
    );
    assert.equal(r.ideas[0].proposal?.via, 'replace-definitions');
    assert.ok(r.notes.some((n) => /2 near-duplicates dropped/.test(n)));
  });

  it('cancel stops the one request at once', async () => {
    const { server, provider } = await openai({ responses: [{ type: 'hang' }] });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 150);
    await assert.rejects(askForIdeas(provider, STATE, 4, { signal: controller.signal }), (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
    assert.ok(Date.now() - started < 2000);
    assert.equal(server.requests.length, 1);
  });
});

describe('askForIdeas: Anthropic with prompt caching', () => {
  const KEY = 'sk-ant-test-key';
  async function anthropic(responses: Parameters<typeof startAnthropicServer>[0]['responses']) {
    const server = await startAnthropicServer({ apiKey: KEY, responses });
    closers.push(server.close);
    const provider = new AnthropicProvider({ apiKey: KEY, baseUrl: server.url, model: 'claude-test-1', timeoutMs: 3000, maxRetries: 0 });
    return { server, provider };
  }

  it('N requests, each with cache_control on the end of the prompt; the first writes the cache, the other three read it', async () => {
    const { server, provider } = await anthropic(FOUR.map((text) => ({ text, chunkDelayMs: 2 })));
    const r = await askForIdeas(provider, STATE, 4);
    assert.equal(r.mode, 'parallel-cached');
    assert.equal(server.requests.length, 4);
    for (const body of server.requests) {
      const last = body.messages[body.messages.length - 1];
      assert.ok(Array.isArray(last.content), 'the last turn is a list of blocks');
      const blocks = last.content as { type: string; text: string; cache_control?: unknown }[];
      assert.deepEqual(blocks[blocks.length - 1].cache_control, { type: 'ephemeral' });
      assert.match(blocks[0].text, /# Current solution \(train\.py\)/);
      assert.equal(typeof body.system, 'string');
    }
    const perIdea = r.ideas.map((i) => i.completion.usage!);
    const writes = perIdea.filter((u) => (u.cacheWriteTokens ?? 0) > 0);
    const reads = perIdea.filter((u) => (u.cacheReadTokens ?? 0) > 0);
    assert.equal(writes.length, 1, 'one request writes the cache');
    assert.equal(reads.length, 3, 'the other three read it');
    assert.equal(r.usage.cacheReadTokens, 3 * writes[0].cacheWriteTokens!);
    // Anthropic's input_tokens exclude the cached part: what the three readers pay in full is small.
    assert.ok(reads.every((u) => u.inputTokens < u.cacheReadTokens! / 10), JSON.stringify(reads));
    assert.equal(r.ideas.length, 4);
  });

  it('one request failing leaves the other answers, the failure reported', async () => {
    const { provider } = await anthropic([{ text: FOUR[0] }, { type: 'error', status: 400, message: 'prompt is too long' }, { text: FOUR[2] }, { text: FOUR[3] }]);
    const r = await askForIdeas(provider, STATE, 4);
    assert.equal(r.ideas.length, 3);
    assert.equal(r.failed.length, 1);
    assert.match(r.failed[0].message, /prompt is too long/);
  });

  it('a bad key on the first request is said once: the other three are never sent', async () => {
    const { server } = await anthropic(FOUR.map((text) => ({ text })));
    const wrong = new AnthropicProvider({ apiKey: 'sk-ant-wrong', baseUrl: server.url, model: 'claude-test-1', timeoutMs: 3000, maxRetries: 0 });
    await assert.rejects(askForIdeas(wrong, STATE, 4), (e: unknown) => e instanceof ProviderError && e.kind === 'auth');
    assert.equal(server.requests.length, 1, 'one request, not four failing the same way');
  });

  it('cancel stops all four requests', async () => {
    const { server, provider } = await anthropic([{ text: FOUR[0], chunkDelayMs: 5 }, { type: 'hang' }]);
    const controller = new AbortController();
    const events: AskManyProgress[] = [];
    const p = askForIdeas(provider, STATE, 4, { signal: controller.signal, onProgress: (e) => events.push(e) });
    // Wait until the three that hang have been sent, then cancel.
    while (server.requests.length < 4) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    controller.abort();
    await assert.rejects(p, (e: unknown) => e instanceof ProviderError && e.kind === 'aborted');
    assert.ok(Date.now() - started < 1000, 'cancelled at once');
  });
});

describe('askForIdeas: other providers, and the rules', () => {
  it('the template provider answers the same idea N times: one is kept', async () => {
    const r = await askForIdeas(new TemplateProvider('template-vague'), STATE, 4);
    assert.equal(r.mode, 'parallel');
    assert.equal(r.requests, 4);
    assert.equal(r.ideas.length, 1);
    assert.equal(r.dropped.length, 3);
  });

  it('N outside 1..16 is refused before any request', async () => {
    await assert.rejects(askForIdeas(new TemplateProvider('template-vague'), STATE, 0), /from 1 to 16/);
    await assert.rejects(askForIdeas(new TemplateProvider('template-vague'), STATE, 17), /from 1 to 16/);
  });

  it('actionKey ignores whitespace, case and punctuation, and nothing else', () => {
    assert.equal(actionKey('Set `max_iter=1000`,  and C = 0.5!'), actionKey('set max_iter 1000 and c 0 5'));
    assert.notEqual(actionKey('Set max_iter=1000'), actionKey('Set max_iter=100'));
    const base = { completion: { text: '', model: 'm' }, idea: { ok: true, analysis: '', action: 'A', rationale: '', codeBlocks: [], errors: [] } };
    const { kept } = dropDuplicates([
      { ...base, index: 0 },
      { ...base, index: 1, idea: { ...base.idea, action: 'B' } },
    ]);
    assert.equal(kept.length, 2);
  });
});

describe('ideator ask --n', () => {
  const exampleState = join(__dirname, '../../server/examples/state.json');

  it('--n 4 against an OpenAI-compatible server: one request with n = 4, a JSON array of the distinct ideas', async () => {
    const { server } = await openai({ responses: [...FOUR.slice(0, 3), FOUR[0].replace('Set', 'set')].map((text) => ({ text })) });
    const r = await runCli(['ask', '--state', exampleState, '--provider', `openai:ideator@${server.url}`, '--n', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].n, 4);
    const ideas = JSON.parse(r.stdout) as { action: string; index: number; raw: string; ok: boolean; query: unknown }[];
    assert.ok(Array.isArray(ideas));
    assert.deepEqual(ideas.map((i) => i.index), [0, 1, 2]);
    assert.ok(ideas.every((i) => i.ok && i.raw && i.query));
    assert.match(r.stderr, /3 distinct ideas of 4 asked \(n, 1 request\)/);
    assert.match(r.stderr, /1 near-duplicate dropped \(#4 repeats #1: same action\)/);
  });

  it('--n 1 keeps the one-idea object; --n 0 and --n 17 are one-line usage errors', async () => {
    const one = await runCli(['ask', '--state', exampleState, '--provider', 'template-null', '--quiet', '--n', '1']);
    assert.equal(one.code, 0);
    const parsed = JSON.parse(one.stdout) as { action: string };
    assert.ok(!Array.isArray(parsed) && typeof parsed.action === 'string');
    for (const bad of ['0', '17', 'four']) {
      const r = await runCli(['ask', '--state', exampleState, '--provider', 'template-null', '--n', bad]);
      assert.ok(isOneLineUserError(r), r.stderr);
      assert.match(r.stderr, /--n must be a whole number from 1 to 16/);
    }
  });
});
