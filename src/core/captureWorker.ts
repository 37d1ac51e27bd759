/**
 * The capture thread's side (see captureThread.ts; messages and shared counters in captureProtocol.ts): one
 * KeptOutput per open capture, fed the text the main thread cleaned (invisible characters are removed here). Built
 * as its own bundle (dist/captureWorker.js); run from the sources under tsx.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { withoutInvisible } from './ansi';
import { EXITED, LIVE_MS, PROGRESS, QUEUED, READY, samePrimary, STATE, type ThreadReply, type ThreadRequest } from './captureProtocol';
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
const shared = new Int32Array(workerData.shared as SharedArrayBuffer);
const open = new Map<number, Open>();

// However this thread ends (an exception, process.exit(), running out of memory), the main thread learns it at once,
// even while it waits for room in the queue.
process.on('exit', () => {
  Atomics.or(shared, STATE, EXITED);
  Atomics.notify(shared, QUEUED);
});

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

function forget(id: number): Open | undefined {
  const o = open.get(id);
  if (o?.timer) clearTimeout(o.timer);
  open.delete(id);
  return o;
}

/** Reads one message; returns the capture's final reply ('done' / 'failed'), if this message ends it. */
function handle(m: ThreadRequest): ThreadReply | undefined {
  if (m.t === 'close') {
    forget(m.id);
    return undefined;
  }
  try {
    if (m.t === 'open') {
      open.set(m.id, { kept: new KeptOutput(m.opts), posted: null, postedAt: 0, timer: undefined });
      return undefined;
    }
    const o = open.get(m.id);
    if (!o) return undefined;
    if (m.t === 'text') {
      for (const text of m.texts) o.kept.pushText(withoutInvisible(text));
      live(m.id, o);
      return undefined;
    }
    const result = o.kept.end(m.rest);
    forget(m.id);
    return { t: 'done', id: m.id, result };
  } catch (err) {
    forget(m.id);
    return { t: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) };
  }
}

port.on('message', (m: ThreadRequest) => {
  let final: ThreadReply | undefined;
  try {
    final = handle(m);
  } finally {
    // Counted off before the capture's last reply goes out: whoever receives it sees the queue without it.
    if ('chars' in m) Atomics.sub(shared, QUEUED, m.chars);
    Atomics.add(shared, PROGRESS, 1);
    Atomics.notify(shared, QUEUED);
  }
  if (final) reply(final);
});

Atomics.or(shared, STATE, READY);
reply({ t: 'ready' });
