/**
 * The implementer: idea + s_t → C_{t+1}. Code the idea carries (a diff or a complete script) is applied directly;
 * otherwise the configured model writes it. Without a model, such an idea cannot be implemented and the reward
 * pipeline records it as an execution failure with that reason.
 */
import { createPatch } from 'diff';
import type { IdeatorState, ParsedIdea } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import { directImplementation } from './direct';
import { implementWithModel } from './llm';

export type Implementation =
  | { ok: true; code: string; via: 'script' | 'diff' | 'model' }
  | { ok: false; error: string; via: 'script' | 'diff' | 'model' | 'none' };

export interface ImplementOptions {
  /** The implementer model; undefined = direct application only. */
  provider?: Provider;
  signal?: AbortSignal;
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
    const r = await implementWithModel(opts.provider, state, idea, { signal: opts.signal });
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
