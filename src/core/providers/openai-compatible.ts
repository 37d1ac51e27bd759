/**
 * Chat completions through the official openai SDK, against any server that speaks the API: vLLM, SGLang, Ollama
 * (http://localhost:11434/v1) or OpenAI itself. A LoRA adapter served by vLLM is just a model name ("ideator").
 *
 * Reasoning can arrive three ways and all three are read: `reasoning_content` (older vLLM), `reasoning` (newer
 * vLLM) — on the message and on stream deltas — or a raw `<think>…</think>` prefix in `content` when the server
 * runs no reasoning parser.
 *
 * Retries: the SDK's own retry loop is switched off (maxRetries 0) because openai 6.x sleeps between retries on a
 * timer that ignores the AbortSignal — a cancelled request would linger for the whole retry-after. withRetries()
 * applies the same policy (408/409/429/5xx, x-should-retry, retry-after-ms / retry-after, backoff) with an
 * abortable wait. The per-attempt timeout is still the SDK's; the idle-body timeout comes from guardedFetch().
 */
import OpenAI from 'openai';
import { z } from 'zod';
import type { ChatMessage, Completion, Usage } from '../protocol';
import { BadResponseError, httpFailure, midStreamFailure, timeoutFailure, transportFailure, unreachableFailure, type ErrorContext, type SettingNames } from './errors';
import { guardedFetch, isRetryableStatus, raceAbort, withRetries, type RetryVerdict } from './http';
import { splitThink, ThinkSplitter } from './think';
import type { ChoicesResult, CompleteChoicesOptions, CompleteOptions, Provider, ProviderTuning } from './types';

export interface OpenAICompatibleSettings extends ProviderTuning {
  baseUrl: string;
  /** Absent for vLLM / Ollama / SGLang without auth: a placeholder the SDK accepts is sent instead. */
  apiKey?: string;
  /** How the host names its settings in error messages. */
  names?: Partial<SettingNames>;
}

/** True for OpenAI's own API, which differs from the local servers in two request fields (see body()). */
export function isOpenAIItself(baseUrl: string): boolean {
  try {
    return new URL(baseUrl).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

/** vLLM's documented "no key" value; servers without --api-key ignore the header. */
const PLACEHOLDER_KEY = 'EMPTY';

// Only the fields we read are checked; servers add many more (logprobs, stop_reason, prompt_logprobs …).
const UsageWire = z
  .object({
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    // vLLM (with --enable-prompt-tokens-details) and OpenAI report the prompt tokens served from the prefix cache.
    prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).nullish(),
  })
  .nullish();
const Reasoning = z.string().nullish();
const CompletionWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative().optional(),
        message: z.object({ content: z.string().nullish(), reasoning_content: Reasoning, reasoning: Reasoning }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1, 'no choices in the answer'),
  usage: UsageWire,
});
const ChunkWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative().optional(),
        delta: z.object({ content: z.string().nullish(), reasoning_content: Reasoning, reasoning: Reasoning }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .optional(),
  usage: UsageWire,
});

const ModelWire = z.object({ id: z.string().min(1) });

function toUsage(u: z.infer<typeof UsageWire>): Usage | undefined {
  if (!u) return undefined;
  const cached = u.prompt_tokens_details?.cached_tokens;
  return {
    inputTokens: Math.round(u.prompt_tokens),
    outputTokens: Math.round(u.completion_tokens),
    ...(typeof cached === 'number' && Number.isFinite(cached) && cached > 0 ? { cacheReadTokens: Math.round(cached) } : {}),
  };
}

function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new BadResponseError(`${what}: ${r.error.issues[0]?.message ?? 'wrong shape'}`);
  return r.data;
}

export class OpenAICompatibleProvider implements Provider {
  readonly kind = 'openai' as const;
  readonly label: string;
  private readonly client: OpenAI;
  private readonly ctx: ErrorContext;

  constructor(private readonly settings: OpenAICompatibleSettings) {
    this.label = `openai-compatible ${settings.baseUrl} (${settings.model})`;
    this.client = new OpenAI({
      baseURL: settings.baseUrl,
      apiKey: settings.apiKey || PLACEHOLDER_KEY,
      timeout: settings.timeoutMs,
      maxRetries: 0,
      fetch: guardedFetch(settings.timeoutMs),
    });
    this.ctx = {
      service: 'OpenAI-compatible server',
      baseUrl: settings.baseUrl,
      model: settings.model,
      keyHint: "command 'Ideator: Set API Key' or env OPENAI_API_KEY",
      timeoutMs: settings.timeoutMs,
      attempts: settings.maxRetries + 1,
      secrets: settings.apiKey ? [settings.apiKey] : [],
      names: settings.names,
    };
  }

  async complete(messages: ChatMessage[], options: CompleteOptions = {}): Promise<Completion> {
    const { signal } = options;
    const tries = { n: 0 };
    try {
      const stream = options.onToken !== undefined || this.settings.stream !== false;
      const work = stream ? this.streamed(messages, options, tries) : this.plain(messages, options, tries);
      return await raceAbort(work, signal);
    } catch (err) {
      throw this.mapError(err, signal, tries.n);
    }
  }

  /**
   * `n` answers in one request (`n` in the body): the server reads the prompt once and samples n times. Streamed,
   * each chunk names its choice by `index`. A server that ignores `n` answers with one choice; the result says so by
   * holding fewer completions than asked.
   */
  async completeChoices(messages: ChatMessage[], n: number, options: CompleteChoicesOptions = {}): Promise<ChoicesResult> {
    const { signal } = options;
    const tries = { n: 0 };
    try {
      const stream = options.onToken !== undefined || this.settings.stream !== false;
      const work = stream ? this.streamedChoices(messages, n, options, tries) : this.plainChoices(messages, n, options, tries);
      return await raceAbort(work, signal);
    } catch (err) {
      throw this.mapError(err, signal, tries.n);
    }
  }

  private async plainChoices(messages: ChatMessage[], n: number, options: CompleteChoicesOptions, tries: { n: number }): Promise<ChoicesResult> {
    const body = { ...this.body(messages, options), n, stream: false as const };
    const raw: unknown = await this.send(() => this.client.chat.completions.create(body, { signal: options.signal }), options.signal, tries);
    const res = parseWire(CompletionWire, raw, 'chat completion');
    const model = res.model || this.settings.model;
    const completions = res.choices
      .map((choice, i) => ({ index: choice.index ?? i, choice }))
      .sort((a, b) => a.index - b.index)
      .map(({ choice }) => {
        const fromField = choice.message.reasoning_content ?? choice.message.reasoning ?? '';
        const split = splitThink(choice.message.content ?? '');
        const thinking = [fromField.trim(), split.thinking ?? ''].filter(Boolean).join('\n\n');
        return { text: split.text, ...(thinking ? { thinking } : {}), model, ...(choice.finish_reason ? { finishReason: choice.finish_reason } : {}) };
      });
    const usage = toUsage(res.usage);
    return { completions, ...(usage ? { usage } : {}) };
  }

  private async streamedChoices(messages: ChatMessage[], n: number, options: CompleteChoicesOptions, tries: { n: number }): Promise<ChoicesResult> {
    const { signal, onToken } = options;
    const body = { ...this.body(messages, options), n, stream: true as const, stream_options: { include_usage: true } };
    const stream = await this.send(() => this.client.chat.completions.create(body, { signal }), signal, tries);
    interface Acc {
      splitter: ThinkSplitter;
      reasoning: string;
      finishReason?: string;
    }
    const accs = new Map<number, Acc>();
    const accFor = (index: number): Acc => {
      let acc = accs.get(index);
      if (!acc) {
        const emit = (delta: string, channel: 'text' | 'thinking') => {
          if (!signal?.aborted) onToken?.(index, delta, channel);
        };
        acc = { splitter: new ThinkSplitter(emit), reasoning: '' };
        accs.set(index, acc);
      }
      return acc;
    };
    let model = '';
    let usage: Usage | undefined;
    for await (const rawChunk of stream as AsyncIterable<unknown>) {
      if (signal?.aborted) break;
      const chunk = parseWire(ChunkWire, rawChunk, 'stream chunk');
      model = chunk.model || model;
      usage = toUsage(chunk.usage) ?? usage;
      for (const choice of chunk.choices ?? []) {
        const index = choice.index ?? 0;
        if (index >= n) continue;
        const acc = accFor(index);
        const r = choice.delta?.reasoning_content ?? choice.delta?.reasoning;
        if (r) {
          acc.reasoning += r;
          if (!signal?.aborted) onToken?.(index, r, 'thinking');
        }
        if (choice.delta?.content) acc.splitter.push(choice.delta.content);
        if (choice.finish_reason) acc.finishReason = choice.finish_reason;
      }
    }
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    if (accs.size === 0) throw new BadResponseError('the stream ended without any choice');
    const completions = [...accs.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, acc]) => {
        acc.splitter.end();
        let text = acc.splitter.text;
        let thinking = [acc.reasoning.trim(), acc.splitter.thinking.trim()].filter(Boolean).join('\n\n');
        if (!thinking && text.includes('</think>')) {
          const split = splitThink(text);
          text = split.text;
          thinking = split.thinking ?? '';
        }
        return { text, ...(thinking ? { thinking } : {}), model: model || this.settings.model, ...(acc.finishReason ? { finishReason: acc.finishReason } : {}) };
      });
    return { completions, ...(usage ? { usage } : {}) };
  }

  async listModels(signal?: AbortSignal): Promise<string[]> {
    const tries = { n: 0 };
    try {
      const ids = new Set<string>();
      const list = async () => {
        for await (const m of this.client.models.list({ signal }) as AsyncIterable<unknown>) ids.add(parseWire(ModelWire, m, 'model list').id);
      };
      await raceAbort(this.send(list, signal, tries), signal);
      return [...ids].sort((a, b) => a.localeCompare(b, 'en'));
    } catch (err) {
      // A 404 here is the path, not a model: the list names no model.
      throw this.mapError(err, signal, tries.n, { model: undefined });
    }
  }

  /** Sends one request with retries; for a stream only the opening (status and headers) is retried. */
  private send<T>(fn: () => Promise<T>, signal: AbortSignal | undefined, tries: { n: number }): Promise<T> {
    return withRetries(fn, classify, { maxRetries: this.settings.maxRetries, signal, onAttempt: (n) => (tries.n = n + 1) });
  }

  private body(messages: ChatMessage[], options: Pick<CompleteOptions, 'maxTokens' | 'temperature'>) {
    const s = this.settings;
    const maxTokens = options.maxTokens ?? s.maxTokens;
    const temperature = options.temperature ?? s.temperature;
    // OpenAI itself refuses max_tokens for its reasoning models and rejects unknown fields such as
    // chat_template_kwargs; vLLM, SGLang and Ollama read max_tokens and pass chat_template_kwargs to the template.
    const openai = isOpenAIItself(s.baseUrl);
    return {
      model: s.model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      ...(maxTokens !== undefined ? (openai ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens }) : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      // Qwen3's chat template reads enable_thinking.
      ...(s.thinking !== undefined && !openai ? { chat_template_kwargs: { enable_thinking: s.thinking } } : {}),
    };
  }

  private async plain(messages: ChatMessage[], options: CompleteOptions, tries: { n: number }): Promise<Completion> {
    const body = { ...this.body(messages, options), stream: false as const };
    const raw: unknown = await this.send(() => this.client.chat.completions.create(body, { signal: options.signal }), options.signal, tries);
    const res = parseWire(CompletionWire, raw, 'chat completion');
    const choice = res.choices[0];
    const fromField = choice.message.reasoning_content ?? choice.message.reasoning ?? '';
    const split = splitThink(choice.message.content ?? '');
    const thinking = [fromField.trim(), split.thinking ?? ''].filter(Boolean).join('\n\n');
    return {
      text: split.text,
      ...(thinking ? { thinking } : {}),
      model: res.model || this.settings.model,
      ...(toUsage(res.usage) ? { usage: toUsage(res.usage) } : {}),
      ...(choice.finish_reason ? { finishReason: choice.finish_reason } : {}),
    };
  }

  private async streamed(messages: ChatMessage[], options: CompleteOptions, tries: { n: number }): Promise<Completion> {
    const { signal, onToken } = options;
    const emit = (delta: string, channel: 'text' | 'thinking') => {
      if (!signal?.aborted) onToken?.(delta, channel);
    };
    const body = { ...this.body(messages, options), stream: true as const, stream_options: { include_usage: true } };
    const stream = await this.send(() => this.client.chat.completions.create(body, { signal }), signal, tries);
    const splitter = new ThinkSplitter(emit);
    let reasoning = '';
    let model = '';
    let usage: Usage | undefined;
    let finishReason: string | undefined;
    let sawChoice = false;
    for await (const rawChunk of stream as AsyncIterable<unknown>) {
      if (signal?.aborted) break;
      const chunk = parseWire(ChunkWire, rawChunk, 'stream chunk');
      model = chunk.model || model;
      usage = toUsage(chunk.usage) ?? usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      sawChoice = true;
      // Newer vLLM may send both field names with the same text during its rename: take one.
      const r = choice.delta?.reasoning_content ?? choice.delta?.reasoning;
      if (r) {
        reasoning += r;
        emit(r, 'thinking');
      }
      if (choice.delta?.content) splitter.push(choice.delta.content);
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    // openai's stream ends quietly on abort; make it a cancellation.
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    if (!sawChoice) throw new BadResponseError('the stream ended without any choice');
    splitter.end();
    let text = splitter.text;
    let thinking = [reasoning.trim(), splitter.thinking.trim()].filter(Boolean).join('\n\n');
    // A lone "</think>" (template opened the block in the prompt): the text streamed before it was thinking.
    if (!thinking && text.includes('</think>')) {
      const split = splitThink(text);
      text = split.text;
      thinking = split.thinking ?? '';
    }
    return {
      text,
      ...(thinking ? { thinking } : {}),
      model: model || this.settings.model,
      ...(usage ? { usage } : {}),
      ...(finishReason ? { finishReason } : {}),
    };
  }

  private mapError(err: unknown, signal: AbortSignal | undefined, attempts: number, over: Partial<ErrorContext> = {}) {
    const ctx = { ...this.ctx, ...over, attempts: Math.max(1, attempts) };
    if (!signal?.aborted && err instanceof OpenAI.APIConnectionTimeoutError) return timeoutFailure(ctx, err);
    if (err instanceof OpenAI.APIConnectionError) {
      // Refused / DNS / reset are recognised by their codes; a connection error with no known cause is still one.
      const mapped = transportFailure(err, ctx, signal);
      return mapped.kind === 'bad_response' ? unreachableFailure(ctx, err) : mapped;
    }
    if (
      !signal?.aborted &&
      err instanceof OpenAI.APIError &&
      !(err instanceof OpenAI.APIConnectionError) &&
      !(err instanceof OpenAI.APIUserAbortError)
    ) {
      const detail = (err.error as { message?: unknown } | undefined)?.message;
      const message = typeof detail === 'string' ? detail : err.message;
      if (err.status === undefined) return midStreamFailure(message, ctx, err);
      return httpFailure(err.status, message, ctx, err, err.headers);
    }
    return transportFailure(err, ctx, signal);
  }
}

function classify(err: unknown): RetryVerdict {
  if (err instanceof OpenAI.APIUserAbortError) return { retryable: false };
  // Refused, reset, DNS hiccup, or the per-attempt timeout: the SDK would retry these too.
  if (err instanceof OpenAI.APIConnectionError) return { retryable: true };
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    return { retryable: isRetryableStatus(err.status, err.headers), headers: err.headers };
  }
  return { retryable: false };
}
