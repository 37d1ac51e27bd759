/**
 * Ask for N ideas about one state (issue #16), the one definition both hosts use (`ideator ask --n`, the editor's
 * "Ideator: Ask for N Ideas").
 *
 * How the N answers are got depends on what the provider can do:
 *  - OpenAI-compatible servers (vLLM, SGLang, Ollama, OpenAI): ONE request with `n` — the prompt is read once and
 *    sampled n times (vLLM and SGLang share its prefix). A server that ignores `n` answers one choice; the rest are
 *    then asked for in parallel, and a note says so.
 *  - Anthropic: N requests marked with a cache breakpoint at the end of the prompt (cache_control ephemeral): the
 *    first writes the prompt cache, the other N−1 are sent once its answer has begun (the cache is readable from
 *    then on) and read it instead of paying for the whole prompt again.
 *  - The rest (the companion server, the templates): N parallel requests.
 *
 * Every answer is parsed with core/idea.ts. Near-duplicates are dropped, in answer order: the same ACTION once
 * whitespace, case and punctuation are ignored, or the same code once the idea's own code is applied to the file
 * (core/ideaApply.ts proposeFromCodeBlocks, as the editor applies it). One AbortSignal stops every request.
 */
import { normalizeAction } from './collapse';
import { parseIdea } from './idea';
import { proposeFromCodeBlocks, type Proposal } from './ideaApply';
import { buildIdeatorMessages, type BuildOptions } from './prompts';
import { IdeatorStateSchema, type ChatMessage, type Completion, type IdeatorStateInput, type ParsedIdea, type SeekHelpQuery, type Usage } from './protocol';
import { abortedError } from './providers/errors';
import { ProviderError, type Provider } from './providers/types';

/** Provider errors every request of the same prompt would meet again (not load, not a timeout). */
const PERMANENT: ReadonlySet<string> = new Set(['auth', 'not_found', 'config']);

/** How the answers were asked for. */
export type AskManyMode = 'n' | 'n-fallback' | 'parallel-cached' | 'parallel';

export const MAX_IDEA_COUNT = 16;

export type AskManyProgress =
  /** Streamed text of answer `index` so far (chars), for a per-idea progress line. */
  | { kind: 'token'; index: number; chars: number; channel: 'text' | 'thinking' }
  /** Answer `index` is complete (`done` of `n` so far). */
  | { kind: 'answer'; index: number; done: number; n: number }
  /** Answer `index` failed; the others go on. */
  | { kind: 'failed'; index: number; message: string }
  /** Something the user should know (the server ignored `n`, …). */
  | { kind: 'note'; message: string };

export interface AskManyOptions extends BuildOptions {
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
  onProgress?: (event: AskManyProgress) => void;
  /** The prompt, when the host built it itself (another trajectory mode, a reviewed query); default: buildIdeatorMessages(state). */
  prompt?: { messages: ChatMessage[]; query: SeekHelpQuery };
}

export interface AskedIdea {
  /** The answer's position among the N (0-based), kept through the dropping of duplicates. */
  index: number;
  completion: Completion;
  /** The parse, with the model's thinking when it sent some. */
  idea: ParsedIdea;
  /** The file as the idea's own code leaves it (diff, whole script or replaced definitions), when its code fits. */
  proposal?: Proposal;
}

export interface DroppedIdea {
  index: number;
  /** The kept answer it repeats. */
  duplicateOf: number;
  reason: 'same-action' | 'same-code';
  action: string;
}

export interface AskManyResult {
  requested: number;
  mode: AskManyMode;
  /** The distinct ideas, in answer order. */
  ideas: AskedIdea[];
  dropped: DroppedIdea[];
  /** Answers that failed while others arrived (their index and the error's words). */
  failed: { index: number; message: string }[];
  /** Requests sent (1 for `n` honoured). */
  requests: number;
  /** Summed over the requests: prompt tokens (uncached), output tokens, cache read / write. */
  usage: Required<Usage>;
  notes: string[];
  query: SeekHelpQuery;
}

/** The identity of an ACTION for dropping near-duplicates: whitespace, case and punctuation do not count. */
export function actionKey(action: string): string {
  return normalizeAction(action)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * Drops near-duplicates in order: an idea whose ACTION key (or, when the ACTION is empty, whole answer) or whose
 * implemented code equals an earlier kept one's.
 */
export function dropDuplicates(ideas: AskedIdea[]): { kept: AskedIdea[]; dropped: DroppedIdea[] } {
  const kept: AskedIdea[] = [];
  const dropped: DroppedIdea[] = [];
  const byAction = new Map<string, number>();
  const byCode = new Map<string, number>();
  for (const a of ideas) {
    const key = actionKey(a.idea.action.trim() ? a.idea.action : a.completion.text);
    const sameAction = byAction.get(key);
    const sameCode = a.proposal ? byCode.get(a.proposal.content) : undefined;
    if (sameAction !== undefined) dropped.push({ index: a.index, duplicateOf: sameAction, reason: 'same-action', action: a.idea.action });
    else if (sameCode !== undefined) dropped.push({ index: a.index, duplicateOf: sameCode, reason: 'same-code', action: a.idea.action });
    else {
      kept.push(a);
      byAction.set(key, a.index);
      if (a.proposal) byCode.set(a.proposal.content, a.index);
    }
  }
  return { kept, dropped };
}

const errorWords = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * N ideas for one state. Throws ProviderError('aborted') when the signal fires (every request is cancelled), and
 * the first error when no answer at all arrived; answers that fail while others arrive are reported in `failed`.
 */
export async function askForIdeas(provider: Provider, stateInput: IdeatorStateInput, n: number, opts: AskManyOptions = {}): Promise<AskManyResult> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_IDEA_COUNT) throw new ProviderError('config', `the number of ideas must be a whole number from 1 to ${MAX_IDEA_COUNT}, got ${n}`);
  const state = IdeatorStateSchema.parse(stateInput);
  const { messages, query } = opts.prompt ?? buildIdeatorMessages(state, opts);
  const outer = opts.signal;
  if (outer?.aborted) throw abortedError(outer.reason);
  // One controller for every request: a failure that must stop the rest, or the caller's cancel, aborts all.
  const all = new AbortController();
  const onOuter = () => all.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });

  const notes: string[] = [];
  const note = (message: string) => {
    notes.push(message);
    opts.onProgress?.({ kind: 'note', message });
  };
  const completions = new Map<number, Completion>();
  const failed: { index: number; message: string }[] = [];
  const errors: unknown[] = [];
  const usage: Required<Usage> = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  const addUsage = (u: Usage | undefined) => {
    if (!u) return;
    usage.inputTokens += u.inputTokens;
    usage.outputTokens += u.outputTokens;
    usage.cacheReadTokens += u.cacheReadTokens ?? 0;
    usage.cacheWriteTokens += u.cacheWriteTokens ?? 0;
  };
  const chars = new Map<number, number>();
  const token = (index: number, delta: string, channel: 'text' | 'thinking') => {
    const c = (chars.get(index) ?? 0) + delta.length;
    chars.set(index, c);
    opts.onProgress?.({ kind: 'token', index, chars: c, channel });
  };
  const landed = (index: number, c: Completion) => {
    completions.set(index, c);
    opts.onProgress?.({ kind: 'answer', index, done: completions.size, n });
  };
  let requests = 0;

  /** One request for answer `index`; `began` is called at its first token (its response has begun). */
  const one = async (index: number, cachePrefix: boolean, began?: () => void): Promise<void> => {
    requests++;
    try {
      const c = await provider.complete(messages, {
        signal: all.signal,
        maxTokens: opts.maxTokens,
        temperature: opts.temperature,
        cachePrefix,
        onToken: (delta, channel) => {
          began?.();
          token(index, delta, channel);
        },
      });
      addUsage(c.usage);
      landed(index, c);
    } catch (err) {
      if (all.signal.aborted) throw err;
      errors.push(err);
      failed.push({ index, message: errorWords(err) });
      opts.onProgress?.({ kind: 'failed', index, message: errorWords(err) });
    } finally {
      began?.();
    }
  };
  const parallel = (indexes: number[], cachePrefix: boolean) => Promise.all(indexes.map((i) => one(i, cachePrefix)));
  const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);

  let mode: AskManyMode;
  try {
    if (n > 1 && provider.completeChoices) {
      mode = 'n';
      requests++;
      let got = 0;
      try {
        const r = await provider.completeChoices(messages, n, { signal: all.signal, maxTokens: opts.maxTokens, temperature: opts.temperature, onToken: token });
        addUsage(r.usage);
        r.completions.slice(0, n).forEach((c, i) => landed(i, c));
        got = Math.min(n, r.completions.length);
      } catch (err) {
        if (all.signal.aborted) throw err;
        // A server that refuses `n` itself (400 / 422) gets the same fallback as one that ignores it.
        if (!(err instanceof ProviderError) || (err.status !== 400 && err.status !== 422)) throw err;
        note(`the server refused one request for ${n} answers (${errorWords(err)}); asking ${n} times in parallel instead`);
      }
      if (got > 0 && got < n) note(`the server answered ${got} of the ${n} answers asked for in one request (it ignores n); asked for the other ${n - got} in parallel`);
      if (got < n) {
        mode = 'n-fallback';
        await parallel(range(got, n), false);
      }
    } else if (n > 1 && provider.kind === 'anthropic') {
      mode = 'parallel-cached';
      // The cache entry is readable once the first response has begun: send the rest then, not before.
      let release!: () => void;
      const begun = new Promise<void>((resolve) => (release = resolve));
      const first = one(0, true, release);
      await Promise.race([begun, first]);
      // The first failed before any answer began with an error every copy would repeat (a bad key, an unknown
      // model, a wrong setting): say it once instead of sending N−1 requests that fail the same way.
      const e = errors[0];
      if (completions.size === 0 && !chars.size && e instanceof ProviderError && PERMANENT.has(e.kind)) throw e;
      await Promise.all([first, parallel(range(1, n), true)]);
    } else {
      mode = 'parallel';
      await parallel(range(0, n), false);
    }
  } catch (err) {
    all.abort();
    if (outer?.aborted) throw abortedError(outer.reason);
    throw err;
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  if (outer?.aborted) throw abortedError(outer.reason);
  if (completions.size === 0) throw errors[0] ?? new ProviderError('bad_response', 'no answer arrived');

  const answers: AskedIdea[] = [...completions.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, completion]) => {
      const parsed = parseIdea(completion.text);
      const idea = { ...parsed, thinking: parsed.thinking ?? completion.thinking };
      const proposal = state.code.trim() && idea.codeBlocks.length ? proposeFromCodeBlocks(state.code, idea.codeBlocks) : undefined;
      return { index, completion, idea, ...(proposal ? { proposal } : {}) };
    });
  const { kept, dropped } = dropDuplicates(answers);
  if (dropped.length) note(`${dropped.length} near-duplicate${dropped.length === 1 ? '' : 's'} dropped (${dropped.map((d) => `#${d.index + 1} repeats #${d.duplicateOf + 1}: ${d.reason === 'same-action' ? 'same action' : 'same code'}`).join('; ')})`);
  if (failed.length) notes.push(`${failed.length} of ${n} answers failed: ${failed[0].message}`);
  return { requested: n, mode, ideas: kept, dropped, failed, requests, usage, notes, query };
}
