/**
 * The grader as an attacker would feed it: submission.csv as a symlink to the answers, to /proc/self/environ, to
 * /dev/zero; a FIFO; a 10 GB sparse file. Each is refused without being read, with a short reason that carries no
 * environment content; an honest submission next to them is still graded.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gradeSubmissions } from '../../server/src/tasks/grade';
import { findTask } from '../../server/src/tasks/index';
import { prepareTask } from '../../server/src/tasks/prepare';
import { removeDir, tempDir } from './serverHarness';

describe('grader attacks', () => {
  const dir = tempDir('ideator-grader-attacks-');
  after(() => removeDir(dir));
  let answersPath = '';
  let samplePath = '';
  const dataDir = join(dir, 'data');
  before(async () => {
    const task = await findTask('churn-binary');
    const prepared = await prepareTask(task, { dataDir });
    answersPath = prepared.answersPath;
    samplePath = join(prepared.publicDir, 'sample_submission.csv');
  });

  it('refuses symlinks, FIFOs and oversized files, and still grades the honest one', async () => {
    const task = await findTask('churn-binary');
    const sub = (name: string) => join(dir, name);
    mkdirSync(dir, { recursive: true });
    symlinkSync(answersPath, sub('to-answers.csv'));
    symlinkSync('/proc/self/environ', sub('to-environ.csv'));
    symlinkSync('/dev/zero', sub('to-zero.csv'));
    execFileSync('mkfifo', [sub('fifo.csv')]);
    writeFileSync(sub('huge.csv'), '');
    truncateSync(sub('huge.csv'), 10 * 1024 ** 3);
    copyFileSync(samplePath, sub('honest.csv'));
    process.env.IDEATOR_SERVER_TOKEN = 'tok-SECRET-grader';
    const t0 = Date.now();
    let results;
    try {
      results = await gradeSubmissions(task, ['to-answers.csv', 'to-environ.csv', 'to-zero.csv', 'fifo.csv', 'huge.csv', 'honest.csv'].map(sub), { dataDir });
    } finally {
      delete process.env.IDEATOR_SERVER_TOKEN;
    }
    assert.ok(Date.now() - t0 < 60_000, 'nothing was read in full or blocked on');
    const [answers, environ, zero, fifo, huge, honest] = results;
    for (const r of [answers, environ, zero]) {
      assert.equal(r.valid, false);
      assert.match(r.reason ?? '', /symbolic link/);
    }
    assert.match(fifo.reason ?? '', /not a regular file/);
    assert.match(huge.reason ?? '', /over the 256 MiB limit/);
    for (const r of results) assert.doesNotMatch(r.reason ?? '', /SECRET|PATH=|HOME=/);
    assert.equal(honest.valid, true, honest.reason);
    assert.equal(typeof honest.score, 'number');
  });
});
