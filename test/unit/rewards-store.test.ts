/**
 * The job store's guarantees, directly on a real SQLite file: idempotency, leases (expiry, heartbeat, only the
 * holder completes), exactly-once completion, abandonment after repeated losses, canonical hashing.
 */
import { strict as assert } from 'node:assert';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { RewardRequestSchema, type RewardRequestInput } from '../../src/core/protocol';
import { canonicalJson, hashOf } from '../../server/src/jobs/hash';
import { IdempotencyConflictError, JobStore, ownerIsDead, type IdeaOutcome } from '../../server/src/jobs/store';
import { outcome, storeFactory } from './storeFixtures';

const open = storeFactory('ideator-store-');

const req = (ideas: string[], extra: Partial<RewardRequestInput> = {}) =>
  RewardRequestSchema.parse({
    state: { taskDescription: 't', score: { value: 0.5, direction: 'higher' }, code: 'print(1)' },
    ideas,
    ...extra,
  });

// Owners on another host: never considered dead by pid, so only their lease expiry frees their ideas.
const ownerA = 'elsewhere:1:a';
const ownerB = 'elsewhere:2:b';

describe('job store', () => {
  it('hashes canonically (key order does not matter)', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, e: null }] }), '{"a":[{"d":2,"e":null}],"b":1}');
    assert.equal(hashOf({ x: 1, y: 2 }), hashOf({ y: 2, x: 1 }));
  });

  it('replays identical content, conflicts on a reused client key, shares identical ideas', () => {
    const s = open();
    const a = s.submit(req(['i1', 'i2']));
    const b = s.submit(req(['i1', 'i2']));
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(a.job.id, b.job.id);
    s.submit(req(['x'], { idempotencyKey: 'k' }));
    assert.throws(() => s.submit(req(['y'], { idempotencyKey: 'k' })), IdempotencyConflictError);
    // A different job containing the same idea (and a duplicate inside one job) maps onto the same run.
    const c = s.submit(req(['i1', 'i1', 'i3']));
    assert.equal(c.created, true);
    assert.equal(s.counts().queued, 4, 'i1, i2, x, i3');
    s.close();
  });

  it('leases: one claimant at a time, heartbeat renews, only the holder completes, exactly once', async () => {
    const s = open();
    const { job } = s.submit(req(['only']));
    const w = s.claim(ownerA, 200)!;
    assert.equal(w.attempts, 1);
    assert.equal(s.claim(ownerB, 200), undefined, 'leased ideas are not handed out twice');
    assert.equal(s.heartbeat(w.key, ownerA, 200), true);
    assert.equal(s.heartbeat(w.key, ownerB, 200), false);
    assert.equal(s.complete(w.key, ownerB, outcome(1)), false, 'a non-holder cannot complete');
    assert.equal(s.getJob(job.id)!.status, 'running');
    assert.equal(s.complete(w.key, ownerA, outcome(1)), true);
    assert.equal(s.complete(w.key, ownerA, outcome(0)), false, 'completion happens once');
    const done = s.getJob(job.id)!;
    assert.equal(done.status, 'done');
    assert.equal(done.results[0].reward, 1);
    assert.equal(s.claim(ownerB, 200), undefined);
    s.close();
  });

  it('an expired lease is taken over; the old holder can no longer complete', async () => {
    const s = open();
    s.submit(req(['slow']));
    const first = s.claim(ownerA, 50)!;
    await new Promise((r) => setTimeout(r, 80));
    const second = s.claim(ownerB, 10_000)!;
    assert.equal(second.key, first.key);
    assert.equal(second.attempts, 2);
    assert.equal(s.heartbeat(first.key, ownerA, 50), false, 'the old holder learns it lost the lease');
    assert.equal(s.complete(first.key, ownerA, outcome(1)), false);
    assert.equal(s.complete(second.key, ownerB, outcome(0)), true);
    assert.deepEqual(s.ideaAudit().map((r) => [r.status, r.attempts]), [['done', 2]]);
    s.close();
  });

  it('an idea that keeps killing its workers is abandoned as exec_failed after maxAttempts', async () => {
    const s = open({ maxAttempts: 2 });
    const { job } = s.submit(req(['poison']));
    s.claim(ownerA, 20);
    await new Promise((r) => setTimeout(r, 40));
    s.claim(ownerA, 20);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(s.claim(ownerB, 20), undefined);
    const j = s.getJob(job.id)!;
    assert.equal(j.status, 'done');
    assert.equal(j.results[0].status, 'exec_failed');
    assert.equal(j.results[0].reward, 0);
    assert.match(j.results[0].error ?? '', /abandoned/);
    s.close();
  });

  it('release gives an idea back without counting an attempt', () => {
    const s = open();
    s.submit(req(['r']));
    const w = s.claim(ownerA, 10_000)!;
    assert.equal(s.release(w.key, ownerA), true);
    assert.equal(s.claim(ownerB, 10_000)!.attempts, 1);
    s.close();
  });

  it('knows a dead local owner from a live one', () => {
    assert.equal(ownerIsDead(`${hostname()}:${process.pid}:x`), false);
    assert.equal(ownerIsDead(`${hostname()}:999999:x`), true);
    assert.equal(ownerIsDead('other-host:999999:x'), false);
  });
});

describe('duration-aware order (longest expected first)', () => {
  const stateOf = (code: string) => ({ state: { taskDescription: 't', score: { value: 0.5, direction: 'higher' as const }, code } });
  const ran = (ms: number): IdeaOutcome => ({ ...outcome(0), durationMs: ms });
  const drain = (s: JobStore) => {
    const order: string[] = [];
    for (let w = s.claim(ownerA, 60_000); w; w = s.claim(ownerA, 60_000)) order.push(w.raw);
    return order;
  };

  it('unknown first (in submission order), then by what the same state ran, else the same task', () => {
    const s = open();
    s.submit(req(['a0'], { ...stateOf('a'), task: 'task-1' }));
    s.submit(req(['b0'], { ...stateOf('b'), task: 'task-1' }));
    // Nothing ran yet: every idea is unknown, so submission order.
    const first = [s.claim(ownerA, 60_000)!, s.claim(ownerA, 60_000)!];
    assert.deepEqual(first.map((w) => w.raw), ['a0', 'b0']);
    assert.equal(s.complete(first[0].key, ownerA, ran(100)), true);
    assert.equal(s.complete(first[1].key, ownerA, ran(5000)), true);
    // State a ran 100 ms, state b 5 s; state c never ran: it gets its task's mean. State d has no server task
    // (printed scores) and never ran: unknown, so first.
    s.submit(req(['a1', 'a2'], { ...stateOf('a'), task: 'task-1' }));
    s.submit(req(['c1'], { ...stateOf('c'), task: 'task-1' }));
    s.submit(req(['b1', 'b2'], { ...stateOf('b'), task: 'task-1' }));
    s.submit(req(['d1'], stateOf('d')));
    assert.deepEqual(drain(s), ['d1', 'b1', 'b2', 'c1', 'a1', 'a2']);
  });

  it('re-ranks waiting ideas as soon as their state has run once; another task stays unknown', () => {
    const s = open();
    s.submit(req(['x0', 'x1', 'x2'], { ...stateOf('x'), task: 'task-x' }));
    s.submit(req(['y0', 'y1'], { ...stateOf('y'), task: 'task-y' }));
    const x0 = s.claim(ownerA, 60_000)!;
    const x1 = s.claim(ownerA, 60_000)!;
    assert.deepEqual([x0.raw, x1.raw], ['x0', 'x1']);
    assert.equal(x0.expectedMs > 1e12, true, 'unknown is longer than any real run');
    s.complete(x0.key, ownerA, ran(50));
    // x is now known to be short; y (another task, nothing of it ran) is still unknown: it goes before the rest of x.
    assert.deepEqual(drain(s), ['y0', 'y1', 'x2']);
  });
});
