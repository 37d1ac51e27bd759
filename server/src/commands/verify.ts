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
 * Not done: `--server URL`. The reward API (POST /v1/rewards) runs a state's single code file against a server task
 * or its printed score; it cannot take a workspace (other source files, data folders), so verification runs here.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, homedir, tmpdir } from 'node:os';
import { dirname, extname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { formatDelta, formatScore } from '../../../src/core/format';
import { parseIdea } from '../../../src/core/idea';
import { guardCode } from '../../../src/core/rewardGuard';
import { IdeatorStateSchema, type Direction, type Metric, type ParsedIdea, type PrimaryScore } from '../../../src/core/protocol';
import { runScore, SCORE_CHOICES, type ScoreChoice } from '../../../src/core/metric';
import { baselineNoise } from '../../../src/core/rewards';
import { rankResults, verifyStatus, VerifyIdeasFileSchema, type VerifyEvent, type VerifyIdea, type VerifyResult, type VerifySummary } from '../../../src/core/verify';
import type { Bind } from '../exec/bwrapArgs';
import { homeFolders, pythonDirs, rootsHoldingPrivate, sandboxHost, type SandboxHost } from '../exec/isolation';
import { assertSafeRoot, createRunDir, removeRunDir, sweepRunDirs } from '../exec/runDirs';
import { DEFAULT_LIMITS, runInSandbox, type SandboxResult } from '../exec/sandbox';
import { codeDiff, implementIdea } from '../implementer/index';
import { failureReason, seedEnv } from '../rewards/runCode';
import { resolvePython } from '../tasks/python';
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
} as const;

// ---------------------------------------------------------------------------------------------------------------
// The isolated copy
// ---------------------------------------------------------------------------------------------------------------

/** Files copied into each run's folder when small enough: source and configuration. */
const SOURCE_EXT = new Set(['.py', '.pyi', '.json', '.yaml', '.yml', '.toml', '.cfg', '.ini', '.conf', '.txt', '.sh']);
/**
 * Never copied nor bound, since an idea's code could print them: hidden entries (.env, .git, .ssh, .netrc, editor
 * folders …) and key files.
 */
function skipped(name: string): boolean {
  return name.startsWith('.') || SKIP_NAMES.has(name) || /\.(pem|key|p12|pfx)$|^id_(rsa|ed25519|ecdsa|dsa)/i.test(name);
}
/** Nor these tooling folders and caches. */
const SKIP_NAMES = new Set(['venv', 'node_modules', '__pycache__']);
/** Nor a Python environment under any name (python -m venv env, conda): thousands of files, none of them the project's. */
function isEnvironment(dir: string): boolean {
  return existsSync(join(dir, 'pyvenv.cfg')) || existsSync(join(dir, 'conda-meta'));
}
/** A folder with more entries than this (walked in full) is data: bound whole. */
const MAX_WALK_ENTRIES = 2000;
/** Files and folders bound one by one, at most (each is a mount in every run). */
const MAX_BINDS = 1000;
/** Deeper than this, a folder is bound whole. */
const MAX_DEPTH = 6;

export interface WorkspacePlan {
  /** Files to copy: workspace-relative paths. */
  copies: string[];
  /** Read-only binds: workspace-relative path → host path (a folder or a file). */
  binds: { rel: string; host: string; dir: boolean }[];
  copiedBytes: number;
  /**
   * Hidden entries and key files inside a folder bound whole (workspace-relative), hidden in each run by a mask; those
   * of a folder too big to look through are not found.
   */
  masks: { rel: string; dir: boolean }[];
  /** Links not followed (workspace-relative path: why), said before the runs. */
  refused: { rel: string; why: string }[];
}

/**
 * Why a link's target is not bound, or undefined when it may be: a target in (or through) a hidden folder or a key
 * file (a link is no way around the rule above: `notes -> .env`, `k -> ~/.ssh`), or a folder holding the workspace
 * or the home folder (the whole of it, hidden entries included: `up -> ..`, `h -> ~`).
 */
export function refusedLinkTarget(target: string, workspaceReal: string, home: string): string | undefined {
  const holds = (outer: string, inner: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
  if (holds(target, workspaceReal)) return 'its target holds the workspace';
  if (home && home !== sep && holds(target, home)) return 'its target holds the home folder';
  // Judged below the workspace or the home folder when it lies there (a workspace may itself sit in a hidden folder).
  const below = (outer: string) => (outer && outer !== sep && target.startsWith(outer + sep) ? target.slice(outer.length + 1) : undefined);
  const path = below(workspaceReal) ?? below(home) ?? target;
  if (path.split(sep).some((part) => part && skipped(part) && !SKIP_NAMES.has(part))) return 'its target is a hidden entry or a key file';
  return undefined;
}

/**
 * What a run's folder holds: small source/config files copied, everything else bound read-only. A folder holding no
 * source file (or too many entries to walk) is bound whole; a mixed folder is recreated with its files one by one.
 */
export function planWorkspace(root: string, maxFileBytes: number): WorkspacePlan {
  const plan: WorkspacePlan = { copies: [], binds: [], copiedBytes: 0, masks: [], refused: [] };
  const rootReal = realpathSync(root);
  let home = '';
  try {
    home = realpathSync(homedir());
  } catch {
    // no home folder: nothing to protect there
  }
  // Entries looked at while deciding about one folder (reset for each): a data tree is not walked in full.
  let walked = 0;
  // Hidden entries and key files met while deciding about one folder (reset for each): masked if it is bound whole.
  let secrets: { rel: string; dir: boolean }[] = [];
  const hasSource = (dir: string, depth: number): boolean | 'too-big' => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    walked += entries.length;
    if (walked > MAX_WALK_ENTRIES * 4 || entries.length > MAX_WALK_ENTRIES) return 'too-big';
    for (const e of entries) {
      if (skipped(e.name)) {
        if (!SKIP_NAMES.has(e.name) && (e.isFile() || e.isDirectory())) secrets.push({ rel: relative(root, join(dir, e.name)), dir: e.isDirectory() });
        continue;
      }
      if (e.isFile() && SOURCE_EXT.has(extname(e.name).toLowerCase())) return true;
      if (e.isDirectory() && depth < MAX_DEPTH && !isEnvironment(join(dir, e.name))) {
        const sub = hasSource(join(dir, e.name), depth + 1);
        if (sub) return sub;
      }
    }
    return false;
  };
  const walk = (rel: string, depth: number) => {
    const abs = join(root, rel);
    for (const e of readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (skipped(e.name)) continue;
      const r = rel ? join(rel, e.name) : e.name;
      const p = join(root, r);
      if (e.isSymbolicLink()) {
        // A link to data elsewhere (data -> /mnt/datasets/x): its target, read-only. A dangling one: nothing.
        let target: string;
        try {
          target = realpathSync(p);
        } catch {
          continue;
        }
        const why = refusedLinkTarget(target, rootReal, home);
        if (why) {
          plan.refused.push({ rel: r, why });
          continue;
        }
        const st = statSync(target);
        if (st.isFile() || st.isDirectory()) plan.binds.push({ rel: r, host: target, dir: st.isDirectory() });
        continue;
      }
      if (e.isFile()) {
        const size = lstatSync(p).size;
        if (SOURCE_EXT.has(extname(e.name).toLowerCase()) && size <= maxFileBytes) {
          plan.copies.push(r);
          plan.copiedBytes += size;
        } else plan.binds.push({ rel: r, host: p, dir: false });
        continue;
      }
      if (!e.isDirectory() || isEnvironment(p)) continue;
      walked = 0;
      secrets = [];
      const source = depth < MAX_DEPTH ? hasSource(p, depth + 1) : 'too-big';
      if (source === true) walk(r, depth + 1);
      else {
        plan.binds.push({ rel: r, host: p, dir: true });
        plan.masks.push(...secrets);
      }
    }
  };
  walk('', 0);
  if (plan.masks.length > MAX_BINDS) {
    throw new UsageError(`the workspace's data folders hold ${plan.masks.length} hidden entries or key files (at most ${MAX_BINDS} are hidden one by one): remove them from the data`);
  }
  if (plan.binds.length > MAX_BINDS) {
    throw new UsageError(`the workspace has ${plan.binds.length} data files beside its source files (at most ${MAX_BINDS} are bound one by one): move the data into a folder, which is bound whole`);
  }
  return plan;
}

/**
 * The folder bound whole that holds the main file, if any: bound over the run's copy, it would show the original file
 * instead of the idea's code (every idea would measure the unchanged code).
 */
export function mainUnderBoundFolder(plan: WorkspacePlan, main: string): string | undefined {
  return plan.binds.find((b) => b.dir && main.startsWith(b.rel + sep))?.rel;
}

/**
 * Fills a run's folder from the plan, the main file replaced by `mainCode`; returns the sandbox's binds. Without
 * isolation there are no binds: the data is linked (writable — the warning says so).
 */
function fillRunDir(dir: string, workspace: string, plan: WorkspacePlan, main: string, mainCode: string, isolated: boolean, emptyFile: string): Bind[] {
  for (const rel of plan.copies) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    copyFileSync(join(workspace, rel), join(dir, rel));
  }
  mkdirSync(dirname(join(dir, main)), { recursive: true });
  writeFileSync(join(dir, main), mainCode);
  const binds: Bind[] = [];
  for (const b of plan.binds) {
    // The main file is the idea's, whatever its size.
    if (b.rel === main) continue;
    const at = join(dir, b.rel);
    mkdirSync(dirname(at), { recursive: true });
    if (!isolated) {
      symlinkSync(b.host, at);
      continue;
    }
    // The mount point, made here (the tmpfs is ours): bubblewrap binds over it, read-only.
    if (b.dir) mkdirSync(at, { recursive: true });
    else writeFileSync(at, '');
    binds.push({ host: b.host, inside: b.rel });
  }
  // After the folders that show them.
  if (isolated) for (const m of plan.masks) binds.push(m.dir ? { host: '', inside: m.rel, emptyDir: true } : { host: emptyFile, inside: m.rel });
  return binds;
}

// ---------------------------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------------------------

interface Prepared {
  id: string;
  title: string;
  via: VerifyResult['via'];
  /** The main file with the idea applied; undefined when it could not be implemented. */
  code?: string;
  error?: string;
}

interface RunRecord {
  result?: SandboxResult;
  /** Never started: the budget ran out first. */
  skipped?: boolean;
  seconds: number;
  error?: string;
}

function num(v: string | undefined, flag: string, def: number, opts: { min: number; int?: boolean; max?: number }): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < opts.min || (opts.max !== undefined && n > opts.max)) {
    throw new UsageError(`--${flag} must be a ${opts.int ? 'whole ' : ''}number from ${opts.min}${opts.max !== undefined ? ` to ${opts.max}` : ''}, got '${v}'`);
  }
  return n;
}

/**
 * The score of a run under `metric` (its primary when the name matches, else that metric), its last or its best value
 * as `choice` says (core/metric.ts runScore, the one definition the editor's history judges by).
 */
function scoreOf(run: SandboxResult, metric: string | undefined, choice: ScoreChoice, direction: Direction | undefined): { value: number | null; error?: string } {
  const primary: PrimaryScore | null = run.primary;
  if (primary && (!metric || primary.name === metric)) {
    if (primary.diverged) return { value: null, error: `the metric '${primary.name}' diverged (NaN/inf printed after ${primary.value})` };
    return { value: runScore(primary, choice, run.metrics) };
  }
  const m: Metric | undefined = metric ? run.metrics.find((x) => x.name === metric) : undefined;
  if (m && Number.isFinite(m.last)) return { value: runScore({ name: m.name, value: m.last, direction: direction ?? m.direction }, choice, run.metrics) };
  return { value: null, error: metric ? `the run never printed the metric '${metric}'` : 'the run printed no score' };
}

function tail(text: string, lines = 20, chars = 4000): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n').slice(-chars);
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.slice(0, 200) ?? '';
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
  const provider = providerFromFlag(values.implementer, 'implementer');
  const python = values.python ?? (process.env.IDEATOR_PYTHON?.trim() || (existsSync(join(workspace, '.venv', 'bin', 'python')) ? join(workspace, '.venv', 'bin', 'python') : resolvePython()));
  const json = values.json === true;

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
  const host: SandboxHost = sandboxHost();
  // One root for every verification on this machine: run folders are named after their process, so the folders
  // (and tmpfs mounts) of a verification that was killed are removed by the next one.
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const workRoot = join(tmpdir(), uid === undefined || uid === 0 ? 'ideator-verify' : `ideator-verify-${uid}`);
  assertSafeRoot(workRoot);
  mkdirSync(workRoot, { recursive: true, mode: 0o700 });
  const rootStat = lstatSync(workRoot);
  if (!rootStat.isDirectory() || (uid !== undefined && rootStat.uid !== uid)) throw new UsageError(`${workRoot} is not a folder of this user: remove it`);
  await sweepRunDirs(workRoot);
  // The empty file bound over a hidden file of a data folder (the sweep leaves it: its name is no process's).
  const emptyFile = join(workRoot, 'empty');
  try {
    writeFileSync(emptyFile, '', { mode: 0o444, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const emptyStat = lstatSync(emptyFile);
  if (!emptyStat.isFile() || emptyStat.size !== 0) throw new UsageError(`${emptyFile} is not an empty file: remove it`);
  try {
    return await verify();
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

  async function verify(): Promise<number> {
    const started = Date.now();
    const deadline = started + budgetSec * 1000;
    const total = seeds + ideas.length;
    let done = 0;
    if (!host.isolated) {
      emit({ type: 'progress', phase: 'warning', message: `runs are NOT isolated on this host (${host.info.missing.join('; ') || 'no bubblewrap'}): the ideas' code runs with your user, files and network, and data folders are linked, not read-only`, done, total });
    } else if (host.info.missing.length) {
      emit({ type: 'progress', phase: 'warning', message: `runs are isolated, but without ${host.info.missing.join('; ')}`, done, total });
    }
    const plan = planWorkspace(workspace, maxFileBytes);
    const hiding = mainUnderBoundFolder(plan, main);
    if (hiding) throw new UsageError(`the main file ${main} lies in ${hiding}, a folder bound whole into the runs (more than ${MAX_WALK_ENTRIES} entries, or deeper than ${MAX_DEPTH} levels): the ideas' code could not replace it; move the data out of that folder`);
    // The interpreter's folders are bound into each run; one that holds the workspace (.env, .git: an editable
    // install's .pth puts the project on sys.path) or the home folder is not.
    const privatePaths = [...new Set([workspace, realpathSync(workspace), ...homeFolders()])];
    const heldBack = host.isolated && python.startsWith('/') ? rootsHoldingPrivate(pythonDirs(python), privatePaths) : [];
    for (const d of heldBack) emit({ type: 'progress', phase: 'warning', message: `the interpreter's folder ${d} (on its sys.path) holds the workspace or your home folder: it is not bound into the runs; if they cannot start, pass --python another interpreter`, done, total });
    for (const l of plan.refused) emit({ type: 'progress', phase: 'warning', message: `the link ${l.rel} is not followed into the runs: ${l.why}`, done, total });
    emit({ type: 'progress', phase: 'prepare', message: `${plan.copies.length} source files copied per run (${Math.round(plan.copiedBytes / 1024)} KiB), ${plan.binds.length} data paths bound read-only; ${seeds} baseline runs and ${ideas.length} ideas on ${slots} slot${slots > 1 ? 's' : ''}`, done, total });

    // Implementations start at once (a model's answer is awaited by its run only).
    const prepared = new Map<string, Promise<Prepared>>();
    for (const idea of ideas) prepared.set(idea.id!, prepareIdea(idea as VerifyIdea & { id: string }));

    const threads = Math.max(1, Math.floor(cpus().length / slots));
    const limitsFor = (): number => Math.min(perRunSec * 1000, deadline - Date.now());
    const runOne = async (tag: string, code: string, slot: number, seed: number | undefined): Promise<RunRecord> => {
      const timeoutMs = limitsFor();
      if (abort.signal.aborted) return { seconds: 0, error: 'cancelled' };
      if (timeoutMs <= 0) return { skipped: true, seconds: 0, error: 'the time budget ran out before it started' };
      let dir: string;
      try {
        dir = await createRunDir(workRoot, tag, host.rootTmpfs ? DEFAULT_LIMITS.diskMb : undefined);
      } catch (err) {
        return { seconds: 0, error: `cannot create the run's folder: ${(err as Error).message}` };
      }
      try {
        const binds = fillRunDir(dir, workspace, plan, main, code, host.isolated, emptyFile);
        const result = await runInSandbox({
          workdir: dir,
          command: ['/bin/sh', '-c', command],
          python,
          limits: { ...DEFAULT_LIMITS, memoryMb, timeoutMs: Math.max(1, Math.floor(timeoutMs)) },
          host,
          cudaVisibleDevices: gpus?.[slot] ?? '',
          threads,
          binds,
          privatePaths,
          score: { primaryMetric: values.metric, primaryDirection: direction },
          signal: abort.signal,
          ...(seed !== undefined ? { env: seedEnv(seed) } : {}),
        });
        return { result, seconds: result.durationMs / 1000 };
      } catch (err) {
        return { seconds: 0, error: `cannot run: ${(err as Error).message}` };
      } finally {
        await removeRunDir(dir);
      }
    };

    // The queue: baseline seeds first, then the ideas; each slot takes the next job.
    type Job = { kind: 'baseline'; seed: number } | { kind: 'idea'; id: string };
    const queue: Job[] = [...Array.from({ length: seeds }, (_, i) => ({ kind: 'baseline' as const, seed: i })), ...ideas.map((i) => ({ kind: 'idea' as const, id: i.id! }))];
    const baselineRuns: RunRecord[] = new Array(seeds);
    const ideaRuns = new Map<string, { prep: Prepared; run: RunRecord }>();
    let runSeconds = 0;
    let baselineLeft = seeds;
    let baselineDone!: () => void;
    const baselineReady = new Promise<void>((r) => (baselineDone = r));
    const results: VerifyResult[] = [];
    let judge: ((id: string) => void) | undefined;
    const pendingJudgement: string[] = [];

    const worker = async (slot: number) => {
      for (;;) {
        const job = queue.shift();
        if (!job || abort.signal.aborted) return;
        if (job.kind === 'baseline') {
          emit({ type: 'progress', phase: 'baseline', event: 'started', seed: job.seed, message: `baseline run ${job.seed + 1}/${seeds} started`, done, total });
          const r = await runOne(`base-s${job.seed}`, mainCode, slot, seeds > 1 ? job.seed : undefined);
          baselineRuns[job.seed] = r;
          runSeconds += r.seconds;
          if (abort.signal.aborted) return;
          done++;
          // As the noise will count it: a run that failed or timed out has no score, whatever it printed.
          const ran = r.result && r.result.exitCode === 0 && !r.result.timedOut && !r.result.outputLimited ? scoreOf(r.result, values.metric, choice, direction) : undefined;
          const s = ran?.value ?? null;
          const why = r.error ?? (r.result?.timedOut ? 'timed out' : r.result && !ran ? failureReason(r.result) : (ran?.error ?? 'no score'));
          emit({ type: 'progress', phase: 'baseline', event: 'finished', seed: job.seed, score: s, seconds: round(r.seconds), message: `baseline run ${job.seed + 1}/${seeds} finished: ${s ?? why} (${r.seconds.toFixed(1)} s)`, done, total });
          if (--baselineLeft === 0) baselineDone();
          continue;
        }
        const prep = await prepared.get(job.id)!;
        if (abort.signal.aborted) return;
        let run: RunRecord;
        if (prep.code === undefined) run = { seconds: 0, error: prep.error };
        else {
          emit({ type: 'progress', phase: 'idea', event: 'started', idea: prep.id, message: `${prep.title}: run started`, done, total });
          run = await runOne(prep.id, prep.code, slot, seeds > 1 ? seeds : undefined);
          runSeconds += run.seconds;
          if (abort.signal.aborted) return;
        }
        done++;
        ideaRuns.set(prep.id, { prep, run });
        const message = prep.code === undefined ? `${prep.title}: ${prep.error}` : `${prep.title}: run finished (${run.seconds.toFixed(1)} s)`;
        emit({ type: 'progress', phase: 'idea', event: 'finished', idea: prep.id, seconds: round(run.seconds), message, done, total });
        if (judge) judge(prep.id);
        else pendingJudgement.push(prep.id);
      }
    };

    // Results are judged once the baseline's noise is known; ideas finished before wait for it.
    let baseline = baselineNoise([]);
    let metric: string | null = values.metric ?? null;
    let dir: Direction = direction ?? 'higher';
    const judgeIdea = (id: string) => {
      const { prep, run } = ideaRuns.get(id)!;
      // The score is printed by the run: the reward guard says when the idea's added lines could have forged it.
      const guard = prep.code !== undefined ? guardCode({ before: mainCode, after: prep.code, path: main }) : { flags: [], findings: [] };
      const base = { type: 'result' as const, idea: id, title: prep.title, noise: round(baseline.threshold), seconds: round(run.seconds), diff: prep.code !== undefined ? codeDiff(main, mainCode, prep.code) : '', via: prep.via, guardFlags: guard.flags, guard: guard.findings };
      let r: VerifyResult;
      if (!run.result) {
        r = { ...base, status: run.skipped ? 'timed_out' : 'failed', score: null, delta: null, error: run.error ?? 'not run', outputTail: '' };
      } else if (run.result.timedOut) {
        r = { ...base, status: 'timed_out', score: null, delta: null, error: `timed out after ${run.seconds.toFixed(0)} s`, outputTail: tail(run.result.output) };
      } else if (run.result.exitCode !== 0 || run.result.outputLimited) {
        r = { ...base, status: 'failed', score: null, delta: null, error: failureReason(run.result), outputTail: tail(run.result.output) };
      } else {
        const s = scoreOf(run.result, metric ?? undefined, choice, direction);
        if (s.value === null) r = { ...base, status: 'failed', score: null, delta: null, error: s.error, outputTail: tail(run.result.output) };
        else {
          const v = verifyStatus(s.value, baseline, dir);
          r = { ...base, status: v.status, score: s.value, delta: v.delta === null ? null : round(v.delta), outputTail: tail(run.result.output) };
        }
      }
      results.push(r);
      emit(r);
    };

    const workers = Array.from({ length: slots }, (_, i) => worker(i));
    const cancelled = new Promise<void>((r) => abort.signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([baselineReady, cancelled]);
    if (!abort.signal.aborted) {
      // The metric and its direction: given, else the baseline's primary (the most common name among its runs).
      const primaries = baselineRuns.map((r) => r?.result?.primary).filter((p): p is PrimaryScore => Boolean(p));
      if (!metric && primaries.length) {
        const counts = new Map<string, number>();
        for (const p of primaries) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
        metric = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
      }
      if (!direction) dir = primaries.find((p) => p.name === metric)?.direction ?? 'higher';
      baseline = baselineNoise(baselineRuns.map((r) => (r?.result && r.result.exitCode === 0 && !r.result.timedOut && !r.result.outputLimited ? scoreOf(r.result, metric ?? undefined, choice, direction).value : null)));
      if (baseline.mean === null) {
        const first = baselineRuns.find((r) => r);
        emit({ type: 'progress', phase: 'warning', message: `the unchanged workspace gave no score in ${seeds} run${seeds > 1 ? 's' : ''} (${first?.error ?? (first?.result ? scoreOf(first.result, metric ?? undefined, choice, direction).error ?? failureReason(first.result) : 'not run')}): any idea that scores counts as improved`, done, total });
      }
      for (const id of pendingJudgement.splice(0)) judgeIdea(id);
      judge = judgeIdea;
    }
    await Promise.race([Promise.all(workers), cancelled]);
    if (abort.signal.aborted) await Promise.all(workers);
    const wallSeconds = (Date.now() - started) / 1000;
    const summary: VerifySummary = {
      type: 'summary',
      ranking: rankResults(results, dir),
      metric,
      direction: dir,
      baseline: { ...baseline, std: round(baseline.std), threshold: round(baseline.threshold) },
      slots,
      wallSeconds: round(wallSeconds),
      runSeconds: round(runSeconds),
      parallelRatio: runSeconds > 0 ? round(wallSeconds / (runSeconds / slots)) : null,
      budgetSeconds: budgetSec,
      cancelled: abort.signal.aborted,
      sandbox: { isolated: host.isolated, missing: host.info.missing },
    };
    emit(summary);
    if (!json) io.stdout.write(table(results, summary) + '\n');
    return abort.signal.aborted ? 130 : 0;
  }

  async function prepareIdea(idea: VerifyIdea & { id: string }): Promise<Prepared> {
    const parsed: ParsedIdea | undefined = idea.parsed ?? (idea.raw !== undefined ? parseIdea(idea.raw) : undefined);
    const title = idea.title?.trim() || firstLine(parsed?.action ?? '') || idea.id;
    if (idea.code !== undefined) return { id: idea.id, title, via: 'code', code: idea.code };
    const impl = await implementIdea(state(), parsed!, { provider, signal: abort.signal });
    return impl.ok ? { id: idea.id, title, via: impl.via, code: impl.code } : { id: idea.id, title, via: impl.via, error: `not implemented: ${impl.error}` };
  }

  function state() {
    return IdeatorStateSchema.parse({ taskDescription: readTask(workspace), trajectory: [], score: { value: null, direction: direction ?? 'higher', ...(values.metric ? { metric: values.metric } : {}) }, code: mainCode, codePath: main });
  }
});

function readTask(workspace: string): string {
  for (const name of ['TASK.md', 'task.md']) {
    try {
      return readFileSync(join(workspace, name), 'utf8').slice(0, 20_000);
    } catch {
      // next
    }
  }
  return '';
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function table(results: VerifyResult[], s: VerifySummary): string {
  const byId = new Map(results.map((r) => [r.idea, r]));
  const b = s.baseline;
  const lines = [
    `baseline (${b.k} run${b.k > 1 ? 's' : ''}): ${s.metric ?? 'score'} ${b.mean === null ? '—' : formatScore(b.mean)}${b.k > 1 ? ` ± ${formatScore(b.threshold)} (noise)` : ''}, ${s.direction} is better`,
    ...s.ranking.map((id, i) => {
      const r = byId.get(id)!;
      const delta = r.delta === null ? '' : ` (${formatDelta(r.delta)})`;
      const flags = r.guardFlags.length ? `  (flagged: ${r.guardFlags.join(', ')})` : '';
      return `${String(i + 1).padStart(2)}. ${r.status.padEnd(12)} ${r.score === null ? '—' : formatScore(r.score)}${delta}  ${r.seconds.toFixed(1)} s  ${r.title}${flags}${r.error ? `  [${r.error.slice(0, 160)}]` : ''}`;
    }),
    `wall ${s.wallSeconds.toFixed(1)} s for ${s.runSeconds.toFixed(1)} s of runs on ${s.slots} slot${s.slots > 1 ? 's' : ''}${s.parallelRatio !== null ? ` (ratio ${s.parallelRatio.toFixed(3)})` : ''}${s.cancelled ? '; cancelled' : ''}${s.sandbox.isolated ? '' : '; runs NOT isolated'}`,
  ];
  return lines.join('\n');
}
