/**
 * One program run the way the reward pipeline judges it: a fresh workdir holding the task's public data, the
 * code written to its file, the sandboxed run, then the score — the task's grader on ./submission.csv when there is
 * a task, else the primary metric the run printed. Used for C_{t+1} (the idea's code) and for C_t (the baseline),
 * so p_t and p_{t+1} are always measured the same way.
 */
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdeatorState } from '../../../src/core/protocol';
import type { RunStage } from '../../../src/core/rewards';
import { runInSandbox, type SandboxResult } from '../exec/sandbox';
import { createRunDir, removeRunDir } from '../exec/workdir';
import { gradeSubmission } from '../tasks/grade';
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/workdir';
import { TaskCatalog, type ReadyTask } from './taskCatalog';
import type { EvalEnv, Slot } from './evaluate';

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
}): Promise<CodeRun> {
  const { env, ready, state } = opts;
  const timeoutSec = opts.timeoutSec ?? env.defaultTimeoutSec ?? ready?.task.solutionTimeoutSec ?? env.limits.timeoutMs / 1000;
  const workdir = createRunDir(env.workRoot, opts.tag);
  try {
    if (ready) cpSync(ready.publicDir, join(workdir, DATA_SUBDIR), { recursive: true });
    writeFileSync(join(workdir, opts.codePath), opts.code);
    const run = await runInSandbox({
      workdir,
      command: [env.python, opts.codePath],
      limits: { ...env.limits, timeoutMs: timeoutSec * 1000 },
      isolation: env.isolation,
      cudaVisibleDevices: opts.slot.cudaVisibleDevices,
      threads: opts.slot.threads,
      hide: [...env.hide, ...(ready ? TaskCatalog.hiddenPaths(ready) : [])],
      score: { primaryMetric: state.score.metric, primaryDirection: ready ? undefined : state.score.direction },
      signal: opts.signal,
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
      if (!existsSync(submission)) return { ...base, ok: true, score: null, error: `no ${SUBMISSION_FILE} was written` };
      stages.push('submission');
      const grade = await gradeSubmission(ready.task, submission, { python: env.python, dataDir: ready.dataDir });
      return grade.valid
        ? { ...base, ok: true, score: grade.score }
        : { ...base, ok: true, score: null, error: `invalid submission: ${grade.reason ?? 'rejected by the grader'}` };
    }
    if (run.primary?.diverged) {
      return { ...base, ok: true, score: null, error: `the metric '${run.primary.name}' diverged (NaN/inf printed after ${run.primary.value})` };
    }
    if (run.primary) {
      stages.push('submission');
      return { ...base, ok: true, score: run.primary.value };
    }
    return { ...base, ok: true, score: null, error: state.score.metric ? `the run never printed the metric '${state.score.metric}'` : 'the run printed no score' };
  } finally {
    if (!env.keepWorkdirs) removeRunDir(workdir);
  }
}
