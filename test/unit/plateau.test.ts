import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlateauMonitor, runsSinceBest } from '../../src/core/plateau';
import type { Run } from '../../src/core/protocol';

let n = 0;
function run(value: number | null, extra: Partial<Run> = {}): Run {
  n++;
  return {
    id: `r${n}`, source: 'terminal', startedAt: new Date(Date.UTC(2026, 10, 23, 9, n)).toISOString(),
    endedAt: new Date(Date.UTC(2026, 10, 23, 9, n, 30)).toISOString(), exitCode: 0, metrics: [],
    primary: value === null ? null : { name: 'val_rmse', value, direction: 'lower' },
    outputHead: '', outputTail: '', outputBytes: 0, ...extra,
  };
}

test('runsSinceBest counts completed runs after the best, failures included, running ones not', () => {
  const runs = [run(0.5), run(0.4), run(0.45), run(null, { exitCode: 1 }), run(0.41), run(0.3, { endedAt: undefined })];
  // r6 has no endedAt but a score: still bestOf counts it? It is not failed, so it is the best, nothing after it.
  assert.equal(runsSinceBest(runs).best?.value, 0.3);
  assert.equal(runsSinceBest(runs.slice(0, 5)).count, 3);
  assert.equal(runsSinceBest(runs.slice(0, 5)).best?.value, 0.4);
  assert.deepEqual(runsSinceBest([run(null)]), { count: 0, best: null });
});

test('prompts after N runs without improvement, then not again until a new window and the cooldown pass', () => {
  let clock = 0;
  const m = new PlateauMonitor({ patience: 3, cooldownMs: 1000, now: () => clock });
  const runs = [run(0.5), run(0.4)];
  assert.equal(m.check(runs), null);
  runs.push(run(0.6), run(0.7));
  assert.equal(m.check(runs), null, 'two runs since best: not yet');
  runs.push(run(0.41));
  const s = m.check(runs);
  assert.equal(s?.runsSinceBest, 3);
  assert.equal(s?.best.value, 0.4);
  assert.equal(m.check(runs), null, 'same state: no second prompt');
  runs.push(run(0.5), run(0.5), run(0.5));
  assert.equal(m.check(runs), null, 'a new window but inside the cooldown');
  clock = 5000;
  assert.equal(m.check(runs)?.runsSinceBest, 6);
  // A new best resets the window; the next plateau needs patience runs again (cooldown over).
  clock = 10_000;
  runs.push(run(0.1));
  assert.equal(m.check(runs), null);
  runs.push(run(0.2), run(0.2), run(0.2));
  assert.equal(m.check(runs)?.best.value, 0.1);
});

test('no prompt while an applied idea waits for its run', () => {
  const m = new PlateauMonitor({ patience: 1, cooldownMs: 0 });
  const runs = [run(0.2), run(0.3)];
  assert.equal(m.check(runs, { ideaPending: true }), null);
  assert.notEqual(m.check(runs), null);
});
