/**
 * Claude through the official Anthropic SDK (messages API). System messages become the top-level `system`
 * parameter (the API has no system role); consecutive turns of one role are merged. Streaming uses
 * `messages.stream()`: text deltas go to the 'text' channel, thinking deltas (when thinking is on) to 'thinking'.
 *
 * Retries (429 / 529 / 5xx, honouring retry-after and retry-after-ms, abortable waits) and the per-attempt timeout
 * are the SDK's own, configured here; guardedFetch adds an idle timeout on the body and refuses retry-after waits
 * beyond a minute.
 */
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import type { ChatMessage, Completion } from '../protocol';
import { BadResponseError, httpFailure, midStreamFailure, timeoutFailure, transportFailure, unreachableFailure, type ErrorContext, type SettingNames } from './errors';
import { guardedFetch, raceAbort } from './http';
import { ProviderError, type CompleteOptions, type Provider, type ProviderTuning } from './types';

/** The default Claude model; model ids change, so users override it with the model setting. */
export const DEFAULT_ANTHROPIC_MODEL = 'claude-sonnet-5-5';
export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
/** max_tokens is required by the API; thinking tokens count against it, so thinking gets more room. */
const DEFAULT_MAX_TOKENS = 4096;
const DEFAULT_MAX_TOKENS_THINKING = 16_000;

export interface AnthropicSettings extends ProviderTuning {
  apiKey: string;
  /** Root URL without /v1 (the SDK adds /v1/messages). */
  baseUrl?: string;
  /** How the host names its settings in error messages. */
  names?: Partial<SettingNames>;
}

const ModelWire = z.object({ id: z.string().min(1) });

type Turn = { role: 'user' | 'assistant'; content: string };

/** Splits our role-tagged messages into Anthropic's `system` string and alternating turns. */
export function toAnthropicMessages(messages: ChatMessage[]): { system?: string; turns: Turn[] } {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).filter(Boolean).join('\n\n');
  const turns: Turn[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const last = turns[turns.length - 1];
    if (last && last.role === m.role) last.content += `\n\n${m.content}`;
    else turns.push({ role: m.role, content: m.content });
  }
  return { ...(system ? { system } : {}), turns };
}

const EPHEMERAL = { type: 'ephemeral' as const };

/**
 * The prompt with one cache breakpoint at its end (cache_control on the last block of the last turn), so the whole
 * prefix — system instructions, task, trajectory, code — is cached by the first request and read by the ones that
 * repeat it (the cached prefix is tools, system, then messages up to the breakpoint). The turns before the last stay
 * strings.
 */
export function withCacheBreakpoint(turns: Turn[]) {
  const last = turns.length - 1;
  return turns.map((t, i) => (i === last ? { role: t.role, content: [{ type: 'text' as const, text: t.content, cache_control: EPHEMERAL }] } : t));
}

export class AnthropicProvider implements Provider {
  readonly kind = 'anthropic' as const;
  readonly label: string;
  private readonly client: Anthropic;
  private readonly ctx: ErrorContext;

  constructor(private readonly settings: AnthropicSettings) {
    const baseUrl = settings.baseUrl ?? DEFAULT_ANTHROPIC_BASE_URL;
    this.label = `anthropic ${baseUrl} (${settings.model})`;
    this.client = new Anthropic({
      apiKey: settings.apiKey,
      baseURL: baseUrl,
      timeout: settings.timeoutMs,
      maxRetries: settings.maxRetries,
      fetch: guardedFetch(settings.timeoutMs),
    });
    this.ctx = {
      service: 'Anthropic API',
      baseUrl,
      model: settings.model,
      keyHint: "command 'Ideator: Set API Key' or env ANTHROPIC_API_KEY",
      timeoutMs: settings.timeoutMs,
      attempts: settings.maxRetries + 1,
      secrets: [settings.apiKey],
      names: settings.names,
    };
  }

  async complete(messages: ChatMessage[], options: CompleteOptions = {}): Promise<Completion> {
    const { signal } = options;
    try {
      const stream = options.onToken !== undefined || this.settings.stream !== false;
      const work = stream ? this.streamed(messages, options) : this.plain(messages, options);
      return await raceAbort(work, signal);
    } catch (err) {
      throw this.mapError(err, signal);
    }
  }

  async listModels(signal?: AbortSignal): Promise<string[]> {
    try {
      const ids = new Set<string>();
      const list = async () => {
        for await (const m of this.client.models.list({ limit: 100 }, { signal }) as AsyncIterable<unknown>) {
          const entry = ModelWire.safeParse(m);
          if (!entry.success) throw new BadResponseError('model list: an entry without an id');
          ids.add(entry.data.id);
        }
      };
      await raceAbort(list(), signal);
      return [...ids].sort((a, b) => a.localeCompare(b, 'en'));
    } catch (err) {
      throw this.mapError(err, signal, { model: undefined });
    }
  }

  private params(messages: ChatMessage[], options: CompleteOptions) {
    const s = this.settings;
    const { system, turns } = toAnthropicMessages(messages);
    if (turns.length === 0) throw new ProviderError('config', 'nothing to send: the Anthropic API needs at least one user message besides the system prompt');
    const temperature = options.temperature ?? s.temperature;
    const cached = options.cachePrefix === true ? withCacheBreakpoint(turns) : undefined;
    return {
      model: s.model,
      max_tokens: options.maxTokens ?? s.maxTokens ?? (s.thinking ? DEFAULT_MAX_TOKENS_THINKING : DEFAULT_MAX_TOKENS),
      messages: cached ?? turns,
      ...(system ? { system } : {}),
      // The API refuses a temperature other than 1 together with thinking.
      ...(temperature !== undefined && !s.thinking ? { temperature } : {}),
      ...(s.thinking === true ? { thinking: { type: 'adaptive' as const, display: 'summarized' as const } } : {}),
      ...(s.thinking === false ? { thinking: { type: 'disabled' as const } } : {}),
    };
  }

  private async plain(messages: ChatMessage[], options: CompleteOptions): Promise<Completion> {
    const msg = await this.client.messages.create({ ...this.params(messages, options), stream: false }, { signal: options.signal });
    return this.toCompletion(msg);
  }

  private async streamed(messages: ChatMessage[], options: CompleteOptions): Promise<Completion> {
    const { signal, onToken } = options;
    const stream = this.client.messages.stream(this.params(messages, options), { signal });
    stream.on('text', (delta) => {
      if (!signal?.aborted) onToken?.(delta, 'text');
    });
    stream.on('thinking', (delta) => {
      if (!signal?.aborted) onToken?.(delta, 'thinking');
    });
    // Without a listener the stream reports its error as unhandled; finalMessage() rejects with it anyway.
    stream.on('error', () => {});
    return this.toCompletion(await stream.finalMessage());
  }

  private toCompletion(msg: Anthropic.Message): Completion {
    if (!msg || !Array.isArray(msg.content)) throw new BadResponseError('the message has no content list');
    let text = '';
    let thinking = '';
    for (const block of msg.content) {
      if (block.type === 'text') text += block.text;
      else if (block.type === 'thinking') thinking += block.thinking;
    }
    const usage = msg.usage;
    // Present only when the cache was used (the API reports zeros otherwise).
    const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : undefined);
    const cacheRead = count(usage?.cache_read_input_tokens);
    const cacheWrite = count(usage?.cache_creation_input_tokens);
    return {
      text,
      ...(thinking.trim() ? { thinking: thinking.trim() } : {}),
      model: msg.model || this.settings.model,
      ...(usage && typeof usage.input_tokens === 'number' && typeof usage.output_tokens === 'number'
        ? {
            usage: {
              inputTokens: usage.input_tokens,
              outputTokens: usage.output_tokens,
              ...(cacheRead !== undefined ? { cacheReadTokens: cacheRead } : {}),
              ...(cacheWrite !== undefined ? { cacheWriteTokens: cacheWrite } : {}),
            },
          }
        : {}),
      ...(msg.stop_reason ? { finishReason: msg.stop_reason } : {}),
    };
  }

  private mapError(err: unknown, signal: AbortSignal | undefined, over: Partial<ErrorContext> = {}): ProviderError {
    const ctx = { ...this.ctx, ...over };
    if (err instanceof ProviderError) return err;
    if (signal?.aborted || err instanceof Anthropic.APIUserAbortError) return transportFailure(err, ctx, signal);
    if (err instanceof Anthropic.APIConnectionTimeoutError) return timeoutFailure(ctx, err);
    if (err instanceof Anthropic.APIConnectionError) {
      const mapped = transportFailure(err, ctx, signal);
      return mapped.kind === 'bad_response' ? unreachableFailure(ctx, err) : mapped;
    }
    if (err instanceof Anthropic.APIError) {
      // Anthropic's error body: {"type": "error", "error": {"type": "...", "message": "..."}}.
      const body = err.error as { error?: { message?: unknown } } | undefined;
      const message = typeof body?.error?.message === 'string' ? body.error.message : err.message;
      if (err.status === undefined) return midStreamFailure(message, ctx, err);
      return httpFailure(err.status, message, ctx, err, err.headers);
    }
    return transportFailure(err, ctx, signal);
  }
}
