/**
 * The Ideator as a tool for coding agents (issue #17): the one contract behind `ideator mcp` (server/src/mcp/) and
 * the VS Code language-model tools (src/extension/agentTools/). Both hosts list the same four tools with the same
 * names, descriptions and argument schemas, validate arguments here, and run the same pure handlers against the
 * workspace's run history (core/history.ts); only where the history, the code and the model come from differs.
 *
 *   seek_help        PROBLEM_STATEMENT / ATTEMPTS_SO_FAR / GOAL in (the paper's <seek_help>), the state s_t from
 *                    the run history; ANALYSIS_ON_CURRENT_PROGRESS / ACTION / RATIONALE out, parsed and raw; the
 *                    idea is recorded in the history (like Ask Ideator) under the returned idea_id.
 *   list_runs        the run history, newest first: when, command, status, score, against the best so far.
 *   get_run          one run: its metrics, command, output head/tail (bounded), the code it executed.
 *   record_outcome   judge an idea by the first run that finished after it (or the run named): did it improve on
 *                    the score the idea was asked at? (core/outcome.ts + core/metric.ts, as the editor does).
 *
 * API (no host, no 'vscode'; node:fs only through core/history.ts and core/prompts.ts, as the rest of core)
 *   AGENT_TOOLS, AgentToolName, agentToolJsonSchemas()        names, titles, descriptions, JSON Schemas
 *   parseToolInput(name, args)                                -> validated input | throws AgentToolError
 *   seekHelpQuery(input)                                      -> SeekHelpQuery
 *   seekHelpState(store, input, {code?, codePath?, taskDescription, taskId?})  -> IdeatorState (query set)
 *   seekHelpMessages(state, promptOptions)                    -> ChatMessage[] (core/promptCost.ts buildIdeatorPrompt)
 *   ideaRecordFrom({completion, state, provider, runId?})     -> IdeaRecord (core/idea.ts parseIdea)
 *   recordIdea(store, idea) / seekHelpResult(idea)
 *   listRuns(store, input) / getRun(store, input) / recordOutcome(store, input, now?)
 *   formatSeekHelp / formatRunList / formatRun / formatOutcome       results as text for an agent
 *   AgentToolError                                           one-line message + a code; hosts show it as a tool error
 *
 * How an idea is judged: the editor's run recorder judges ideas applied through the editor (an 'applied' record).
 * An agent applies the idea itself, so it calls record_outcome after its next run; record_outcome compares that
 * run's score with the idea's score_before exactly as the recorder would (judgeOutcome), tags the run with the
 * idea and appends the outcome, so the Run History and the per-type success rates count it.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { HistoryStore } from './history';
import { runFailed, scoreStateOf } from './runResults';
import { buildRunRows, formatScore, type RunRow } from './historyRows';
import { FIELD_NAMES, parseIdea } from './idea';
import { judgeOutcome, scoreBeforeIdea } from './outcome';
import { buildIdeatorPrompt, type IdeatorPromptOptions } from './promptCost';
import type { ChatMessage, Completion, IdeaRecord, IdeatorState, Outcome, Run, ScoreState, SeekHelpQuery } from './protocol';

// ---------------------------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------------------------

export const LIMITS = {
  problemStatementChars: 4_000,
  attempts: 30,
  attemptChars: 1_000,
  goalChars: 2_000,
  pathChars: 500,
  idChars: 200,
  maxListRuns: 100,
  defaultListRuns: 20,
  maxOutputChars: 20_000,
  defaultOutputChars: 4_000,
  maxCodeChars: 200_000,
  defaultCodeChars: 40_000,
  /** Code sent to the Ideator in a seek_help state (head + tail beyond it), like the editor's gatherState. */
  stateCodeChars: 120_000,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Input schemas (zod 4; strict: an unknown argument is an error, not silently dropped)
// ---------------------------------------------------------------------------------------------------------------

const id = (what: string) => z.string().trim().min(1).max(LIMITS.idChars).describe(what);

export const SeekHelpInputSchema = z.strictObject({
  problem_statement: z
    .string()
    .trim()
    .min(1)
    .max(LIMITS.problemStatementChars)
    .describe('PROBLEM_STATEMENT: what is stuck, in a few sentences: the metric and its current value, what is going wrong (plateau, failure, error).'),
  attempts_so_far: z
    .array(z.string().trim().min(1).max(LIMITS.attemptChars))
    .max(LIMITS.attempts)
    .default([])
    .describe('ATTEMPTS_SO_FAR: one short item per thing already tried and what it gave (e.g. "raised n_estimators to 500: auc 0.812 -> 0.813").'),
  goal: z
    .string()
    .trim()
    .min(1)
    .max(LIMITS.goalChars)
    .describe('GOAL: what the next change should achieve, e.g. "bring val auc above 0.83 without breaking the submission".'),
  code_path: z
    .string()
    .trim()
    .min(1)
    .max(LIMITS.pathChars)
    .optional()
    .describe('Workspace-relative path of the training script the idea is about (e.g. "train.py"). Default: the script of the newest run.'),
  run_id: id('Ask as of this run of the history (see list_runs): its score and the code it executed. Default: now.').optional(),
});
export type SeekHelpInput = z.output<typeof SeekHelpInputSchema>;

export const ListRunsInputSchema = z.strictObject({
  limit: z.number().int().min(1).max(LIMITS.maxListRuns).default(LIMITS.defaultListRuns).describe('How many runs, newest first.'),
});
export type ListRunsInput = z.output<typeof ListRunsInputSchema>;

export const GetRunInputSchema = z.strictObject({
  run_id: id('A run id from list_runs, or "latest" (the newest run) or "best" (the run holding the best score).'),
  output_chars: z
    .number()
    .int()
    .min(0)
    .max(LIMITS.maxOutputChars)
    .default(LIMITS.defaultOutputChars)
    .describe('How much of the run\'s output to return: the last N characters (and up to N/4 of its start).'),
  include_code: z.boolean().default(true).describe('Return the code the run executed and its diff against the run before.'),
  code_chars: z.number().int().min(0).max(LIMITS.maxCodeChars).default(LIMITS.defaultCodeChars).describe('Longest code returned (head and tail kept beyond it).'),
});
export type GetRunInput = z.output<typeof GetRunInputSchema>;

export const RecordOutcomeInputSchema = z.strictObject({
  idea_id: id('The idea_id seek_help returned.'),
  run_id: id('The run that tested the idea. Default: the first run that finished after the idea was given.').optional(),
});
export type RecordOutcomeInput = z.output<typeof RecordOutcomeInputSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Output schemas (what structuredContent holds; the text rendering is below)
// ---------------------------------------------------------------------------------------------------------------

const DirectionOut = z.enum(['higher', 'lower']);
const ScoreOut = z.object({ value: z.number().nullable(), metric: z.string().nullable(), direction: DirectionOut });

export const SeekHelpOutputSchema = z.object({
  idea_id: z.string(),
  analysis: z.string().describe(FIELD_NAMES.analysis),
  action: z.string().describe(FIELD_NAMES.action),
  rationale: z.string().describe(FIELD_NAMES.rationale),
  /** The paper's strict format check; when false the fields are read as well as they could be. */
  format_ok: z.boolean(),
  format_errors: z.array(z.string()),
  raw: z.string(),
  model: z.string(),
  provider: z.string(),
  score_before: ScoreOut.nullable(),
  query: z.object({ problem_statement: z.string(), attempts_so_far: z.array(z.string()), goal: z.string() }),
});
export type SeekHelpOutput = z.infer<typeof SeekHelpOutputSchema>;

const RunStatusOut = z.enum(['running', 'finished', 'failed']);
const TrendOut = z.enum(['new-best', 'worse', 'tie', 'none']);

export const RunSummarySchema = z.object({
  id: z.string(),
  /** 1-based position in the history, oldest first (the editor's #N). */
  n: z.number().int(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  source: z.string(),
  command: z.string().nullable(),
  status: RunStatusOut,
  exit_code: z.number().int().nullable(),
  score: z.number().nullable(),
  metric: z.string().nullable(),
  direction: DirectionOut.nullable(),
  /** Against the best score before it (same metric, from the baseline on). */
  vs_best: TrendOut,
  best_before: z.number().nullable(),
  is_best: z.boolean(),
  code_path: z.string().nullable(),
  idea_id: z.string().nullable(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

const BestOut = z.object({ value: z.number(), metric: z.string(), direction: DirectionOut, run_id: z.string() });

export const ListRunsOutputSchema = z.object({
  total: z.number().int(),
  best: BestOut.nullable(),
  runs: z.array(RunSummarySchema),
});
export type ListRunsOutput = z.infer<typeof ListRunsOutputSchema>;

const OutcomeOut = z.object({
  idea_id: z.string(),
  run_id: z.string().nullable(),
  before: z.number().nullable(),
  after: z.number().nullable(),
  direction: DirectionOut,
  status: z.enum(['improved', 'not_improved', 'exec_failed', 'timeout', 'format_error']),
  improved: z.boolean(),
  reward: z.number(),
  recorded_at: z.string(),
});

export const GetRunOutputSchema = z.object({
  run: RunSummarySchema,
  metrics: z.array(z.object({ name: z.string(), last: z.number(), best: z.number(), direction: DirectionOut, validation: z.boolean() })),
  /** tail: the end of the output (all of it when it fits); head: its start, only when it does not fit. */
  output: z.object({ head: z.string(), tail: z.string(), bytes: z.number().int(), truncated: z.boolean() }),
  code: z
    .object({
      path: z.string().nullable(),
      hash: z.string(),
      content: z.string().nullable(),
      content_chars: z.number().int().nullable(),
      truncated: z.boolean(),
      diff_from_previous: z.string().nullable(),
    })
    .nullable(),
  idea: z.object({ id: z.string(), action: z.string() }).nullable(),
  outcome: OutcomeOut.nullable(),
});
export type GetRunOutput = z.infer<typeof GetRunOutputSchema>;

export const RecordOutcomeOutputSchema = OutcomeOut.extend({
  /** True when the outcome was already in the history (judged earlier, by the editor or a previous call). */
  already_recorded: z.boolean(),
});
export type RecordOutcomeOutput = z.infer<typeof RecordOutcomeOutputSchema>;

// ---------------------------------------------------------------------------------------------------------------
// The tools
// ---------------------------------------------------------------------------------------------------------------

export const AGENT_TOOL_NAMES = ['seek_help', 'list_runs', 'get_run', 'record_outcome'] as const;
export type AgentToolName = (typeof AGENT_TOOL_NAMES)[number];

export interface AgentToolDefinition {
  name: AgentToolName;
  title: string;
  /** Written for a coding agent deciding when to call the tool. */
  description: string;
  inputSchema: z.ZodType;
  outputSchema: z.ZodType;
  /** MCP tool annotations: whether the tool only reads. */
  readOnly: boolean;
  /** Whether the tool reaches an outside service (the Ideator model). */
  openWorld: boolean;
}

export const AGENT_TOOLS: readonly AgentToolDefinition[] = [
  {
    name: 'seek_help',
    title: 'Ask the Ideator for the next idea',
    description:
      'Ask the Ideator, a model trained to suggest the next experiment for a machine-learning task, what to try next. ' +
      'Call it when the score has stopped improving, after several attempts that did not help, or when a run keeps failing and the fix is not obvious; ' +
      'not for routine coding questions. Describe the situation like a colleague asking for help: PROBLEM_STATEMENT (what is stuck), ' +
      'ATTEMPTS_SO_FAR (what was tried and what it gave), GOAL (what the next change should achieve). The Ideator also sees the task description, ' +
      "the workspace's recorded runs (commands, scores, errors), the current score and the current training code, so do not paste code or logs. " +
      'It answers with ANALYSIS_ON_CURRENT_PROGRESS, ACTION (one concrete change) and RATIONALE. Implement the ACTION, run the training, ' +
      'then call record_outcome with the returned idea_id so the history records whether it helped.',
    inputSchema: SeekHelpInputSchema,
    outputSchema: SeekHelpOutputSchema,
    readOnly: false,
    openWorld: true,
  },
  {
    name: 'list_runs',
    title: 'List the recorded training runs',
    description:
      "List the workspace's recorded training runs, newest first: id, when, command, whether it finished or failed, its score and whether " +
      'that was a new best. Use it to see where the experiment stands before asking for an idea, or to find the run that tested a change.',
    inputSchema: ListRunsInputSchema,
    outputSchema: ListRunsOutputSchema,
    readOnly: true,
    openWorld: false,
  },
  {
    name: 'get_run',
    title: 'Show one training run',
    description:
      'Show one recorded training run: its metrics, command, exit code, the end of its output (errors, final scores) and the exact code it executed ' +
      'with the diff against the run before. Use it to read why a run failed or what changed between a good run and a worse one. ' +
      'run_id may be "latest" or "best".',
    inputSchema: GetRunInputSchema,
    outputSchema: GetRunOutputSchema,
    readOnly: true,
    openWorld: false,
  },
  {
    name: 'record_outcome',
    title: 'Record whether an idea helped',
    description:
      'After implementing an idea from seek_help and running the training once, record whether it improved the score. The first run that ' +
      'finished after the idea is compared with the score the idea was asked at (or name the run with run_id). Returns improved / not improved; ' +
      'this is what lets the history (and the Ideator later) learn which kinds of ideas work for this task.',
    inputSchema: RecordOutcomeInputSchema,
    outputSchema: RecordOutcomeOutputSchema,
    readOnly: false,
    openWorld: false,
  },
];

export function agentTool(name: AgentToolName): AgentToolDefinition {
  return AGENT_TOOLS.find((t) => t.name === name)!;
}

export function isAgentToolName(name: string): name is AgentToolName {
  return (AGENT_TOOL_NAMES as readonly string[]).includes(name);
}

/** JSON Schema (draft 2020-12, as `z.toJSONSchema` writes it) of each tool's arguments and result. */
export function agentToolJsonSchemas(): Record<AgentToolName, { input: Record<string, unknown>; output: Record<string, unknown> }> {
  const out = {} as Record<AgentToolName, { input: Record<string, unknown>; output: Record<string, unknown> }>;
  for (const t of AGENT_TOOLS) {
    out[t.name] = {
      input: z.toJSONSchema(t.inputSchema, { io: 'input' }) as Record<string, unknown>,
      output: z.toJSONSchema(t.outputSchema, { io: 'output' }) as Record<string, unknown>,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and argument validation
// ---------------------------------------------------------------------------------------------------------------

export type AgentToolErrorCode = 'bad_arguments' | 'not_found' | 'no_history' | 'conflict' | 'provider' | 'cancelled' | 'internal';

/** A failure the calling agent can act on; `message` is one line. Hosts return it as a tool error, never throw it on. */
export class AgentToolError extends Error {
  constructor(
    readonly code: AgentToolErrorCode,
    message: string,
  ) {
    // Long enough for a no_history error's list of the folders tried.
    super(oneLine(message, 4000));
    this.name = 'AgentToolError';
  }
}

function oneLine(s: string, max = 600): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** zod issues as one line: `goal: Too big: expected string to have <=2000 characters; limit: …` (three at most). */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((i) => {
    const where = i.path.length ? i.path.map(String).join('.') : '(arguments)';
    return `${where}: ${i.message}`;
  });
  if (error.issues.length > 3) parts.push(`and ${error.issues.length - 3} more`);
  return parts.join('; ');
}

type InputOf<N extends AgentToolName> = N extends 'seek_help'
  ? SeekHelpInput
  : N extends 'list_runs'
    ? ListRunsInput
    : N extends 'get_run'
      ? GetRunInput
      : RecordOutcomeInput;

/** Validates a tool's arguments (undefined/null = no arguments); throws AgentToolError('bad_arguments'). */
export function parseToolInput<N extends AgentToolName>(name: N, args: unknown): InputOf<N> {
  const tool = AGENT_TOOLS.find((t) => t.name === name);
  if (!tool) throw new AgentToolError('bad_arguments', `unknown tool '${String(name)}' (tools: ${AGENT_TOOL_NAMES.join(', ')})`);
  const parsed = tool.inputSchema.safeParse(args ?? {});
  if (!parsed.success) throw new AgentToolError('bad_arguments', `invalid arguments for ${name}: ${describeIssues(parsed.error)}`);
  return parsed.data as InputOf<N>;
}

// ---------------------------------------------------------------------------------------------------------------
// seek_help: query -> state -> prompt -> idea
// ---------------------------------------------------------------------------------------------------------------

/** The agent's arguments as the paper's query (rendered by core/query.ts renderSeekHelp in the prompt). */
export function seekHelpQuery(input: SeekHelpInput): SeekHelpQuery {
  return { problemStatement: input.problem_statement, attemptsSoFar: input.attempts_so_far, goal: input.goal };
}

/** Just after the run ended: ISO strings compare in time order and `until` is exclusive (as the editor's gatherState). */
function justAfter(run: Run): string {
  return new Date(Date.parse(run.endedAt ?? run.startedAt) + 1).toISOString();
}

function boundCode(code: string, max: number): { text: string; truncated: boolean } {
  if (code.length <= max) return { text: code, truncated: false };
  const half = Math.floor(max / 2);
  return { text: `${code.slice(0, half)}\n# … [${code.length - max} characters cut] …\n${code.slice(-half)}`, truncated: true };
}

/** A run by id, or "latest" / "best"; throws not_found with what exists. */
export function findRun(store: HistoryStore, runId: string): Run {
  const runs = store.runs();
  if (runs.length === 0) throw new AgentToolError('not_found', 'the run history has no runs yet: run the training once in the workspace, then ask again');
  let run: Run | undefined;
  if (runId === 'latest') run = runs[runs.length - 1];
  else if (runId === 'best') {
    const best = store.bestScore();
    if (!best) throw new AgentToolError('not_found', 'no run has a score yet, so there is no best run');
    run = store.run(best.runId);
  } else run = store.run(runId);
  if (!run) throw new AgentToolError('not_found', `no run '${runId}' in the run history (${runs.length} runs; list_runs shows their ids)`);
  return run;
}

/** Files a workspace's task description is read from, in this order (as the editor's Ask Ideator looks for them). */
export const TASK_DESCRIPTION_FILES: readonly string[] = ['TASK.md', 'task.md', 'description.md', 'DESCRIPTION.md'];

export interface StateSources {
  /** The task description (TASK.md, a setting, --task-file); '' when none. */
  taskDescription: string;
  taskId?: string;
  /** The current content of the script (the host read input.code_path, or its own choice); else a run's snapshot. */
  code?: string;
  codePath?: string;
}

/**
 * The state s_t for a seek_help call, from the run history: the trajectory (runs, edits, earlier ideas), p_t and
 * C_t, with the agent's query. With `input.run_id`, the state as it was at that run (trajectory up to it, its
 * score, the code it executed), as "Ask Ideator from this run" does; otherwise now: the newest score since the
 * baseline and the code the host read (else the newest run's snapshot).
 */
export function seekHelpState(store: HistoryStore, input: SeekHelpInput, src: StateSources): IdeatorState {
  const fromRun = input.run_id ? findRun(store, input.run_id) : undefined;
  const runs = store.runs();
  const trajectory = store.toTrajectory(fromRun ? { until: justAfter(fromRun) } : {});
  let score: ScoreState;
  if (fromRun?.primary) score = scoreStateOf(fromRun.primary);
  else {
    const best = store.bestScore();
    score = store.lastScore() ?? { value: null, direction: best?.direction ?? 'higher', metric: best?.name };
  }
  let code = src.code;
  let codePath = src.codePath ?? input.code_path;
  const snapshotRun = fromRun ?? [...runs].reverse().find((r) => r.code && (!codePath || r.code.path === codePath));
  if (snapshotRun?.code && (fromRun || code === undefined)) {
    const content = snapshotRun.code.content ?? store.codeContent(snapshotRun.code.hash);
    if (content !== undefined) {
      code = content;
      codePath = snapshotRun.code.path ?? codePath;
    }
  }
  return {
    taskId: src.taskId,
    taskDescription: src.taskDescription,
    trajectory,
    score,
    code: boundCode(code ?? '', LIMITS.stateCodeChars).text,
    codePath: codePath ?? 'solution.py',
    query: seekHelpQuery(input),
  };
}

/** The Ideator prompt for the state (the one builder, core/prompts.ts; the trajectory compact unless `trajectoryMode` says full). */
export function seekHelpMessages(state: IdeatorState, opts: IdeatorPromptOptions = {}): ChatMessage[] {
  return buildIdeatorPrompt(state, opts).messages;
}

/** The answer as an idea record, ready for the history (the same shape Ask Ideator stores). */
export function ideaRecordFrom(input: {
  completion: Completion;
  state: IdeatorState;
  /** What answered, as the settings spell it (e.g. "openai"); the label is not stored. */
  provider: string;
  runId?: string;
  now?: () => Date;
  id?: string;
}): IdeaRecord {
  const { completion, state } = input;
  const parsed = parseIdea(completion.text);
  return {
    id: input.id ?? randomUUID(),
    createdAt: (input.now?.() ?? new Date()).toISOString(),
    raw: completion.text,
    parsed: parsed.thinking === undefined && completion.thinking !== undefined ? { ...parsed, thinking: completion.thinking } : parsed,
    query: state.query,
    provider: input.provider,
    model: completion.model,
    usage: completion.usage,
    scoreBefore: state.score,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    targetPath: state.codePath,
    origin: 'agent',
  };
}

export function recordIdea(store: HistoryStore, idea: IdeaRecord): IdeaRecord {
  return store.appendIdea(idea);
}

function scoreOut(s: ScoreState | undefined): SeekHelpOutput['score_before'] {
  return s ? { value: s.value, metric: s.metric ?? null, direction: s.direction } : null;
}

export function seekHelpResult(idea: IdeaRecord): SeekHelpOutput {
  return {
    idea_id: idea.id,
    analysis: idea.parsed.analysis,
    action: idea.parsed.action,
    rationale: idea.parsed.rationale,
    format_ok: idea.parsed.ok,
    format_errors: idea.parsed.errors,
    raw: idea.raw,
    model: idea.model ?? '',
    provider: idea.provider ?? '',
    score_before: scoreOut(idea.scoreBefore),
    query: {
      problem_statement: idea.query?.problemStatement ?? '',
      attempts_so_far: idea.query?.attemptsSoFar ?? [],
      goal: idea.query?.goal ?? '',
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// list_runs / get_run
// ---------------------------------------------------------------------------------------------------------------

function rowsOf(store: HistoryStore): RunRow[] {
  return buildRunRows({ runs: store.runs(), ideas: store.ideas(), outcomes: store.outcomes(), baselineId: store.baselineId() });
}

function summary(row: RunRow): RunSummary {
  const r = row.run;
  return {
    id: r.id,
    n: row.n,
    started_at: r.startedAt,
    ended_at: r.endedAt ?? null,
    source: r.source,
    command: r.command ?? null,
    status: !r.endedAt ? 'running' : runFailed(r) ? 'failed' : 'finished',
    exit_code: r.exitCode ?? null,
    score: r.primary?.value ?? null,
    metric: r.primary?.name ?? null,
    direction: r.primary?.direction ?? null,
    vs_best: row.trend,
    best_before: row.bestBefore,
    is_best: row.isBest,
    code_path: r.code?.path ?? null,
    idea_id: r.ideaId ?? null,
  };
}

export function listRuns(store: HistoryStore, input: ListRunsInput): ListRunsOutput {
  const rows = rowsOf(store);
  const best = store.bestScore();
  return {
    total: rows.length,
    best: best ? { value: best.value, metric: best.name, direction: best.direction, run_id: best.runId } : null,
    runs: rows.slice(-input.limit).reverse().map(summary),
  };
}

function outcomeOut(o: Outcome): z.infer<typeof OutcomeOut> {
  return {
    idea_id: o.ideaId,
    run_id: o.runId ?? null,
    before: o.before,
    after: o.after,
    direction: o.direction,
    status: o.status,
    improved: o.status === 'improved',
    reward: o.reward,
    recorded_at: o.recordedAt,
  };
}

export function getRun(store: HistoryStore, input: GetRunInput): GetRunOutput {
  const run = findRun(store, input.run_id);
  const row = rowsOf(store).find((r) => r.run.id === run.id)!;
  // The capture keeps the first characters (head) and, when the run printed more, the last ones (tail); a short
  // output is all head. Shown: the end of the whole, and its start too when the whole does not fit.
  const n = input.output_chars;
  const text = run.outputHead + run.outputTail;
  const fits = text.length <= n;
  const tail = fits ? text : n === 0 ? '' : text.slice(-n);
  const head = fits ? '' : text.slice(0, Math.floor(n / 4));
  let code: GetRunOutput['code'] = null;
  if (input.include_code && run.code) {
    const content = run.code.content ?? store.codeContent(run.code.hash);
    const bounded = content === undefined ? undefined : boundCode(content, input.code_chars);
    code = {
      path: run.code.path ?? null,
      hash: run.code.hash,
      content: bounded?.text ?? null,
      content_chars: content?.length ?? null,
      truncated: bounded?.truncated ?? false,
      diff_from_previous: run.code.diffFromPrevious ? boundCode(run.code.diffFromPrevious, input.code_chars).text : null,
    };
  }
  const outcome = run.ideaId ? store.outcomeFor(run.ideaId) : undefined;
  return {
    run: summary(row),
    metrics: run.metrics.map((m) => ({ name: m.name, last: m.last, best: m.best, direction: m.direction, validation: m.validation })),
    output: { head, tail, bytes: run.outputBytes, truncated: !fits },
    code,
    idea: row.idea ? { id: row.idea.id, action: row.idea.parsed.action } : null,
    outcome: outcome && outcome.runId === run.id ? outcomeOut(outcome) : null,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// record_outcome
// ---------------------------------------------------------------------------------------------------------------

/**
 * Judges an idea by a run (the named one, else the first that finished after the idea) against the score it was
 * asked at, and records the outcome (the run is tagged with the idea). An outcome already recorded is returned as
 * it is unless a run is named; naming a different run re-judges it (the history keeps the newest outcome per idea).
 */
export function recordOutcome(store: HistoryStore, input: RecordOutcomeInput, now?: () => Date): RecordOutcomeOutput {
  const idea = store.idea(input.idea_id);
  if (!idea) throw new AgentToolError('not_found', `no idea '${input.idea_id}' in the run history (use the idea_id seek_help returned)`);
  const existing = store.outcomeFor(idea.id);
  if (existing && (!input.run_id || existing.runId === input.run_id)) return { ...outcomeOut(existing), already_recorded: true };
  let run: Run;
  if (input.run_id) {
    run = findRun(store, input.run_id);
    if (!run.endedAt) throw new AgentToolError('conflict', `run '${run.id}' has not finished yet; call record_outcome again when it has`);
    if (run.startedAt < idea.createdAt) {
      throw new AgentToolError('conflict', `run '${run.id}' started (${run.startedAt}) before idea '${idea.id}' was given (${idea.createdAt}), so it cannot have tested it`);
    }
  } else {
    const next = store.runs().find((r) => r.endedAt && r.startedAt >= idea.createdAt);
    if (!next) {
      throw new AgentToolError('not_found', `no run has finished since idea '${idea.id}' was given (${idea.createdAt}): run the training with the change, then call record_outcome again (or name the run with run_id)`);
    }
    run = next;
  }
  if (run.ideaId && run.ideaId !== idea.id) {
    throw new AgentToolError('conflict', `run '${run.id}' already tested another idea ('${run.ideaId}'); name the run that tested '${idea.id}' with run_id`);
  }
  const before = scoreBeforeIdea(idea, { ideaId: idea.id, at: idea.createdAt }, store.runs());
  const tagged = run.ideaId === idea.id ? run : store.appendRun({ ...run, ideaId: idea.id });
  const outcome = judgeOutcome({ ideaId: idea.id, run: tagged, before, now });
  store.appendOutcome(outcome);
  return { ...outcomeOut(outcome), already_recorded: false };
}

// ---------------------------------------------------------------------------------------------------------------
// Text for an agent
// ---------------------------------------------------------------------------------------------------------------

function scoreStr(v: number | null, metric: string | null): string {
  return v === null ? 'no score' : `${metric ?? 'score'} ${formatScore(v)}`;
}

const TREND_WORDS: Record<RunSummary['vs_best'], string> = { 'new-best': 'new best', worse: 'worse than best', tie: 'ties best', none: '' };

export function formatSeekHelp(out: SeekHelpOutput): string {
  const lines = [
    `${FIELD_NAMES.analysis}:`,
    out.analysis.trim() || '(none)',
    '',
    `${FIELD_NAMES.action}:`,
    out.action.trim() || '(none)',
    '',
    `${FIELD_NAMES.rationale}:`,
    out.rationale.trim() || '(none)',
    '',
    `idea_id: ${out.idea_id} (recorded in the run history; after running the change, call record_outcome with this idea_id)`,
  ];
  if (out.score_before) lines.push(`score when asked: ${scoreStr(out.score_before.value, out.score_before.metric)} (${out.score_before.direction} is better)`);
  if (!out.format_ok) lines.push(`note: the answer did not follow the expected format (${out.format_errors.slice(0, 2).join('; ')}); the fields above are read as well as possible, the raw answer is in the structured result`);
  return lines.join('\n');
}

function runLine(r: RunSummary): string {
  const when = r.started_at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
  const status = r.status === 'failed' ? `failed${r.exit_code !== null ? ` (exit ${r.exit_code})` : ''}` : r.status;
  const trend = TREND_WORDS[r.vs_best];
  const cmd = r.command ? ` \`${oneLine(r.command, 120)}\`` : '';
  const idea = r.idea_id ? ` [idea ${r.idea_id}]` : '';
  return `#${r.n} ${r.id}  ${when}  ${status}  ${scoreStr(r.score, r.metric)}${trend ? ` (${trend})` : ''}${cmd}${idea}`;
}

export function formatRunList(out: ListRunsOutput): string {
  if (out.total === 0) return 'The run history has no runs yet.';
  const head = `${out.total} run${out.total === 1 ? '' : 's'}${out.runs.length < out.total ? ` (the newest ${out.runs.length} shown)` : ''}; ${
    out.best ? `best ${out.best.metric} ${formatScore(out.best.value)} (${out.best.direction} is better) in run ${out.best.run_id}` : 'no scored run yet'
  }.`;
  return [head, ...out.runs.map(runLine)].join('\n');
}

export function formatRun(out: GetRunOutput): string {
  const lines = [runLine(out.run)];
  if (out.metrics.length) lines.push(`metrics: ${out.metrics.map((m) => `${m.name} last ${formatScore(m.last)} best ${formatScore(m.best)}`).join('; ')}`);
  if (out.idea) lines.push(`followed idea ${out.idea.id}: ${oneLine(out.idea.action, 200)}`);
  if (out.outcome) lines.push(`outcome: ${out.outcome.status}`);
  if (out.output.head && out.output.truncated) lines.push('', 'output (start):', out.output.head);
  lines.push('', out.output.truncated ? 'output (end):' : 'output:', out.output.tail || '(no output recorded)');
  if (out.code) {
    if (out.code.diff_from_previous) lines.push('', 'change against the run before:', out.code.diff_from_previous);
    lines.push('', `code (${out.code.path ?? 'unnamed'}${out.code.truncated ? `, ${out.code.content_chars} characters, cut` : ''}):`, out.code.content ?? '(content not stored)');
  }
  return lines.join('\n');
}

export function formatOutcome(out: RecordOutcomeOutput): string {
  const verdict =
    out.status === 'improved' ? 'improved' : out.status === 'exec_failed' ? 'did not improve (the run failed or printed no score)' : 'did not improve';
  const from = out.before === null ? 'no score' : formatScore(out.before);
  const to = out.after === null ? 'no score' : formatScore(out.after);
  return `Idea ${out.idea_id} ${verdict}: ${from} -> ${to} (${out.direction} is better) in run ${out.run_id ?? '?'}${out.already_recorded ? ' (already recorded)' : ''}.`;
}
