/**
 * The off-thread capture (BoundedCapture({ offThread: true }), core/captureThread.ts): the same result as the
 * capture on this thread for every input and chunking; live scores while a run prints; nothing lost when the thread
 * cannot start; a thread that dies or stalls mid-run is reported, never waited on forever; no process kept alive.
 * The failing threads are real worker scripts (test/fixtures/captureWorkers) that misbehave on purpose.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { BoundedCapture, type CaptureOptions, type CaptureResult } from '../../src/core/capture';
import { configureCaptureThread, MAX_QUEUED_CHARS, stopCaptureThread } from '../../src/core/captureThread';
import { PendingRun } from '../../src/core/pendingRun';
import { benchShape, CAPTURE_OPTIONS, chunks, generate } from '../captureInputs';
import { rng } from '../seededRandom';

const WORKERS = join(__dirname, '..', 'fixtures', 'captureWorkers');
const ROOT = join(__dirname, '..', '..');

function onThread(pieces: string[], opts: CaptureOptions = {}): CaptureResult {
  const c = new BoundedCapture(opts);
  for (const p of pieces) c.push(p);
  return c.end();
}

async function offThread(pieces: string[], opts: CaptureOptions = {}): Promise<CaptureResult> {
  const c = new BoundedCapture({ ...opts, offThread: true });
  for (const p of pieces) c.push(p);
  return c.finish();
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Routes the thread's warnings into an array, with the given worker script (undefined: the real one). */
function withWorker(file: string | undefined, extra: { stallMs?: number } = {}): string[] {
  const warnings: string[] = [];
  configureCaptureThread({ workerFile: file && join(WORKERS, file), onWarning: (m) => warnings.push(m), ...extra });
  return warnings;
}

afterEach(async () => {
  await stopCaptureThread();
  configureCaptureThread({ workerFile: undefined, onWarning: undefined, stallMs: undefined });
});
after(() => stopCaptureThread());

describe('off-thread capture', () => {
  it('gives the on-thread result for generated ANSI / redraw / control-character logs, any chunking and options', async () => {
    const warnings = withWorker(undefined);
    const rand = rng(20261207);
    for (let trial = 0; trial < 150; trial++) {
      const text = generate(rand, 1 + Math.floor(rand() * 150));
      const opts = CAPTURE_OPTIONS[trial % CAPTURE_OPTIONS.length];
      const pieces = chunks(text, trial % 4 === 0 ? 1 + Math.floor(rand() * 5) : 0, rand, 1 + Math.floor(rand() * 300));
      assert.deepEqual(await offThread(pieces, opts), onThread(pieces, opts), `trial ${trial}: ${JSON.stringify(text)}`);
    }
    assert.deepEqual(warnings, []);
  });

  it('gives the on-thread result for a long redraw-heavy run sent in batches, and for many captures at once', async () => {
    withWorker(undefined);
    const text = benchShape(20_000); // ~7 MB: several batches, head and tail both cut
    const rand = rng(7);
    const pieces = chunks(text, 65_536, rand);
    const got = await offThread(pieces);
    assert.deepEqual(got, onThread(pieces));
    assert.equal(got.metrics.find((m) => m.name === 'val_acc')?.count, 20_000);
    assert.ok(got.droppedChars > 0);

    // Ten captures interleaved chunk by chunk on the one thread: none sees another's text.
    const texts = Array.from({ length: 10 }, (_, k) => generate(rng(k + 1), 200) + `\nval_final: ${k}\n`);
    const split = texts.map((t, k) => chunks(t, 0, rng(100 + k), 50));
    const caps = texts.map(() => new BoundedCapture({ offThread: true, headChars: 500, tailChars: 900 }));
    for (let i = 0; split.some((s) => i < s.length); i++) split.forEach((s, k) => i < s.length && caps[k].push(s[i]));
    const results = await Promise.all(caps.map((c) => c.finish()));
    results.forEach((r, k) => assert.deepEqual(r, onThread(split[k], { headChars: 500, tailChars: 900 }), `capture ${k}`));
    assert.deepEqual(
      results.map((r) => r.primary?.value),
      texts.map((_, k) => k),
    );
  });

  it('shows the score live while the run prints, and the byte count at once', async () => {
    withWorker(undefined);
    const c = new BoundedCapture({ offThread: true });
    c.push('epoch 1 val_acc: 0.5\n');
    assert.equal(c.live().bytes, 21);
    await until('the first live score', () => c.live().primary?.value === 0.5);
    c.push('epoch 2 val_acc: 0.75\n');
    await until('the second live score', () => c.live().primary?.value === 0.75);
    assert.equal((await c.finish()).primary?.value, 0.75);
    // finish() is idempotent and later pushes change nothing.
    c.push('epoch 3 val_acc: 0.9\n');
    assert.equal((await c.finish()).primary?.value, 0.75);
  });

  it('loses nothing when the thread cannot start: what was sent is read on this thread, and that is said once', async () => {
    for (const file of ['missing.js', 'throwsOnLoad.mjs']) {
      const warnings = withWorker(file);
      const rand = rng(3);
      const text = generate(rand, 400);
      const pieces = chunks(text, 0, rand, 40);
      assert.deepEqual(await offThread(pieces), onThread(pieces), file);
      assert.equal(warnings.length, 1, `${file}: ${warnings.join(' | ')}`);
      assert.match(warnings[0], /scores are read on the main thread/);
      // Later captures do not try again (and say nothing more).
      assert.deepEqual(await offThread(pieces), onThread(pieces));
      assert.equal(warnings.length, 1);
      await stopCaptureThread();
    }
  });

  it('a thread that dies mid-run: the capture goes on here, and the result says what is missing', async () => {
    const warnings = withWorker('exitsOnText.mjs');
    const c = new BoundedCapture({ offThread: true });
    c.push('lost: 1\n'); // sent to the thread (within FLUSH_MS), which says it is ready, then exits on it
    await until('the warning', () => warnings.length > 0);
    assert.match(warnings[0], /the capture thread stopped/);
    c.push('val_acc: 0.8\n');
    const r = await c.finish();
    assert.match(r.incomplete ?? '', /exited with code 3/);
    assert.equal(r.head, 'val_acc: 0.8\n');
    assert.equal(r.primary?.value, 0.8);
  });

  it('a run recorded while the thread died says so in its note', async () => {
    const warnings = withWorker('exitsOnText.mjs');
    const run = new PendingRun({ source: 'terminal', note: 'notebook session' });
    run.push('loss: 1\n');
    await until('the warning', () => warnings.length > 0);
    run.push('loss: 0.5\n');
    const rec = await run.finish(0);
    assert.match(rec.note ?? '', /^notebook session Part of the output was not captured \(.*exited with code 3.*\)\.$/);
    assert.equal(rec.primary?.value, 0.5);
  });

  it('a thread that stops reading: sending waits for room, then gives it up instead of growing memory', async () => {
    const warnings = withWorker('neverReads.mjs', { stallMs: 300 });
    const c = new BoundedCapture({ offThread: true });
    await new Promise((r) => setTimeout(r, 300)); // the thread has said it is ready
    const line = 'x'.repeat(1023) + '\n';
    const started = Date.now();
    // Twice the queue's bound: the second half can only be sent once the thread reads the first, which it never does.
    for (let sent = 0; sent < 2 * MAX_QUEUED_CHARS; sent += 64 * 1024) c.push(line.repeat(64));
    const waited = Date.now() - started;
    c.push('val_loss: 0.25\n');
    const r = await c.finish();
    assert.ok(waited >= 300, `sending went on without waiting (${waited} ms)`);
    assert.match(r.incomplete ?? '', /read nothing for 0.3 s/);
    assert.match(warnings.join('\n'), /the capture thread stopped/);
    assert.equal(r.primary?.value, 0.25);
  });

  it('a thread that stops reading with little queued: finish() gives it up after stallMs instead of waiting forever', async () => {
    const warnings = withWorker('neverReads.mjs', { stallMs: 300 });
    const c = new BoundedCapture({ offThread: true });
    await new Promise((r) => setTimeout(r, 300)); // the thread has said it is ready
    c.push('val_loss: 0.5\n');
    const started = Date.now();
    const r = await c.finish();
    assert.ok(Date.now() - started < 5_000);
    assert.match(r.incomplete ?? '', /read nothing for 0.3 s/);
    assert.match(warnings.join('\n'), /the capture thread stopped/);
  });

  it('a thread that dies while sending waits for room: the wait ends at once, not after the stall time', async () => {
    const warnings = withWorker('exitsOnTextFlagged.mjs'); // default stall time: 10 s
    const c = new BoundedCapture({ offThread: true });
    await new Promise((r) => setTimeout(r, 300)); // the thread has said it is ready
    const line = 'y'.repeat(1023) + '\n';
    const started = Date.now();
    for (let sent = 0; sent < 2 * MAX_QUEUED_CHARS; sent += 64 * 1024) c.push(line.repeat(64));
    const waited = Date.now() - started;
    c.push('val_loss: 0.125\n');
    const r = await c.finish();
    assert.ok(waited < 5_000, `sending waited ${waited} ms for a dead thread`);
    assert.match(r.incomplete ?? '', /exited/);
    assert.match(warnings.join('\n'), /the capture thread stopped/);
    assert.equal(r.primary?.value, 0.125);
  });

  it('stopping the thread before it runs does not keep later captures off it', async () => {
    const warnings = withWorker(undefined);
    const a = new BoundedCapture({ offThread: true });
    await stopCaptureThread(); // before its worker could say it runs
    a.push('loss: 2\n');
    assert.equal((await a.finish()).primary?.value, 2);
    const b = new BoundedCapture({ offThread: true });
    b.push('loss: 1\n');
    await until('a live score from a new thread', () => b.live().primary?.value === 1);
    assert.equal((await b.finish()).primary?.value, 1);
    assert.deepEqual(warnings, []);
  });

  it('dispose(): a dropped capture ignores later text and says so; after finish() it changes nothing', async () => {
    withWorker(undefined);
    const dropped = new BoundedCapture({ offThread: true });
    dropped.push('loss: 1\n');
    await new Promise((r) => setTimeout(r, 50)); // sent to the thread
    dropped.dispose();
    dropped.push('loss: 0.5\n');
    const r = await dropped.finish();
    assert.equal(r.primary, null);
    assert.equal(r.incomplete, 'the capture was dropped');

    const kept = new BoundedCapture({ offThread: true });
    kept.push('loss: 0.25\n');
    const pending = kept.finish();
    kept.dispose();
    assert.equal((await pending).primary?.value, 0.25);
    assert.equal((await kept.finish()).incomplete, undefined);
  });

  it('a thread this thread could not watch (blocked longer than stallMs) is not given up for it', async () => {
    const warnings = withWorker(undefined, { stallMs: 1000 });
    for (let round = 0; round < 2; round++) {
      const c = new BoundedCapture({ offThread: true });
      c.push('val_acc: 0.5\n');
      await new Promise((r) => setTimeout(r, 2500)); // registered, read; the watchdog ticked with nothing waiting
      c.push('val_acc: 0.75\n'); // its flush and a watchdog tick both fall due during the block
      const until_ = Date.now() + 1500;
      while (Date.now() < until_); // a busy host: this thread does nothing else for 1.5 s
      const r = await c.finish();
      assert.equal(r.incomplete, undefined, `round ${round}: ${r.incomplete}`);
      assert.deepEqual(
        r.metrics.find((m) => m.name === 'val_acc')?.series,
        [0.5, 0.75],
      );
    }
    assert.deepEqual(warnings, []);
  });

  it('a thread slower to start than stallMs: nothing lost, and later captures still use a thread', async () => {
    const warnings = withWorker('slowStart.mjs', { stallMs: 300 });
    const a = new BoundedCapture({ offThread: true });
    a.push('loss: 2\n');
    const ra = await a.finish();
    assert.equal(ra.primary?.value, 2);
    assert.equal(ra.incomplete, undefined); // replayed here: it never ran
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /did not start \(the thread read nothing for 0.3 s\)/);

    const b = new BoundedCapture({ offThread: true }); // starts a new (slow) thread
    await new Promise((r) => setTimeout(r, 2500)); // it runs by now
    b.push('loss: 1\n');
    assert.equal(b.live().primary, null); // not read here: inline would know it at once
    await until('the live score from the thread', () => b.live().primary?.value === 1);
    assert.equal((await b.finish()).primary?.value, 1);
    assert.equal(warnings.length, 1);
  });

  it('a warning hook that throws leaves no capture waiting', async () => {
    configureCaptureThread({
      workerFile: join(WORKERS, 'exitsOnText.mjs'),
      onWarning: () => {
        throw new Error('hook broke');
      },
    });
    const c = new BoundedCapture({ offThread: true });
    c.push('loss: 1\n');
    const r = await c.finish();
    assert.match(r.incomplete ?? '', /exited with code 3/);
  });

  // Each in a fresh process, which must end by itself: a capture left open on the thread would keep it alive.
  const ends = (lines: string[]) => {
    const started = Date.now();
    const p = spawnSync(process.execPath, ['--import', 'tsx', '-e', lines.join('\n')], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(p.status, 0, `${p.error ?? ''} ${p.stderr}`);
    assert.ok(Date.now() - started < 15_000, 'the process waited for the thread to end');
    return p.stdout.trim();
  };

  it('does not keep a process alive once its captures are finished', () => {
    const out = ends([
      "const { BoundedCapture } = require('./src/core/capture');",
      'const c = new BoundedCapture({ offThread: true });',
      "c.push('loss: 0.5\\n');",
      'c.finish().then((r) => console.log(JSON.stringify(r.primary)));',
    ]);
    assert.equal(out, '{"name":"loss","value":0.5,"direction":"lower"}');
  });

  it('nor once a capture is dropped unfinished (a discarded editor run), after it sent text', () => {
    const out = ends([
      "const { PendingRun } = require('./src/core/pendingRun');",
      "const run = new PendingRun({ source: 'terminal' });",
      "run.push('loss: 0.5\\n'.repeat(1000));",
      // past FLUSH_MS: the text went to the thread, which holds a slot for it
      'setTimeout(() => { run.dispose(); console.log(JSON.stringify(run.live())); }, 200);',
    ]);
    assert.match(out, /"bytes":10000/);
  });

  it('nor after a run aborted before it started, or one whose spawn threw', () => {
    const out = ends([
      "const { runProcess } = require('./server/src/exec/runner');",
      '(async () => {',
      '  const ac = new AbortController(); ac.abort();',
      "  const r = await runProcess({ argv: ['sh', '-c', 'echo loss: 1'], signal: ac.signal });",
      "  let thrown = '';",
      "  try { await runProcess({ argv: ['sh', '-c', 'echo a\\0b'] }); } catch (e) { thrown = e.code || e.message; }",
      '  console.log(JSON.stringify({ aborted: r.aborted, thrown }));',
      '})();',
    ]);
    assert.match(out, /"aborted":true/);
    assert.match(out, /"thrown":"ERR_INVALID_ARG_VALUE"/);
  });
});
