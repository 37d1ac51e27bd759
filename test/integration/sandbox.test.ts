/**
 * The sandbox runner on its own, in the strongest isolation this OS grants and with isolation off (the fallback a
 * locked-down container gets): limits that must hold in both modes (timeout, memory cap, output cap, process-group
 * kill, a clean environment without the server's secrets), and what only namespaces give (no network, read-only
 * file system outside the workdir, hidden task folders).
 */
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { confirmUidFallback, probeIsolation, type IsolationInfo } from '../../server/src/exec/isolation';
import { DEFAULT_LIMITS, runInSandbox, type SandboxLimits } from '../../server/src/exec/sandbox';
import { createRunDir, sweepRunDirs } from '../../server/src/exec/workdir';
import { absolutePython } from '../../server/src/queue/runtime';
import { resolvePython } from '../../server/src/tasks/python';
import { removeDir, tempDir } from './serverHarness';

const PYTHON = absolutePython(resolvePython());
const root = tempDir('ideator-sbx-');
after(() => removeDir(root));

const NONE: IsolationInfo = { mode: 'none', network: false, filesystem: false, pid: false, parentDeath: true, notes: [] };

async function run(iso: IsolationInfo, code: string, limits: Partial<SandboxLimits> = {}, extra: { hide?: string[] } = {}) {
  const workdir = createRunDir(join(root, 'work'), 'test');
  writeFileSync(join(workdir, 'main.py'), code);
  const result = await runInSandbox({
    workdir,
    command: [PYTHON, 'main.py'],
    limits: { ...DEFAULT_LIMITS, timeoutMs: 20_000, memoryMb: 1024, ...limits },
    isolation: iso,
    cudaVisibleDevices: '',
    threads: 1,
    hide: extra.hide,
  });
  return { ...result, workdir };
}

for (const [label, iso] of [
  ['isolated', probeIsolation()],
  ['isolation off', NONE],
] as const) {
  describe(`sandbox (${label}: ${iso.mode})`, () => {
    it('runs in its workdir with HOME/TMPDIR inside it, a clean environment, and merged output', async () => {
      process.env.IDEATOR_SERVER_TOKEN_TEST_LEAK = 'secret';
      const r = await run(
        iso,
        'import os, sys, tempfile\nprint("cwd", os.getcwd())\nprint("home", os.environ["HOME"])\nprint("tmp", tempfile.gettempdir())\nprint("leak", os.environ.get("IDEATOR_SERVER_TOKEN_TEST_LEAK"))\nprint("gpus", repr(os.environ.get("CUDA_VISIBLE_DEVICES")))\nsys.stderr.write("err line\\n")',
      );
      delete process.env.IDEATOR_SERVER_TOKEN_TEST_LEAK;
      assert.equal(r.exitCode, 0, r.output);
      assert.match(r.output, new RegExp(`cwd ${r.workdir}`));
      assert.match(r.output, new RegExp(`home ${r.workdir}/\\.home`));
      assert.match(r.output, new RegExp(`tmp ${r.workdir}/\\.tmp`));
      assert.match(r.output, /leak None/);
      assert.match(r.output, /gpus ''/);
      assert.match(r.output, /err line/);
    });

    it('kills at the wall-clock limit, including children in the process group', async () => {
      const t0 = Date.now();
      const r = await run(iso, 'import subprocess, sys, time\nsubprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])\nprint("started", flush=True)\ntime.sleep(30)', { timeoutMs: 1500 });
      assert.equal(r.timedOut, true);
      assert.ok(Date.now() - t0 < 10_000);
      assert.match(r.output, /started/);
    });

    it('caps the address space', async () => {
      const r = await run(iso, 'x = bytearray(2 * 1024 ** 3)\nprint("allocated")', { memoryMb: 512 });
      assert.notEqual(r.exitCode, 0);
      assert.equal(r.memoryExceeded, true, r.output);
    });

    it('stops a flood at the output cap and keeps memory bounded', async () => {
      const r = await run(iso, 'import sys\nwhile True:\n    sys.stdout.write("x" * 1000 + "\\n")', { maxOutputBytes: 1024 * 1024 });
      assert.equal(r.outputLimited, true);
      assert.ok(r.outputBytes >= 1024 * 1024);
      assert.ok(r.output.length < 200_000, `capture is bounded: ${r.output.length}`);
    });

    it('extracts the metrics from the whole output, not only the kept tail', async () => {
      const r = await run(iso, 'print("val_auc: 0.71")\nfor i in range(20000):\n    print("noise line", i)\nprint("done")');
      assert.equal(r.exitCode, 0);
      assert.equal(r.primary?.name, 'val_auc');
      assert.equal(r.primary?.value, 0.71);
    });
  });
}

describe('namespace-only guarantees', () => {
  const iso = probeIsolation();
  it('confines writes to the workdir, hides given folders, and has no network', { skip: iso.filesystem ? false : `filesystem isolation unavailable: ${iso.notes.join('; ')}` }, async () => {
    const secret = join(root, 'secret-task');
    mkdirSync(secret, { recursive: true });
    writeFileSync(join(secret, 'answers.csv'), 'id,label\n1,1\n');
    const outside = join(root, 'outside.txt');
    const r = await run(
      iso,
      [
        'import os, socket',
        `try:\n    open(${JSON.stringify(outside)}, "w").write("x"); print("WROTE")\nexcept OSError as e:\n    print("write blocked:", e.strerror)`,
        `print("hidden:", os.path.exists(${JSON.stringify(join(secret, 'answers.csv'))}))`,
        'try:\n    socket.create_connection(("8.8.8.8", 53), timeout=2); print("NET OPEN")\nexcept OSError:\n    print("net blocked")',
        'open("inside.txt", "w").write("ok"); print("inside ok")',
      ].join('\n'),
      {},
      { hide: [secret] },
    );
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.output, /write blocked: Read-only file system/);
    assert.match(r.output, /hidden: False/);
    assert.match(r.output, /net blocked/);
    assert.match(r.output, /inside ok/);
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync(join(r.workdir, 'inside.txt')), true);
    assert.equal(existsSync(join(secret, 'answers.csv')), true, 'hiding does not touch the real folder');
  });

  it('sweeps work folders left by dead processes only', () => {
    const work = join(root, 'sweep');
    mkdirSync(join(work, `999999-dead-x`), { recursive: true });
    mkdirSync(join(work, `${process.pid}-alive-x`), { recursive: true });
    assert.equal(sweepRunDirs(work), 1);
    assert.equal(existsSync(join(work, `${process.pid}-alive-x`)), true);
  });
});

describe('uid fallback (root without a mount namespace)', () => {
  const root0 = typeof process.getuid === 'function' && process.getuid() === 0;
  const sysPython = '/usr/bin/python3';
  const skip = !root0 ? 'needs a root server' : !existsSync(sysPython) ? 'needs /usr/bin/python3' : false;
  it('runs the code as nobody: its workdir is writable, folders the server owns are not', { skip }, async () => {
    const work = join(root, 'uid-work');
    mkdirSync(work, { recursive: true, mode: 0o755 });
    chmodSync(root, 0o755); // the test's own temp root must be traversable by nobody, as a data dir is
    const protectedDir = join(root, 'server-owned');
    mkdirSync(protectedDir, { recursive: true, mode: 0o755 });
    const iso = confirmUidFallback({ ...NONE, dropToNobody: true }, sysPython, work);
    assert.equal(iso.dropToNobody, true, iso.notes.join('; '));
    const workdir = createRunDir(work, 'uid');
    writeFileSync(join(workdir, 'main.py'), `import os\nprint("uid", os.getuid())\nopen("inside.txt", "w").write("ok")\ntry:\n    open(${JSON.stringify(join(protectedDir, 'x.txt'))}, "w").write("x"); print("WROTE")\nexcept OSError as e:\n    print("blocked", e.strerror)`);
    const r = await runInSandbox({ workdir, command: [sysPython, 'main.py'], limits: { ...DEFAULT_LIMITS, timeoutMs: 20_000 }, isolation: iso, cudaVisibleDevices: '', threads: 1 });
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.output, /uid 65534/);
    assert.match(r.output, /blocked Permission denied/);
    assert.equal(existsSync(join(workdir, 'inside.txt')), true);
    assert.equal(existsSync(join(protectedDir, 'x.txt')), false);
  });

  it('is dropped when nobody cannot run the interpreter (a venv under a private home)', { skip }, () => {
    const work = join(root, 'uid-work2');
    mkdirSync(work, { recursive: true, mode: 0o755 });
    const privateDir = join(root, 'private-home');
    mkdirSync(privateDir, { recursive: true, mode: 0o700 });
    const fakePython = join(privateDir, 'python');
    writeFileSync(fakePython, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const iso = confirmUidFallback({ ...NONE, dropToNobody: true, notes: [] }, fakePython, work);
    assert.equal(iso.dropToNobody, false);
    assert.match(iso.notes.join(' '), /cannot run as uid 65534/);
  });
});

