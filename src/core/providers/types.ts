/** The one interface every Ideator / implementer backend implements. No 'vscode' here. */
import type { ChatMessage, Completion, ProviderKind } from '../protocol';

export interface CompleteOptions {
  /** Aborts the request (and any retry wait). The promise then rejects with a ProviderError of kind 'aborted'. */
  signal?: AbortSignal;
  /** Streaming callback: called with each text (or thinking) delta as it arrives. */
  onToken?: (delta: string, channel: 'text' | 'thinking') => void;
  maxTokens?: number;
  temperature?: number;
}

export interface Provider {
  readonly kind: ProviderKind;
  /** Human label for logs / UI, e.g. "openai-compatible http://127.0.0.1:8000/v1 (ideator)". Never contains a key. */
  readonly label: string;
  complete(messages: ChatMessage[], options?: CompleteOptions): Promise<Completion>;
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
