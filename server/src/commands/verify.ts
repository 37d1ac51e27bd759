/**
 * `ideator verify` — ideas measured by real runs before one is applied. Each idea is implemented into an isolated
 * copy of the workspace's source files (*.py and small config files; data folders and large files are bound in
 * read-only, never copied), run with the command that produced the current score in the reward service's sandbox
 * (server/src/exec/: bubblewrap, a cgroup per run, a tmpfs workdir; without bubblewrap it says so on every
 * verification), and scored by the real extractor (core/scores.ts). The baseline — the unchanged workspace — runs
 * k times with IDEATOR_SEED=i / PYTHONHASHSEED=i (as the reward service measures p_t, rewards/baseline.ts); its
 * noise (core/rewards.ts baselineNoise) decides whether a gain is a win or within the noise (core/verify.ts).
 * K slots run at once; the budget bounds the whole verification (a run still going at its end is timed out);
 * SIGINT, SIGTERM or (with --watch-stdin) stdin closing kills every run at once.
 *
 * Output: with --json, JSON lines on stdout (core/verify.ts VerifyEventSchema): progress, one result per idea,
 * then the summary (ranking, baseline noise, wall time ÷ (Σ run ÷ slots)). Without, a table.
 *
 * With --server URL the same verification runs on a companion `ideator serve` (verify/client.ts): the plan is made
 * here, its source files uploaded once by content hash, the data named (--data-root), never sent; the server's lines
 * are validated and printed as this command prints its own. The token comes from the environment only.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { SCORE_CHOICES, type ScoreChoice } from '../../../src/core/metric';
import type { Direction } from '../../../src/core/protocol';
import { VerifyIdeasFileSchema, type VerifyEvent, type VerifyIdea } from '../../../src/core/verify';
import { homeFolders, sandboxHost, type SandboxHost } from '../exec/isolation';
import { DEFAULT_LIMITS } from '../exec/sandbox';
import { resolvePython } from '../tasks/python';
import { RemoteError, verifyRemote } from '../verify/client';
import { assertMainReplaceable, prepareVerifyRoot, readTask, runVerification, VerifySetupError, verifyTable } from '../verify/engine';
import { planWorkspace as planOf, WorkspacePlanError } from '../verify/workspace';
import { defineCommand, log, readJsonFile, UsageError } from './common';
import { providerFromFlag } from './runtimeFlags';

const HELP = `usage: ideator verify --workspace DIR --command CMD --ideas IDEAS.json [options]
Measures ideas by real runs before one is applied: each idea is implemented into an isolated copy of the
workspace's source files, run with CMD in the sandbox, scored, and compared with the baseline's run-to-run noise.
  --workspace DIR       the project folder (its *.py and small config files are copied per run; data folders and
                        large files are bound in read-only, never copied)
  --command CMD         the command that produced the current score, e.g. "python train.py" (run by /bin/sh in
                        the copy; python is the interpreter below)
  --main FILE           the file the ideas change (default: the first *.py in CMD)
  --ideas FILE          JSON: a list of raw Ideator answers, or of {id?, title?, raw? | parsed? | code?} (code: the
                        main file with the idea applied); or {ideas: [...]}
  --metric NAME         the score to compare (default: the baseline's primary metric, found by the extractor)
  --direction D         higher | lower (default: the metric's guessed direction)
  --score last|best     a run's score: the metric's last value printed (default) or its best epoch (the editor's
                        ideator.runScore, core/metric.ts runScore)
  --slots K             runs at once (default 1; each gets CPUs ÷ K threads)
  --gpus 0,1,…          one run per GPU via CUDA_VISIBLE_DEVICES (overrides --slots; default: GPUs hidden)
  --budget-min T        wall-time budget of the whole verification in minutes (default 30): a run still going
                        when it ends is timed out, one not started by then is not run
  --timeout-sec N       at most this long per run (default: the budget)
  --baseline-seeds K    runs of the unchanged workspace (IDEATOR_SEED=i, PYTHONHASHSEED=i) that measure the
                        noise (default 3; 1 = one run, no noise estimate)
  --python PATH         interpreter (default: env IDEATOR_PYTHON, the workspace's .venv, this package's .venv, python3)
  --implementer SPEC    model that implements ideas carrying no code: KIND[:MODEL][@URL] or ProviderConfig JSON
  --memory-mb N         memory per run (default 4096; 0 = none)
  --max-file-kb N       largest source/config file copied (default 512); larger files are bound read-only
  --watch-stdin         stop every run and exit when stdin closes (how the editor ties the runs to its life)
  --json                JSON lines on stdout: {type:'progress'}…, {type:'result'} per idea, {type:'summary'}
  --server URL          run on a companion server (\`ideator serve\`) instead of here: the source files are uploaded
                        once (by content hash), the data never; the server's sandbox, interpreter, slots and
                        implementer run the ideas (--python, --gpus, --memory-mb, --implementer are its own)
  --data-root NAME      with --server: the server's data folder (\`serve --data-root NAME=PATH\`) holding this
                        workspace's data paths at the same relative paths
  --token-env NAME      with --server: the environment variable holding its bearer token (default
                        IDEATOR_SERVER_TOKEN; a token is never an argument)
Cancel with Ctrl-C (SIGINT) or SIGTERM: every run is killed at once. Exit 0 when done, 130 when cancelled.`;

const FLAGS = {
  workspace: { type: 'string' },
  command: { type: 'string' },
  main: { type: 'string' },
  ideas: { type: 'string' },
  metric: { type: 'string' },
  direction: { type: 'string' },
  score: { type: 'string' },
  slots: { type: 'string' },
  gpus: { type: 'string' },
  'budget-min': { type: 'string' },
  'timeout-sec': { type: 'string' },
  'baseline-seeds': { type: 'string' },
  python: { type: 'string' },
  implementer: { type: 'string' },
  'memory-mb': { type: 'string' },
  'max-file-kb': { type: 'string' },
  'watch-stdin': { type: 'boolean' },
  json: { type: 'boolean' },
  server: { type: 'string' },
  'data-root': { type: 'string' },
  'token-env': { type: 'string' },
} as const;

function num(v: string | undefined, flag: string, def: number, opts: { min: number; int?: boolean; max?: number }): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < opts.min || (opts.max !== undefined && n > opts.max)) {
    throw new UsageError(`--${flag} must be a ${opts.int ? 'whole ' : ''}number from ${opts.min}${opts.max !== undefined ? ` to ${opts.max}` : ''}, got '${v}'`);
  }
  return n;
}

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  if (!values.workspace) throw new UsageError('--workspace DIR is required');
  if (!values.command?.trim()) throw new UsageError('--command CMD is required (e.g. --command "python train.py")');
  if (!values.ideas) throw new UsageError('--ideas FILE is required');
  if (values.score !== undefined && !(SCORE_CHOICES as readonly string[]).includes(values.score)) throw new UsageError(`--score must be last or best, got '${values.score}'`);
  const choice = (values.score ?? 'last') as ScoreChoice;
  const workspace = resolve(values.workspace);
  if (!existsSync(workspace) || !statSync(workspace).isDirectory()) throw new UsageError(`no such folder: ${values.workspace}`);
  const command = values.command.trim();
  const mainArg = values.main ?? /(?:^|\s)([^\s'"]+\.py)(?=\s|$)/.exec(command)?.[1];
  if (!mainArg) throw new UsageError('--main FILE is required when the command names no .py file');
  const main = normalize(isAbsolute(mainArg) ? relative(workspace, mainArg) : mainArg);
  if (main.startsWith('..') || isAbsolute(main)) throw new UsageError(`--main must be inside the workspace: ${mainArg}`);
  let mainCode: string;
  try {
    mainCode = readFileSync(join(workspace, main), 'utf8');
  } catch {
    throw new UsageError(`cannot read the main file ${join(workspace, main)}`);
  }
  const ideas = await readJsonFile(values.ideas, VerifyIdeasFileSchema, io);
  let direction: Direction | undefined;
  if (values.direction !== undefined) {
    if (values.direction !== 'higher' && values.direction !== 'lower') throw new UsageError(`--direction must be higher or lower, got '${values.direction}'`);
    direction = values.direction;
  }
  const gpus = values.gpus?.split(',').map((g) => g.trim()).filter(Boolean);
  if (gpus?.some((g) => !/^\d+$/.test(g))) throw new UsageError(`--gpus takes GPU numbers, e.g. 0,1; got '${values.gpus}'`);
  const slots = gpus?.length || num(values.slots, 'slots', 1, { min: 1, int: true, max: 64 });
  const budgetSec = num(values['budget-min'], 'budget-min', 30, { min: 0.01 }) * 60;
  const perRunSec = num(values['timeout-sec'], 'timeout-sec', budgetSec, { min: 1 });
  const seeds = num(values['baseline-seeds'], 'baseline-seeds', 3, { min: 1, int: true, max: 16 });
  const memoryMb = num(values['memory-mb'], 'memory-mb', DEFAULT_LIMITS.memoryMb, { min: 0, int: true });
  const maxFileBytes = num(values['max-file-kb'], 'max-file-kb', 512, { min: 1 }) * 1024;
  let server: URL | undefined;
  if (values.server !== undefined) {
    try {
      server = new URL(values.server);
    } catch {
      throw new UsageError(`--server takes a URL (http://host:port), got '${values.server}'`);
    }
    if (server.protocol !== 'http:' && server.protocol !== 'https:') throw new UsageError(`--server takes an http(s) URL, got '${values.server}'`);
    for (const f of ['python', 'gpus', 'memory-mb', 'implementer'] as const) if (values[f] !== undefined) throw new UsageError(`--${f} is the server's own with --server (set it on \`ideator serve\`)`);
  } else if (values['data-root'] !== undefined || values['token-env'] !== undefined) throw new UsageError('--data-root and --token-env go with --server URL');
  const tokenEnv = values['token-env'] ?? 'IDEATOR_SERVER_TOKEN';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv)) throw new UsageError(`--token-env takes an environment variable's name, got '${tokenEnv}'`);
  const provider = server ? undefined : providerFromFlag(values.implementer, 'implementer');
  const python = values.python ?? (process.env.IDEATOR_PYTHON?.trim() || (existsSync(join(workspace, '.venv', 'bin', 'python')) ? join(workspace, '.venv', 'bin', 'python') : resolvePython()));
  const json = values.json === true;

  // What the plan refuses is the user's to fix: a usage error (exit 2).
  const planWorkspace = (dir: string, maxBytes: number) => {
    try {
      return planOf(dir, maxBytes);
    } catch (err) {
      throw err instanceof WorkspacePlanError ? new UsageError(err.message) : err;
    }
  };
  const emit = (e: VerifyEvent) => {
    if (json) io.stdout.write(JSON.stringify(e) + '\n');
    else if (e.type === 'progress') log(io, `ideator verify: ${e.message}`);
  };

  // Cancellation: every run listens to one signal.
  const abort = new AbortController();
  // The first signal stops every run and prints the summary; a second one does not wait for that (the runs still
  // die with this process: parent-death signal, process groups).
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onStdinEnd = () => abort.abort();
  if (values['watch-stdin']) {
    io.stdin.on('end', onStdinEnd);
    io.stdin.on('close', onStdinEnd);
    io.stdin.on('error', onStdinEnd);
    io.stdin.resume();
  }
  try {
    if (server) {
      const plan = planWorkspace(workspace, maxFileBytes);
      assertMainReplaceable(plan, main);
      if (plan.binds.length && !values['data-root']) throw new UsageError(`the workspace has data paths (${plan.binds.slice(0, 3).map((b) => b.rel).join(', ')}${plan.binds.length > 3 ? ' …' : ''}) that are never uploaded: name the server's data root holding them with --data-root NAME`);
      for (const l of plan.refused) emit({ type: 'progress', phase: 'warning', message: `the link ${l.rel} is not followed into the runs: ${l.why}`, done: 0, total: seeds + ideas.length });
      const { summary, results } = await verifyRemote({
        url: server.toString(),
        token: process.env[tokenEnv]?.trim() || undefined,
        workspace,
        plan,
        dataRoot: values['data-root'],
        request: { command, main: main.split(sep).join('/'), ideas, metric: values.metric, direction, score: choice, baselineSeeds: seeds, slots, budgetSec, timeoutSec: values['timeout-sec'] !== undefined ? perRunSec : undefined },
        emit,
        signal: abort.signal,
      });
      if (!json && summary) io.stdout.write(verifyTable(results, summary) + '\n');
      return abort.signal.aborted ? 130 : 0;
    }
    const host: SandboxHost = sandboxHost();
    // One root for every verification on this machine: run folders are named after their process, so the folders
    // (and tmpfs mounts) of a verification that was killed are removed by the next one.
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    const workRoot = join(tmpdir(), uid === undefined || uid === 0 ? 'ideator-verify' : `ideator-verify-${uid}`);
    const emptyFile = await prepareVerifyRoot(workRoot);
    const plan = planWorkspace(workspace, maxFileBytes);
    const { summary, results } = await runVerification({
      sourceDir: workspace,
      plan,
      main,
      mainCode,
      command,
      ideas: ideas as (VerifyIdea & { id: string })[],
      metric: values.metric,
      direction,
      choice,
      slots,
      gpus,
      budgetSec,
      perRunSec,
      seeds,
      memoryMb,
      python,
      provider,
      taskDescription: readTask(workspace),
      host,
      workRoot,
      emptyFile,
      // The workspace itself (its .env, .git) and the home folder are never bound whole.
      privatePaths: [...new Set([workspace, realpathSync(workspace), ...homeFolders()])],
      signal: abort.signal,
      emit,
    });
    if (!json) io.stdout.write(verifyTable(results, summary) + '\n');
    return abort.signal.aborted ? 130 : 0;
  } catch (err) {
    if (err instanceof VerifySetupError || err instanceof RemoteError) throw new UsageError(err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (values['watch-stdin']) {
      io.stdin.off('end', onStdinEnd);
      io.stdin.off('close', onStdinEnd);
      io.stdin.off('error', onStdinEnd);
      (io.stdin as NodeJS.ReadStream).pause?.();
    }
  }
});
