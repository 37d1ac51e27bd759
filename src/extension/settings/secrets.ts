/**
 * API keys live in VS Code's SecretStorage only (OS keychain / encrypted store), one per provider kind, never in
 * settings or logs. Environment variables are a fallback for people who already export them.
 */
import type * as vscode from 'vscode';
import type { ProviderKind } from '../../core/protocol';

/** The environment variable each keyed provider reads its key from (here a fallback; for `ideator mcp` the way in). */
export const ENV_FALLBACK: Partial<Record<ProviderKind, string>> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  server: 'IDEATOR_SERVER_TOKEN',
};

/** Providers that can use a key at all (templates never do). */
export const KEYED_PROVIDERS: ProviderKind[] = ['anthropic', 'openai', 'server'];

export class ApiKeyStore {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  static keyName(kind: ProviderKind): string {
    return `ideator.apiKey.${kind}`;
  }

  async set(kind: ProviderKind, key: string): Promise<void> {
    const trimmed = key.trim();
    if (!trimmed) throw new Error('An empty API key cannot be stored; use "Ideator: Clear API Key" to remove one.');
    await this.secrets.store(ApiKeyStore.keyName(kind), trimmed);
  }

  async clear(kind: ProviderKind): Promise<void> {
    await this.secrets.delete(ApiKeyStore.keyName(kind));
  }

  /** The stored key, else the conventional environment variable, else undefined. */
  async get(kind: ProviderKind): Promise<string | undefined> {
    const stored = await this.secrets.get(ApiKeyStore.keyName(kind));
    if (stored) return stored;
    const envName = ENV_FALLBACK[kind];
    const fromEnv = envName ? this.env[envName]?.trim() : undefined;
    return fromEnv || undefined;
  }

  /** Whether a key is stored in SecretStorage (not counting the environment). */
  async hasStored(kind: ProviderKind): Promise<boolean> {
    return Boolean(await this.secrets.get(ApiKeyStore.keyName(kind)));
  }

  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((e) => {
      if (e.key.startsWith('ideator.apiKey.')) listener();
    });
  }
}
