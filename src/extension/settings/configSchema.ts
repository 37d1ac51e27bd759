/**
 * The schema of every extension setting (`ideator.*` and `ideator.watch.*`) and their validation, without 'vscode'
 * so it is unit-tested in Node. config.ts reads the values from VS Code; package.json `contributes.configuration`
 * mirrors this file. A bad value is reported once, naming the setting, and falls back to its default.
 */
import { z } from 'zod';
import { DEFAULT_TRAINING_GLOBS } from '../../core/commandMatch';
import { SCORE_CHOICES } from '../../core/metric';
import { DEFAULT_TRAJECTORY_MODE } from '../../core/compact';
import { ModelPriceSchema } from '../../core/promptCost';
import { ProviderKindSchema, TrajectoryModeSchema } from '../../core/protocol';
import type { ScoreOptions } from '../../core/scores';

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
  /** How the run history is rendered in the Ideator prompt (core/compact.ts). */
  trajectoryMode: TrajectoryModeSchema.default(DEFAULT_TRAJECTORY_MODE),
  /** Dollars per million tokens of the configured model; null: the core price table (core/promptCost.ts). */
  modelPrice: ModelPriceSchema.pick({ input: true, output: true, cachedInput: true }).strict().nullable().default(null),
  maxOutputTokens: z.number().int().min(256).max(200_000).default(4_096),
  requestTimeoutSeconds: z.number().min(5).max(3_600).default(300),
  primaryMetric: optionalText,
  metricDirection: z.enum(['auto', 'higher', 'lower']).default('auto'),
  /** A run's score: the primary metric's last value printed or its best epoch (core/metric.ts runScore). */
  runScore: z.enum(SCORE_CHOICES).default('last'),
  pythonPath: optionalText,
  taskDescription: optionalText,
  reviewQueryBeforeSending: z.boolean().default(true),
  /** How many ideas 'Ask for N Ideas' asks for (core/askMany.ts). */
  ideaCount: z.number().int().min(1).max(16).default(4),
  /** Open an arriving idea in an editor-area panel beside the code (the sidebar keeps a summary); off: the sidebar shows it whole. */
  openIdeaInEditor: z.boolean().default(true),
  promptsOverrideDir: optionalText,
  /** How Apply shows a change: 'inline' (default) written into the file with Keep / Undo per change; 'diff' a diff tab to trim, then Apply/Discard. */
  applyReview: z.enum(['diff', 'inline']).default('inline'),
  /** Offer `ideator mcp` to the editor's MCP support (VS Code >= 1.101); off: agent mode has the built-in tools. */
  offerMcpServer: z.boolean().default(false),
  /** Verify ideas on a companion server (`ideator serve`) at this URL; empty: on this machine. */
  verifyServer: z
    .string()
    .transform((s) => s.trim())
    .refine((s) => s === '' || /^https?:\/\/[^\s/]+/i.test(s), { message: 'must be an http:// or https:// URL (or empty to verify on this machine)' })
    .transform((s) => (s === '' ? undefined : s.replace(/\/+$/, '')))
    .optional(),
  /** The companion server's data folder holding this workspace's data (`ideator serve --data-root NAME=PATH`). */
  verifyDataRoot: z
    .string()
    .transform((s) => s.trim())
    .refine((s) => s === '' || /^[A-Za-z0-9_.-]{1,64}$/.test(s), { message: 'must be the name of a data folder of the server (letters, digits, _ . -)' })
    .transform((s) => (s === '' ? undefined : s))
    .optional(),
});
export type ExtensionConfig = z.infer<typeof ExtensionConfigSchema>;

export type ConfigResult = { ok: true; config: ExtensionConfig } | { ok: false; errors: string[]; config: ExtensionConfig };

/** Keys of the schema, i.e. the settings we read (`ideator.<key>`). */
export const CONFIG_KEYS = Object.keys(ExtensionConfigSchema.shape) as (keyof ExtensionConfig)[];

/**
 * Settings read from the user's own settings only (package.json `"scope": "application"`), never from a workspace's
 * .vscode/settings.json or a folder's: where the project's sources and the stored server token are sent. A repository
 * could otherwise name a host of its choosing.
 */
export const USER_ONLY_KEYS: ReadonlySet<string> = new Set<keyof ExtensionConfig>(['verifyServer', 'verifyDataRoot']);

/** The value a setting takes from VS Code's layers (inspect()): the narrowest set one, the user's only for USER_ONLY_KEYS. */
export function settingValue(key: string, layers: { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined): unknown {
  if (!layers) return undefined;
  return USER_ONLY_KEYS.has(key) ? layers.globalValue : (layers.workspaceFolderValue ?? layers.workspaceValue ?? layers.globalValue);
}

/** Run watching: `ideator.watch.<key>`. */
export const WATCH_SECTION = 'ideator.watch';
export const WatchConfigSchema = z.object({
  enabled: z.boolean().default(true),
  commandPatterns: z.array(z.string().min(1)).default([...DEFAULT_TRAINING_GLOBS]),
  plateauRuns: z.number().int().min(0).max(100).default(3),
  plateauCooldownMinutes: z.number().min(0).max(24 * 60).default(30),
  notebookRun: z.enum(['cell', 'session']).default('cell'),
  debugRedirectOutput: z.boolean().default(true),
  maxHistoryMB: z.number().min(1).max(4096).default(64),
  notifyOutcomes: z.boolean().default(true),
});
export type WatchConfig = z.infer<typeof WatchConfigSchema>;
export const WATCH_KEYS = Object.keys(WatchConfigSchema.shape) as (keyof WatchConfig)[];

export type Validated<T> = { ok: true; config: T } | { ok: false; errors: string[]; config: T };

/**
 * Validates raw setting values (undefined = not set) of one section. On errors, the bad keys fall back to their
 * defaults so the extension keeps working, and `errors` names each bad setting in words a user can act on.
 */
function validate<S extends z.ZodObject<z.ZodRawShape>>(schema: S, section: string, raw: Record<string, unknown>): Validated<z.infer<S>> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  const errors: string[] = [];
  const cleaned: Record<string, unknown> = { ...raw };
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? '');
    errors.push(`Setting "${section}.${key}" ${describeValue(raw[key])}: ${issue.message}; using the default`);
    delete cleaned[key];
  }
  const fallback = schema.safeParse(cleaned);
  return { ok: false, errors, config: fallback.success ? fallback.data : schema.parse({}) };
}

export function parseConfig(raw: Record<string, unknown>): ConfigResult {
  return validate(ExtensionConfigSchema, SECTION, raw);
}

export function parseWatchConfig(raw: Record<string, unknown>): Validated<WatchConfig> {
  return validate(WatchConfigSchema, WATCH_SECTION, raw);
}

/** How scores are read from a run's output: the primary metric and its direction, when the user set them. */
export function scoreOptionsOf(config: ExtensionConfig): ScoreOptions {
  return {
    primaryMetric: config.primaryMetric,
    primaryDirection: config.metricDirection === 'auto' ? undefined : config.metricDirection,
  };
}

function describeValue(v: unknown): string {
  const text = JSON.stringify(v);
  return `has value ${text && text.length > 60 ? text.slice(0, 57) + '...' : text}`;
}
