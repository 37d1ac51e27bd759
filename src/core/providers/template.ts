/**
 * The paper's two non-LLM ablation Ideators (its Table 2): NULL answers every seek-help with "no suggestion, use
 * your own judgment", VAGUE with a generic "keep improving". They isolate the effect of idea *quality* from the
 * effect of merely pausing to ask. Both answer in the three-field format so downstream parsing, rewards and the
 * implementer treat them exactly like a model's answer. The wording is ours.
 */
import { formatIdea } from '../idea';
import type { ChatMessage, Completion } from '../protocol';
import { abortedError } from './errors';
import type { CompleteOptions, Provider } from './types';

export type TemplateKind = 'template-null' | 'template-vague';

export const NULL_IDEA = formatIdea({
  analysis: 'No assessment of the current progress is offered.',
  action: 'No specific suggestion this time: carry on with whichever step you judge best.',
  rationale: 'Without a concrete recommendation, your own reading of the trajectory is the best guide.',
});

export const VAGUE_IDEA = formatIdea({
  analysis: 'Keep refining the present approach.',
  action: 'Continue improving your solution to raise its score.',
  rationale: 'Further refinement can still lift the performance of the current solution.',
});

export class TemplateProvider implements Provider {
  readonly label: string;
  private readonly text: string;

  constructor(readonly kind: TemplateKind) {
    this.text = kind === 'template-null' ? NULL_IDEA : VAGUE_IDEA;
    this.label = kind === 'template-null' ? 'template NULL idea (ablation, no LLM)' : 'template VAGUE idea (ablation, no LLM)';
  }

  async complete(_messages: ChatMessage[], options: CompleteOptions = {}): Promise<Completion> {
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    // Streamed line by line so streaming UIs behave as they do with a model.
    if (options.onToken) for (const line of this.text.split(/(?<=\n)/)) options.onToken(line, 'text');
    return { text: this.text, model: this.kind, finishReason: 'stop' };
  }
}
