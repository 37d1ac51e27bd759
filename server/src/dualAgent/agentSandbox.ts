/**
 * Confinement for the benchmark agent's actions: the same sandbox as the reward service (server/src/exec/
 * isolation.ts). Every bash command and the agent's Python interpreter run under bubblewrap where the host has it —
 * no network, nothing but the run's workdir (bound at /sandbox) writable, the task folder, the private answers, the
 * raw data and the bench's own logs and store absent — with the one clean environment, so API keys in the bench's
 * environment never reach the agent's code.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sandboxHost, type IsolationInfo, type SandboxHost, type Wrapped } from '../exec/isolation';
import { cleanEnv } from '../exec/runner';

export interface AgentSandbox {
  info: IsolationInfo;
  /** The workdir as the agent sees it (its commands' cwd). */
  inside: string;
  env: Record<string, string>;
  /** argv under the sandbox; `callerFds` extra stdio entries the caller passes before ours (fd 3 …). */
  launch(argv: string[], callerFds?: number): Wrapped;
}

export interface SandboxOptions {
  workdir: string;
  python: string;
  /** true: no sandbox (IDEATOR_SANDBOX=off does the same); the clean environment is kept. */
  disable?: boolean;
}

/** The bench's limit is wall time, as in the paper; the per-run caps below only stop runaway actions. */
const AGENT_LIMITS = { timeoutMs: 0, memoryMb: 0, maxOutputBytes: 0, maxFileMb: 4096, shmMb: 512, maxProcesses: 1024, diskMb: 0, cpus: 0 };

export function agentSandbox(o: SandboxOptions): AgentSandbox {
  const host: SandboxHost = sandboxHost({ disable: o.disable });
  mkdirSync(join(o.workdir, '.home'), { recursive: true });
  mkdirSync(join(o.workdir, '.tmp'), { recursive: true });
  const inside = host.isolated ? '/sandbox' : o.workdir;
  return {
    info: host.info,
    inside,
    env: cleanEnv({ home: join(inside, '.home'), tmp: host.isolated ? '/tmp' : join(inside, '.tmp'), python: o.python }),
    launch: (argv, callerFds = 0) => host.wrap({ workdir: o.workdir, python: o.python, limits: AGENT_LIMITS, firstFd: 3 + callerFds }, argv),
  };
}

/** No sandbox at all (tests of the bare executors, `--no-sandbox`). */
export function bareSandbox(workdir: string, python: string): AgentSandbox {
  return agentSandbox({ workdir, python, disable: true });
}
