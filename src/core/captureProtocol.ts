/**
 * What the main thread and the capture thread (captureThread.ts, captureWorker.ts) say to each other, and the shared
 * counters both read. Kept apart so that the worker's bundle holds none of the main thread's side.
 *
 * Messages in:  { t: 'open', id, opts }, { t: 'text', id, texts, chars }, { t: 'end', id, rest, chars },
 *               { t: 'close', id } (a capture dropped unfinished: forget it)
 * Messages out: { t: 'ready' } once, { t: 'live', id, primary } at most every LIVE_MS while the primary score
 *               changes, { t: 'done', id, result } after 'end', { t: 'failed', id, message } when reading a capture
 *               throws (the main thread then finishes that capture on its own).
 */
import type { KeptOptions, KeptResult } from './keptOutput';
import type { PrimaryScore } from './protocol';

/** How often, at most, the thread reports a changed primary score while a run prints (live() shows it). */
export const LIVE_MS = 100;

/**
 * Slots of the Int32Array over the SharedArrayBuffer handed to the worker as workerData.shared:
 *  QUEUED   characters sent and not yet read (a message's `chars`; the main thread adds, the worker takes off and
 *           wakes a waiting main thread)
 *  PROGRESS messages the worker has read (a stalled thread is one whose count stands still while QUEUED > 0)
 *  STATE    READY once the worker runs, EXITED when it is ending (set in its exit handler, which runs even while the
 *           main thread waits in Atomics.wait and cannot receive the worker's 'exit' event)
 */
export const QUEUED = 0;
export const PROGRESS = 1;
export const STATE = 2;
export const SLOTS = 3;
export const READY = 1;
export const EXITED = 2;

export type ThreadRequest =
  | { t: 'open'; id: number; opts: KeptOptions }
  | { t: 'text'; id: number; texts: string[]; chars: number }
  | { t: 'end'; id: number; rest: string; chars: number }
  | { t: 'close'; id: number };

export type ThreadReply =
  | { t: 'ready' }
  | { t: 'live'; id: number; primary: PrimaryScore | null }
  | { t: 'done'; id: number; result: KeptResult }
  | { t: 'failed'; id: number; message: string };

/** Same score, field by field (whatever fields PrimaryScore has). */
export function samePrimary(a: PrimaryScore | null, b: PrimaryScore | null): boolean {
  if (a === null || b === null) return a === b;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof PrimaryScore>;
  for (const k of keys) if (!Object.is(a[k], b[k])) return false;
  return true;
}
