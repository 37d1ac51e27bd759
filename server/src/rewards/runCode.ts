/**
 * One program run the way the reward pipeline judges it: a fresh workdir holding the task's public data, the
 * code written to its file, the sandboxed run, then the score — the task's grader on ./submission.csv when there is
 * a task, else the primary metric the run printed. Used for C_{t+1} (the idea's code) and for C_t (the baseline),
 * so p_t and p_{t+1} are always measured the same way.
 */
import { cpSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdeatorState } from '../../../src/core/protocol';
import type { RunStage } from '../../../src/core/rewards';
import { homeFolders } from '../exec/isolation';
import { runInSandbox, type SandboxResult } from '../exec/sandbox';
import { createRunDir, removeRunDir } from '../exec/runDirs';
import { gradeSubmission } from '../tasks/grade';
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/layout';
import { TaskCatalog, type ReadyTask } from './taskCatalog';
import type { EvalEnv, Slot } from './env';

export interface CodeRun {
  /** The sandbox result; undefined only if the run never started. */
  run: SandboxResult;
  timedOut: boolean;
  /** Ran to exit code 0 within its limits. */
  ok: boolean;
  /** The score, or null (failed run, no submission, invalid submission, no metric printed). */
  score: number | null;
  /** Why there is no score. */
  error?: string;
  stages: RunStage[];
  timeoutSec: number;
}

function startedRunning(run: SandboxResult): boolean {
  if (run.exitCode === 0) return true;
  // Anything printed before a traceback means the program got past start-up.
  const firstLines = run.outputHead.split('\n').filter((l) => l.trim() !== '');
  return firstLines.length > 0 && !/^Traceback|^\s*File "/.test(firstLines[0]);
}

export function failureReason(run: SandboxResult): string {
  if (run.setupFailed) return `sandbox set-up failed: ${run.output.trim().split('\n').pop()}`;
  if (run.outputLimited) return 'output limit exceeded: the run was killed';
  if (run.memoryExceeded) return 'memory limit exceeded';
  if (run.processesLimited && run.exitCode !== 0) return `process limit reached (exit ${run.exitCode ?? run.signal})`;
  const last = run.outputTail.trim().split('\n').pop() ?? '';
  return run.exitCode === null ? `killed by ${run.signal}` : `exit code ${run.exitCode}${last ? `: ${last.slice(0, 300)}` : ''}`;
}

export async function runCode(opts: {
  code: string;
  codePath: string;
  /** Names the workdir (debugging); not a path. */
  tag: string;
  state: IdeatorState;
  ready: ReadyTask | undefined;
  timeoutSec: number | undefined;
  env: EvalEnv;
  slot: Slot;
  signal?: AbortSignal;
  /** The run's seed, given to it as IDEATOR_SEED and PYTHONHASHSEED; undefined = neither is set. */
  seed?: number;
}): Promise<CodeRun> {
  const { env, ready, state } = opts;
  const asked = opts.timeoutSec ?? env.defaultTimeoutSec ?? ready?.task.solutionTimeoutSec ?? env.limits.timeoutMs / 1000;
  // The server's cap wins over any client-chosen time limit.
  const timeoutSec = env.maxTimeoutSec ? Math.min(asked, env.maxTimeoutSec) : asked;
  const host = env.sandbox;
  let workdir: string;
  try {
    workdir = await createRunDir(env.workRoot, opts.tag, host.rootTmpfs ? env.limits.diskMb : undefined);
  } catch (err) {
    throw new Error(`cannot create the run's workdir: ${(err as Error).message}`);
  }
  try {
    // The public data is bound in read-only under the sandbox; without one it is copied (a run must not damage it).
    if (ready && host.isolated) mkdirSync(join(workdir, DATA_SUBDIR));
    else if (ready) cpSync(ready.publicDir, join(workdir, DATA_SUBDIR), { recursive: true });
    writeFileSync(join(workdir, opts.codePath), opts.code);
    const run = await runInSandbox({
      workdir,
      command: [env.python, opts.codePath],
      python: env.python,
      limits: { ...env.limits, timeoutMs: timeoutSec * 1000 },
      host,
      cudaVisibleDevices: opts.slot.cudaVisibleDevices,
      threads: opts.slot.threads,
      binds: ready && host.isolated ? [{ host: ready.publicDir, inside: DATA_SUBDIR }] : [],
      // An interpreter folder holding the task (its answers), the other runs' folders or the home folder is not
      // bound whole (e.g. an editable install of a checkout that holds the tasks and their prepared data).
      privatePaths: [...(ready ? TaskCatalog.hiddenPaths(ready) : []), env.workRoot, ...homeFolders()],
      score: { primaryMetric: state.score.metric, primaryDirection: ready ? undefined : state.score.direction },
      signal: opts.signal,
      ...(opts.seed !== undefined ? { env: seedEnv(opts.seed) } : {}),
    });
    const stages: RunStage[] = [];
    if (startedRunning(run)) stages.push('started');
    if (run.metrics.length) stages.push('metric');
    const base = { run, stages, timeoutSec, timedOut: run.timedOut };
    if (run.aborted) return { ...base, ok: false, score: null, error: 'aborted' };
    if (run.timedOut) return { ...base, ok: false, score: null, error: `timed out after ${timeoutSec} s` };
    if (run.exitCode !== 0 || run.outputLimited) return { ...base, ok: false, score: null, error: failureReason(run) };
    if (ready) {
      const submission = join(workdir, SUBMISSION_FILE);
      if (!exists(submission)) return { ...base, ok: true, score: null, error: `no ${SUBMISSION_FILE} was written` };
      stages.push('submission');
      // The grader reads it as a regular file only (no symlink to the answers, /proc or /dev/zero), in its own sandbox.
      const grade = await gradeSubmission(ready.task, submission, { python: env.python, dataDir: ready.dataDir, host });
      return grade.valid
        ? { ...base, ok: true, score: grade.score }
        : { ...base, ok: true, score: null, error: `invalid submission: ${grade.reason ?? 'rejected by the grader'}` };
    }
    // The score comes from the run's output: an output the server could not read whole (its capture thread stopped
    // mid-run) is no evidence either way, so the evaluation fails as the server's fault, not the code's.
    if (run.captureIncomplete) throw new Error(`the server could not read all of the run's output (${run.captureIncomplete}); the run is not scored`);
    if (run.primary?.diverged) {
      return { ...base, ok: true, score: null, error: `the metric '${run.primary.name}' diverged (NaN/inf printed after ${run.primary.value})` };
    }
    if (run.primary) {
      stages.push('submission');
      return { ...base, ok: true, score: run.primary.value };
    }
    return { ...base, ok: true, score: null, error: state.score.metric ? `the run never printed the metric '${state.score.metric}'` : 'the run printed no score' };
  } finally {
    if (!env.keepWorkdirs) {
      const r = await removeRunDir(workdir);
      if (!r.removed) env.log?.(`cannot remove the work folder of ${opts.tag}: ${r.error}${r.quarantined ? ` (moved to ${r.quarantined})` : ''}`);
    }
  }
}

/**
 * What a seeded run sees (the noise-aware reward, baseline.ts): IDEATOR_SEED for the code to seed its random split,
 * its model and its libraries from, and PYTHONHASHSEED so set/dict orders follow it too.
 */
export function seedEnv(seed: number): Record<string, string> {
  return { IDEATOR_SEED: String(seed), PYTHONHASHSEED: String(seed) };
}

/** Present, without following a symlink (a dangling link to the answers still counts as written, and is refused). */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
