/**
 * One implementer run on one task: the CodeAct loop. Each turn the implementer model answers with one action;
 * bash and Python run in the run's workdir, seek_help goes to the Ideator (when the configuration has one) with
 * the paper's state s_t = (task, trajectory, p_t, C_t), submit ends the run. Whenever ./submission.csv changes
 * it is graded (never shown to the agent: that would leak the test labels), which gives the best-so-far curve;
 * the run's score is the grade of the final submission, as in MLE-bench.
 *
 * Shaped like AIDE's agent.py: the run's state lives in one AgentRun, whose short step() is one turn (limits,
 * the implementer's answer, one handler per action kind — bash, python, seek_help, submit, format error — then
 * the step's record and the observation fed back); runAgent loops step() and grades the final submission.
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
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/layout';
import { noActionObservation, parseAction, type Action } from './actions';
import { runBash } from './bash';
import { implementerMessages } from './prompt';
import { PythonSession } from './pythonSession';
import { bareSandbox, type AgentSandbox } from './agentSandbox';
import type { PoolRow, RunResult, StepRow } from './benchStore';
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

/** What one turn's action gave: the observation shown to the implementer and what the step records keep. */
interface Outcome {
  observation: string;
  exitCode: number | null;
  kind: Step['kind'];
  /** The rendered seek_help query, when the Ideator was asked (the step records show it instead of the raw block). */
  query?: string;
  ideaTokens: { in: number; out: number };
}

type IdeatorAnswer = Awaited<ReturnType<IdeatorClient['ask']>>;

const NO_TOKENS = { in: 0, out: 0 };

/** The outcome of an action that ran nothing and cost no Ideator tokens. */
function told(kind: Step['kind'], observation: string, query?: string): Outcome {
  return { observation, exitCode: null, kind, query, ideaTokens: NO_TOKENS };
}

/**
 * One run's state, carried from turn to turn (as AIDE's Agent carries its journal): the implementer's messages,
 * the trajectory, token counts, the agent's own printed score p_t, the grades of submission.csv, and the
 * seek-help answers still waiting for a valid submission to judge them.
 */
class AgentRun {
  private readonly started = Date.now();
  private readonly deadline: number;
  readonly session: PythonSession;
  private readonly submissionPath: string;
  private readonly sandbox: AgentSandbox;
  private readonly messages: ChatMessage[];
  private readonly trajectory: Step[] = [];
  private readonly cells: string[] = [];
  private readonly impl = { input: 0, output: 0 };
  private readonly idea = { input: 0, output: 0 };
  private pScore: ScoreState;
  private best = 0;
  private bestValid: number | null = null;
  private lastHash: string | null;
  private lastGrade: GradeResult | undefined;
  /** Seek-help answers waiting for the next valid submission to judge them. */
  private readonly open: { id: string; before: number | null }[] = [];
  private seekHelps = 0;
  endReason: RunResult['endReason'] = 'max_steps';
  error: string | undefined;
  /** Index of the current turn; after the loop, the number of turns taken. */
  turn = 0;

  constructor(private readonly o: AgentRunOptions) {
    this.deadline = this.started + o.limits.timeLimitSec * 1000;
    this.sandbox = o.sandbox ?? bareSandbox(o.workdir, o.python);
    this.session = new PythonSession(o.python, this.sandbox);
    this.messages = implementerMessages({
      taskDescription: o.task.description,
      workdir: this.sandbox.inside,
      observationChars: o.limits.observationChars,
      maxSteps: o.limits.maxSteps,
      timeLimitSec: o.limits.timeLimitSec,
      actionTimeoutSec: o.limits.actionTimeoutSec,
      seekHelp: o.ideator !== null,
      promptsDir: o.promptsDir,
    });
    this.pScore = { value: null, direction: o.task.direction };
    this.submissionPath = join(o.workdir, SUBMISSION_FILE);
    this.lastHash = fileHash(this.submissionPath);
  }

  /** One turn: check the limits, ask the implementer, run its action, record the step; false when the run ends. */
  async step(): Promise<boolean> {
    if (!this.withinLimits()) return false;
    const stepStart = Date.now();
    const { action, tokens } = await this.askImplementer();
    const outcome = await this.act(action);
    await this.record(action, outcome, tokens, stepStart);
    if (action.kind === 'submit') {
      this.endReason = 'submit';
      this.turn++;
      return false;
    }
    this.observe(outcome.observation);
    this.turn++;
    return true;
  }

  /** Throws when aborted; false (ending the run with time_limit) once the wall-time budget is spent. */
  private withinLimits(): boolean {
    if (this.o.signal?.aborted) throw new Error('aborted');
    if (Date.now() >= this.deadline) {
      this.endReason = 'time_limit';
      return false;
    }
    return true;
  }

  private async askImplementer(): Promise<{ action: Action; tokens: { in: number; out: number } }> {
    // A dependent signal per request: SDKs add an abort listener per call and never remove it.
    const completion = await this.o.implementer.complete(compactHistory(this.messages, this.o.limits), { signal: this.dependentSignal() });
    const tokens = { in: completion.usage?.inputTokens ?? 0, out: completion.usage?.outputTokens ?? 0 };
    this.impl.input += tokens.in;
    this.impl.output += tokens.out;
    this.messages.push({ role: 'assistant', content: completion.text });
    return { action: parseAction(completion.text), tokens };
  }

  private dependentSignal(): AbortSignal | undefined {
    return this.o.signal && AbortSignal.any([this.o.signal]);
  }

  /** Dispatches the action to its handler. */
  private act(action: Action): Promise<Outcome> {
    switch (action.kind) {
      case 'bash':
        return this.bash(action.code);
      case 'python':
        return this.python(action.code);
      case 'seek_help':
        return this.seekHelp(action.text);
      case 'submit':
        return Promise.resolve(this.submit());
      case 'none':
        return Promise.resolve(this.formatError(action.reason));
    }
  }

  /** An action may run until its own timeout or the run's deadline, whichever comes first (at least 1 s). */
  private actionTimeout(): number {
    const remainingMs = Math.max(1000, this.deadline - Date.now());
    return Math.min(this.o.limits.actionTimeoutSec * 1000, remainingMs);
  }

  private async bash(code: string): Promise<Outcome> {
    const r = await runBash(code, this.sandbox, this.actionTimeout());
    const observation = `${truncateMiddle(r.output, this.o.limits.observationChars)}\n[exit code ${r.exitCode ?? 'none'}${r.timedOut ? ', timed out' : ''}]`;
    this.readScore(observation);
    return { observation, exitCode: r.exitCode, kind: 'execute', ideaTokens: NO_TOKENS };
  }

  private async python(code: string): Promise<Outcome> {
    const timeout = this.actionTimeout();
    this.cells.push(code);
    const r = await this.session.run(code, timeout);
    let observation = truncateMiddle(r.output, this.o.limits.observationChars) || '[no output]';
    if (r.restarted) observation = `[note: the interpreter was restarted before this cell; earlier variables are gone]\n${observation}`;
    this.readScore(observation);
    return { observation, exitCode: r.ok ? 0 : 1, kind: 'execute', ideaTokens: NO_TOKENS };
  }

  /** p_t: the primary score the agent printed in this observation, when it printed one. */
  private readScore(observation: string): void {
    const found = extractScores(observation).primary;
    if (found) this.pScore = { value: found.value, direction: found.direction, metric: found.name };
  }

  private async seekHelp(text: string): Promise<Outcome> {
    const ideator = this.o.ideator;
    if (!ideator) return told('seek_help', 'seek_help is not available in this configuration. Continue on your own.');
    this.seekHelps++;
    // A malformed block still gets help: the query is drafted from the trajectory, the agent's words kept.
    const query = ideator.parseQuery(text) ?? {
      ...draftQuery({ trajectory: this.trajectory, score: this.pScore, taskDescription: this.o.task.description }),
      problemStatement: text.trim().slice(0, 2000) || 'progress has stalled',
    };
    const queryText = ideator.renderQuery(query);
    const state = this.ideatorState(query);
    const answer = await this.askIdeator(ideator, state);
    if (!answer) return told('seek_help', 'The advisor could not be reached this time. Continue on your own.', queryText);
    const ideaTokens = { in: answer.usage?.inputTokens ?? 0, out: answer.usage?.outputTokens ?? 0 };
    this.idea.input += ideaTokens.in;
    this.idea.output += ideaTokens.out;
    this.addToPool(state, answer);
    return { observation: answer.text, exitCode: null, kind: 'seek_help', query: queryText, ideaTokens };
  }

  /** The paper's s_t = (task, trajectory, p_t, C_t) with the implementer's query. */
  private ideatorState(query: SeekHelpQuery): IdeatorState {
    const code = currentCode(this.o.workdir, this.cells);
    return {
      id: `${this.o.runId}#${this.turn}`,
      taskId: this.o.task.id,
      taskDescription: this.o.task.description,
      trajectory: [...this.trajectory],
      score: this.pScore,
      code: code.code,
      codePath: code.path,
      query,
    };
  }

  private async askIdeator(ideator: IdeatorClient, state: IdeatorState): Promise<IdeatorAnswer | undefined> {
    try {
      return await ideator.ask(state, this.dependentSignal());
    } catch (err) {
      // An unreachable Ideator must not end the implementer's run: it is told and carries on alone.
      if (this.o.signal?.aborted) throw err;
      this.o.log(`ideator error: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The state and its idea go to the pool; the next valid submission judges whether the idea helped. */
  private addToPool(state: IdeatorState, answer: IdeatorAnswer): void {
    const poolId = randomUUID();
    this.o.onPool({
      id: poolId,
      runId: this.o.runId,
      stepIdx: this.turn,
      task: this.o.task.id,
      config: this.o.config,
      state,
      ideaRaw: answer.raw,
      ideaOk: answer.ok,
      ideaType: answer.ideaType ?? null,
      before: this.bestValid,
      after: null,
      improved: null,
      createdAt: new Date().toISOString(),
    });
    this.open.push({ id: poolId, before: this.bestValid });
  }

  private submit(): Outcome {
    return told('submit', existsSync(this.submissionPath) ? 'Submitted ./submission.csv.' : 'Run ended without ./submission.csv.');
  }

  /** A turn without a runnable action: the agent is told the accepted forms. */
  private formatError(reason: string): Outcome {
    return told('note', noActionObservation(reason, this.o.ideator !== null));
  }

  /** Grades a changed submission.csv, then adds the step to the trajectory, the store and the log. */
  private async record(action: Action, outcome: Outcome, tokens: { in: number; out: number }, stepStart: number): Promise<void> {
    const { observation, exitCode } = outcome;
    const graded = await this.gradeIfChanged();
    const text = actionText(action, outcome.query);
    const timestamp = new Date().toISOString();
    this.trajectory.push({ action: text, observation, kind: outcome.kind, score: this.pScore.value, exitCode, timestamp });
    this.o.onStep({
      runId: this.o.runId,
      idx: this.turn,
      kind: action.kind,
      action: text,
      observation,
      exitCode,
      submissionValid: graded.valid,
      submissionScore: graded.score,
      submissionNormalized: graded.normalized,
      bestNormalized: this.best,
      tokensIn: tokens.in + outcome.ideaTokens.in,
      tokensOut: tokens.out + outcome.ideaTokens.out,
      elapsedMs: Date.now() - stepStart,
    });
    const exit = exitCode !== null ? ` exit=${exitCode}` : '';
    const sub = graded.valid !== null ? ` submission=${graded.valid ? graded.score : 'INVALID'}` : '';
    this.o.log(`step ${this.turn} ${action.kind}${exit}${sub}\n--- action ---\n${text}\n--- observation ---\n${observation}\n`);
  }

  /** The observation goes back to the implementer with what is left of the step and time budgets. */
  private observe(observation: string): void {
    const left = this.o.limits.maxSteps - this.turn - 1;
    const minutesLeft = Math.max(0, Math.round((this.deadline - Date.now()) / 60_000));
    this.messages.push({ role: 'user', content: `OBSERVATION:\n${observation}\n\n[${left} actions and ~${minutesLeft} min left]` });
  }

  /** Grades submission.csv when it changed since the last grade; a valid grade judges the open seek-help answers. */
  private async gradeIfChanged(): Promise<{ valid: boolean | null; score: number | null; normalized: number | null }> {
    const h = fileHash(this.submissionPath);
    if (h === null || h === this.lastHash) return { valid: null, score: null, normalized: null };
    this.lastHash = h;
    const g = await gradeSubmission(this.o.task, this.submissionPath, { python: this.o.python, dataDir: this.o.dataDir });
    this.lastGrade = g;
    if (g.valid && g.normalized !== null) {
      this.best = Math.max(this.best, g.normalized);
      this.bestValid = this.bestValid === null ? g.normalized : Math.max(this.bestValid, g.normalized);
      for (const q of this.open.splice(0)) this.o.onPoolOutcome(q.id, g.normalized, q.before === null ? true : g.normalized > q.before);
    }
    return { valid: g.valid, score: g.score, normalized: g.normalized };
  }

  /** MLE-bench grades the final submission; a run that never wrote one is invalid. Unjudged ideas did not help. */
  async finish(): Promise<RunResult> {
    // The grade of an unchanged file is reused: grading costs a Python start.
    const finalHash = fileHash(this.submissionPath);
    const final: GradeResult =
      finalHash === null
        ? { valid: false, score: null, normalized: null, reason: `no ${SUBMISSION_FILE} written` }
        : finalHash === this.lastHash && this.lastGrade
          ? this.lastGrade
          : await gradeSubmission(this.o.task, this.submissionPath, { python: this.o.python, dataDir: this.o.dataDir });
    for (const q of this.open.splice(0)) this.o.onPoolOutcome(q.id, null, false);
    const { impl, idea, o } = this;
    const cost =
      (impl.input * o.prices.implementerIn + impl.output * o.prices.implementerOut + idea.input * o.prices.ideatorIn + idea.output * o.prices.ideatorOut) / 1e6;
    return {
      valid: final.valid,
      score: final.score,
      normalized: final.normalized,
      reason: final.reason,
      steps: Math.min(this.turn, o.limits.maxSteps),
      seekHelps: this.seekHelps,
      endReason: this.endReason,
      error: this.error,
      implementerTokens: impl,
      ideatorTokens: idea,
      costUsd: Math.round(cost * 1e6) / 1e6,
      durationMs: Date.now() - this.started,
    };
  }
}

/** Runs turns until submit, the step limit, the time limit or an error; the Python session is always closed. */
export async function runAgent(o: AgentRunOptions): Promise<RunResult> {
  const run = new AgentRun(o);
  try {
    while (run.turn < o.limits.maxSteps && (await run.step()));
  } catch (err) {
    run.endReason = 'error';
    run.error = (err as Error).message;
    o.log(`run error: ${(err as Error).stack ?? run.error}`);
  } finally {
    run.session.close();
  }
  return run.finish();
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
