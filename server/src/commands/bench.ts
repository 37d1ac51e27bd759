/**
 * `ideator bench --tasks DIR|ID... --runs 3 --implementer SPEC --ideator SPEC... [--run-dir DIR]` — the paper's
 * evaluation as a tool: each (task × Ideator configuration × run) with a CodeAct-style implementer, resumable
 * from the run directory's SQLite file, then Table 1 (Avg@K / Best@K of the normalized score, valid rate,
 * steps, seek_help calls, tokens, cost).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeProviderError } from '../../../src/core/providers/index';
import { DEFAULT_LIMITS, type AgentLimits, type Prices } from '../dualAgent/agent';
import { ideatorClient } from '../dualAgent/ideatorClient';
import { parseProviderSpec, providerFromSpec, SpecError } from '../../../src/core/providers/spec';
import { runBench, type BenchConfig } from '../dualAgent/benchRun';
import { formatTable } from '../dualAgent/table';
import { checkPython, findTask, loadTask, resolvePython, TaskError, type Task } from '../tasks';
import { defineCommand, printJson, UsageError } from './common';
import { checkPromptsFlag } from './promptsFlag';
import { readTrajectoryFlag } from './stateArgs';

const HELP = `usage: ideator bench --tasks DIR|ID [--tasks ...] --implementer SPEC [--ideator SPEC ...] [options]
Runs every (task × ideator × run) with a CodeAct-style implementer and prints the Avg@K / Best@K table.
SPEC is KIND[:MODEL][@BASE_URL], optionally NAME=SPEC; KIND: openai, anthropic, server, template-null,
template-vague, and for --ideator also none (the CodeAct baseline without seek_help). Keys come from the
environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, IDEATOR_SERVER_TOKEN).
  --tasks DIR|ID        a task folder, a folder of task folders, or a bundled task id (repeatable)
  --runs N              runs per task and configuration (default 3)
  --ideator SPEC        an Ideator configuration (repeatable; default none)
  --run-dir DIR         where state/bench.sqlite, logs/ and work/ live (default .ideator/bench); re-running with the
                        same directory resumes: finished runs are kept, interrupted ones are redone
  --max-steps N         actions per run (default 50)        --time-limit SEC   per run (default 3600)
  --action-timeout SEC  per action (default 600)            --observation-chars N  (default 10000)
  --price-implementer IN,OUT  --price-ideator IN,OUT   USD per million tokens, for the cost column (default 0)
  --no-sandbox          run actions without namespaces (default: no network, writes only in the workdir, task
                        folder / private answers / logs hidden, where the OS allows; IDEATOR_SANDBOX=off too)
  --trajectory MODE     how the Ideator prompt writes the trajectory: full (default, the paper's) or compact (see
                        'ideator prompt --help'); keep one mode per run directory
  --python PATH  --data-dir DIR  --prompts DIR  --keep-workdirs  --no-progress  --json`;

function int(v: string | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

function prices(v: string | undefined, name: string): [number, number] {
  if (v === undefined) return [0, 0];
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p) || p < 0)) throw new UsageError(`--${name} must be IN,OUT in USD per million tokens, got '${v}'`);
  return [parts[0], parts[1]];
}

/** A task folder, a folder holding task folders, or a bundled id. */
async function tasksFrom(args: string[]): Promise<Task[]> {
  const out: Task[] = [];
  for (const a of args) {
    if (existsSync(a) && statSync(a).isDirectory() && !existsSync(join(a, 'config.yaml'))) {
      const subs = readdirSync(a).filter((n) => existsSync(join(a, n, 'config.yaml'))).sort();
      if (!subs.length) throw new UsageError(`${a} holds no task folders (no */config.yaml)`);
      for (const n of subs) out.push(await loadTask(join(a, n)));
    } else out.push(await findTask(a));
  }
  const ids = out.map((t) => t.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new UsageError(`task '${dup}' given twice`);
  return out;
}

const FLAGS = {
  tasks: { type: 'string', multiple: true },
  runs: { type: 'string' },
  implementer: { type: 'string' },
  ideator: { type: 'string', multiple: true },
  'run-dir': { type: 'string' },
  'max-steps': { type: 'string' },
  'time-limit': { type: 'string' },
  'action-timeout': { type: 'string' },
  'observation-chars': { type: 'string' },
  'price-implementer': { type: 'string' },
  'price-ideator': { type: 'string' },
  python: { type: 'string' },
  'data-dir': { type: 'string' },
  prompts: { type: 'string' },
  trajectory: { type: 'string' },
  'keep-workdirs': { type: 'boolean' },
  'no-sandbox': { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  if (!values.tasks?.length) throw new UsageError('--tasks is required (see --help)');
  if (!values.implementer) throw new UsageError('--implementer is required (see --help)');
  const limits: AgentLimits = {
    ...DEFAULT_LIMITS,
    maxSteps: int(values['max-steps'], 'max-steps', DEFAULT_LIMITS.maxSteps),
    timeLimitSec: int(values['time-limit'], 'time-limit', DEFAULT_LIMITS.timeLimitSec),
    actionTimeoutSec: int(values['action-timeout'], 'action-timeout', DEFAULT_LIMITS.actionTimeoutSec),
    observationChars: int(values['observation-chars'], 'observation-chars', DEFAULT_LIMITS.observationChars, 200),
  };
  const [implementerIn, implementerOut] = prices(values['price-implementer'], 'price-implementer');
  const [ideatorIn, ideatorOut] = prices(values['price-ideator'], 'price-ideator');
  const price: Prices = { implementerIn, implementerOut, ideatorIn, ideatorOut };

  // A broken override would otherwise surface at the first seek_help, possibly an hour into a run.
  checkPromptsFlag(values.prompts);

  let tasks: Task[];
  let implementer;
  const configs: BenchConfig[] = [];
  const python = values.python ?? resolvePython();
  const trajectoryMode = values.trajectory === undefined ? ('full' as const) : readTrajectoryFlag(values.trajectory);
  try {
    tasks = await tasksFrom(values.tasks);
    await checkPython(python);
    implementer = providerFromSpec(parseProviderSpec(values.implementer, false));
    for (const text of values.ideator?.length ? values.ideator : ['none']) {
      const spec = parseProviderSpec(text, true);
      const name = spec.kind === 'none' ? (spec.name === 'none' ? 'codeact' : spec.name) : spec.name;
      if (configs.some((c) => c.name === name)) throw new UsageError(`two --ideator configurations are named '${name}' (use NAME=SPEC)`);
      configs.push({ name, ideator: spec.kind === 'none' ? null : ideatorClient(providerFromSpec(spec), { promptsDir: values.prompts, trajectoryMode }) });
    }
  } catch (err) {
    if (err instanceof TaskError || err instanceof SpecError) throw new UsageError(err.message);
    if (err instanceof UsageError) throw err;
    throw new UsageError(describeProviderError(err));
  }

  const runDir = resolve(values['run-dir'] ?? join('.ideator', 'bench'));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const table = await runBench({
      runDir,
      tasks,
      configs,
      runs: int(values.runs, 'runs', 3),
      implementer,
      limits,
      prices: price,
      python,
      dataDir: values['data-dir'],
      promptsDir: values.prompts,
      keepWorkdirs: values['keep-workdirs'],
      sandbox: !values['no-sandbox'],
      stderr: io.stderr,
      progress: values['no-progress'] ? false : undefined,
      signal: controller.signal,
    });
    if (values.json) printJson(io, { runDir, table });
    else io.stdout.write(`${formatTable(table)}\n\nrun directory: ${runDir}\n`);
    return controller.signal.aborted ? 130 : 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
});
