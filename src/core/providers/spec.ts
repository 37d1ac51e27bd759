/**
 * The one textual spelling of a provider, used by every command line (`ideator ask --provider`, `serve|worker|reward
 * --implementer`, `bench --ideator/--implementer`): `KIND[:MODEL][@BASE_URL]`, optionally named `NAME=SPEC`.
 *   openai:qwen3-8b@http://127.0.0.1:8000/v1   anthropic:claude-sonnet-4-5   template-vague   none
 * KIND is a core provider kind (openai, anthropic, server, template-null, template-vague) or, for the
 * Ideator only, `none` (the CodeAct baseline: no seek_help). MODEL may contain ':' (Ollama's qwen3:8b).
 * A spec is the short form of ProviderConfigSchema (index.ts), which the VS Code settings fill field by field and
 * which the server flags also take whole as JSON for the remaining options.
 */
import { ProviderKindSchema, type ProviderKind } from '../protocol';
import { createProvider, ProviderConfigSchema } from './index';
import type { Provider } from './types';

export interface ProviderSpec {
  /** Label used in tables and run ids: NAME when given, else the spec with the URL dropped. */
  name: string;
  kind: ProviderKind | 'none';
  model?: string;
  baseUrl?: string;
}

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** Whether `text` reads as a spec (its KIND part is a provider kind), as opposed to JSON or a file name. */
export function looksLikeSpec(text: string): boolean {
  const raw = text.trim();
  const spec = /^[A-Za-z0-9_.-]+=/.test(raw) ? raw.slice(raw.indexOf('=') + 1) : raw;
  const kind = spec.split(/[:@]/, 1)[0];
  return ProviderKindSchema.safeParse(kind).success;
}

export function parseProviderSpec(text: string, allowNone: boolean): ProviderSpec {
  const raw = text.trim();
  const eq = raw.indexOf('=');
  const named = eq > 0 && /^[A-Za-z0-9_.-]+$/.test(raw.slice(0, eq));
  const name = named ? raw.slice(0, eq) : undefined;
  const spec = named ? raw.slice(eq + 1) : raw;
  const at = spec.indexOf('@');
  const left = at >= 0 ? spec.slice(0, at) : spec;
  const baseUrl = at >= 0 ? spec.slice(at + 1) : undefined;
  const colon = left.indexOf(':');
  const kindText = colon >= 0 ? left.slice(0, colon) : left;
  const model = colon >= 0 ? left.slice(colon + 1) || undefined : undefined;
  if (kindText === 'none') {
    if (!allowNone) throw new SpecError(`'none' is only valid for the Ideator`);
    return { name: name ?? 'none', kind: 'none' };
  }
  const kind = ProviderKindSchema.safeParse(kindText);
  if (!kind.success) {
    throw new SpecError(`unknown provider kind '${kindText}' in '${text}' (expected ${[...ProviderKindSchema.options, ...(allowNone ? ['none'] : [])].join(', ')})`);
  }
  const label = name ?? (model ? `${kind.data}:${model}` : kind.data);
  return { name: label.replace(/[^A-Za-z0-9_.:-]/g, '_'), kind: kind.data, model, baseUrl };
}

export function providerFromSpec(spec: ProviderSpec, overrides: { temperature?: number; maxTokens?: number; timeoutMs?: number } = {}): Provider {
  if (spec.kind === 'none') throw new SpecError('no provider for none');
  const config = ProviderConfigSchema.parse({ kind: spec.kind, model: spec.model, baseUrl: spec.baseUrl, ...overrides });
  return createProvider(config);
}
