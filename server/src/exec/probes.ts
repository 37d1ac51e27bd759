/**
 * Live probes of the sandbox, run as an attacker's code would run (`ideator doctor`, `ideator serve --check`): each
 * probe is a small Python program executed through the real sandbox, and it passes only if the attack fails. An
 * operator sees the sandbox's real strength on this host before training, not what the configuration claims.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxHost } from './isolation';
import { DEFAULT_LIMITS, runInSandbox, type SandboxLimits } from './sandbox';
import { createRunDir, removeRunDir } from './runDirs';

export interface ProbeResult {
  name: string;
  /** The attack was blocked. */
  ok: boolean;
  detail: string;
}

interface Probe {
  name: string;
  code: (secret: string) => string;
  /** Reads the program's output: blocked, and in what words. */
  judge: (out: string, r: { memoryExceeded: boolean; timedOut: boolean; outputLimited: boolean }) => { ok: boolean; detail: string };
  limits?: Partial<SandboxLimits>;
}

const has = (out: string, s: string) => out.includes(s);

const PROBES: Probe[] = [
  {
    name: 'unprivileged (uid, capabilities, no_new_privs)',
    code: () => 'import os\ns = open("/proc/self/status").read()\nprint("uid", os.getuid())\nprint([l for l in s.splitlines() if l.startswith(("CapEff", "NoNewPrivs"))])',
    judge: (o) => ({ ok: !/uid 0\b/.test(o) && /CapEff:\\t0+'/.test(o) && /NoNewPrivs:\\t1/.test(o), detail: o.trim().split('\n').join('; ') }),
  },
  {
    name: 'no user namespace, no mount',
    code: () => 'import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint("unshare", libc.unshare(0x10000000))\nprint("mount", libc.mount(b"x", b"/", b"tmpfs", 0, None))',
    judge: (o) => ({ ok: has(o, 'unshare -1') && has(o, 'mount -1'), detail: o.trim().split('\n').join('; ') }),
  },
  {
    name: 'seccomp filter active',
    code: () => 'print([l for l in open("/proc/self/status").read().splitlines() if l.startswith("Seccomp:")][0])',
    judge: (o) => ({ ok: /Seccomp:\s*2/.test(o), detail: o.trim() }),
  },
  {
    name: 'private files absent',
    code: (secret) => `import os\nprint("visible", os.path.exists(${JSON.stringify(secret)}))`,
    judge: (o) => ({ ok: has(o, 'visible False'), detail: has(o, 'visible False') ? 'a server-side file is absent inside the run' : 'a server-side file is VISIBLE inside the run' }),
  },
  {
    name: 'no network',
    code: () => 'import socket\ntry:\n    socket.create_connection(("127.0.0.1", 22), timeout=2); print("connected")\nexcept OSError as e:\n    print("blocked", e)\nprint("ifaces", open("/proc/net/dev").read().count(":"))',
    judge: (o) => ({ ok: !has(o, 'connected') && has(o, 'ifaces 1'), detail: o.trim().split('\n').join('; ') }),
  },
  {
    name: 'read-only outside the workdir (incl. /proc/sys)',
    code: () => 'import os\nfor p in ["/usr/x", "/x", "/proc/sys/kernel/hostname"]:\n    try:\n        open(p, "a").write("x"); print("WROTE", p)\n    except OSError:\n        pass\nprint("core_pattern", os.access("/proc/sys/kernel/core_pattern", os.W_OK))',
    judge: (o) => ({ ok: !has(o, 'WROTE') && has(o, 'core_pattern False'), detail: has(o, 'WROTE') ? o.trim() : 'writes outside the workdir fail' }),
  },
  {
    name: 'process cap per run',
    code: () => 'import os, time\nn = 0\ntry:\n    while n < 2000:\n        if os.fork() == 0:\n            time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint("forks", n)\nos._exit(0)',
    limits: { maxProcesses: 64 },
    judge: (o) => {
      const n = Number(/forks (\d+)/.exec(o)?.[1] ?? NaN);
      return { ok: n < 64, detail: `${Number.isNaN(n) ? '?' : n} forks with a cap of 64` };
    },
  },
  {
    name: 'memory cap per run (3 processes)',
    code: () => 'import multiprocessing as mp, time\ndef hog():\n    b = bytearray(150 * 1024 * 1024); time.sleep(3)\nps = [mp.Process(target=hog) for _ in range(3)]\n[p.start() for p in ps]\n[p.join() for p in ps]\nprint("codes", [p.exitcode for p in ps])',
    limits: { memoryMb: 300 },
    judge: (o, r) => ({ ok: /-9|MemoryError/.test(o) || r.memoryExceeded, detail: o.trim().split('\n').pop() ?? '' }),
  },
  {
    name: 'disk cap per run',
    code: () => 'try:\n    with open("fill", "wb") as f:\n        for i in range(64):\n            f.write(b"\\0" * (1 << 20)); f.flush()\n    print("wrote 64 MiB")\nexcept OSError as e:\n    print("blocked", e.strerror)',
    limits: { diskMb: 16 },
    judge: (o) => ({ ok: has(o, 'blocked'), detail: o.trim() }),
  },
  {
    name: 'nothing outlives the run',
    code: () => 'import subprocess\nsubprocess.Popen(["sleep", "600"], start_new_session=True)\nprint("daemon started")',
    judge: (o) => ({ ok: has(o, 'daemon started'), detail: 'checked after the run' }),
  },
];

/** Runs every probe through `host` with `python`; returns one row per probe. */
export async function runProbes(host: SandboxHost, python: string, workRoot = join(tmpdir(), 'ideator-doctor')): Promise<ProbeResult[]> {
  const secretDir = mkdtempSync(join(tmpdir(), 'ideator-doctor-secret-'));
  const secret = join(secretDir, 'answers.csv');
  writeFileSync(secret, 'id,label\n');
  mkdirSync(workRoot, { recursive: true });
  const out: ProbeResult[] = [];
  try {
    for (const p of PROBES) {
      const limits = { ...DEFAULT_LIMITS, timeoutMs: 30_000, memoryMb: 1024, diskMb: 64, ...p.limits };
      const dir = await createRunDir(workRoot, 'probe', host.rootTmpfs ? limits.diskMb : undefined);
      try {
        writeFileSync(join(dir, 'probe.py'), p.code(secret));
        const before = sleepers();
        const r = await runInSandbox({ workdir: dir, command: [python, 'probe.py'], python, limits, host, cudaVisibleDevices: '', threads: 1 });
        let verdict = p.judge(r.output, r);
        if (p.name === 'nothing outlives the run') {
          await new Promise((res) => setTimeout(res, 200));
          const left = sleepers() - before;
          verdict = { ok: verdict.ok && left <= 0, detail: left > 0 ? `${left} process(es) survived the run` : 'a detached daemon died with the run' };
        }
        out.push({ name: p.name, ...verdict });
      } finally {
        await removeRunDir(dir);
      }
    }
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
  return out;
}

/** How many `sleep 600` processes exist on the host (the outlive probe's daemons). */
function sleepers(): number {
  
  const r = spawnSync('pgrep', ['-fc', '^sleep 600$'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 0;
}
