/**
 * The query review as a form (Ask Ideator's "check what will be asked"): the three parts of the seek-help query in
 * three multi-line boxes at once, Send and Cancel. Pure (no 'vscode'): the HTML (every string escaped) and the
 * check of what the page sends back, in which an emptied part is an error said next to its box, never a silent
 * clear.
 */
import { z } from 'zod';
import type { SeekHelpQuery } from '../../core/protocol';
import { escapeHtml } from './ideaPanelHighlight';

/** Longest part accepted (a trajectory summary can be long, but not a file). */
export const MAX_REVIEW_FIELD_CHARS = 20_000;

export type ReviewField = 'problemStatement' | 'attemptsSoFar' | 'goal';

export const ReviewFieldsSchema = z.object({
  problemStatement: z.string().max(MAX_REVIEW_FIELD_CHARS),
  attemptsSoFar: z.string().max(MAX_REVIEW_FIELD_CHARS),
  goal: z.string().max(MAX_REVIEW_FIELD_CHARS),
});
export type ReviewFields = z.infer<typeof ReviewFieldsSchema>;

export type ReviewCheck = { ok: true; query: SeekHelpQuery } | { ok: false; errors: Partial<Record<ReviewField, string>> };

/** One attempt a line; list markers ("- ", "* ", "1. ") and blank lines dropped. */
export function attemptsOf(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, '').trim())
    .filter((l) => l !== '');
}

/**
 * Checks what the form sends: problem statement and goal must not be empty; the attempts may be empty only when
 * the draft had none (emptying a list that was there is said, not done silently).
 */
export function checkReview(raw: unknown, draft: SeekHelpQuery): ReviewCheck {
  const parsed = ReviewFieldsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = (issue?.path[0] as ReviewField | undefined) ?? 'problemStatement';
    return { ok: false, errors: { [field]: issue?.code === 'too_big' ? `Too long: at most ${MAX_REVIEW_FIELD_CHARS.toLocaleString('en-US')} characters.` : 'Not text.' } };
  }
  const f = parsed.data;
  const errors: Partial<Record<ReviewField, string>> = {};
  if (!f.problemStatement.trim()) errors.problemStatement = 'The problem statement is empty: say what is wrong or where progress stalls.';
  const attempts = attemptsOf(f.attemptsSoFar);
  if (!attempts.length && draft.attemptsSoFar.length) {
    errors.attemptsSoFar = `The ${draft.attemptsSoFar.length} attempt${draft.attemptsSoFar.length === 1 ? '' : 's'} were removed: keep at least one line, or write what you tried.`;
  }
  if (!f.goal.trim()) errors.goal = 'The goal is empty: say what you want next (e.g. raise val AUC above 0.95).';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, query: { problemStatement: f.problemStatement.trim(), attemptsSoFar: attempts, goal: f.goal.trim() } };
}

function box(field: ReviewField, title: string, help: string, value: string, rows: number): string {
  return (
    `<section class="review-field"><label for="${field}"><h2>${title}</h2></label><p class="hint">${escapeHtml(help)}</p>` +
    `<textarea id="${field}" name="${field}" rows="${rows}" maxlength="${MAX_REVIEW_FIELD_CHARS}" aria-describedby="${field}-error">${escapeHtml(value)}</textarea>` +
    `<p class="field-error" id="${field}-error" role="alert" hidden></p></section>`
  );
}

/** The form's body: the three parts, who answers, Send / Cancel. */
export function renderReviewForm(query: SeekHelpQuery, providerLabel: string): string {
  return (
    `<form id="review" class="review" novalidate><p class="hint">Edit what the Ideator will be asked, then Send (Ctrl+Enter). It answers with <span class="chip">${escapeHtml(providerLabel)}</span>.</p>` +
    box('problemStatement', 'PROBLEM STATEMENT', 'What is wrong, or where progress stalls.', query.problemStatement, 4) +
    box('attemptsSoFar', 'ATTEMPTS SO FAR', 'One attempt a line: what you tried and what happened.', query.attemptsSoFar.join('\n'), Math.min(10, Math.max(3, query.attemptsSoFar.length + 1))) +
    box('goal', 'GOAL', 'What you want from the next change.', query.goal, 2) +
    '<div class="actions"><button type="submit" id="send">Send to the Ideator</button><button type="button" class="secondary" id="cancel">Cancel</button></div></form>'
  );
}
