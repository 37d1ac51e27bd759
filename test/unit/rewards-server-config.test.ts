/** Reward-server configuration: slots and GPU assignment, loopback detection, CLI flag parsing. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { UsageError } from '../../server/src/commands/common';
import { isLoopback } from '../../server/src/http/auth';
import { runtimeConfigFromFlags, runtimeFlags } from '../../server/src/commands/runtimeFlags';
import { makeSlots } from '../../server/src/queue/workerPool';
import { absolutePython } from '../../server/src/queue/runtime';

describe('slots', () => {
  it('--gpus gives one slot per GPU, each seeing only its GPU, CPUs shared out', () => {
    assert.deepEqual(makeSlots({ gpus: ['0', '1', '3'], cpus: 16 }), [
      { cudaVisibleDevices: '0', threads: 5 },
      { cudaVisibleDevices: '1', threads: 5 },
      { cudaVisibleDevices: '3', threads: 5 },
    ]);
  });
  it('--slots N gives N CPU slots with GPUs hidden', () => {
    assert.deepEqual(makeSlots({ slots: 2, cpus: 2 }), [
      { cudaVisibleDevices: '', threads: 1 },
      { cudaVisibleDevices: '', threads: 1 },
    ]);
    assert.equal(makeSlots({ slots: 8, cpus: 2 })[0].threads, 1);
    assert.equal(makeSlots({ cpus: 4 }).length, 1);
  });
});

describe('loopback', () => {
  it('knows loopback binds from others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '192.0.2.1']) assert.equal(isLoopback(h), false, h);
  });
});

describe('runtime flags', () => {
  const log = () => undefined;
  it('parses numbers, GPUs and limits', () => {
    const c = runtimeConfigFromFlags({ 'data-dir': '/tmp/x', slots: '3', gpus: '0, 1', 'memory-mb': '2048', 'max-output-mb': '8', 'lease-sec': '5', 'timeout-sec': '60' }, log);
    assert.equal(c.dataDir, '/tmp/x');
    assert.equal(c.slots, 3);
    assert.deepEqual(c.gpus, ['0', '1']);
    assert.deepEqual(c.limits, { memoryMb: 2048, maxOutputBytes: 8 * 1024 * 1024, diskMb: undefined, maxProcesses: undefined });
    assert.equal(c.leaseMs, 5000);
    assert.equal(c.defaultTimeoutSec, 60);
  });
  it('rejects bad values as user errors', () => {
    assert.throws(() => runtimeConfigFromFlags({ slots: '-1' }, log), UsageError);
    assert.throws(() => runtimeConfigFromFlags({ slots: '1.5' }, log), UsageError);
    assert.throws(() => runtimeConfigFromFlags({ gpus: '0;rm -rf /' }, log), UsageError);
    assert.throws(() => runtimeConfigFromFlags({ implementer: '{"kind":"nope"}' }, log), UsageError);
    assert.throws(() => runtimeConfigFromFlags({ implementer: '/no/such/file.json' }, log), UsageError);
  });
  it('the sandbox switch has one spelling: --no-sandbox (IDEATOR_SANDBOX=off is its environment form)', () => {
    assert.equal(runtimeConfigFromFlags({ 'no-sandbox': true }, log).disableSandbox, true);
    assert.equal(runtimeConfigFromFlags({}, log).disableSandbox, false);
    assert.equal('no-isolation' in runtimeFlags, false);
    assert.equal('no-sandbox' in runtimeFlags, true);
  });
  it('takes the implementer as the provider spec KIND[:MODEL][@URL], like ask and bench', () => {
    const c = runtimeConfigFromFlags({ implementer: 'openai:qwen3-8b@http://127.0.0.1:8000/v1' }, log);
    assert.equal(c.implementer?.kind, 'openai');
    assert.match(c.implementer?.label ?? '', /qwen3-8b/);
    assert.equal(runtimeConfigFromFlags({ implementer: 'template-vague' }, log).implementer?.kind, 'template-vague');
    assert.throws(() => runtimeConfigFromFlags({ implementer: 'openai:m@ftp://x' }, log), UsageError);
    assert.throws(() => runtimeConfigFromFlags({ implementer: 'gpt-4' }, log), /cannot read gpt-4/);
  });
  it('builds the implementer provider from inline JSON', () => {
    const c = runtimeConfigFromFlags({ implementer: '{"kind":"template-vague"}' }, log);
    assert.equal(c.implementer?.kind, 'template-vague');
  });
  it('resolves a relative interpreter path (runs change directory)', () => {
    assert.equal(absolutePython('python3'), 'python3');
    assert.ok(absolutePython('.venv/bin/python').startsWith('/'));
  });
});
