/** The one interface every Ideator / implementer backend implements. No 'vscode' here. */
import type { ChatMessage, Completion, ProviderKind } from '../protocol';

export interface CompleteOptions {
  /** Aborts the request (and any retry wait). The promise then rejects with a ProviderError of kind 'aborted'. */
  signal?: AbortSignal;
  /** Streaming callback: called with each text (or thinking) delta as it arrives. */
  onToken?: (delta: string, channel: 'text' | 'thinking') => void;
  maxTokens?: number;
  temperature?: number;
  /**
   * The whole prompt is a stable prefix that other requests will repeat (N ideas for one state): Anthropic marks it
   * with cache_control {type: 'ephemeral'}; providers without explicit caching ignore it (vLLM/SGLang cache prefixes
   * on their own).
   */
  cachePrefix?: boolean;
}

/** Several answers to one prompt in one request (OpenAI-compatible `n`). */
export interface CompleteChoicesOptions extends Omit<CompleteOptions, 'onToken'> {
  /** Streaming callback per choice (0-based index). */
  onToken?: (index: number, delta: string, channel: 'text' | 'thinking') => void;
}

export interface ChoicesResult {
  /** In choice order; fewer than asked when the server ignored `n`. */
  completions: Completion[];
  /** The request's usage (prompt counted once for all choices), when the server reported it. */
  usage?: Completion['usage'];
}

/**
 * What every network provider (anthropic, openai-compatible) is tuned by; each adds its address and key.
 * ProviderConfigSchema validates the same fields from settings.
 */
export interface ProviderTuning {
  model: string;
  /**
   * Reasoning on/off. openai-compatible: chat_template_kwargs.enable_thinking (left out when unset; OpenAI itself
   * rejects the field). anthropic: adaptive thinking with summarized text, or disabled; unset: the model's default.
   */
  thinking?: boolean;
  timeoutMs: number;
  maxRetries: number;
  temperature?: number;
  maxTokens?: number;
  /**
   * Default true: stream even without onToken, so timeoutMs bounds the silence between tokens rather than the
   * whole generation (a long thinking answer takes minutes). false: one plain JSON request (onToken still streams).
   */
  stream?: boolean;
}

export interface Provider {
  readonly kind: ProviderKind;
  /** Human label for logs / UI, e.g. "openai-compatible http://127.0.0.1:8000/v1 (ideator)". Never contains a key. */
  readonly label: string;
  complete(messages: ChatMessage[], options?: CompleteOptions): Promise<Completion>;
  /**
   * The model names the server serves (GET /v1/models), sorted; for picking one after a wrong model name. Absent
   * where there is no such list (templates, the companion server). Fails with the same ProviderError mapping.
   */
  listModels?(signal?: AbortSignal): Promise<string[]>;
  /**
   * `n` answers to one prompt in one request (OpenAI-compatible servers: the prompt is processed once, vLLM and
   * SGLang share its prefix). A server that ignores `n` answers with one choice: the result then has fewer.
   */
  completeChoices?(messages: ChatMessage[], n: number, options?: CompleteChoicesOptions): Promise<ChoicesResult>;
}

/** What went wrong, in words a user can act on; `setting` names the setting / env var / flag to fix. */
export type ProviderErrorKind =
  | 'auth'
  | 'not_found'
  | 'rate_limited'
  | 'server'
  | 'unreachable'
  | 'timeout'
  | 'aborted'
  | 'bad_response'
  | 'config';

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly setting?: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}
