/**
 * Confinement for the agent's actions, reusing the reward server's sandbox (server/src/exec/isolation.ts): where
 * the OS allows, every bash command and the Python interpreter run in fresh mount/net/pid namespaces — no
 * network, nothing writable outside the run's workdir — with the task folder, the private answers, the raw data
 * and the bench's own logs and store hidden (reading the answers or the graded scores would be reward hacking).
 * The environment is built from scratch, so API keys in the bench's environment never reach the agent's code.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { probeIsolation, wrapCommand, type IsolationInfo } from '../exec/isolation';

export interface AgentSandbox {
  info: IsolationInfo;
  wrap(argv: string[]): string[];
  env: NodeJS.ProcessEnv;
}

export interface SandboxOptions {
  workdir: string;
  python: string;
  /** Folders the agent must not see. */
  hide: string[];
  /** true: no namespaces (IDEATOR_SANDBOX=off does the same); the clean environment is kept. */
  disable?: boolean;
}

export function agentEnv(workdir: string, python: string): NodeJS.ProcessEnv {
  const home = join(workdir, '.home');
  const tmp = join(workdir, '.tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const pythonBin = python.includes('/') ? `${dirname(python)}:` : '';
  return {
    PATH: `${pythonBin}${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: home,
    TMPDIR: tmp,
    MPLBACKEND: 'Agg',
    MPLCONFIGDIR: join(home, '.matplotlib'),
    XDG_CACHE_HOME: join(home, '.cache'),
    PYTHONNOUSERSITE: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

export function agentSandbox(o: SandboxOptions): AgentSandbox {
  const info = probeIsolation({ disable: o.disable });
  const env = agentEnv(o.workdir, o.python);
  return {
    info,
    env,
    // No memory or file-size caps here: the bench's limit is wall time, as in the paper.
    wrap: (argv) => (info.mode === 'none' ? argv : wrapCommand(info, { workdir: o.workdir, memoryKb: 0, fileSizeKb: 0, shmMb: 512, hide: o.hide }, argv)),
  };
}
