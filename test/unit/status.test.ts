/** `ideator status`'s table from a status document: scale-out workers with their GPUs and heartbeat age. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { renderStatus } from '../../server/src/commands/status';

describe('renderStatus', () => {
  it('lists each remote worker with busy/slots, GPUs and its last heartbeat; says when Redis is down', () => {
    const out = renderStatus(
      {
        mode: 'redis',
        redisUp: false,
        queue: { queued: 7, running: 3, done: 120, jobs: 16, oldestWaitingSec: 5400, maxQueued: 10000 },
        runsLastHour: 96,
        slots: { total: 10, busy: 3 },
        workers: [
          { id: 'w-node1-1', host: 'node1', pid: 4242, slots: 8, busy: 2, gpus: ['0', '1', '2', '3', '4', '5', '6', '7'], lastSeenSec: 2 },
          { id: 'w-cpu-2', host: 'cpu-box', pid: 77, slots: 2, busy: 1, gpus: [], lastSeenSec: 11 },
        ],
      },
      'http://head:8787',
    );
    assert.match(out, /^server {6}http:\/\/head:8787 \(scale-out on Redis, REDIS DOWN\)$/m);
    assert.match(out, /^queue {7}7 waiting \(limit 10000\), 3 running, 120 done, 16 jobs$/m);
    assert.match(out, /^oldest {6}waiting for 90 min$/m);
    assert.match(out, /^last hour {3}96 idea\(s\) ran$/m);
    assert.match(out, /^slots {7}3 of 10 busy$/m);
    assert.match(out, /^ {2}w-node1-1 +node1:4242 +2\/8 +0,1,2,3,4,5,6,7 +2 s ago$/m);
    assert.match(out, /^ {2}w-cpu-2 +cpu-box:77 +1\/2 +cpu +11 s ago$/m);
  });
});
