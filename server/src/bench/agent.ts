/**
 * One implementer run on one task: the CodeAct loop. Each turn the implementer model answers with one action;
 * bash and Python run in the run's workdir, seek_help goes to the Ideator (when the configuration has one) with
 * the paper's state s_t = (task, trajectory, p_t, C_t), submit ends the run. Whenever ./submission.csv changes
 * it is graded (never shown to the agent: that would leak the test labels), which gives the best-so-far curve;
 * the run's score is the grade of the final submission, as in MLE-bench.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { draftQuery } from '../../../src/core/query';
import { extractScores } from '../../../src/core/scores';
import type { ChatMessage, GradeResult, IdeatorState, ScoreState, SeekHelpQuery, Step, Usage } from '../../../src/core/protocol';
import type { Provider } from '../../../src/core/providers/types';
import { gradeSubmission } from '../tasks/grade';
import type { Task } from '../tasks/loader';
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/workdir';
import { noActionObservation, parseAction, type Action } from './actions';
import { runBash } from './bash';
import { implementerMessages } from './prompt';
import { PythonSession } from './pythonSession';
import { bareSandbox, type AgentSandbox } from './sandbox';
import type { PoolRow, RunResult, StepRow } from './store';
import { truncateMiddle } from './truncate';

/** What the loop needs from an Ideator: a raw answer for a state (prompting and parsing live elsewhere). */
export interface IdeatorClient {
  readonly label: string;
  ask(state: IdeatorState, signal?: AbortSignal): Promise<{ raw: string; text: string; ok: boolean; usage?: Usage; ideaType?: string }>;
  /** The implementer's <seek_help> body as a query (PROBLEM_STATEMENT / ATTEMPTS_SO_FAR / GOAL); null if unparseable. */
  parseQuery(text: string): SeekHelpQuery | null;
  renderQuery(query: SeekHelpQuery): string;
}

export interface AgentLimits {
  maxSteps: number;
  timeLimitSec: number;
  actionTimeoutSec: number;
  observationChars: number;
  /** Older observations are cut to this many characters in the implementer's context (the newest stay whole). */
  oldObservationChars: number;
  keepRecentSteps: number;
}

export const DEFAULT_LIMITS: AgentLimits = {
  maxSteps: 50,
  timeLimitSec: 3600,
  actionTimeoutSec: 600,
  observationChars: 10_000,
  oldObservationChars: 1_500,
  keepRecentSteps: 8,
};

export interface Prices {
  /** USD per million tokens. */
  implementerIn: number;
  implementerOut: number;
  ideatorIn: number;
  ideatorOut: number;
}

export interface AgentRunOptions {
  runId: string;
  task: Task;
  config: string;
  workdir: string;
  python: string;
  dataDir?: string;
  implementer: Provider;
  ideator: IdeatorClient | null;
  limits: AgentLimits;
  prices: Prices;
  promptsDir?: string;
  onStep: (step: StepRow) => void;
  onPool: (row: PoolRow) => void;
  onPoolOutcome: (id: string, after: number | null, improved: boolean | null) => void;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Where actions run: confined, with the clean environment (sandbox.ts); default: no sandbox, clean environment. */
  sandbox?: AgentSandbox;
}

function fileHash(file: string): string | null {
  if (!existsSync(file)) return null;
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** C_t: the newest .py file the agent wrote in its workdir, else the Python it ran, newest last. */
function currentCode(workdir: string, cells: string[]): { code: string; path: string } {
  let newest: { file: string; mtime: number } | undefined;
  const walk = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) {
        if (depth < 2 && name !== DATA_SUBDIR && !name.startsWith('.') && name !== '__pycache__') walk(full, depth + 1);
      } else if (name.endsWith('.py') && (!newest || st.mtimeMs > newest.mtime)) newest = { file: full, mtime: st.mtimeMs };
    }
  };
  walk(workdir, 0);
  if (newest) return { code: readFileSync(newest.file, 'utf8'), path: relative(workdir, newest.file) };
  return { code: cells.join('\n\n# ---- next cell ----\n\n').slice(-40_000), path: 'session.py' };
}

function actionText(a: Action, query?: string): string {
  switch (a.kind) {
    case 'bash':
    case 'python':
      return a.code;
    case 'seek_help':
      return query ?? a.text;
    case 'submit':
      return '<submit/>';
    case 'none':
      return `(no action: ${a.reason})`;
  }
}

export async function runAgent(o: AgentRunOptions): Promise<RunResult> {
  const started = Date.now();
  const deadline = started + o.limits.timeLimitSec * 1000;
  const sandbox = o.sandbox ?? bareSandbox(o.workdir, o.python);
  const session = new PythonSession(o.python, sandbox);
  const messages: ChatMessage[] = implementerMessages({
    taskDescription: o.task.description,
    workdir: sandbox.inside,
    observationChars: o.limits.observationChars,
    maxSteps: o.limits.maxSteps,
    timeLimitSec: o.limits.timeLimitSec,
    actionTimeoutSec: o.limits.actionTimeoutSec,
    seekHelp: o.ideator !== null,
    promptsDir: o.promptsDir,
  });
  const trajectory: Step[] = [];
  const cells: string[] = [];
  const impl = { input: 0, output: 0 };
  const idea = { input: 0, output: 0 };
  let pScore: ScoreState = { value: null, direction: o.task.direction };
  let best = 0;
  let bestValid: number | null = null;
  let lastHash: string | null = fileHash(join(o.workdir, SUBMISSION_FILE));
  let seekHelps = 0;
  let endReason: RunResult['endReason'] = 'max_steps';
  let error: string | undefined;
  /** Seek-help answers waiting for the next valid submission to judge them. */
  const open: { id: string; before: number | null }[] = [];
  const submissionPath = join(o.workdir, SUBMISSION_FILE);

  let lastGrade: GradeResult | undefined;
  const gradeIfChanged = async (): Promise<{ valid: boolean | null; score: number | null; normalized: number | null }> => {
    const h = fileHash(submissionPath);
    if (h === null || h === lastHash) return { valid: null, score: null, normalized: null };
    lastHash = h;
    const g = await gradeSubmission(o.task, submissionPath, { python: o.python, dataDir: o.dataDir });
    lastGrade = g;
    if (g.valid && g.normalized !== null) {
      best = Math.max(best, g.normalized);
      bestValid = bestValid === null ? g.normalized : Math.max(bestValid, g.normalized);
      for (const q of open.splice(0)) o.onPoolOutcome(q.id, g.normalized, q.before === null ? true : g.normalized > q.before);
    }
    return { valid: g.valid, score: g.score, normalized: g.normalized };
  };

  let step = 0;
  try {
    for (; step < o.limits.maxSteps; step++) {
      if (o.signal?.aborted) throw new Error('aborted');
      if (Date.now() >= deadline) {
        endReason = 'time_limit';
        break;
      }
      const stepStart = Date.now();
      // A dependent signal per request: SDKs add an abort listener per call and never remove it.
      const completion = await o.implementer.complete(compactHistory(messages, o.limits), { signal: o.signal && AbortSignal.any([o.signal]) });
      const tin = completion.usage?.inputTokens ?? 0;
      const tout = completion.usage?.outputTokens ?? 0;
      impl.input += tin;
      impl.output += tout;
      messages.push({ role: 'assistant', content: completion.text });
      const action = parseAction(completion.text);
      const remainingMs = Math.max(1000, deadline - Date.now());
      const actionTimeout = Math.min(o.limits.actionTimeoutSec * 1000, remainingMs);
      let observation = '';
      let exitCode: number | null = null;
      let queryText: string | undefined;
      let stepKind: Step['kind'] = 'execute';
      let ideaTokens = { in: 0, out: 0 };

      if (action.kind === 'bash') {
        const r = await runBash(action.code, sandbox, actionTimeout);
        exitCode = r.exitCode;
        observation = `${truncateMiddle(r.output, o.limits.observationChars)}\n[exit code ${r.exitCode ?? 'none'}${r.timedOut ? ', timed out' : ''}]`;
      } else if (action.kind === 'python') {
        cells.push(action.code);
        const r = await session.run(action.code, actionTimeout);
        exitCode = r.ok ? 0 : 1;
        observation = truncateMiddle(r.output, o.limits.observationChars) || '[no output]';
        if (r.restarted) observation = `[note: the interpreter was restarted before this cell; earlier variables are gone]\n${observation}`;
      } else if (action.kind === 'seek_help') {
        stepKind = 'seek_help';
        if (!o.ideator) {
          observation = 'seek_help is not available in this configuration. Continue on your own.';
        } else {
          seekHelps++;
          // A malformed block still gets help: the query is drafted from the trajectory, the agent's words kept.
          const query = o.ideator.parseQuery(action.text) ?? {
            ...draftQuery({ trajectory, score: pScore, taskDescription: o.task.description }),
            problemStatement: action.text.trim().slice(0, 2000) || 'progress has stalled',
          };
          queryText = o.ideator.renderQuery(query);
          const code = currentCode(o.workdir, cells);
          const state: IdeatorState = {
            id: `${o.runId}#${step}`,
            taskId: o.task.id,
            taskDescription: o.task.description,
            trajectory: [...trajectory],
            score: pScore,
            code: code.code,
            codePath: code.path,
            query,
          };
          let answer: Awaited<ReturnType<IdeatorClient['ask']>> | undefined;
          try {
            answer = await o.ideator.ask(state, o.signal && AbortSignal.any([o.signal]));
          } catch (err) {
            // An unreachable Ideator must not end the implementer's run: it is told and carries on alone.
            if (o.signal?.aborted) throw err;
            o.log(`ideator error: ${(err as Error).message}`);
          }
          if (!answer) {
            observation = 'The advisor could not be reached this time. Continue on your own.';
          } else {
            ideaTokens = { in: answer.usage?.inputTokens ?? 0, out: answer.usage?.outputTokens ?? 0 };
            idea.input += ideaTokens.in;
            idea.output += ideaTokens.out;
            observation = answer.text;
            const poolId = randomUUID();
            o.onPool({
              id: poolId,
              runId: o.runId,
              stepIdx: step,
              task: o.task.id,
              config: o.config,
              state,
              ideaRaw: answer.raw,
              ideaOk: answer.ok,
              ideaType: answer.ideaType ?? null,
              before: bestValid,
              after: null,
              improved: null,
              createdAt: new Date().toISOString(),
            });
            open.push({ id: poolId, before: bestValid });
          }
        }
      } else if (action.kind === 'submit') {
        stepKind = 'submit';
        observation = existsSync(submissionPath) ? 'Submitted ./submission.csv.' : 'Run ended without ./submission.csv.';
      } else {
        stepKind = 'note';
        observation = noActionObservation(action.reason, o.ideator !== null);
      }

      if (action.kind === 'bash' || action.kind === 'python') {
        const found = extractScores(observation).primary;
        if (found) pScore = { value: found.value, direction: found.direction, metric: found.name };
      }
      const graded = await gradeIfChanged();
      trajectory.push({
        action: actionText(action, queryText),
        observation,
        kind: stepKind,
        score: pScore.value,
        exitCode,
        timestamp: new Date().toISOString(),
      });
      o.onStep({
        runId: o.runId,
        idx: step,
        kind: action.kind,
        action: actionText(action, queryText),
        observation,
        exitCode,
        submissionValid: graded.valid,
        submissionScore: graded.score,
        submissionNormalized: graded.normalized,
        bestNormalized: best,
        tokensIn: tin + ideaTokens.in,
        tokensOut: tout + ideaTokens.out,
        elapsedMs: Date.now() - stepStart,
      });
      o.log(`step ${step} ${action.kind}${exitCode !== null ? ` exit=${exitCode}` : ''}${graded.valid !== null ? ` submission=${graded.valid ? graded.score : 'INVALID'}` : ''}\n--- action ---\n${actionText(action, queryText)}\n--- observation ---\n${observation}\n`);
      if (action.kind === 'submit') {
        endReason = 'submit';
        step++;
        break;
      }
      const left = o.limits.maxSteps - step - 1;
      const minutesLeft = Math.max(0, Math.round((deadline - Date.now()) / 60_000));
      messages.push({ role: 'user', content: `OBSERVATION:\n${observation}\n\n[${left} actions and ~${minutesLeft} min left]` });
    }
  } catch (err) {
    endReason = 'error';
    error = (err as Error).message;
    o.log(`run error: ${(err as Error).stack ?? error}`);
  } finally {
    session.close();
  }

  // MLE-bench grades the final submission; a run that never wrote one is invalid.
  // (The grade of an unchanged file is reused: grading costs a Python start.)
  const finalHash = fileHash(submissionPath);
  const final: GradeResult =
    finalHash === null
      ? { valid: false, score: null, normalized: null, reason: `no ${SUBMISSION_FILE} written` }
      : finalHash === lastHash && lastGrade
        ? lastGrade
        : await gradeSubmission(o.task, submissionPath, { python: o.python, dataDir: o.dataDir });
  for (const q of open.splice(0)) o.onPoolOutcome(q.id, null, false);
  const cost =
    (impl.input * o.prices.implementerIn + impl.output * o.prices.implementerOut + idea.input * o.prices.ideatorIn + idea.output * o.prices.ideatorOut) / 1e6;
  return {
    valid: final.valid,
    score: final.score,
    normalized: final.normalized,
    reason: final.reason,
    steps: Math.min(step, o.limits.maxSteps),
    seekHelps,
    endReason,
    error,
    implementerTokens: impl,
    ideatorTokens: idea,
    costUsd: Math.round(cost * 1e6) / 1e6,
    durationMs: Date.now() - started,
  };
}

/** Keeps the implementer's context bounded: old observations are cut, the recent ones stay whole. */
export function compactHistory(messages: ChatMessage[], limits: AgentLimits): ChatMessage[] {
  const keepFrom = messages.length - limits.keepRecentSteps * 2;
  return messages.map((m, i) =>
    i >= 2 && i < keepFrom && m.role === 'user' && m.content.length > limits.oldObservationChars
      ? { ...m, content: truncateMiddle(m.content, limits.oldObservationChars) }
      : m,
  );
}
