/**
 * The bench's Ideator: any core Provider (an LLM, the companion server, or the NULL/VAGUE templates of the
 * paper's Table 2) behind the shared prompt builder and idea parser, so the bench asks exactly what the
 * extension and the reward server ask.
 */
import { formatIdea, parseIdea } from '../../../src/core/idea';
import { buildIdeatorPrompt } from '../../../src/core/promptCost';
import type { TrajectoryMode } from '../../../src/core/protocol';
import { parseSeekHelp, renderSeekHelp } from '../../../src/core/query';
import type { IdeatorState, SeekHelpQuery } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import type { IdeatorClient } from './agent';
import { classifyByKeywords } from '../../../src/core/ideaTypes';

/** `trajectoryMode`: full by default here (the paper's setup, and what a resumed run directory was asked with). */
export function ideatorClient(provider: Provider, opts: { budgetTokens?: number; promptsDir?: string; trajectoryMode?: TrajectoryMode } = {}): IdeatorClient {
  return {
    label: provider.label,
    async ask(state: IdeatorState, signal?: AbortSignal) {
      const { messages } = buildIdeatorPrompt(state, { budgetTokens: opts.budgetTokens, overrideDir: opts.promptsDir, trajectoryMode: opts.trajectoryMode ?? 'full' });
      const completion = await provider.complete(messages, { signal });
      const idea = parseIdea(completion.text);
      // The implementer sees the canonical three fields when the answer parsed, else the answer as it came.
      const text = idea.ok ? formatIdea(idea) : completion.text.trim() || '(the Ideator returned an empty answer)';
      return {
        raw: completion.text,
        text,
        ok: idea.ok,
        usage: completion.usage,
        ideaType: idea.ok ? classifyByKeywords(idea) : undefined,
      };
    },
    parseQuery: (text: string): SeekHelpQuery | null => parseSeekHelp(`<seek_help>${text}</seek_help>`),
    renderQuery: renderSeekHelp,
  };
}
