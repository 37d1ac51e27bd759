/**
 * Follow-ups on an idea ("Why?", "3 alternatives", "A cheaper variant", free text): the question each button asks,
 * the messages sent (the Ideator prompt of the same state, the earlier answer, then prompts/followup.md), and how
 * an answer becomes idea records (one idea, several alternatives, or prose). Host-free: the editor and any other
 * host use the same definitions.
 */
import { parseIdea, stripThinking } from './idea';
import { buildIdeatorPrompt, type IdeatorPromptOptions } from './promptCost';
import { loadPrompt } from './prompts';
import type { ChatMessage, IdeatorStateInput, ParsedIdea } from './protocol';

export type FollowUpKind = 'why' | 'alternatives' | 'cheaper' | 'free';

/** The buttons: label and the question they send. Free text sends what the user typed. */
export const FOLLOW_UPS: Record<Exclude<FollowUpKind, 'free'>, { label: string; question: string }> = {
  why: {
    label: 'Why?',
    question: 'Why this change? Explain what in the steps, the score and the code points to it, how much it should move the score, and what could make it fail.',
  },
  alternatives: {
    label: '3 alternatives',
    question: 'Give me 3 alternatives to this change: three different directions, each one change I could make instead of it.',
  },
  cheaper: {
    label: 'A cheaper variant',
    question: 'Give me a cheaper variant of this change: one that costs less compute or time to try and keeps most of its expected gain.',
  },
};

/** Longest free-text question accepted (the box says so). */
export const MAX_FOLLOW_UP_CHARS = 2_000;

export function followUpQuestion(kind: FollowUpKind, text?: string): string {
  if (kind === 'free') {
    const q = (text ?? '').trim();
    if (!q) throw new Error('Type a question first.');
    if (q.length > MAX_FOLLOW_UP_CHARS) throw new Error(`The question is ${q.length} characters long; at most ${MAX_FOLLOW_UP_CHARS} are sent.`);
    return q;
  }
  return FOLLOW_UPS[kind].question;
}

/**
 * The follow-up conversation: the Ideator prompt of the state (task, trajectory, score, code, the same query; the
 * trajectory in the same mode as Ask's), the earlier idea as the Ideator's answer (its reasoning left out), then
 * the follow-up question.
 */
export function buildFollowUpMessages(state: IdeatorStateInput, earlierRaw: string, question: string, opts: IdeatorPromptOptions = {}): ChatMessage[] {
  const { messages } = buildIdeatorPrompt(state, opts);
  const earlier = stripThinking(earlierRaw).answer.trim() || earlierRaw.trim();
  const followUp = loadPrompt('followup', opts).fillMessages({ question });
  return [...messages, { role: 'assistant', content: earlier }, ...followUp];
}

/** One idea of an answer: its raw text and parse. */
export interface FollowUpPart {
  raw: string;
  parsed: ParsedIdea;
}

/** What an answer is: prose (an explanation), one idea, or several alternatives (each an idea). */
export interface FollowUpAnswer {
  shape: 'prose' | 'idea' | 'alternatives';
  parts: FollowUpPart[];
}

const ALTERNATIVE_RE = /^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?ALTERNATIVE[ \t]+\d+[ \t]*(?:\*\*)?[ \t]*:?(?:\*\*)?[^\n]*$/gim;

/** Splits an answer on its `ALTERNATIVE n:` lines; fewer than two parts with an ACTION: not alternatives. */
export function splitAlternatives(answer: string): FollowUpPart[] | undefined {
  const marks = [...answer.matchAll(ALTERNATIVE_RE)];
  if (marks.length < 2) return undefined;
  const parts: FollowUpPart[] = [];
  marks.forEach((m, k) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = k + 1 < marks.length ? marks[k + 1].index : answer.length;
    const raw = answer.slice(start, end).trim();
    const parsed = parseIdea(raw);
    if (parsed.action.trim()) parts.push({ raw, parsed });
  });
  return parts.length >= 2 ? parts : undefined;
}

/**
 * Reads a follow-up's answer. "Why?" is prose; "3 alternatives" is split into its alternatives (one idea when the
 * model gave only one); a cheaper variant is one idea; free text is whatever the answer turned out to be: several
 * ALTERNATIVE parts, one idea with an ACTION, or prose.
 */
export function readFollowUpAnswer(kind: FollowUpKind, raw: string): FollowUpAnswer {
  const { answer } = stripThinking(raw);
  if (kind === 'why') return { shape: 'prose', parts: [{ raw, parsed: parseIdea(raw) }] };
  if (kind === 'alternatives' || kind === 'free') {
    const alternatives = splitAlternatives(answer);
    if (alternatives) return { shape: 'alternatives', parts: alternatives };
  }
  const parsed = parseIdea(raw);
  if (kind === 'free' && !parsed.action.trim()) return { shape: 'prose', parts: [{ raw, parsed }] };
  return { shape: 'idea', parts: [{ raw, parsed }] };
}

/** An answer that explains rather than proposes: nothing to apply, shown as prose. */
export function isProse(idea: { parsed: ParsedIdea; followUp?: { kind: FollowUpKind } }): boolean {
  return idea.followUp !== undefined && (idea.followUp.kind === 'why' || !idea.parsed.action.trim());
}
