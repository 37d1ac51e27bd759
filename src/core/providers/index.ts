/**
 * The one way to get a Provider from settings. Config is plain data (extension settings, CLI flags, a server
 * config file) validated by ProviderConfigSchema; API keys never live there — they come from the `secrets`
 * argument (the extension's SecretStorage) or the environment, and never appear in labels, logs or errors.
 */
import { z } from 'zod';
import { ProviderKindSchema } from '../protocol';
import { AnthropicProvider, DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_MODEL } from './anthropic';
import { SETTING, type SettingNames } from './errors';
import { OpenAICompatibleProvider } from './openai-compatible';
import { ServerIdeatorProvider } from './server';
import { TemplateProvider } from './template';
import { ProviderError, type Provider, type ProviderTuning } from './types';

export { describeProviderError, DEFAULT_SETTING_NAMES, isModelNotFound, SETTING, type SettingKey, type SettingNames } from './errors';
export { DEFAULT_ANTHROPIC_MODEL } from './anthropic';
export { NULL_IDEA, VAGUE_IDEA } from './template';
export { ProviderError, type CompleteOptions, type Provider, type ProviderErrorKind } from './types';

/** vLLM's default address; the paper's Ideator is a Qwen3-8B LoRA served there under the name "ideator". */
export const DEFAULT_OPENAI_BASE_URL = 'http://localhost:8000/v1';
export const DEFAULT_OPENAI_MODEL = 'ideator';
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_RETRIES = 3;

/** VS Code settings hold "" for "not set"; treat it (and null) as absent. */
const blankToUndefined = (v: unknown) => (v === '' || v === null ? undefined : v);

const HttpUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL, e.g. http://localhost:8000/v1');

export const ProviderConfigSchema = z.object({
  kind: ProviderKindSchema,
  /** openai: the …/v1 URL (vLLM, SGLang, Ollama at http://localhost:11434/v1, OpenAI); anthropic: the API root; server: the companion server root. */
  baseUrl: z.preprocess(blankToUndefined, HttpUrl.optional()),
  /** Model name; for vLLM with LoRA, the adapter's name ("ideator"). */
  model: z.preprocess(blankToUndefined, z.string().trim().min(1).optional()),
  /** Reasoning on/off: chat_template_kwargs.enable_thinking (openai), adaptive / disabled thinking (anthropic). */
  thinking: z.boolean().optional(),
  /** Per attempt: time to the response headers, and the longest silence inside a streamed body. */
  timeoutMs: z.number().int().positive().max(3_600_000).default(DEFAULT_TIMEOUT_MS),
  maxRetries: z.number().int().min(0).max(10).default(DEFAULT_MAX_RETRIES),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  /** openai / anthropic: false sends one plain JSON request when nobody listens to tokens (default: always stream). */
  stream: z.boolean().optional(),
});
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;
export type ProviderConfigInput = z.input<typeof ProviderConfigSchema>;

export interface ProviderSecrets {
  apiKey?: string;
}

/** How a host presents the provider's errors: its own names for the settings they point at. */
export interface ProviderPresentation {
  names?: Partial<SettingNames>;
}

const nonEmpty = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);

/** The validated knobs both network providers share, with the model resolved to the provider's default. */
function tuning(c: ProviderConfig, defaultModel: string): ProviderTuning {
  const { thinking, timeoutMs, maxRetries, temperature, maxTokens, stream } = c;
  return { model: c.model ?? defaultModel, thinking, timeoutMs, maxRetries, temperature, maxTokens, stream };
}

/**
 * Builds the provider a config names. Throws ProviderError('config' | 'auth') for settings that cannot work (no
 * Anthropic key, no server URL) — before any request, with the setting to fix.
 */
export function createProvider(
  config: ProviderConfig | ProviderConfigInput,
  secrets: ProviderSecrets = {},
  env: NodeJS.ProcessEnv = process.env,
  presentation: ProviderPresentation = {},
): Provider {
  const { names } = presentation;
  const parsed = ProviderConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || 'config';
    throw new ProviderError('config', `invalid provider setting ${where}: ${issue.message}`, where);
  }
  const c = parsed.data;
  switch (c.kind) {
    case 'template-null':
    case 'template-vague':
      return new TemplateProvider(c.kind);
    case 'openai':
      return new OpenAICompatibleProvider({
        ...tuning(c, DEFAULT_OPENAI_MODEL),
        baseUrl: c.baseUrl ?? nonEmpty(env.OPENAI_BASE_URL) ?? DEFAULT_OPENAI_BASE_URL,
        apiKey: nonEmpty(secrets.apiKey) ?? nonEmpty(env.OPENAI_API_KEY),
        names,
      });
    case 'anthropic': {
      const apiKey = nonEmpty(secrets.apiKey) ?? nonEmpty(env.ANTHROPIC_API_KEY);
      if (!apiKey) {
        throw new ProviderError('auth', "no Anthropic API key: set one with the command 'Ideator: Set API Key' or env ANTHROPIC_API_KEY", SETTING.apiKey);
      }
      return new AnthropicProvider({
        ...tuning(c, DEFAULT_ANTHROPIC_MODEL),
        apiKey,
        baseUrl: c.baseUrl ?? nonEmpty(env.ANTHROPIC_BASE_URL) ?? DEFAULT_ANTHROPIC_BASE_URL,
        names,
      });
    }
    case 'server': {
      const baseUrl = c.baseUrl ?? nonEmpty(env.IDEATOR_SERVER_URL);
      if (!baseUrl) {
        throw new ProviderError('config', `the 'server' provider needs the companion server's address: set ${names?.baseUrl ?? 'the base URL setting (baseUrl)'} or env IDEATOR_SERVER_URL, e.g. http://127.0.0.1:8787`, SETTING.baseUrl);
      }
      return new ServerIdeatorProvider({
        baseUrl,
        token: nonEmpty(secrets.apiKey) ?? nonEmpty(env.IDEATOR_SERVER_TOKEN),
        timeoutMs: c.timeoutMs,
        maxRetries: c.maxRetries,
        maxTokens: c.maxTokens,
        names,
      });
    }
  }
}
