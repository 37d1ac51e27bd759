/**
 * The implementer: idea + s_t → C_{t+1}. Only the orchestration lives here; what counts as code the idea carries
 * and how a model's answer becomes code is core's (src/core/ideaApply.ts, shared with the editor's apply action).
 * Code the idea carries (a diff or a complete script) is applied directly; otherwise the configured model writes it
 * — one completion, no tools, no retries of the idea: the paper's "single step", so the reward measures the idea,
 * not the implementer's persistence. Without a model, such an idea cannot be implemented and the reward pipeline
 * records it as an execution failure with that reason.
 */
import { createPatch } from 'diff';
import { codeFromAnswer, directImplementation } from '../../../src/core/ideaApply';
import type { IdeatorState, ParsedIdea } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';

export type Implementation =
  | { ok: true; code: string; via: 'script' | 'diff' | 'model' }
  | { ok: false; error: string; via: 'script' | 'diff' | 'model' | 'none' };

export interface ImplementOptions {
  /** The implementer model; undefined = direct application only. */
  provider?: Provider;
  signal?: AbortSignal;
}

/** The implementer model's C_{t+1}: the complete new program, or a unified diff against C_t, from one completion. */
async function implementWithModel(provider: Provider, state: IdeatorState, idea: ParsedIdea, signal?: AbortSignal): Promise<{ code: string } | { error: string }> {
  const { buildImplementerMessages } = await import('../../../src/core/prompts');
  const completion = await provider.complete(buildImplementerMessages(state, idea), { signal, maxTokens: 16_000, temperature: 0 });
  return codeFromAnswer(completion.text, state.code);
}

export async function implementIdea(state: IdeatorState, idea: ParsedIdea, opts: ImplementOptions = {}): Promise<Implementation> {
  const direct = directImplementation(idea, state.code);
  if (direct.kind === 'script' || direct.kind === 'diff') return { ok: true, code: direct.code, via: direct.kind };
  if (direct.kind === 'error') return { ok: false, error: direct.error, via: 'diff' };
  if (!opts.provider) {
    return {
      ok: false,
      error: 'the idea carries no complete script or diff, and no implementer model is configured (--implementer)',
      via: 'none',
    };
  }
  try {
    const r = await implementWithModel(opts.provider, state, idea, opts.signal);
    return 'code' in r ? { ok: true, code: r.code, via: 'model' } : { ok: false, error: r.error, via: 'model' };
  } catch (err) {
    return { ok: false, error: `implementer model failed: ${(err as Error).message}`, via: 'model' };
  }
}

/** The unified diff C_t → C_{t+1} reported with every result. */
export function codeDiff(path: string, before: string, after: string): string {
  if (before === after) return '';
  return createPatch(path, before, after, 'before', 'after');
}
