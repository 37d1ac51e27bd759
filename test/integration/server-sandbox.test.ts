/**
 * The sandbox through the real server: a run that times out, one that exceeds its memory cap, one that floods its
 * output, one that tries to write outside its workdir (and to reach the network, and to leave a daemon behind).
 * Each must end as a clean exec_failed / timeout result — and the server must stay healthy.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { api, ideaWithScript, removeDir, serverForSuite, tempDir, toyState } from './serverHarness';

describe('sandboxed runs through the server', () => {
  const server = serverForSuite({ args: ['--slots', '2', '--memory-mb', '1024', '--max-output-mb', '2'] });
  let outside: string;
  let isolation: { filesystem: boolean; network: boolean; pid: boolean };
  before(async () => {
    outside = tempDir('ideator-outside-');
    isolation = ((await api(server, 'GET', '/healthz')).json as unknown as { isolation: typeof isolation }).isolation;
  });
  after(() => removeDir(outside));

  async function run(code: string, extra: Record<string, unknown> = {}): Promise<Job['results'][number]> {
    const r = await api(server, 'POST', '/v1/rewards?wait=1', { state: toyState(0.5), allowPrintedScore: true, ideas: [ideaWithScript(code)], ...extra });
    assert.equal(r.status, 200, r.text);
    return r.json.results[0];
  }

  it('kills a run at its wall-clock limit', async () => {
    const t0 = Date.now();
    const r = await run('import time\nprint("acc: 0.9", flush=True)\ntime.sleep(60)', { timeoutSec: 2 });
    assert.equal(r.status, 'timeout');
    assert.equal(r.reward, 0);
    assert.ok(Date.now() - t0 < 20_000, 'the timeout must not wait for the script');
    assert.match(r.outputTail, /acc: 0.9/);
  });

  it('caps memory (the run cgroup, else RLIMIT_AS): an allocation beyond the cap fails the run', async () => {
    const r = await run('import sys\nx = bytearray(3 * 1024 ** 3)\nprint("acc: 0.99")');
    assert.equal(r.status, 'exec_failed');
    assert.match(r.error ?? '', /memory limit exceeded/);
    assert.doesNotMatch(r.outputTail, /acc: 0.99/);
  });

  it('stops a run that floods its output, keeping only a bounded tail', async () => {
    const r = await run('import sys\nline = "spam " * 40 + "\\n"\nwhile True:\n    sys.stdout.write(line)');
    assert.equal(r.status, 'exec_failed');
    assert.match(r.error ?? '', /output limit/);
    assert.ok(r.outputTail.length <= 4000, `tail is bounded: ${r.outputTail.length}`);
    // The server is still fine afterwards.
    assert.equal((await api(server, 'GET', '/healthz')).status, 200);
  });

  it('keeps writes inside the workdir (and blocks the network)', async (t) => {
    const target = join(outside, 'escaped.txt');
    const code = [
      'import os, socket',
      'open("inside.txt", "w").write("fine")',
      'escaped = []',
      `for p in [${JSON.stringify(target)}, os.path.join(os.path.expanduser("~"), "..", "..", "escaped2.txt")]:`,
      '    try:',
      '        open(p, "w").write("x")',
      '        escaped.append(p)',
      '    except OSError as e:',
      '        print("blocked", p, e)',
      'try:',
      `    socket.create_connection(("127.0.0.1", ${new URL(server.url).port}), timeout=3)`,
      '    net = "open"',
      'except OSError:',
      '    net = "blocked"',
      'print("net", net)',
      'print("escaped", escaped)',
      'print("acc: 0.9" if not escaped else "acc: 0.1")',
    ].join('\n');
    const r = await run(code);
    if (!isolation.filesystem) {
      t.skip('this OS refuses mount namespaces: /healthz reports filesystem isolation off');
      return;
    }
    assert.equal(r.status, 'improved', JSON.stringify(r));
    // Under bubblewrap the folder is absent; a read-only root says so instead.
    assert.match(r.outputTail, /blocked .*escaped\.txt.*(Read-only file system|No such file or directory)/);
    assert.match(r.outputTail, /escaped \[\]/);
    assert.equal(existsSync(target), false, 'nothing was written outside the workdir');
    if (isolation.network) assert.match(r.outputTail, /net blocked/);
    // The run's own workdir is removed after the run.
    assert.equal(existsSync(join(server.dataDir, 'work')), true);
  });

  it('leaves no process behind: a daemonised child dies with the run', async (t) => {
    if (!isolation.pid) {
      t.skip('no pid namespace on this OS');
      return;
    }
    const marker = `ideator-daemon-${process.pid}-${Date.now()}`;
    const r = await run(
      [
        'import subprocess, sys',
        `subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "${marker}"], start_new_session=True)`,
        'print("acc: 0.9")',
      ].join('\n'),
    );
    assert.equal(r.status, 'improved');
    await new Promise((res) => setTimeout(res, 300));
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    assert.equal(ps.includes(marker), false, 'the daemon was killed with its sandbox');
  });
});
