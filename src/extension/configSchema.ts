/**
 * The schema of the extension's settings (`ideator.*`) and their validation, without 'vscode' so it is unit-tested
 * in Node. config.ts reads the values from VS Code; package.json `contributes.configuration` mirrors this schema.
 */
import { z } from 'zod';
import { ProviderKindSchema } from '../core/protocol';

export const SECTION = 'ideator';

const optionalText = z
  .string()
  .transform((s) => s.trim())
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const httpUrl = z
  .string()
  .transform((s) => s.trim())
  .refine((s) => s === '' || /^https?:\/\/[^\s/]+/i.test(s), { message: 'must be an http:// or https:// URL (or empty for the provider default)' })
  .transform((s) => (s === '' ? undefined : s.replace(/\/+$/, '')))
  .optional();

export const ExtensionConfigSchema = z.object({
  provider: ProviderKindSchema.default('anthropic'),
  baseUrl: httpUrl,
  model: optionalText,
  implementerModel: optionalText,
  /** 'default' leaves the server's own choice (OpenAI itself rejects the reasoning switch); booleans are accepted too. */
  thinking: z
    .union([z.enum(['default', 'on', 'off']), z.boolean().transform((b) => (b ? 'on' : 'off') as 'on' | 'off')])
    .default('default'),
  trajectoryTokenBudget: z.number().int().min(1_000, { message: 'must be at least 1000 tokens' }).max(1_000_000).default(32_000),
  maxOutputTokens: z.number().int().min(256).max(200_000).default(4_096),
  requestTimeoutSeconds: z.number().min(5).max(3_600).default(300),
  primaryMetric: optionalText,
  metricDirection: z.enum(['auto', 'higher', 'lower']).default('auto'),
  pythonPath: optionalText,
  taskDescription: optionalText,
  reviewQueryBeforeSending: z.boolean().default(true),
  promptsOverrideDir: optionalText,
});
export type ExtensionConfig = z.infer<typeof ExtensionConfigSchema>;

export type ConfigResult = { ok: true; config: ExtensionConfig } | { ok: false; errors: string[]; config: ExtensionConfig };

/** Keys of the schema, i.e. the settings we read (`ideator.<key>`). */
export const CONFIG_KEYS = Object.keys(ExtensionConfigSchema.shape) as (keyof ExtensionConfig)[];

/**
 * Validates raw setting values (undefined = not set). On errors, the bad keys fall back to their defaults so the
 * extension keeps working, and `errors` names each bad setting in words a user can act on.
 */
export function parseConfig(raw: Record<string, unknown>): ConfigResult {
  const result = ExtensionConfigSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  const errors: string[] = [];
  const cleaned: Record<string, unknown> = { ...raw };
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? '');
    errors.push(`Setting "${SECTION}.${key}" ${describeValue(raw[key])}: ${issue.message}`);
    delete cleaned[key];
  }
  const fallback = ExtensionConfigSchema.safeParse(cleaned);
  return { ok: false, errors, config: fallback.success ? fallback.data : ExtensionConfigSchema.parse({}) };
}

function describeValue(v: unknown): string {
  const text = JSON.stringify(v);
  return `has value ${text && text.length > 60 ? text.slice(0, 57) + '...' : text}`;
}
