/**
 * The sandbox on its own, first in both modes (bubblewrap, and off: what a host without it gets), then attacked as
 * code under evaluation would attack it: regain privileges, read what must be absent (answers, the store, the
 * server's environment and token), reach the server's port, write outside the workdir, outlive the run, exhaust
 * processes / memory / disk / output / time, call the kernel interfaces the seccomp filter refuses. Each must be
 * blocked. The attacks run only where bubblewrap works (the CI machine has it; setup.sh installs it).
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SandboxHost, sandboxHost } from '../../server/src/exec/isolation';
import { DEFAULT_LIMITS, runInSandbox, type SandboxLimits } from '../../server/src/exec/sandbox';
import { seccompProgram } from '../../server/src/exec/seccomp';
import { createRunDir, removeRunDir, sweepRunDirs } from '../../server/src/exec/runDirs';
import { absolutePython } from '../../server/src/queue/runtime';
import { resolvePython } from '../../server/src/tasks/python';
import { removeDir, tempDir } from './serverHarness';

const PYTHON = absolutePython(resolvePython());
const root = tempDir('ideator-sbx-');
after(() => removeDir(root));

const isolated = sandboxHost();
const bare = sandboxHost({ disable: true });

async function run(host: SandboxHost, code: string, limits: Partial<SandboxLimits> = {}, env?: Record<string, string>) {
  const l = { ...DEFAULT_LIMITS, timeoutMs: 30_000, memoryMb: 1024, ...limits };
  const workdir = await createRunDir(join(root, 'work'), 'test', host.rootTmpfs ? l.diskMb : undefined);
  writeFileSync(join(workdir, 'main.py'), code);
  const result = await runInSandbox({ workdir, command: [PYTHON, 'main.py'], python: PYTHON, limits: l, host, cudaVisibleDevices: '', threads: 1, env });
  const inside = existsSync(join(workdir, 'inside.txt'));
  await removeRunDir(workdir);
  return { ...result, workdir, inside };
}

for (const [label, host] of [
  ['bubblewrap', isolated],
  ['sandbox off', bare],
] as const) {
  const skip = label === 'bubblewrap' && !host.isolated ? `bubblewrap unavailable: ${host.info.notes.join('; ')}` : false;
  describe(`sandbox (${label})`, { skip }, () => {
    it('runs in its workdir with HOME/TMPDIR inside it, a clean environment, and merged output', async () => {
      process.env.IDEATOR_SERVER_TOKEN = 'tok-must-not-leak';
      const r = await run(
        host,
        'import os, sys, tempfile\nprint("cwd", os.getcwd())\nprint("home", os.environ["HOME"])\nprint("tmp", tempfile.gettempdir())\nprint("leak", os.environ.get("IDEATOR_SERVER_TOKEN"))\nprint("gpus", repr(os.environ.get("CUDA_VISIBLE_DEVICES")))\nsys.stderr.write("err line\\n")\nopen("inside.txt", "w").write("ok")',
      );
      delete process.env.IDEATOR_SERVER_TOKEN;
      assert.equal(r.exitCode, 0, r.output);
      const cwd = host.isolated ? '/sandbox' : r.workdir;
      assert.match(r.output, new RegExp(`cwd ${cwd}\\n`));
      assert.match(r.output, new RegExp(`home ${cwd}/\\.home`));
      assert.match(r.output, host.isolated ? /tmp \/tmp/ : new RegExp(`tmp ${cwd}/\\.tmp`));
      assert.match(r.output, /leak None/);
      assert.match(r.output, /gpus ''/);
      assert.match(r.output, /err line/);
      assert.equal(r.inside, true);
    });

    it('kills at the wall-clock limit, including children', async () => {
      const t0 = Date.now();
      const r = await run(host, 'import subprocess, sys, time\nsubprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])\nprint("started", flush=True)\ntime.sleep(30)', { timeoutMs: 1500 });
      assert.equal(r.timedOut, true);
      assert.ok(Date.now() - t0 < 10_000);
      assert.match(r.output, /started/);
    });

    it('caps memory', async () => {
      const r = await run(host, 'x = bytearray(2 * 1024 ** 3)\nprint("allocated")', { memoryMb: 512 });
      assert.notEqual(r.exitCode, 0);
      assert.equal(r.memoryExceeded, true, r.output);
      assert.doesNotMatch(r.output, /allocated/);
    });

    it('stops a flood at the output cap and keeps the capture bounded', async () => {
      const r = await run(host, 'import sys\nwhile True:\n    sys.stdout.write("x" * 1000 + "\\n")', { maxOutputBytes: 1024 * 1024 });
      assert.equal(r.outputLimited, true);
      assert.ok(r.outputBytes >= 1024 * 1024);
      assert.ok(r.output.length < 200_000, `capture is bounded: ${r.output.length}`);
    });

    it('extracts the metrics from the whole output, not only the kept tail', async () => {
      const r = await run(host, 'print("val_auc: 0.71")\nfor i in range(20000):\n    print("noise line", i)\nprint("done")');
      assert.equal(r.exitCode, 0);
      assert.equal(r.primary?.value, 0.71);
    });
  });
}

describe('what the host enforces', () => {
  it('reports the sandbox off plainly, with what is missing', () => {
    assert.equal(bare.info.mode, 'none');
    assert.equal(bare.info.minimumMet, false);
    assert.match(bare.info.missing.join('; '), /bubblewrap isolation/);
    assert.match(bare.info.notes.join('; '), /turned off/);
  });

  it('meets the minimum as root with bubblewrap and cgroups (this CI machine)', { skip: !isolated.isolated || process.getuid?.() !== 0 ? 'needs root and bubblewrap' : false }, () => {
    assert.equal(isolated.info.minimumMet, true, isolated.info.missing.join('; '));
    assert.equal(isolated.info.seccomp, true);
    assert.match(isolated.info.limits.processes, /^cgroup-v[12]$/);
    assert.match(isolated.info.limits.memory, /^cgroup-v[12]$/);
    assert.equal(isolated.info.limits.disk, 'tmpfs');
  });

  it('assembles a seccomp program that the kernel accepts (length and shape)', () => {
    const p = seccompProgram('x64')!;
    assert.equal(p.length % 8, 0);
    assert.ok(p.length / 8 < 256);
    assert.equal(seccompProgram('mips'), undefined);
  });
});

describe('attacks on the sandbox', { skip: isolated.isolated ? false : `bubblewrap unavailable: ${isolated.info.notes.join('; ')}` }, () => {
  const host = isolated;
  // What an attacker would look for: the data dir with its store, the task's answers, the server's files.
  const secretDir = tempDir('ideator-secret-');
  const answers = join(secretDir, 'private', 'answers.csv');
  const store = join(secretDir, 'store', 'ideator.sqlite');
  mkdirSync(join(secretDir, 'private'), { recursive: true });
  mkdirSync(join(secretDir, 'store'), { recursive: true });
  writeFileSync(answers, 'id,label\n1,1\n');
  writeFileSync(store, 'SQLite format 3\0');
  after(() => removeDir(secretDir));

  const py = (lines: string[]) => lines.join('\n');
  const attempt = (name: string, stmt: string) => `try:\n    ${stmt.replace(/\n/g, '\n    ')}\n    print("${name}: SUCCEEDED")\nexcept BaseException as e:\n    print("${name}: blocked", type(e).__name__)`;

  it('cannot regain privileges: unprivileged uid, no capabilities, no_new_privs, no user namespace, no mount', async () => {
    const r = await run(
      host,
      py([
        'import ctypes, os, subprocess',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'status = open("/proc/self/status").read()',
        'print("uid", os.getuid(), "euid", os.geteuid())',
        'print("capeff", [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0])',
        'print("nnp", [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0])',
        'print("seccomp", [l.split()[1] for l in status.splitlines() if l.startswith("Seccomp:")][0])',
        attempt('setuid0', 'os.setuid(0)'),
        'print("unshare-user", libc.unshare(0x10000000), ctypes.get_errno())',
        'print("unshare-mount", libc.unshare(0x00020000), ctypes.get_errno())',
        'r = subprocess.run(["unshare", "-Ur", "true"], capture_output=True); print("unshare-cmd", r.returncode)',
        'r = subprocess.run(["bwrap", "--bind", "/", "/", "true"], capture_output=True); print("nested-bwrap", r.returncode)',
        'print("umount-proc", libc.umount2(b"/proc", 2), ctypes.get_errno())',
        'print("mount-tmpfs", libc.mount(b"x", b"/sandbox", b"tmpfs", 0, None), ctypes.get_errno())',
        'print("remount-root-rw", libc.mount(None, b"/", None, 0x20 | 0x1000, None), ctypes.get_errno())',
        'print("ptrace", libc.ptrace(16, 1, 0, 0), ctypes.get_errno())',
        'print("keyctl", libc.syscall(250, 0, 0, 0, 0), ctypes.get_errno())',
        'print("setns", libc.setns(os.open("/proc/1/ns/net", os.O_RDONLY), 0), ctypes.get_errno())',
      ]),
    );
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.output, /uid 65534 euid 65534/);
    assert.match(r.output, /capeff 0000000000000000/);
    assert.match(r.output, /nnp 1/);
    assert.match(r.output, /seccomp 2/);
    assert.match(r.output, /setuid0: blocked/);
    assert.match(r.output, /unshare-user -1 1\b/);
    assert.match(r.output, /unshare-mount -1 1\b/);
    assert.doesNotMatch(r.output, /unshare-cmd 0|nested-bwrap 0/);
    for (const k of ['umount-proc', 'mount-tmpfs', 'remount-root-rw', 'ptrace', 'keyctl', 'setns']) assert.match(r.output, new RegExp(`${k} -1 1\\b`), k);
  });

  it('cannot see the answers, the store or the server’s files: direct, symlink, hardlink, /proc and mount tricks', async () => {
    const r = await run(
      host,
      py([
        'import os, glob',
        `for p in [${JSON.stringify(answers)}, ${JSON.stringify(store)}, ${JSON.stringify(secretDir)}, "/root", "/etc/shadow", ${JSON.stringify(root)}, ${JSON.stringify(process.cwd())}]:`,
        '    print("exists", p, os.path.exists(p))',
        attempt('symlink-read', `os.symlink(${JSON.stringify(answers)}, "a.csv"); open("a.csv").read()`),
        attempt('hardlink', `os.link(${JSON.stringify(answers)}, "h.csv")`),
        attempt('proc-root', `open("/proc/1/root${answers}").read()`),
        'found = [p for p in glob.glob("/proc/*/cwd/*") + glob.glob("/proc/*/root/*")] ',
        'print("proc-views", sorted(set(os.path.dirname(p) for p in found)))',
        'print("listing-root", sorted(os.listdir("/root")) if os.path.exists("/root") else [])',
        'print("ssl-private", os.path.exists("/etc/ssl/private"))',
        'print("mountinfo-mentions-secret", ' + JSON.stringify(secretDir) + ' in open("/proc/self/mountinfo").read())',
      ]),
    );
    assert.equal(r.exitCode, 0, r.output);
    for (const p of [answers, store, secretDir, '/etc/shadow', root]) assert.match(r.output, new RegExp(`exists ${p} False`), p);
    // /root and the checkout appear only as the path down to the bound interpreter, nothing else of them.
    assert.match(r.output, /listing-root \[('\.pyenv')?\]/);
    assert.match(r.output, /ssl-private False/);
    for (const k of ['symlink-read', 'hardlink', 'proc-root']) assert.match(r.output, new RegExp(`${k}: blocked`), k);
    assert.match(r.output, /mountinfo-mentions-secret False/);
  });

  it('cannot read the server’s environment or token: its own and every visible process’s environ', async () => {
    process.env.IDEATOR_SERVER_TOKEN = 'tok-SECRET-123';
    process.env.ANTHROPIC_API_KEY = 'sk-ant-SECRET-456';
    try {
      const r = await run(host, py(['import glob', 'blob = b""', 'for f in glob.glob("/proc/*/environ"):', '    try:\n        blob += open(f, "rb").read()\n    except OSError:\n        pass', 'print("len", len(blob))', 'print("leak", b"SECRET" in blob)']));
      assert.equal(r.exitCode, 0, r.output);
      assert.match(r.output, /leak False/);
    } finally {
      delete process.env.IDEATOR_SERVER_TOKEN;
      delete process.env.ANTHROPIC_API_KEY;
    }
  });

  it('cannot reach the network or the server’s port', async () => {
    const listener = createServer((c) => c.end('HELLO-FROM-HOST')).listen(0, '127.0.0.1');
    await new Promise((res) => listener.once('listening', res));
    const port = (listener.address() as { port: number }).port;
    try {
      const r = await run(
        host,
        py([
          'import socket',
          attempt('loopback', `s = socket.create_connection(("127.0.0.1", ${port}), timeout=2); print(s.recv(100))`),
          attempt('ipv6-loopback', `socket.create_connection(("::1", ${port}), timeout=2)`),
          'print("interfaces", open("/proc/net/dev").read().count(":"))',
        ]),
      );
      assert.equal(r.exitCode, 0, r.output);
      assert.match(r.output, /loopback: blocked/);
      assert.match(r.output, /ipv6-loopback: blocked/);
      assert.doesNotMatch(r.output, /HELLO-FROM-HOST/);
      assert.match(r.output, /interfaces 1/);
    } finally {
      listener.close();
    }
  });

  it('cannot write outside its workdir: /, /usr, /etc, the interpreter, the bound data', async () => {
    const r = await run(
      host,
      py(['import os, sys', ...['/escape', '/usr/escape', '/etc/passwd', `${sys_prefix()}/escape`, '/proc/sys/kernel/hostname', '/data-escape'].map((p, i) => attempt(`write${i}`, `open(${JSON.stringify(p)}, "a").write("x")`)), 'print("core_pattern-writable", os.access("/proc/sys/kernel/core_pattern", os.W_OK))', 'print("sysrq-writable", os.access("/proc/sysrq-trigger", os.W_OK))', 'open("inside.txt", "w").write("ok")']),
    );
    assert.equal(r.exitCode, 0, r.output);
    for (let i = 0; i < 6; i++) assert.match(r.output, new RegExp(`write${i}: blocked`), r.output);
    // Checked with access(2) only: never actually write a host-wide sysctl from a test.
    assert.match(r.output, /core_pattern-writable False/);
    assert.match(r.output, /sysrq-writable False/);
    assert.equal(r.inside, true);
  });

  it('binds only the run’s own GPU: its /dev/nvidiaN, the control devices and a read-only /sys; none without a GPU', async () => {
    // Stand-in device nodes (regular files that name themselves): which one appears inside is what is tested.
    const devRoot = tempDir('ideator-fake-dev-');
    for (const name of ['nvidia0', 'nvidia1', 'nvidia2', 'nvidiactl', 'nvidia-uvm']) writeFileSync(join(devRoot, name), name);
    const gpuHost = new SandboxHost({ devRoot, noCgroups: true });
    const code = py([
      'import os',
      'for n in ["nvidia0", "nvidia1", "nvidia2", "nvidiactl", "nvidia-uvm"]:',
      '    p = "/dev/" + n',
      '    print(n, open(p).read() if os.path.exists(p) else "absent")',
      'print("sys", os.path.isdir("/sys/class"))',
      attempt('sys-write', 'open("/sys/kernel/uevent_helper", "w").write("/sandbox/x")'),
      'print("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))',
    ]);
    const l = { ...DEFAULT_LIMITS, timeoutMs: 30_000, memoryMb: 1024 };
    const go = async (cuda: string) => {
      const workdir = await createRunDir(join(root, 'work'), 'gpu');
      writeFileSync(join(workdir, 'main.py'), code);
      const r = await runInSandbox({ workdir, command: [PYTHON, 'main.py'], python: PYTHON, limits: l, host: gpuHost, cudaVisibleDevices: cuda, threads: 1 });
      await removeRunDir(workdir);
      assert.equal(r.exitCode, 0, r.output);
      return r.output;
    };
    try {
      const one = await go('1');
      assert.match(one, /nvidia0 absent\nnvidia1 nvidia1\nnvidia2 absent\nnvidiactl nvidiactl\nnvidia-uvm nvidia-uvm\n/);
      assert.match(one, /sys True/);
      assert.match(one, /sys-write: blocked/);
      assert.match(one, /visible 1\n/);
      const two = await go('0,2');
      assert.match(two, /nvidia0 nvidia0\nnvidia1 absent\nnvidia2 nvidia2\n/);
      const none = await go('');
      assert.match(none, /nvidia0 absent\nnvidia1 absent\nnvidia2 absent\nnvidiactl absent\nnvidia-uvm absent\nsys False/);
      // A CUDA_VISIBLE_DEVICES that is not a list of indices (a UUID, a path) binds nothing rather than guessing.
      const odd = await go('GPU-1234,../../etc');
      assert.match(odd, /nvidia0 absent\nnvidia1 absent\nnvidia2 absent\nnvidiactl absent/);
    } finally {
      removeDir(devRoot);
    }
  });

  it('a run whose server is gone still ends at its own time limit (the in-sandbox watchdog)', async () => {
    // Spawned bare, with nobody enforcing the 1 s limit from outside: as if the server died while it started.
    const h = new SandboxHost({ noCgroups: true, watchdogGraceS: 1 });
    const dir = tempDir('ideator-watchdog-');
    try {
      const w = h.wrap({ workdir: dir, python: PYTHON, limits: { ...DEFAULT_LIMITS, timeoutMs: 1000 } }, [PYTHON, '-c', 'import subprocess, time; subprocess.Popen(["sleep", "300"]); time.sleep(300)']);
      const t0 = Date.now();
      const r = spawnSync(w.argv[0], w.argv.slice(1), { cwd: w.cwd, stdio: ['ignore', 'pipe', 'pipe', ...w.extraFds], timeout: 60_000, encoding: 'utf8' });
      w.release();
      const took = Date.now() - t0;
      assert.ok(took >= 1500 && took < 15_000, `ended by the watchdog after ~2 s, took ${took} ms`);
      assert.notEqual(r.status, 0, r.stderr);
      // The namespace's teardown may still be reaping it when the sandbox's first process has exited: a few
      // seconds at most, never the 300 s it asked for.
      for (let i = 0; i < 50 && spawnSync('pgrep', ['-f', 'sleep 300']).status === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(spawnSync('pgrep', ['-f', 'sleep 300']).status, 1, 'its children went with it');
    } finally {
      removeDir(dir);
    }
  });

  it('leaves no process behind: a double-forked daemon dies with the run', async () => {
    const marker = `ideator-daemon-${Date.now()}`;
    const r = await run(
      host,
      py(['import os, time, subprocess', `subprocess.Popen(["sh", "-c", "exec -a ${marker} sleep 120"], start_new_session=True)`, 'if os.fork() == 0:', '    os.setsid()', '    if os.fork() == 0:', `        os.execvp("sh", ["sh", "-c", "exec -a ${marker} sleep 120"])`, '    os._exit(0)', 'time.sleep(0.5)', 'print("spawned")']),
    );
    assert.match(r.output, /spawned/);
    await new Promise((res) => setTimeout(res, 300));
    const left = spawnSync('pgrep', ['-f', marker], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', `processes left: ${left}`);
  });

  it('is capped per run, not per process: a fork bomb, three processes over the memory cap together, a disk fill', async () => {
    const bomb = await run(host, py(['import os, time', 'n = 0', 'try:\n    while True:\n        if os.fork() == 0:\n            time.sleep(20); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("fork refused after", n, e.strerror, flush=True)', 'os._exit(0)']), { maxProcesses: 64, timeoutMs: 20_000 });
    assert.match(bomb.output, /fork refused after \d+/);
    const forks = Number(/after (\d+)/.exec(bomb.output)![1]);
    assert.ok(forks < 64, `at most the cap: ${forks}`);

    const mem = await run(
      host,
      py(['import multiprocessing as mp, time', 'def hog():\n    b = bytearray(200 * 1024 * 1024)\n    time.sleep(5)', 'ps = [mp.Process(target=hog) for _ in range(3)]', '[p.start() for p in ps]', '[p.join() for p in ps]', 'print("codes", [p.exitcode for p in ps])']),
      { memoryMb: 400 },
    );
    if (host.info.limits.memory.startsWith('cgroup')) {
      assert.match(mem.output, /codes \[.*-9.*\]/, mem.output);
    }

    const disk = await run(host, py(['import os', 'try:\n    with open("big", "wb") as f:\n        for i in range(100):\n            f.write(b"\\0" * (1 << 20)); f.flush()\n    print("wrote 100 MiB")\nexcept OSError as e:\n    print("disk full:", e.strerror)', attempt('tmp-fill', 'open("/tmp/t", "wb").write(b"\\0" * (80 << 20))'), attempt('shm-fill', 'open("/dev/shm/s", "wb").write(b"\\0" * (80 << 20))')]), { diskMb: 32, shmMb: 16 });
    if (host.info.limits.disk === 'tmpfs') {
      assert.match(disk.output, /disk full: No space left on device/, disk.output);
      assert.match(disk.output, /tmp-fill: blocked/);
    }
    assert.match(disk.output, /shm-fill: blocked/);
  });

  it('refuses the calls the seccomp filter denies (io_uring, perf, bpf, userfaultfd, TIOCSTI)', async () => {
    const r = await run(
      host,
      py([
        'import ctypes, fcntl, termios',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'for name, nr in [("io_uring_setup", 425), ("perf_event_open", 298), ("bpf", 321), ("userfaultfd", 323), ("clone3", 435)]:',
        '    print(name, libc.syscall(nr, 0, 0, 0, 0, 0), ctypes.get_errno())',
      ]),
    );
    if (process.arch !== 'x64') return;
    assert.equal(r.exitCode, 0, r.output);
    for (const k of ['io_uring_setup', 'perf_event_open', 'bpf', 'userfaultfd']) assert.match(r.output, new RegExp(`${k} -1 1\\b`), k);
    assert.match(r.output, /clone3 -1 38\b/);
  });
});

describe('clean-up never fails the server', () => {
  it('removes a 3,000-deep tree and 20,000 files without blocking the event loop', async () => {
    const dir = await createRunDir(join(root, 'cleanup'), 'deep');
    execFileSync('python3', ['-c', 'import os\nos.chdir(os.sys.argv[1])\nfor i in range(3000):\n    os.mkdir("d"); os.chdir("d")\nos.chdir(os.sys.argv[1])\nos.mkdir("many")\nfor i in range(20000):\n    open(f"many/{i}", "w").close()', dir]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const r = await removeRunDir(dir);
    clearInterval(timer);
    assert.equal(r.removed, true, r.error);
    assert.equal(existsSync(dir), false);
    assert.ok(ticks > 0, 'the event loop kept turning');
  });

  it('removes an immutable file (as root) or quarantines what it cannot remove, and never throws', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
    const dir = await createRunDir(join(root, 'cleanup'), 'immutable');
    writeFileSync(join(dir, 'locked'), 'x');
    const chattr = spawnSync('chattr', ['+i', join(dir, 'locked')]);
    if (chattr.status !== 0) return; // the file system has no immutable flag
    const r = await removeRunDir(dir);
    assert.equal(r.removed, true, r.error);
    assert.equal(existsSync(dir), false);
  });

  it('sweeps the folders (and tmpfs mounts) of dead processes only, at start-up, without throwing', async () => {
    const work = join(root, 'sweep');
    mkdirSync(join(work, '999999-dead-x', 'a', 'b'), { recursive: true });
    mkdirSync(join(work, `${process.pid}-alive-x`), { recursive: true });
    const mounted = join(work, '999998-deadmount-x');
    mkdirSync(mounted);
    const canMount = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'x', mounted]).status === 0;
    if (canMount) writeFileSync(join(mounted, 'f'), 'x');
    assert.equal(await sweepRunDirs(work), 2);
    assert.equal(existsSync(join(work, `${process.pid}-alive-x`)), true);
    assert.deepEqual(readdirSync(work), [`${process.pid}-alive-x`]);
    if (canMount) assert.doesNotMatch(readFileSync('/proc/self/mounts', 'utf8'), new RegExp(mounted));
  });

  it('a run’s tmpfs workdir is gone after the run, its cgroup too', { skip: !isolated.rootTmpfs ? 'tmpfs workdirs need root' : false }, async () => {
    const r = await run(isolated, 'open("inside.txt", "w").write("x" * 1000)');
    assert.equal(r.exitCode, 0);
    assert.equal(existsSync(r.workdir), false);
    assert.doesNotMatch(readFileSync('/proc/self/mounts', 'utf8'), new RegExp(r.workdir));
    const cg = '/sys/fs/cgroup/pids';
    if (existsSync(cg)) {
      const mine = execFileSync('sh', ['-c', `find ${cg} -maxdepth 4 -type d -name 'ideator-${process.pid}' 2>/dev/null`], { encoding: 'utf8' }).trim();
      if (mine) assert.deepEqual(readdirSync(mine).filter((n) => statSync(join(mine, n)).isDirectory()), []);
    }
  });
});

function sys_prefix(): string {
  return execFileSync(PYTHON, ['-c', 'import sys; print(sys.base_prefix)'], { encoding: 'utf8' }).trim();
}
