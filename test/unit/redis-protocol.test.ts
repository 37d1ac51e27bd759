/**
 * The pure rules of scale-out (server/src/queue/redis/protocol.ts): Redis URLs, timings from the lease, how many
 * losses BullMQ allows, executions from a job's stall counter, the heartbeat record, the slot pool, and the two
 * message schemas a version mismatch or a malformed message must fail.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { IdeatorStateSchema } from '../../src/core/protocol';
import {
  connectionOptions,
  decodeWorker,
  encodeWorker,
  executionsOf,
  IdeaJobSchema,
  isStallFailure,
  maxStalledCountFor,
  parseRedisUrl,
  PROTOCOL_VERSION,
  redactRedisUrl,
  ResultMessageSchema,
  MISSING_STATE,
  missingStateReason,
  SlotPool,
  stateText,
  summarizeWorkers,
  timingsFor,
  withTimeout,
  type WorkerRecord,
} from '../../server/src/queue/redis/protocol';

const state = IdeatorStateSchema.parse({ taskDescription: 't', score: { value: 0.5, direction: 'higher' }, code: 'print(1)' });

describe('scale-out protocol', () => {
  it('parses Redis URLs: host, port, credentials, db, TLS; refuses the rest in one line', () => {
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380'), { host: '10.0.0.5', port: 6380, username: undefined, password: undefined, db: 0, tls: false });
    assert.deepEqual(parseRedisUrl('rediss://user:p%40ss@redis.internal/3'), { host: 'redis.internal', port: 6379, username: 'user', password: 'p@ss', db: 3, tls: true });
    assert.equal(parseRedisUrl('redis://:secret@[::1]:7000').host, '::1');
    assert.equal(parseRedisUrl('redis://:secret@[::1]:7000').password, 'secret');
    assert.throws(() => parseRedisUrl('localhost:6379'), /expected redis:\/\/ or rediss:\/\/|not a URL/);
    assert.throws(() => parseRedisUrl('http://h:1'), /expected redis:\/\//);
    assert.throws(() => parseRedisUrl('redis://h:1/queue'), /database number/);
    assert.throws(() => parseRedisUrl('not a url'), /not a URL/);
  });

  it('hides passwords in logs', () => {
    assert.equal(redactRedisUrl('redis://:secret@h:1/0'), 'redis://:***@h:1/0');
    assert.equal(redactRedisUrl('rediss://u:secret@h'), 'rediss://u:***@h');
    assert.equal(redactRedisUrl('redis://h:1'), 'redis://h:1');
  });

  it('connection options: BullMQ-compatible, reconnect for ever with a short capped back-off', () => {
    const o = connectionOptions(parseRedisUrl('rediss://h:1/2'), 'x');
    assert.equal(o.maxRetriesPerRequest, null);
    assert.deepEqual(o.tls, {});
    assert.equal(o.db, 2);
    const retry = o.retryStrategy as (n: number) => number;
    assert.equal(retry(1), 200);
    assert.equal(retry(100), 2000);
  });

  it('timings follow the lease; losses allowed = maxAttempts − 1; executions = 1 + stalls', () => {
    const t = timingsFor(2000);
    assert.equal(t.lockMs, 2000);
    assert.equal(t.stalledIntervalMs, 2000);
    assert.equal(t.heartbeatMs, 1000);
    assert.ok(t.workerTtlMs >= 3 * t.heartbeatMs);
    assert.ok(t.dispatchLeaseMs >= 10 * 60_000, 'the server holds its dispatched ideas long enough to survive a slow restart');
    assert.equal(timingsFor(100).lockMs, 1000, 'never below a second');
    assert.equal(timingsFor().lockMs, 30_000);
    assert.equal(timingsFor(120_000).heartbeatMs, 5000);
    assert.equal(maxStalledCountFor(3), 2);
    assert.equal(maxStalledCountFor(1), 0);
    assert.equal(maxStalledCountFor(), 2);
    assert.equal(executionsOf({}), 1);
    assert.equal(executionsOf({ stalledCounter: 2 }), 3);
    assert.ok(isStallFailure('job stalled more than allowable limit'));
    assert.ok(!isStallFailure('job started more than allowable limit'));
    assert.ok(!isStallFailure(undefined));
  });

  it('heartbeat records round-trip; only present ones count, busy capped by slots', () => {
    const r: WorkerRecord = { id: 'h:1:worker-a', host: 'h', pid: 1, slots: 2, busy: 1, gpus: ['0', '1'], startedAt: 5, seenAt: 9, version: '0.1.0', server: 'http://s' };
    assert.deepEqual(decodeWorker(encodeWorker(r)), r);
    assert.deepEqual(decodeWorker(encodeWorker({ ...r, gpus: [] }))?.gpus, []);
    assert.equal(decodeWorker({}), undefined, 'an expired record reads back empty');
    assert.equal(decodeWorker(null), undefined);
    assert.equal(decodeWorker({ id: 'x', slots: 'junk' })?.slots, 0);
    assert.deepEqual(summarizeWorkers([r, undefined, { ...r, id: 'b', slots: 1, busy: 4 }]), { workers: 2, slots: 3, busy: 2 });
    assert.deepEqual(summarizeWorkers([]), { workers: 0, slots: 0, busy: 0 });
  });

  it('slot pool: one slot per running job, refuses a job beyond its slots', () => {
    const pool = new SlotPool(['gpu0', 'gpu1']);
    const a = pool.take();
    const b = pool.take();
    assert.deepEqual([a, b], ['gpu0', 'gpu1']);
    assert.throws(() => pool.take(), /no free slot/);
    pool.give(a);
    assert.equal(pool.available, 1);
    assert.equal(pool.take(), 'gpu0');
  });

  it('messages: the idea job and the result validate, another version or a broken outcome does not', () => {
    const { ref, text } = stateText(state);
    const job = { v: PROTOCOL_VERSION, key: 'k', seq: 1, stateRef: ref, raw: 'idea', scheme: 'paper', task: null, timeoutSec: null, policy: { baseline: 'measure' } };
    assert.ok(IdeaJobSchema.safeParse(JSON.parse(JSON.stringify(job))).success);
    // The state travels by reference: the sha256 of its canonical text, whatever the key order it came in.
    assert.match(ref, /^[0-9a-f]{64}$/);
    assert.equal(stateText(JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(state).reverse())))).ref, ref);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(state)));
    assert.ok(!IdeaJobSchema.safeParse({ ...job, stateRef: 'st_1' }).success);
    assert.ok(MISSING_STATE.test(missingStateReason(ref)));
    assert.ok(MISSING_STATE.test(missingStateReason(ref, 'reading the state timed out after 30000 ms')));
    assert.ok(!MISSING_STATE.test(`the queue failed it: ${missingStateReason(ref)}`));
    assert.ok(!IdeaJobSchema.safeParse({ ...job, v: PROTOCOL_VERSION + 1 }).success);
    assert.ok(!IdeaJobSchema.safeParse({ ...job, scheme: 'other' }).success);
    const outcome = { reward: 1, status: 'improved', scoreBefore: 0.5, scoreAfter: 0.6, durationMs: 3, outputTail: '', codeDiff: '', formatErrors: [], selfReported: true, guardFlags: [], guard: [] };
    const msg = { v: PROTOCOL_VERSION, key: 'k', outcome, executions: 2, worker: 'w', baseline: { key: 'b', score: null, error: 'C_t failed' }, stateRef: ref, sharedRun: true };
    assert.ok(ResultMessageSchema.safeParse(JSON.parse(JSON.stringify(msg))).success);
    // NaN becomes null in JSON: a reward the store cannot record is refused here, not written.
    assert.ok(!ResultMessageSchema.safeParse(JSON.parse(JSON.stringify({ ...msg, outcome: { ...outcome, reward: NaN } }))).success);
    assert.ok(!ResultMessageSchema.safeParse({ ...msg, executions: 0 }).success);
  });

  it('withTimeout: the value in time, a named error after', async () => {
    assert.equal(await withTimeout(Promise.resolve(3), 50, 'x'), 3);
    await assert.rejects(withTimeout(new Promise(() => undefined), 20, 'adding ideas'), /adding ideas timed out after 20 ms/);
  });
});

describe('priorityOf (longest expected first on BullMQ)', () => {
  it('gives unknown durations the highest priority and longer runs smaller numbers, within BullMQ range', async () => {
    const { priorityOf } = await import('../../server/src/queue/redis/dispatcher');
    const { UNKNOWN_DURATION_MS } = await import('../../server/src/jobs/store');
    assert.equal(priorityOf(UNKNOWN_DURATION_MS), 1);
    assert.ok(priorityOf(20 * 60_000) < priorityOf(60_000));
    assert.ok(priorityOf(60_000) < priorityOf(1_000));
    assert.equal(priorityOf(0), 2 ** 21);
    for (const ms of [0, 1, 999, 1e6, 1e12]) assert.ok(priorityOf(ms) >= 1 && priorityOf(ms) <= 2 ** 21);
  });
});
