/**
 * A reward run scored from its own output (no task grader) whose output the server could not read whole — the
 * capture thread died mid-run (RunResult.captureIncomplete) — is not scored: runCode throws, the evaluation fails as
 * the server's fault, where the part that was read would have looked like a complete score (or none, blamed on the
 * code). The same call with a working thread scores the run. Real sandbox (bubblewrap when present), real python.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, it } from 'node:test';
import { configureCaptureThread, stopCaptureThread } from '../../src/core/captureThread';
import { IdeatorStateSchema } from '../../src/core/protocol';
import { sandboxHost } from '../../server/src/exec/isolation';
import { DEFAULT_LIMITS } from '../../server/src/exec/sandbox';
import type { EvalEnv } from '../../server/src/rewards/env';
import { runCode } from '../../server/src/rewards/runCode';
import { TaskCatalog } from '../../server/src/rewards/taskCatalog';

const REPO = join(__dirname, '..', '..');
const workRoot = mkdtempSync(join(tmpdir(), 'ideator-partial-capture-'));
after(() => rmSync(workRoot, { recursive: true, force: true }));
afterEach(async () => {
  await stopCaptureThread();
  configureCaptureThread({ workerFile: undefined, onWarning: undefined });
});

const env = (): EvalEnv =>
  ({
    catalog: undefined as unknown as TaskCatalog, // not read without a task
    python: join(REPO, '.venv', 'bin', 'python'),
    sandbox: sandboxHost(),
    limits: DEFAULT_LIMITS,
    workRoot,
  }) as EvalEnv;

const state = IdeatorStateSchema.parse({ taskDescription: 'toy', score: { value: 0.4, direction: 'higher', metric: 'val_acc' }, code: '' });
const run = () =>
  runCode({ code: 'print("val_acc: 0.75")\n', codePath: 'solution.py', tag: 'partial', state, ready: undefined, timeoutSec: 60, env: env(), slot: { cudaVisibleDevices: '', threads: 1 } });

it('a run whose output was read whole is scored from it', async () => {
  const r = await run();
  assert.equal(r.score, 0.75, JSON.stringify({ error: r.error, output: r.run.output }));
});

it('a run whose capture thread died mid-run is not scored: the evaluation fails with the reason', async () => {
  const warnings: string[] = [];
  configureCaptureThread({ workerFile: join(REPO, 'test', 'fixtures', 'captureWorkers', 'exitsOnText.mjs'), onWarning: (m) => warnings.push(m) });
  await assert.rejects(run(), /the server could not read all of the run's output \(the thread exited with code 3\); the run is not scored/);
  assert.match(warnings.join('\n'), /the capture thread stopped/);
});
