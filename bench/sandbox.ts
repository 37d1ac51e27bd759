/**
 * Sandbox start-up overhead per run: `python -c pass` bare (one process, clean environment) vs the same through the
 * full sandbox (cgroup join, prlimit, bubblewrap with seccomp, tmpfs workdir mount and unmount), measured side by
 * side in alternating rounds. Goal: under 25 ms added per run (bare bubblewrap adds about 11 ms here).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxHost } from '../server/src/exec/isolation';
import { cleanEnv, runProcess } from '../server/src/exec/runner';
import { DEFAULT_LIMITS, runInSandbox } from '../server/src/exec/sandbox';
import { createRunDir, removeRunDir } from '../server/src/exec/workdir';
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
  const python = absolutePython(resolvePython());
  const root = mkdtempSync(join(tmpdir(), 'ideator-bench-sbx-'));
  const home = join(root, 'home');
  mkdirSync(home);
  const bare: number[] = [];
  const boxed: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) {
        let t = process.hrtime.bigint();
        await runProcess({ argv: [python, '-S', '-c', 'pass'], cwd: root, env: cleanEnv({ home, tmp: root, python }) });
        bare.push(Number(process.hrtime.bigint() - t) / 1e6);
        t = process.hrtime.bigint();
        const dir = createRunDir(join(root, 'work'), 'bench', host.rootTmpfs ? 64 : undefined);
        await runInSandbox({ workdir: dir, command: [python, '-S', '-c', 'pass'], python, limits: { ...DEFAULT_LIMITS, diskMb: 64 }, host, cudaVisibleDevices: '', threads: 1 });
        await removeRunDir(dir);
        boxed.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const b = median(bare);
  const s = median(boxed);
  console.log(`python -c pass, bare: median ${b.toFixed(1)} ms over ${bare.length} runs`);
  console.log(`same in the sandbox (${host.info.limits.processes}, seccomp, ${host.info.limits.disk} workdir incl. mount/unmount): median ${s.toFixed(1)} ms`);
  console.log(`added per run: ${(s - b).toFixed(1)} ms (goal < 25 ms); ratio ${(s / b).toFixed(2)}×`);
}
