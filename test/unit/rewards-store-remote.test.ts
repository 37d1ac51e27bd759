/**
 * The job store's scale-out side (`ideator serve --redis`), on a real SQLite file: dispatching to the Redis queue
 * under a `redis:` owner, adoption by a restarted server, lease renewal, handing ideas back, and results written
 * exactly once whichever execution delivers them — including abandonment after repeated losses.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RewardRequestSchema } from '../../src/core/protocol';
import { outcome, storeFactory } from './storeFixtures';

const open = storeFactory('ideator-store-remote-');
const req = (ideas: string[]) => RewardRequestSchema.parse({ state: { taskDescription: 't', score: { value: 0.5, direction: 'higher' }, code: 'print(1)' }, ideas });
const server1 = 'redis:host:1:aaaa';
const server2 = 'redis:host:2:bbbb';

describe('job store, scale-out', () => {
  it('dispatches queued ideas oldest first, in batches, without counting an attempt', () => {
    const s = open();
    s.submit(req(['a', 'b', 'c']));
    assert.throws(() => s.dispatch('host:1:pool', 1000, 10), /must start with redis:/);
    const first = s.dispatch(server1, 60_000, 2);
    assert.deepEqual(
      first.map((w) => w.raw),
      ['a', 'b'],
    );
    assert.ok(first.every((w) => w.attempts === 0));
    assert.deepEqual(s.counts(), { queued: 1, running: 2, done: 0, jobs: 1 });
    assert.equal(s.claim('elsewhere:9:w', 1000)?.raw, 'c', 'an embedded worker never takes a dispatched idea while its lease runs');
    assert.equal(s.claim('elsewhere:9:w', 1000), undefined);
    assert.deepEqual(s.dispatchedKeys(server1), first.map((w) => w.key));
    assert.equal(s.dispatchedWork(first[0].key, server1)?.raw, 'a');
    assert.equal(s.dispatchedWork(first[0].key, server2), undefined);
    s.close();
  });

  it('takes over ideas an embedded worker lost, and abandons them after maxAttempts', async () => {
    const s = open({ maxAttempts: 2 });
    s.submit(req(['x', 'y']));
    const x = s.claim('elsewhere:1:a', 1)!;
    const y = s.claim('elsewhere:2:b', 1)!;
    // y has already been lost once before (attempts 2 = maxAttempts): abandoned rather than dispatched again.
    s.db.prepare('UPDATE ideas SET attempts = 2 WHERE key = ?').run(y.key);
    await new Promise((r) => setTimeout(r, 5));
    const got = s.dispatch(server1, 60_000, 10);
    assert.deepEqual(
      got.map((w) => w.key),
      [x.key],
    );
    assert.equal(got[0].attempts, 1);
    const yJob = s.ideaAudit().find((r) => r.key === y.key)!;
    assert.equal(yJob.status, 'done');
    s.close();
  });

  it('a restarted server adopts the dispatched ideas; renew and undispatch touch only its own', () => {
    const s = open();
    s.submit(req(['a', 'b']));
    const [a, b] = s.dispatch(server1, 60_000, 10);
    assert.equal(s.adoptDispatched(server2, 60_000), 2);
    assert.equal(s.adoptDispatched(server2, 60_000), 0, 'nothing left to adopt');
    assert.deepEqual(s.dispatchedKeys(server1), []);
    assert.deepEqual(s.dispatchedKeys(server2), [a.key, b.key]);
    assert.equal(s.renewDispatched(server2, 60_000), 2);
    assert.equal(s.renewDispatched(server1, 60_000), 0);
    assert.equal(s.undispatch([a.key], server1), 0, 'not its owner');
    assert.equal(s.undispatch([a.key], server2), 1);
    assert.equal(s.ideaStatus(a.key), 'queued');
    assert.equal(s.dispatch(server2, 60_000, 10)[0].key, a.key, 'handed back, dispatched again');
    s.close();
  });

  it('records a remote result once: a redelivered or duplicated execution is dropped', () => {
    const s = open();
    const { job } = s.submit(req(['a']));
    const [a] = s.dispatch(server1, 60_000, 10);
    const events: string[] = [];
    s.on('completed', (key: string) => events.push(key));
    assert.equal(s.completeRemote(a.key, outcome(1), 2), true);
    assert.equal(s.completeRemote(a.key, outcome(0), 3), false, 'the second copy is a duplicate');
    assert.equal(s.abandonRemote(a.key, 3), undefined, 'a done idea is never abandoned afterwards');
    assert.equal(s.completeRemote('nope', outcome(1), 1), false);
    assert.deepEqual(events, [a.key]);
    const done = s.getJob(job.id)!;
    assert.equal(done.status, 'done');
    assert.equal(done.results[0].reward, 1, 'the first result stands');
    assert.deepEqual(
      s.ideaAudit().map((r) => [r.status, r.attempts]),
      [['done', 2]],
    );
    assert.deepEqual(s.dispatchedKeys(server1), []);
    s.close();
  });

  it('an idea the queue gave up on is completed with the abandoned outcome, attempts = losses', () => {
    const s = open();
    const { job } = s.submit(req(['a']));
    const [a] = s.dispatch(server1, 60_000, 10);
    const o = s.abandonRemote(a.key, 3)!;
    assert.equal(o.status, 'exec_failed');
    assert.match(o.error ?? '', /lost 3 times/);
    assert.equal(s.getJob(job.id)!.results[0].status, 'exec_failed');
    assert.equal(s.completeRemote(a.key, outcome(1), 1), false, 'a late result does not overwrite it');
    assert.deepEqual(
      s.ideaAudit().map((r) => [r.status, r.attempts]),
      [['done', 3]],
    );
    s.close();
  });
});
