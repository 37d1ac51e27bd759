/**
 * Bench (issue #16): what asking for N = 4 ideas costs in prompt tokens, cached vs uncached.
 *
 *   npm run bench -- ask-many
 *
 * Each state (the pools of bench/prompt-tokens.ts: agent and editor trajectories built from the real fixture logs,
 * with the example task and script) is asked for 4 ideas through core/askMany.ts, the path the editor and
 * `ideator ask --n` take, against the scripted servers speaking the real wire protocols:
 *  - Anthropic: 4 requests with the prompt's cache breakpoint; the server accounts the cache as the API does (written
 *    by the first, read by the rest once the first answer has begun; 1,024-token minimum). Figures: the share of the
 *    prompt tokens read from the cache, and the input price relative to 4 uncached requests at Anthropic's rates
 *    (cache write 1.25×, cache read 0.1× the input price);
 *  - OpenAI-compatible: one request with n = 4 (vLLM / SGLang read the prompt once) vs a server that ignores n (4
 *    requests): prompt tokens processed.
 * Token counts are the test servers' (characters ÷ 4); the ratios are what the figures are about.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { askForIdeas } from '../src/core/askMany';
import { formatIdea } from '../src/core/idea';
import { buildIdeatorPrompt } from '../src/core/promptCost';
import { IdeatorStateSchema } from '../src/core/protocol';
import { AnthropicProvider } from '../src/core/providers/anthropic';
import { OpenAICompatibleProvider } from '../src/core/providers/openai-compatible';
import { startAnthropicServer } from '../test/servers/anthropic';
import { startOpenAIServer } from '../test/servers/openai';
import { pool } from './prompt-tokens';

const EXAMPLE = IdeatorStateSchema.parse(JSON.parse(readFileSync(join(__dirname, '..', 'server', 'examples', 'state.json'), 'utf8')));
const CODE = readFileSync(join(__dirname, '..', 'test', 'vscode', 'demo-workspace', 'train.py'), 'utf8');
const ANSWERS = [0, 1, 2, 3].map((i) => ({ text: formatIdea({ analysis: 'Refine.', action: `Try change number ${i + 1}.`, rationale: 'It may help.' }) }));

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function run(): Promise<void> {
  const anthropic = await startAnthropicServer({ apiKey: 'bench', responses: (_req, n) => ANSWERS[n % 4] });
  const openai = await startOpenAIServer({ responses: (_req, n) => ANSWERS[n % 4] });
  const ignoring = await startOpenAIServer({ responses: (_req, n) => ANSWERS[n % 4], ignoreN: true });
  const claude = new AnthropicProvider({ apiKey: 'bench', baseUrl: anthropic.url, model: 'claude-bench', timeoutMs: 10_000, maxRetries: 0 });
  const vllm = new OpenAICompatibleProvider({ baseUrl: openai.url, model: 'ideator', timeoutMs: 10_000, maxRetries: 0 });
  const plain = new OpenAICompatibleProvider({ baseUrl: ignoring.url, model: 'ideator', timeoutMs: 10_000, maxRetries: 0 });
  try {
    console.log('pool      states  prompt tok  cached share  Claude input price vs 4 uncached  n=4: prompt tok once vs 4 requests');
    for (const kind of ['agent', 'editor'] as const) {
      const rows: { prompt: number; cached: number; price: number; once: number; four: number }[] = [];
      for (const trajectory of pool(kind, 12)) {
        const state = { ...EXAMPLE, trajectory, code: CODE, codePath: 'train.py' };
        const prompt = buildIdeatorPrompt(state, { trajectoryMode: 'compact' });
        const opts = { prompt: { messages: prompt.messages, query: prompt.query } };
        const c = await askForIdeas(claude, state, 4, opts);
        const total = c.usage.inputTokens + c.usage.cacheReadTokens + c.usage.cacheWriteTokens;
        const price = (c.usage.inputTokens + 1.25 * c.usage.cacheWriteTokens + 0.1 * c.usage.cacheReadTokens) / total;
        const n = await askForIdeas(vllm, state, 4, opts);
        const p = await askForIdeas(plain, state, 4, opts);
        if (n.mode !== 'n' || p.mode !== 'n-fallback' || c.mode !== 'parallel-cached') throw new Error(`unexpected modes ${n.mode} ${p.mode} ${c.mode}`);
        rows.push({ prompt: total / 4, cached: c.usage.cacheReadTokens / total, price, once: n.usage.inputTokens, four: p.usage.inputTokens });
      }
      console.log(
        `${kind.padEnd(9)} ${String(rows.length).padStart(6)}  ${mean(rows.map((r) => r.prompt)).toFixed(0).padStart(10)}  ${pct(mean(rows.map((r) => r.cached))).padStart(12)}  ${pct(mean(rows.map((r) => r.price))).padStart(32)}  ${mean(rows.map((r) => r.once)).toFixed(0).padStart(8)} vs ${mean(rows.map((r) => r.four)).toFixed(0)} (${pct(mean(rows.map((r) => r.once / r.four)))})`,
      );
    }
  } finally {
    await Promise.all([anthropic.close(), openai.close(), ignoring.close()]);
  }
}
