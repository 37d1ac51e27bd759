/**
 * Sandbox start-up overhead per run: `python -c pass` bare (one process, clean environment) vs the same through the
 * full sandbox (cgroup join, prlimit, bubblewrap with seccomp, tmpfs workdir mount and unmount), measured side by
 * side in alternating rounds. Goal: under 25 ms added per run (bare bubblewrap adds about 11 ms here).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxHost } from '../server/src/exec/isolation';
import { cleanEnv, runProcess } from '../server/src/exec/runner';
import { DEFAULT_LIMITS, runInSandbox } from '../server/src/exec/sandbox';
import { createRunDir, removeRunDir } from '../server/src/exec/runDirs';
import { absolutePython } from '../server/src/queue/runtime';
import { resolvePython } from '../server/src/tasks/python';

const ROUNDS = 5;
const PER_ROUND = 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(): Promise<void> {
  const host = sandboxHost();
  if (!host.isolated) {
    console.log(`sandbox: bubblewrap unavailable here (${host.info.notes.join('; ')}); nothing to compare`);
    return;
  }
  // The same bubblewrap + seccomp wrapper with no cgroup and a plain workdir: what the cgroup join and the tmpfs add.
  const plain = sandboxHost({ noCgroups: true });
  const python = absolutePython(resolvePython());
  const root = mkdtempSync(join(tmpdir(), 'ideator-bench-sbx-'));
  const home = join(root, 'home');
  mkdirSync(home);
  const bare: number[] = [];
  const bwrapOnly: number[] = [];
  const boxed: number[] = [];
  const sandboxed = async (h: typeof host, tmpfsMb: number | undefined): Promise<number> => {
    const t = process.hrtime.bigint();
    const dir = await createRunDir(join(root, 'work'), 'bench', tmpfsMb);
    await runInSandbox({ workdir: dir, command: [python, '-S', '-c', 'pass'], python, limits: { ...DEFAULT_LIMITS, diskMb: 64 }, host: h, cudaVisibleDevices: '', threads: 1 });
    await removeRunDir(dir);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) {
        const t = process.hrtime.bigint();
        await runProcess({ argv: [python, '-S', '-c', 'pass'], cwd: root, env: cleanEnv({ home, tmp: root, python }) });
        bare.push(Number(process.hrtime.bigint() - t) / 1e6);
        bwrapOnly.push(await sandboxed(plain, undefined));
        boxed.push(await sandboxed(host, host.rootTmpfs ? 64 : undefined));
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const b = median(bare);
  const w = median(bwrapOnly);
  const s = median(boxed);
  let rcu = '?';
  try {
    rcu = readFileSync('/sys/kernel/rcu_expedited', 'utf8').trim();
  } catch {
    // not exposed here
  }
  console.log(`python -c pass, bare: median ${b.toFixed(1)} ms over ${bare.length} runs`);
  console.log(`bubblewrap + seccomp + rlimits, plain workdir, no cgroup: median ${w.toFixed(1)} ms (+${(w - b).toFixed(1)} ms)`);
  console.log(`full sandbox (${host.info.limits.processes}, seccomp, ${host.info.limits.disk} workdir incl. mount/unmount): median ${s.toFixed(1)} ms`);
  console.log(`added per run: ${(s - b).toFixed(1)} ms (goal < 25 ms); ratio ${(s / b).toFixed(2)}×; kernel rcu_expedited=${rcu}${rcu === '0' ? ' (each cgroup join waits for an RCU grace period; see ideator doctor)' : ''}`);
}
