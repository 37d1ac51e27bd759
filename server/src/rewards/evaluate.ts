/**
 * One idea through the reward pipeline (paper §3.2): format check (−1 without executing) → implementer writes
 * C_{t+1} in one step → sandboxed run in a fresh workdir holding the task's public data → score from the task's
 * grader on submission.csv (or, with no task, the primary metric the run printed) → outcome status → reward.
 */
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseIdea } from '../../../src/core/idea';
import type { Direction, IdeatorState, RewardScheme, RewardStatus } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import { computeReward, outcomeStatus, type RunStage } from '../../../src/core/rewards';
import type { IsolationInfo } from '../exec/isolation';
import { runInSandbox, type SandboxLimits, type SandboxResult } from '../exec/sandbox';
import { createRunDir, removeRunDir } from '../exec/workdir';
import { codeDiff, implementIdea } from '../implementer';
import type { IdeaOutcome } from '../jobs/store';
import { gradeSubmission } from '../tasks/grade';
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/workdir';
import { TaskCatalog, type ReadyTask } from './taskCatalog';

export interface EvalEnv {
  catalog: TaskCatalog;
  /** Interpreter for the idea's code (absolute, or a name on PATH). */
  python: string;
  isolation: IsolationInfo;
  limits: SandboxLimits;
  /** Per-idea wall-clock limit when the request names none; else the task's, else limits.timeoutMs. */
  defaultTimeoutSec?: number;
  /** Parent of the per-run workdirs. */
  workRoot: string;
  /** Extra folders no run may see (the job store). */
  hide: string[];
  implementer?: Provider;
  keepWorkdirs?: boolean;
}

export interface Slot {
  /** CUDA_VISIBLE_DEVICES for runs in this slot ('' = no GPU). */
  cudaVisibleDevices: string;
  threads: number;
}

export interface IdeaInput {
  key: string;
  state: IdeatorState;
  raw: string;
  scheme: RewardScheme;
  task: string | undefined;
  timeoutSec: number | undefined;
}

/** The run was cancelled (worker shutting down): not an outcome, the idea goes back to the queue. */
export class EvaluationAborted extends Error {
  constructor() {
    super('evaluation aborted');
    this.name = 'EvaluationAborted';
  }
}

const TAIL_CHARS = 4000;

/** The code file name inside the workdir: the base name of the state's codePath (a path cannot escape it). */
export function safeCodePath(codePath: string): string {
  const name = basename(codePath.replace(/\\/g, '/'));
  return name && name !== '.' && name !== '..' ? name : 'solution.py';
}

function startedRunning(run: SandboxResult): boolean {
  if (run.exitCode === 0) return true;
  // Anything printed before a traceback means the program got past start-up.
  const firstLines = run.outputHead.split('\n').filter((l) => l.trim() !== '');
  return firstLines.length > 0 && !/^Traceback|^\s*File "/.test(firstLines[0]);
}

function failureReason(run: SandboxResult): string {
  if (run.setupFailed) return `sandbox set-up failed: ${run.output.trim().split('\n').pop()}`;
  if (run.outputLimited) return 'output limit exceeded: the run was killed';
  if (run.memoryExceeded) return 'memory limit exceeded';
  const last = run.outputTail.trim().split('\n').pop() ?? '';
  return run.exitCode === null ? `killed by ${run.signal}` : `exit code ${run.exitCode}${last ? `: ${last.slice(0, 300)}` : ''}`;
}

/** The outcome of an idea that fails the paper's format check: −1 (scheme-dependent) without executing anything. */
export function formatErrorOutcome(state: IdeatorState, raw: string, scheme: RewardScheme): IdeaOutcome | undefined {
  const parsed = parseIdea(raw);
  if (parsed.ok) return undefined;
  const { value, direction } = state.score;
  return {
    reward: computeReward(scheme, { status: 'format_error', before: value, after: null, direction }),
    status: 'format_error',
    scoreBefore: value,
    scoreAfter: null,
    durationMs: 0,
    outputTail: '',
    codeDiff: '',
    formatErrors: parsed.errors,
    error: FORMAT_ERROR,
  };
}

const FORMAT_ERROR = 'the idea does not follow the ANALYSIS / ACTION / RATIONALE format';

export async function evaluateIdea(input: IdeaInput, env: EvalEnv, slot: Slot, signal?: AbortSignal): Promise<IdeaOutcome> {
  const t0 = Date.now();
  const { state } = input;
  const before = state.score.value;
  const parsed = parseIdea(input.raw);
  let direction: Direction = state.score.direction;

  const finish = (o: {
    status: RewardStatus;
    after?: number | null;
    stages?: RunStage[];
    outputTail?: string;
    codeDiff?: string;
    error?: string;
  }): IdeaOutcome => {
    const after = o.after ?? null;
    return {
      reward: computeReward(input.scheme, { status: o.status, before, after, direction, stages: o.stages }),
      status: o.status,
      scoreBefore: before,
      scoreAfter: after,
      durationMs: Date.now() - t0,
      outputTail: (o.outputTail ?? '').slice(-TAIL_CHARS),
      codeDiff: o.codeDiff ?? '',
      formatErrors: parsed.errors,
      ...(o.error ? { error: o.error } : {}),
    };
  };

  if (!parsed.ok) return finish({ status: 'format_error', error: FORMAT_ERROR });

  let ready: ReadyTask | undefined;
  if (input.task) {
    try {
      ready = await env.catalog.ready(input.task);
      direction = ready.task.direction;
    } catch (err) {
      return finish({ status: 'exec_failed', error: `task '${input.task}' unavailable: ${(err as Error).message}` });
    }
  }

  const impl = await implementIdea(state, parsed, { provider: env.implementer, signal });
  if (signal?.aborted) throw new EvaluationAborted();
  if (!impl.ok) return finish({ status: 'exec_failed', error: impl.error });
  const codePath = safeCodePath(state.codePath);
  const diff = codeDiff(codePath, state.code, impl.code);
  const stages: RunStage[] = ['implemented'];

  const workdir = createRunDir(env.workRoot, input.key.slice(0, 12));
  try {
    if (ready) cpSync(ready.publicDir, join(workdir, DATA_SUBDIR), { recursive: true });
    writeFileSync(join(workdir, codePath), impl.code);
    const timeoutSec = input.timeoutSec ?? env.defaultTimeoutSec ?? ready?.task.solutionTimeoutSec;
    const run = await runInSandbox({
      workdir,
      command: [env.python, codePath],
      limits: { ...env.limits, timeoutMs: timeoutSec !== undefined ? timeoutSec * 1000 : env.limits.timeoutMs },
      isolation: env.isolation,
      cudaVisibleDevices: slot.cudaVisibleDevices,
      threads: slot.threads,
      hide: [...env.hide, ...(ready ? TaskCatalog.hiddenPaths(ready) : [])],
      score: { primaryMetric: state.score.metric, primaryDirection: ready ? undefined : state.score.direction },
      signal,
    });
    if (run.aborted) throw new EvaluationAborted();
    if (startedRunning(run)) stages.push('started');
    if (run.metrics.length) stages.push('metric');
    const common = { stages, outputTail: run.output, codeDiff: diff };
    if (run.timedOut) return finish({ ...common, status: 'timeout', error: `timed out after ${timeoutSec ?? env.limits.timeoutMs / 1000} s` });
    if (run.exitCode !== 0 || run.outputLimited) return finish({ ...common, status: 'exec_failed', error: failureReason(run) });

    let after: number | null = null;
    let error: string | undefined;
    if (ready) {
      const submission = join(workdir, SUBMISSION_FILE);
      if (!existsSync(submission)) error = `no ${SUBMISSION_FILE} was written`;
      else {
        stages.push('submission');
        const grade = await gradeSubmission(ready.task, submission, { python: env.python, dataDir: ready.dataDir });
        if (grade.valid) after = grade.score;
        else error = `invalid submission: ${grade.reason ?? 'rejected by the grader'}`;
      }
    } else {
      const primary = run.primary;
      if (primary) {
        stages.push('submission');
        after = primary.value;
      } else error = state.score.metric ? `the run never printed the metric '${state.score.metric}'` : 'the run printed no score';
    }
    const status = outcomeStatus({ formatOk: true, failed: after === null, before, after, direction });
    return finish({ ...common, status, after, error });
  } finally {
    if (!env.keepWorkdirs) removeRunDir(workdir);
  }
}
