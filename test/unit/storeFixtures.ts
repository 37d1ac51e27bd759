/** Job stores on real SQLite files in a temporary folder (removed after the suite), and a finished idea's outcome. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { JobStore, type IdeaOutcome } from '../../server/src/jobs/store';
import { abandonedOutcome } from '../../server/src/rewards/outcomes';

/** `open()` gives a fresh store in a folder named `prefix…`, with the reward service's abandoned outcome. */
export function storeFactory(prefix: string): (opts?: { maxAttempts?: number }) => JobStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return (opts) => new JobStore(join(dir, `s${n++}.sqlite`), { ...opts, abandoned: abandonedOutcome });
}

/** An idea that ran: improved when `reward` > 0, scored 0.5 → 0.6. */
export function outcome(reward: number): IdeaOutcome {
  return {
    reward,
    status: reward > 0 ? 'improved' : 'not_improved',
    scoreBefore: 0.5,
    scoreAfter: 0.6,
    durationMs: 1,
    outputTail: '',
    codeDiff: '',
    formatErrors: [],
    selfReported: false,
    guardFlags: [],
    guard: [],
  };
}
