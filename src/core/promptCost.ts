/**
 * The Ideator prompt in a chosen trajectory mode, and what it costs (issue #16, "Cheaper prompts").
 *
 *   buildIdeatorPrompt(state, { trajectoryMode, ...BuildOptions }) -> messages, query, tokens, cacheable tokens
 *   priceFor(provider kind, model, base URL, override?)              -> per-million rates, or free, or unknown
 *   promptCostLine(...) / usageLine(...)                             -> "~8,400 tokens (6,900 cacheable), ~$0.025"
 *
 * Before sending: the prompt's tokens (the Qwen3 estimate of core/tokens.ts, the paper's unit; Claude's tokenizer
 * counts differently, within roughly ±15% on such text), the tokens of its stable prefix (system instructions, task,
 * seek-help query and trajectory: what a provider caches when the same state is asked N times), and the input price
 * for the configured model. After: the provider's reported usage (input, cache read / write, output) priced the same
 * way.
 */
import { z } from 'zod';
import { compactSteps, danglingReferences, DEFAULT_TRAJECTORY_MODE, type CompactStats, type TrajectoryMode } from './compact';
import { buildIdeatorMessages, type BuildOptions } from './prompts';
import { IdeatorStateSchema, type ChatMessage, type IdeatorStateInput, type SeekHelpQuery, type Usage } from './protocol';
import { draftQuery } from './query';
import { estimateTokens } from './tokens';

export interface IdeatorPromptOptions extends BuildOptions {
  /** 'full': the trajectory as recorded (the rendering before #16); 'compact': see core/compact.ts. */
  trajectoryMode?: TrajectoryMode;
}

export interface IdeatorPrompt {
  messages: ChatMessage[];
  query: SeekHelpQuery;
  trajectoryTokens: number;
  trajectoryMode: TrajectoryMode;
  /** Estimated tokens of the whole prompt (all messages' text). */
  tokens: number;
  /** Estimated tokens of the stable prefix: everything up to the end of the trajectory section. */
  cacheableTokens: number;
  /** What compaction removed (compact mode only). */
  compact?: CompactStats;
}

/** The end of the trajectory section in the user message: the heading that follows it in prompts/ideator.md. */
const AFTER_TRAJECTORY = '\n# Current score';

/**
 * The Ideator prompt (core/prompts.ts buildIdeatorMessages) with the trajectory in `trajectoryMode`. The seek-help
 * query, when the state has none, is drafted from the trajectory as recorded, in both modes.
 */
export function buildIdeatorPrompt(stateInput: IdeatorStateInput, opts: IdeatorPromptOptions = {}): IdeatorPrompt {
  const state = IdeatorStateSchema.parse(stateInput);
  const mode = opts.trajectoryMode ?? DEFAULT_TRAJECTORY_MODE;
  let compact: CompactStats | undefined;
  let input: IdeatorStateInput = state;
  if (mode === 'compact') {
    const query = state.query ?? draftQuery({ trajectory: state.trajectory, score: state.score, taskDescription: state.taskDescription });
    const c = compactSteps(state.trajectory);
    compact = c.stats;
    input = { ...state, query, trajectory: c.steps };
  }
  let built = buildIdeatorMessages(input, opts);
  if (mode === 'compact' && danglingReference(built.messages)) {
    // The budget cut a step that a later one refers to ("as printed in step K"): without the references, the later
    // step shows those lines itself, as the full rendering would.
    const c = compactSteps(state.trajectory, { crossStep: false });
    compact = { ...c.stats, fallbacks: c.stats.fallbacks + 1 };
    built = buildIdeatorMessages({ ...input, trajectory: c.steps }, opts);
  }
  const count = opts.countTokens ?? estimateTokens;
  const tokens = built.messages.reduce((a, m) => a + count(m.content), 0);
  return { ...built, trajectoryMode: mode, tokens, cacheableTokens: cacheablePrefixTokens(built.messages, count), ...(compact ? { compact } : {}) };
}

/** A reference to an earlier step that the budget cut (core/compact.ts danglingReferences). */
function danglingReference(messages: ChatMessage[]): boolean {
  return danglingReferences(messages.map((m) => m.content).join('\n'));
}

/** Tokens of the messages up to the end of the trajectory section (all of them when the marker is not found). */
export function cacheablePrefixTokens(messages: ChatMessage[], count = estimateTokens): number {
  let total = 0;
  for (const m of messages) {
    const at = m.role === 'user' ? m.content.indexOf(AFTER_TRAJECTORY) : -1;
    if (at >= 0) return total + count(m.content.slice(0, at));
    total += count(m.content);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------------------------------------------

/** US dollars per million tokens. */
export const ModelPriceSchema = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  /** Input tokens read from the prompt cache; default: a tenth of `input` (Anthropic's rate). */
  cachedInput: z.number().nonnegative().optional(),
  /** Input tokens written to the prompt cache; default: 1.25 × `input` (Anthropic's 5-minute cache). */
  cacheWrite: z.number().nonnegative().optional(),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

export type Price =
  | { kind: 'rates'; rates: Required<ModelPrice>; source: string }
  | { kind: 'free'; source: string }
  | { kind: 'unknown'; source: string };

/**
 * Anthropic list prices per million tokens (input / output; cache read 0.1×, cache write 1.25× input), by model
 * family, as published when this table was written. Newer models of a family are priced as the family until the
 * table is updated: set a price (ideator.modelPrice, --price) when the bill matters.
 */
export const PRICE_TABLE: readonly { match: RegExp; family: string; input: number; output: number }[] = [
  { match: /opus-4-[5-9]|opus-[5-9]/, family: 'Claude Opus 4.5+', input: 5, output: 25 },
  { match: /opus/, family: 'Claude Opus', input: 15, output: 75 },
  { match: /sonnet/, family: 'Claude Sonnet', input: 3, output: 15 },
  { match: /haiku-4|haiku-[5-9]/, family: 'Claude Haiku 4.5+', input: 1, output: 5 },
  { match: /3-5-haiku|haiku-3-5/, family: 'Claude Haiku 3.5', input: 0.8, output: 4 },
  { match: /haiku/, family: 'Claude Haiku 3', input: 0.25, output: 1.25 },
];

function fullRates(p: ModelPrice): Required<ModelPrice> {
  return { input: p.input, output: p.output, cachedInput: p.cachedInput ?? p.input * 0.1, cacheWrite: p.cacheWrite ?? p.input * 1.25 };
}

function isLocalUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h === '::1' || /^127\./.test(h) || /^10\./.test(h) || /^192\.168\./.test(h) || /^172\.(1[6-9]|2\d|3[01])\./.test(h) || h.endsWith('.local');
  } catch {
    return false;
  }
}

/**
 * The price of the configured model. An override wins; then Anthropic models by family; a server on this machine or
 * the local network (vLLM, Ollama, the companion server on localhost) and the offline templates are free; anything
 * else (OpenAI, a hosted OpenAI-compatible API) is unknown until a price is set.
 */
export function priceFor(kind: string, model: string | undefined, baseUrl?: string, override?: ModelPrice | null): Price {
  if (override) return { kind: 'rates', rates: fullRates(ModelPriceSchema.parse(override)), source: 'your price setting' };
  if (kind === 'template-null' || kind === 'template-vague' || kind === 'none') return { kind: 'free', source: 'offline example: no model' };
  if (kind === 'anthropic') {
    const m = (model ?? '').toLowerCase();
    const row = PRICE_TABLE.find((r) => r.match.test(m));
    if (row) return { kind: 'rates', rates: fullRates(row), source: `${row.family} list price` };
    return { kind: 'unknown', source: `no price known for ${model ?? 'this model'}` };
  }
  // The companion server answers with whatever Ideator it was started with: its price is not known here.
  if (kind === 'server') return { kind: 'unknown', source: "the companion server's Ideator: set a price" };
  if (isLocalUrl(baseUrl)) return { kind: 'free', source: 'local server: free' };
  return { kind: 'unknown', source: `no price known for ${model ?? 'this model'}` };
}

/** Parses "IN,OUT[,CACHED]" (dollars per million tokens), as the --price flag takes it (the spelling of bench's --price-ideator). */
export function parsePriceFlag(value: string): ModelPrice {
  const parts = value.split(',');
  const nums = parts.map((p) => Number(p));
  if (parts.length < 2 || parts.length > 3 || nums.some((n) => !Number.isFinite(n) || n < 0 || parts.some((p) => p.trim() === ''))) {
    throw new Error(`--price must be INPUT,OUTPUT[,CACHED] in dollars per million tokens, e.g. 3,15,0.3, got '${value}'`);
  }
  return { input: nums[0], output: nums[1], ...(nums.length === 3 ? { cachedInput: nums[2] } : {}) };
}

/** Dollars for `tokens` at `perMillion`. */
const dollars = (tokens: number, perMillion: number) => (tokens * perMillion) / 1_000_000;

export function formatDollars(v: number): string {
  if (v === 0) return '$0';
  if (v < 0.01) return `$${v.toFixed(4)}`;
  if (v < 1) return `$${v.toFixed(3)}`;
  return `$${v.toFixed(2)}`;
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');

export interface PromptCost {
  tokens: number;
  cacheableTokens: number;
  /** Input price of one request with nothing cached; null when the price is unknown. */
  inputDollars: number | null;
  /** Input price when the cacheable prefix is read from the cache (the 2nd..Nth of N requests). */
  cachedInputDollars: number | null;
  price: Price;
}

export function promptCost(prompt: { tokens: number; cacheableTokens: number }, price: Price): PromptCost {
  const base = { tokens: prompt.tokens, cacheableTokens: prompt.cacheableTokens, price };
  if (price.kind === 'free') return { ...base, inputDollars: 0, cachedInputDollars: 0 };
  if (price.kind === 'unknown') return { ...base, inputDollars: null, cachedInputDollars: null };
  const r = price.rates;
  return {
    ...base,
    inputDollars: dollars(prompt.tokens, r.input),
    cachedInputDollars: dollars(prompt.tokens - prompt.cacheableTokens, r.input) + dollars(prompt.cacheableTokens, r.cachedInput),
  };
}

/** "~8,400 tokens (6,900 cacheable), ~$0.025 input" — the pre-send line. */
export function promptCostLine(c: PromptCost): string {
  const price = c.price.kind === 'free' ? 'free (' + c.price.source + ')' : c.inputDollars === null ? 'price unknown' : `~${formatDollars(c.inputDollars)} input`;
  return `~${n(c.tokens)} tokens (${n(c.cacheableTokens)} cacheable), ${price}`;
}

/** "~8,400 tokens, ~$0.03" — the short form for a progress title. */
export function promptCostShort(c: PromptCost): string {
  const price = c.price.kind === 'free' ? ', free' : c.inputDollars === null ? '' : `, ~${formatDollars(c.inputDollars)}`;
  return `~${n(c.tokens)} tokens${price}`;
}

/**
 * Dollars for a reported usage. Anthropic's input_tokens exclude the cache reads and writes it reports beside them;
 * OpenAI-compatible prompt_tokens include their cached_tokens.
 */
export function usageDollars(usage: Usage, price: Price, kind: string): number | null {
  if (price.kind === 'free') return 0;
  if (price.kind === 'unknown') return null;
  const r = price.rates;
  const read = usage.cacheReadTokens ?? 0;
  const write = usage.cacheWriteTokens ?? 0;
  const plain = kind === 'anthropic' ? usage.inputTokens : Math.max(0, usage.inputTokens - read);
  return dollars(plain, r.input) + dollars(read, r.cachedInput) + dollars(write, r.cacheWrite) + dollars(usage.outputTokens, r.output);
}

/** "8,123 prompt tokens (6,900 from cache) · 412 answer tokens · $0.012" — the after-the-answer line. */
export function usageLine(usage: Usage, price: Price, kind: string): string {
  const read = usage.cacheReadTokens ?? 0;
  const write = usage.cacheWriteTokens ?? 0;
  const prompt = kind === 'anthropic' ? usage.inputTokens + read + write : usage.inputTokens;
  const cache = [read ? `${n(read)} from cache` : '', write ? `${n(write)} written to cache` : ''].filter(Boolean).join(', ');
  const d = usageDollars(usage, price, kind);
  const cost = d === null ? 'price unknown' : price.kind === 'free' ? 'free' : formatDollars(d);
  return `${n(prompt)} prompt tokens${cache ? ` (${cache})` : ''} · ${n(usage.outputTokens)} answer tokens · ${cost}`;
}
