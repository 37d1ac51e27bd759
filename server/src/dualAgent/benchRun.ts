/**
 * `ideator bench`: every (task × Ideator configuration × run) in a run directory, resumable. The SQLite store
 * says what is done; each run gets a fresh workdir (public data copied in) and its own log file; a progress bar
 * goes to stderr; the table is computed from the store, so a resumed bench reports all runs, old and new.
 *
 * Run directory: state/bench.sqlite, logs/<task>__<config>__<k>.log, work/<task>/<config>/<k>/ (the agent's files).
 * Actions run in the sandbox (agentSandbox.ts) with the task folder, private data, logs/ and state/ hidden.
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Provider } from '../../../src/core/providers/types';
import { sandboxHost } from '../exec/isolation';
import type { Task } from '../tasks/loader';
import { createWorkdir } from '../tasks/layout';
import { runAgent, type AgentLimits, type IdeatorClient, type Prices } from './agent';
import { agentSandbox } from './agentSandbox';
import { BenchStore, runId, type RunKey } from './benchStore';
import { benchTable, type BenchTable } from './table';

export interface BenchConfig {
  /** Column label, e.g. "codeact", "template-vague", "openai:ideator". */
  name: string;
  /** null: the CodeAct baseline (no seek_help). */
  ideator: IdeatorClient | null;
}

export interface BenchOptions {
  runDir: string;
  tasks: Task[];
  configs: BenchConfig[];
  runs: number;
  implementer: Provider;
  limits: AgentLimits;
  prices: Prices;
  python: string;
  dataDir?: string;
  promptsDir?: string;
  /** Keep the agents' workdirs (default: deleted after each run, logs and the store stay). */
  keepWorkdirs?: boolean;
  /** false: run actions unconfined (still with a clean environment). Default true. */
  sandbox?: boolean;
  stderr: NodeJS.WritableStream;
  /** Show the progress bar (default: when stderr is a TTY, else one line per finished run). */
  progress?: boolean;
  signal?: AbortSignal;
}

/** Under state/ (not the run dir's root) so the sandbox can hide it, with logs/, from the agent. */
export const STORE_FILE = join('state', 'bench.sqlite');

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

export async function runBench(o: BenchOptions): Promise<BenchTable> {
  mkdirSync(join(o.runDir, 'logs'), { recursive: true });
  mkdirSync(join(o.runDir, 'state'), { recursive: true });
  const store = new BenchStore(join(o.runDir, STORE_FILE));
  try {
    const keys: RunKey[] = [];
    for (const task of o.tasks) for (const c of o.configs) for (let k = 0; k < o.runs; k++) keys.push({ task: task.id, config: c.name, runIndex: k });
    store.setMeta('plan', JSON.stringify({ tasks: o.tasks.map((t) => ({ id: t.id, dir: t.dir })), configs: o.configs.map((c) => ({ name: c.name, ideator: c.ideator?.label ?? null })), runs: o.runs, implementer: o.implementer.label, limits: o.limits, isolation: sandboxHost({ disable: o.sandbox === false }).info.mode }));
    const planned = store.plan(keys);
    const todo = planned.filter((r) => r.status !== 'done');
    const showBar = o.progress ?? Boolean((o.stderr as NodeJS.WriteStream).isTTY);
    const bar = showBar
      ? new SingleBar({ stream: o.stderr, format: 'bench |{bar}| {value}/{total} runs | {label}', hideCursor: true, clearOnComplete: false })
      : undefined;
    const doneBefore = planned.length - todo.length;
    bar?.start(planned.length, doneBefore, { label: todo.length ? 'starting' : 'nothing to do' });
    if (!showBar && doneBefore) o.stderr.write(`bench: resuming, ${doneBefore}/${planned.length} runs already done\n`);
    let finished = doneBefore;
    for (const r of todo) {
      if (o.signal?.aborted) break;
      const task = o.tasks.find((t) => t.id === r.task)!;
      const config = o.configs.find((c) => c.name === r.config)!;
      const id = runId(r);
      const label = `${r.task} × ${r.config} #${r.runIndex + 1}`;
      const logFile = join(o.runDir, 'logs', `${safe(r.task)}__${safe(r.config)}__${r.runIndex + 1}.log`);
      const workdir = join(o.runDir, 'work', safe(r.task), safe(r.config), String(r.runIndex + 1));
      rmSync(workdir, { recursive: true, force: true });
      rmSync(logFile, { force: true });
      store.startRun(id);
      await createWorkdir(task, { dir: workdir, python: o.python, dataDir: o.dataDir });
      const sandbox = agentSandbox({
        workdir,
        python: o.python,
        disable: o.sandbox === false,
      });
      const log = (line: string) => appendFileSync(logFile, `[${new Date().toISOString()}] ${line}\n`);
      log(`run ${label}: implementer ${o.implementer.label}, ideator ${config.ideator?.label ?? 'none (CodeAct baseline)'}`);
      let steps = 0;
      bar?.update(finished, { label: `${label} step 0` });
      const result = await runAgent({
        runId: id,
        task,
        config: config.name,
        workdir,
        python: o.python,
        dataDir: o.dataDir,
        implementer: o.implementer,
        ideator: config.ideator,
        limits: o.limits,
        prices: o.prices,
        promptsDir: o.promptsDir,
        sandbox,
        onStep: (s) => {
          store.addStep(s);
          steps = s.idx + 1;
          bar?.update(finished, { label: `${label} step ${steps}` });
        },
        onPool: (p) => store.addPool(p),
        onPoolOutcome: (pid, after, improved) => store.setPoolOutcome(pid, after, improved),
        log,
        signal: o.signal,
      });
      if (o.signal?.aborted && result.endReason === 'error') break; // leave it 'running': redone on resume
      store.finishRun(id, result);
      log(`result ${JSON.stringify(result)}`);
      if (!o.keepWorkdirs) rmSync(workdir, { recursive: true, force: true });
      finished++;
      bar?.update(finished, { label });
      if (!showBar) {
        const score = result.valid ? `score ${result.score} (normalized ${result.normalized})` : `invalid (${result.reason ?? result.error})`;
        o.stderr.write(`bench: [${finished}/${planned.length}] ${label}: ${score}, ${result.steps} steps, ${result.seekHelps} seek_help, ${result.endReason}\n`);
      }
    }
    bar?.stop();
    return benchTable(store.allRuns());
  } finally {
    store.close();
  }
}
