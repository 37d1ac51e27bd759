/**
 * The verification itself (#16), one definition for `ideator verify` (its workspace on this machine) and the
 * companion server (POST /v1/rewards with an uploaded workspace): the baseline's k seeded runs and one run per idea
 * in the sandbox, K slots at once inside a time budget, each run's folder filled from the workspace plan
 * (verify/workspace.ts), results judged against the baseline's noise and emitted as core/verify.ts VerifyEvents.
 */
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { formatDelta, formatScore } from '../../../src/core/format';
import { parseIdea } from '../../../src/core/idea';
import { guardCode } from '../../../src/core/rewardGuard';
import { IdeatorStateSchema, type Direction, type Metric, type ParsedIdea, type PrimaryScore } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import { runScore, type ScoreChoice } from '../../../src/core/metric';
import { baselineNoise } from '../../../src/core/rewards';
import { rankResults, verifyStatus, type VerifyEvent, type VerifyIdea, type VerifyResult, type VerifySummary } from '../../../src/core/verify';
import { pythonDirs, rootsHoldingPrivate, type SandboxHost } from '../exec/isolation';
import { assertSafeRoot, createRunDir, removeRunDir, sweepRunDirs } from '../exec/runDirs';
import { DEFAULT_LIMITS, runInSandbox, type SandboxResult } from '../exec/sandbox';
import { codeDiff, implementIdea } from '../implementer/index';
import { failureReason, seedEnv } from '../rewards/runCode';
import { fillRunDir, mainUnderBoundFolder, MAX_DEPTH, MAX_WALK_ENTRIES, type WorkspacePlan } from './workspace';

/** One verification: what runs, where its files come from, and its limits. */
export interface VerifyRun {
  /** The folder the plan's copies are read from (the workspace, or an uploaded copy of its source files). */
  sourceDir: string;
  plan: WorkspacePlan;
  /** The file the ideas change (relative to the workspace) and its current text. */
  main: string;
  mainCode: string;
  /** Run by /bin/sh in each run's folder. */
  command: string;
  ideas: (VerifyIdea & { id: string })[];
  metric?: string;
  direction?: Direction;
  choice: ScoreChoice;
  slots: number;
  gpus?: string[];
  budgetSec: number;
  perRunSec: number;
  seeds: number;
  memoryMb: number;
  python: string;
  /** Implements ideas carrying no code. */
  provider?: Provider;
  /** TASK.md of the workspace, for the implementer. */
  taskDescription: string;
  host: SandboxHost;
  /** Where run folders are made (verifyWorkRoot) and the empty file masks are bound from. */
  workRoot: string;
  emptyFile: string;
  /** Folders no bind may expose (the workspace, the home folder, a server's store). */
  privatePaths: string[];
  signal: AbortSignal;
  emit: (e: VerifyEvent) => void;
  /**
   * A server's shared slots: resolves once one is free (rejects when the signal aborts) to its release and, on a GPU
   * server, the GPU that slot owns (CUDA_VISIBLE_DEVICES of the run).
   */
  acquireSlot?: (signal: AbortSignal) => Promise<{ release: () => void; gpu?: string }>;
}

/**
 * Makes (or checks) the root of run folders: owned by this user, leftovers of killed verifications swept, with the
 * empty read-only file bound over hidden files of data folders. Returns that file's path.
 */
export async function prepareVerifyRoot(workRoot: string): Promise<string> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  assertSafeRoot(workRoot);
  mkdirSync(workRoot, { recursive: true, mode: 0o700 });
  const rootStat = lstatSync(workRoot);
  if (!rootStat.isDirectory() || (uid !== undefined && rootStat.uid !== uid)) throw new VerifySetupError(`${workRoot} is not a folder of this user: remove it`);
  await sweepRunDirs(workRoot);
  // The empty file bound over a hidden file of a data folder (the sweep leaves it: its name is no process's).
  const emptyFile = join(workRoot, 'empty');
  try {
    writeFileSync(emptyFile, '', { mode: 0o444, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const emptyStat = lstatSync(emptyFile);
  if (!emptyStat.isFile() || emptyStat.size !== 0) throw new VerifySetupError(`${emptyFile} is not an empty file: remove it`);
  return emptyFile;
}

/** The verification cannot start (its message is one line for the user). */
export class VerifySetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifySetupError';
  }
}

/** The main file lies in a folder bound whole: the ideas' code could not replace it. */
export function assertMainReplaceable(plan: WorkspacePlan, main: string): void {
  const hiding = mainUnderBoundFolder(plan, main);
  if (hiding) throw new VerifySetupError(`the main file ${main} lies in ${hiding}, a folder bound whole into the runs (more than ${MAX_WALK_ENTRIES} entries, or deeper than ${MAX_DEPTH} levels): the ideas' code could not replace it; move the data out of that folder`);
}

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

/**
 * The score of a run under `metric` (its primary when the name matches, else that metric), its last or its best value
 * as `choice` says (core/metric.ts runScore, the one definition the editor's history judges by).
 */
export function scoreOf(run: SandboxResult, metric: string | undefined, choice: ScoreChoice, direction: Direction | undefined): { value: number | null; error?: string } {
  // Output the server could not read whole (its capture thread stopped mid-run) gives no score to trust.
  if (run.captureIncomplete) return { value: null, error: `part of the run's output was not read (${run.captureIncomplete}); not scored` };
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
/** Runs the baseline and the ideas; emits progress, one result per idea and the summary (also returned). */
export async function runVerification(o: VerifyRun): Promise<{ summary: VerifySummary; results: VerifyResult[] }> {
  assertMainReplaceable(o.plan, o.main);
  const { sourceDir, plan, main, mainCode, command, ideas, choice, direction, slots, gpus, budgetSec, perRunSec, seeds, memoryMb, python, host, workRoot, emptyFile, privatePaths, signal, emit } = o;
  {
    const started = Date.now();
    const deadline = started + budgetSec * 1000;
    const total = seeds + ideas.length;
    let done = 0;
    if (!host.isolated) {
      emit({ type: 'progress', phase: 'warning', message: `runs are NOT isolated on this host (${host.info.missing.join('; ') || 'no bubblewrap'}): the ideas' code runs with your user, files and network, and data folders are linked, not read-only`, done, total });
    } else if (host.info.missing.length) {
      emit({ type: 'progress', phase: 'warning', message: `runs are isolated, but without ${host.info.missing.join('; ')}`, done, total });
    }
    // The interpreter's folders are bound into each run; one that holds the workspace (.env, .git: an editable
    // install's .pth puts the project on sys.path) or the home folder is not.
    const heldBack = host.isolated && python.startsWith('/') ? rootsHoldingPrivate(pythonDirs(python), privatePaths) : [];
    for (const d of heldBack) emit({ type: 'progress', phase: 'warning', message: `the interpreter's folder ${d} (on its sys.path) holds the workspace or your home folder: it is not bound into the runs; if they cannot start, pass --python another interpreter`, done, total });
    for (const l of plan.refused) emit({ type: 'progress', phase: 'warning', message: `the link ${l.rel} is not followed into the runs: ${l.why}`, done, total });
    emit({ type: 'progress', phase: 'prepare', message: `${plan.copies.length} source files copied per run (${Math.round(plan.copiedBytes / 1024)} KiB), ${plan.binds.length} data paths bound read-only; ${seeds} baseline runs and ${ideas.length} ideas on ${slots} slot${slots > 1 ? 's' : ''}`, done, total });

    // Implementations start at once (a model's answer is awaited by its run only).
    const prepared = new Map<string, Promise<Prepared>>();
    for (const idea of ideas) prepared.set(idea.id, prepareIdea(o, idea));

    const threads = Math.max(1, Math.floor(cpus().length / slots));
    const limitsFor = (): number => Math.min(perRunSec * 1000, deadline - Date.now());
    const runOne = async (tag: string, code: string, slot: number, seed: number | undefined): Promise<RunRecord> => {
      const timeoutMs = limitsFor();
      if (signal.aborted) return { seconds: 0, error: 'cancelled' };
      if (timeoutMs <= 0) return { skipped: true, seconds: 0, error: 'the time budget ran out before it started' };
      // A server shares its slots among every verification it runs: wait for one (the budget keeps counting).
      const held = o.acquireSlot ? await o.acquireSlot(signal).catch(() => undefined) : { release: () => undefined, gpu: gpus?.[slot] };
      if (!held) return { seconds: 0, error: 'cancelled' };
      try {
        return await runIn(tag, code, held.gpu ?? '', seed);
      } finally {
        held.release();
      }
    };
    const runIn = async (tag: string, code: string, gpu: string, seed: number | undefined): Promise<RunRecord> => {
      const timeoutMs = limitsFor();
      if (signal.aborted) return { seconds: 0, error: 'cancelled' };
      if (timeoutMs <= 0) return { skipped: true, seconds: 0, error: 'the time budget ran out before it started' };
      let dir: string;
      try {
        dir = await createRunDir(workRoot, tag, host.rootTmpfs ? DEFAULT_LIMITS.diskMb : undefined);
      } catch (err) {
        return { seconds: 0, error: `cannot create the run's folder: ${(err as Error).message}` };
      }
      try {
        const binds = fillRunDir(dir, sourceDir, plan, main, code, host.isolated, emptyFile);
        const result = await runInSandbox({
          workdir: dir,
          command: ['/bin/sh', '-c', command],
          python,
          limits: { ...DEFAULT_LIMITS, memoryMb, timeoutMs: Math.max(1, Math.floor(timeoutMs)) },
          host,
          cudaVisibleDevices: gpu,
          threads,
          binds,
          privatePaths,
          score: { primaryMetric: o.metric, primaryDirection: direction },
          signal: signal,
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
    const queue: Job[] = [...Array.from({ length: seeds }, (_, i) => ({ kind: 'baseline' as const, seed: i })), ...ideas.map((i) => ({ kind: 'idea' as const, id: i.id }))];
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
        if (!job || signal.aborted) return;
        if (job.kind === 'baseline') {
          emit({ type: 'progress', phase: 'baseline', event: 'started', seed: job.seed, message: `baseline run ${job.seed + 1}/${seeds} started`, done, total });
          const r = await runOne(`base-s${job.seed}`, mainCode, slot, seeds > 1 ? job.seed : undefined);
          baselineRuns[job.seed] = r;
          runSeconds += r.seconds;
          if (signal.aborted) return;
          done++;
          // As the noise will count it: a run that failed or timed out has no score, whatever it printed.
          const ran = r.result && r.result.exitCode === 0 && !r.result.timedOut && !r.result.outputLimited ? scoreOf(r.result, o.metric, choice, direction) : undefined;
          const s = ran?.value ?? null;
          const why = r.error ?? (r.result?.timedOut ? 'timed out' : r.result && !ran ? failureReason(r.result) : (ran?.error ?? 'no score'));
          emit({ type: 'progress', phase: 'baseline', event: 'finished', seed: job.seed, score: s, seconds: round(r.seconds), message: `baseline run ${job.seed + 1}/${seeds} finished: ${s ?? why} (${r.seconds.toFixed(1)} s)`, done, total });
          if (--baselineLeft === 0) baselineDone();
          continue;
        }
        const prep = await prepared.get(job.id)!;
        if (signal.aborted) return;
        let run: RunRecord;
        if (prep.code === undefined) run = { seconds: 0, error: prep.error };
        else {
          emit({ type: 'progress', phase: 'idea', event: 'started', idea: prep.id, message: `${prep.title}: run started`, done, total });
          run = await runOne(prep.id, prep.code, slot, seeds > 1 ? seeds : undefined);
          runSeconds += run.seconds;
          if (signal.aborted) return;
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
    // Until judged: k runs without a score (a summary after a cancel before the first baseline run ended is still valid).
    let baseline = baselineNoise(new Array<number | null>(seeds).fill(null));
    let metric: string | null = o.metric ?? null;
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
    const cancelled = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([baselineReady, cancelled]);
    if (!signal.aborted) {
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
    if (signal.aborted) await Promise.all(workers);
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
      cancelled: signal.aborted,
      sandbox: { isolated: host.isolated, missing: host.info.missing },
    };
    emit(summary);
    return { summary, results };
  }
}


async function prepareIdea(o: VerifyRun, idea: VerifyIdea & { id: string }): Promise<Prepared> {
  const parsed: ParsedIdea | undefined = idea.parsed ?? (idea.raw !== undefined ? parseIdea(idea.raw) : undefined);
  const title = idea.title?.trim() || firstLine(parsed?.action ?? '') || idea.id;
  if (idea.code !== undefined) return { id: idea.id, title, via: 'code', code: idea.code };
  const state = IdeatorStateSchema.parse({ taskDescription: o.taskDescription, trajectory: [], score: { value: null, direction: o.direction ?? 'higher', ...(o.metric ? { metric: o.metric } : {}) }, code: o.mainCode, codePath: o.main });
  const impl = await implementIdea(state, parsed!, { provider: o.provider, signal: o.signal });
  return impl.ok ? { id: idea.id, title, via: impl.via, code: impl.code } : { id: idea.id, title, via: impl.via, error: `not implemented: ${impl.error}` };
}

export function readTask(workspace: string): string {
  for (const name of ['TASK.md', 'task.md']) {
    try {
      return readFileSync(join(workspace, name), 'utf8').slice(0, 20_000);
    } catch {
      // next
    }
  }
  return '';
}

export function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

export function verifyTable(results: VerifyResult[], s: VerifySummary): string {
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

