/**
 * The capture thread as shipped (src/core/captureThread.ts): the bundles start dist/captureWorker.js from beside
 * themselves, so a build or a .vsix without it would silently read every run's scores on the main thread (correct,
 * but the editor's and the server's own thread pays). Checked here on what is shipped:
 *  - the .vsix's files (what .vscodeignore lets in) hold the worker, and it answers the thread's protocol with the
 *    result the capture gives on its own thread;
 *  - the built CLI (dist/cli.js) captures a sandboxed run through it: no fallback warning on stderr, and one when
 *    the worker is missing (so the check above can fail).
 * Needs the bundles: `node scripts/build.mjs` (npm test builds first).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { TerminalTextCleaner } from '../../src/core/ansi';
import { BoundedCapture } from '../../src/core/capture';
import { PROGRESS, QUEUED, READY, SLOTS, STATE, type ThreadReply, type ThreadRequest } from '../../src/core/captureProtocol';
import { findTask, prepareTask } from '../../server/src/tasks';
import { copyPackagedFiles } from '../packagedFiles';

const root = join(__dirname, '..', '..');
let base: string;

before(() => {
  base = mkdtempSync(join(tmpdir(), 'ideator-capture-bundle-'));
});
after(() => rmSync(base, { recursive: true, force: true }));

describe('the capture thread as shipped', () => {
  test('the .vsix holds dist/captureWorker.js, and it gives the on-thread result through the thread protocol', async () => {
    const ext = join(base, 'extension');
    copyPackagedFiles(ext);
    const file = join(ext, 'dist', 'captureWorker.js');
    assert.ok(existsSync(file), '.vscodeignore does not ship dist/captureWorker.js (or it is not built: node scripts/build.mjs)');

    const text = '\x1b[32mepoch 1\x1b[0m loss: 0.5 - val_acc: 0.7\n 50%|##   |\r\x07epoch 2 loss: 0.4 - val_acc: 0.8\n';
    const onThread = new BoundedCapture({ headChars: 20, tailChars: 30 });
    onThread.push(text);
    onThread.push('final val_acc: 0.9');
    const expected = onThread.end();

    const shared = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    const worker = new Worker(file, { workerData: { shared: shared.buffer } });
    try {
      const replies: ThreadReply[] = [];
      const done = new Promise<void>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (m: ThreadReply) => {
          replies.push(m);
          if (m.t === 'done' || m.t === 'failed') resolve();
        });
      });
      // What OffThreadOutput sends: the cleaner's joined text (invisible characters still in), then the last line.
      const cleaner = new TerminalTextCleaner();
      const joined = cleaner.pushJoined(text) + cleaner.pushJoined('final val_acc: 0.9');
      assert.match(joined, /\x07epoch 2/); // the thread has something to remove
      const rest = cleaner.end();
      const send = (m: ThreadRequest) => worker.postMessage(m);
      Atomics.add(shared, QUEUED, joined.length + 1);
      send({ t: 'open', id: 1, opts: { headChars: 20, tailChars: 30 } });
      send({ t: 'text', id: 1, texts: [joined], chars: joined.length });
      send({ t: 'end', id: 1, rest, chars: 1 });
      await done;
      assert.equal(replies[0].t, 'ready');
      const last = replies[replies.length - 1];
      assert.equal(last.t, 'done', JSON.stringify(last));
      const { bytes: _bytes, ...keptPart } = expected;
      assert.deepEqual(last.t === 'done' && last.result, keptPart);
      assert.equal(Atomics.load(shared, QUEUED), 0, 'the worker did not take what it read off the queue');
      assert.equal(Atomics.load(shared, PROGRESS), 3);
      assert.equal(Atomics.load(shared, STATE) & READY, READY);
    } finally {
      await worker.terminate();
    }
  });

  test('the built CLI captures a sandboxed run on the thread, and says so when the worker is missing', async () => {
    const data = join(base, 'data');
    const task = await findTask('churn-binary');
    const { publicDir } = await prepareTask(task, { dataDir: data });
    const sub = join(base, 'sample.csv');
    writeFileSync(sub, readFileSync(join(publicDir, 'sample_submission.csv')));

    // A copy of the built CLI inside dist/ (ignored by git; the package root is still found above it), so the
    // worker can be taken away without touching the bundles other tests use.
    const dist = join(root, 'dist');
    assert.ok(existsSync(join(dist, 'cli.js')), 'dist/cli.js missing: run node scripts/build.mjs');
    const copy = mkdtempSync(join(dist, 'capture-test-'));
    try {
      for (const f of ['cli.js', 'cli-commands.js', 'captureWorker.js']) cpSync(join(dist, f), join(copy, f));
      const grade = () =>
        spawnSync(process.execPath, [join(copy, 'cli.js'), 'grade', '--task', 'churn-binary', '--submission', sub, '--data-dir', data, '--json'], {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
        });
      const ok = grade();
      assert.equal(ok.status, 0, ok.stderr);
      assert.deepEqual(JSON.parse(ok.stdout), { valid: true, score: 0.5, normalized: 0 });
      assert.doesNotMatch(ok.stderr, /capture thread/);

      rmSync(join(copy, 'captureWorker.js'));
      const without = grade();
      assert.equal(without.status, 0, without.stderr);
      assert.deepEqual(JSON.parse(without.stdout), { valid: true, score: 0.5, normalized: 0 });
      assert.match(without.stderr, /scores are read on the main thread: the capture thread cannot start \(no capture worker beside .*cli-commands\.js\)/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
