/**
 * A run whose output the server could not read whole (its capture thread stopped mid-run: RunResult /
 * SandboxResult.captureIncomplete) is never scored from that output: `ideator verify` reports it unscored with the
 * reason (scoreOf), where its metrics alone would have looked like a valid, complete score.
 */
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import type { SandboxResult } from '../../server/src/exec/sandbox';
import { scoreOf } from '../../server/src/verify/engine';

function run(extra: Partial<SandboxResult> = {}): SandboxResult {
  return {
    exitCode: 0,
    signal: null,
    timedOut: false,
    outputLimited: false,
    memoryExceeded: false,
    processesLimited: false,
    setupFailed: false,
    aborted: false,
    durationMs: 10,
    outputBytes: 20,
    outputHead: 'val_auc: 0.9\n',
    outputTail: '',
    output: 'val_auc: 0.9\n',
    metrics: [{ name: 'val_auc', last: 0.9, best: 0.9, series: [0.9], count: 1, direction: 'higher', validation: true }],
    primary: { name: 'val_auc', value: 0.9, direction: 'higher' },
    ...extra,
  };
}

it('verify scores a whole run, and refuses to score one whose output was not all read', () => {
  assert.deepEqual(scoreOf(run(), undefined, 'last', undefined), { value: 0.9 });
  const partial = scoreOf(run({ captureIncomplete: 'the thread exited with code 1' }), undefined, 'last', undefined);
  assert.equal(partial.value, null);
  assert.equal(partial.error, "part of the run's output was not read (the thread exited with code 1); not scored");
  assert.equal(scoreOf(run({ captureIncomplete: 'x' }), 'val_auc', 'best', 'higher').value, null);
});
