/**
 * The capture thread's side (see captureThread.ts): one KeptOutput per open capture, fed the text the main thread
 * cleaned (invisible characters are removed here). Built as its own bundle (dist/captureWorker.js); run from the
 * sources under tsx.
 *
 * Messages in:  { t: 'open', id, opts } | { t: 'text', id, texts, chars } | { t: 'end', id, rest }
 * Messages out: { t: 'ready' } once, { t: 'live', id, primary } at most every LIVE_MS while the primary score
 *               changes, { t: 'done', id, result } after 'end', { t: 'failed', id, message } when reading a
 *               capture throws (the main thread then finishes that capture on its own).
 * After each 'text' message the worker takes its `chars` off the shared queue counter and wakes a main thread
 * waiting for room (the back-pressure of captureThread.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { withoutInvisible } from './ansi';
import { type ThreadRequest, type ThreadReply, LIVE_MS, samePrimary } from './captureThread';
import { KeptOutput } from './keptOutput';
import type { PrimaryScore } from './protocol';

interface Open {
  kept: KeptOutput;
  /** The primary score last posted as 'live', and when. */
  posted: PrimaryScore | null;
  postedAt: number;
  timer: NodeJS.Timeout | undefined;
}

const port = parentPort;
if (!port) throw new Error('captureWorker runs only as a worker thread');
const queued = new Int32Array(workerData.queued as SharedArrayBuffer);
const open = new Map<number, Open>();

function reply(m: ThreadReply): void {
  port!.postMessage(m);
}

/** Posts the primary score when it changed, at most every LIVE_MS; a change inside the interval is posted at its end. */
function live(id: number, o: Open): void {
  if (o.timer) return;
  const primary = o.kept.primary();
  if (samePrimary(primary, o.posted)) return;
  const wait = o.postedAt + LIVE_MS - Date.now();
  if (wait > 0) {
    o.timer = setTimeout(() => {
      o.timer = undefined;
      if (open.get(id) === o) live(id, o);
    }, wait);
    return;
  }
  o.posted = primary;
  o.postedAt = Date.now();
  reply({ t: 'live', id, primary });
}

function failed(id: number, err: unknown): void {
  const o = open.get(id);
  if (o?.timer) clearTimeout(o.timer);
  open.delete(id);
  reply({ t: 'failed', id, message: err instanceof Error ? err.message : String(err) });
}

port.on('message', (m: ThreadRequest) => {
  if (m.t === 'open') {
    open.set(m.id, { kept: new KeptOutput(m.opts), posted: null, postedAt: 0, timer: undefined });
    return;
  }
  const o = open.get(m.id);
  if (m.t === 'text') {
    try {
      if (o) for (const text of m.texts) o.kept.pushText(withoutInvisible(text));
    } catch (err) {
      failed(m.id, err);
    } finally {
      Atomics.sub(queued, 0, m.chars);
      Atomics.notify(queued, 0);
    }
    const now = open.get(m.id);
    if (now) live(m.id, now);
    return;
  }
  // 'end'
  if (!o) return;
  try {
    const result = o.kept.end(m.rest);
    if (o.timer) clearTimeout(o.timer);
    open.delete(m.id);
    reply({ t: 'done', id: m.id, result });
  } catch (err) {
    failed(m.id, err);
  }
});

reply({ t: 'ready' });
