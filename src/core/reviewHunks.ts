/**
 * The hunks of an in-editor review (Keep / Undo per change): where each written change now lies in the document,
 * as character offsets kept up to date while the document changes, and the text each one replaced, so Undo of a
 * hunk restores exactly those lines. Pure: no 'vscode'; the extension feeds it the document's change events.
 */
import type { TextEdit } from './ideaApply';

export interface ReviewHunk {
  id: number;
  /** Offsets of the hunk's current text in the document ([start, end); start === end: a pure deletion). */
  start: number;
  end: number;
  /** The text the hunk replaced (what Undo puts back). */
  original: string;
}

/** One change to the document: `length` characters at `offset` replaced by `text` (VS Code's rangeOffset/rangeLength). */
export interface DocumentChange {
  offset: number;
  length: number;
  text: string;
}

/** The hunks `edits` (offsets into `before`, sorted and disjoint, as minimalEdits gives them) make once applied. */
export function hunksOfEdits(before: string, edits: readonly TextEdit[]): ReviewHunk[] {
  const hunks: ReviewHunk[] = [];
  let shift = 0;
  [...edits]
    .sort((a, b) => a.start - b.start)
    .forEach((e, i) => {
      const start = e.start + shift;
      hunks.push({ id: i + 1, start, end: start + e.text.length, original: before.slice(e.start, e.end) });
      shift += e.text.length - (e.end - e.start);
    });
  return hunks;
}

/**
 * The hunks after one change: a change wholly before a hunk moves it, one wholly after leaves it, and one that
 * touches it (an edit inside, or across its edge) makes the hunk cover the new text too, so Undo still replaces
 * everything the change and the user wrote there with the original lines. Text typed exactly at a hunk's start
 * counts as before it; at its end, as after it.
 */
export function shiftHunk(h: ReviewHunk, c: DocumentChange): ReviewHunk {
  const delta = c.text.length - c.length;
  const changeEnd = c.offset + c.length;
  if (changeEnd <= h.start) return { ...h, start: h.start + delta, end: h.end + delta };
  if (c.offset >= h.end) return h;
  return { ...h, start: Math.min(h.start, c.offset), end: Math.max(h.end, changeEnd) + delta };
}

/**
 * The hunks after one document change event. VS Code reports an event's changes against the text before the
 * event, disjoint; applied from the last to the first, each keeps the earlier ones' offsets valid.
 */
export function shiftHunks(hunks: readonly ReviewHunk[], changes: readonly DocumentChange[]): ReviewHunk[] {
  let out = [...hunks];
  for (const c of [...changes].sort((a, b) => b.offset - a.offset)) out = out.map((h) => shiftHunk(h, c));
  return out;
}

/** The edit that undoes `hunk` in `text`: its current span replaced by its original text. */
export function undoEdit(hunk: ReviewHunk): TextEdit {
  return { start: hunk.start, end: hunk.end, text: hunk.original };
}

/** Hunks whose current text is their original again (undone by hand, or by the editor's Undo) are no longer pending. */
export function pendingHunks(text: string, hunks: readonly ReviewHunk[]): ReviewHunk[] {
  return hunks.filter((h) => text.slice(h.start, h.end) !== h.original);
}
