/**
 * The frozen one-step implementer as a model: given s_t and the idea, it answers with the complete new program
 * C_{t+1} (or a unified diff against C_t). One completion, no tools, no retries of the idea — the paper's
 * "single step", so the reward measures the idea, not the implementer's persistence.
 */
import type { IdeatorState, ParsedIdea } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import { applyDiff } from './direct';

interface Fence {
  lang: string;
  code: string;
}

/** Fenced blocks of a model answer (``` or ~~~, any length ≥ 3), in order. */
export function fencedBlocks(text: string): Fence[] {
  const out: Fence[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let open: { marker: string; lang: string; body: string[] } | undefined;
  for (const line of lines) {
    if (!open) {
      const m = /^\s*(`{3,}|~{3,})\s*([\w+.-]*)/.exec(line);
      if (m) open = { marker: m[1], lang: m[2].toLowerCase(), body: [] };
      continue;
    }
    const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1][0] === open.marker[0] && close[1].length >= open.marker.length) {
      out.push({ lang: open.lang, code: open.body.join('\n') });
      open = undefined;
    } else open.body.push(line);
  }
  // An unterminated last fence (the model ran out of tokens) is still the best code we have.
  if (open && open.body.length) out.push({ lang: open.lang, code: open.body.join('\n') });
  return out;
}

function looksLikeDiff(f: Fence): boolean {
  return f.lang === 'diff' || f.lang === 'patch' || (/^@@ /m.test(f.code) && /^(\+\+\+|---) /m.test(f.code));
}

/** C_{t+1} from the implementer's answer: the longest code block, or a diff applied to C_t. */
export function codeFromAnswer(answer: string, current: string): { code: string } | { error: string } {
  const blocks = fencedBlocks(answer);
  if (!blocks.length) return { error: 'the implementer answered without a code block' };
  const diffs = blocks.filter(looksLikeDiff);
  const scripts = blocks.filter((b) => !looksLikeDiff(b) && b.code.trim() !== '');
  if (scripts.length) {
    const longest = scripts.reduce((a, b) => (b.code.length > a.code.length ? b : a));
    return { code: longest.code.endsWith('\n') ? longest.code : `${longest.code}\n` };
  }
  let code = current;
  for (const d of diffs) {
    const next = applyDiff(code, d.code);
    if (next === undefined) return { error: "the implementer's diff does not apply to the current code" };
    code = next;
  }
  return { code };
}

export async function implementWithModel(
  provider: Provider,
  state: IdeatorState,
  idea: ParsedIdea,
  opts: { signal?: AbortSignal; maxTokens?: number } = {},
): Promise<{ code: string } | { error: string }> {
  const { buildImplementerMessages } = await import('../../../src/core/prompts');
  const messages = buildImplementerMessages(state, idea);
  const completion = await provider.complete(messages, { signal: opts.signal, maxTokens: opts.maxTokens ?? 16_000, temperature: 0 });
  return codeFromAnswer(completion.text, state.code);
}
