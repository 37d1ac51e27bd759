/**
 * The one definition of every shape that crosses a boundary: extension <-> core, CLI <-> files,
 * HTTP clients <-> server, server <-> SQLite/parquet. zod schemas first, TypeScript types inferred from them.
 *
 * Imports nothing from 'vscode' (the lint rule enforces it): the extension and the server both use this file.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------
// Scores and metrics
// ---------------------------------------------------------------------------------------------------------------

/** Whether a larger value of a metric is better ('higher': accuracy, AUC) or a smaller one ('lower': loss, RMSE). */
export const DirectionSchema = z.enum(['higher', 'lower']);
export type Direction = z.infer<typeof DirectionSchema>;

/** One metric seen in a run's output. */
export const MetricSchema = z.object({
  /** Normalized name as printed, lower-cased, e.g. "val_loss", "valid_0 auc", "eval_accuracy". */
  name: z.string().min(1),
  /** Last value printed. */
  last: z.number(),
  /** Best value printed, direction-aware. */
  best: z.number(),
  /** Every value in order (bounded by the extractor; `count` is the true number seen). */
  series: z.array(z.number()),
  count: z.number().int().nonnegative(),
  direction: DirectionSchema,
  /** True when the name looks like a validation/test metric (val_, valid, eval_, test_, cv). */
  validation: z.boolean(),
  /** NaN / infinite values printed for it (never part of last, best or series). */
  nonFinite: z.number().int().nonnegative().optional(),
  /** The latest value printed was NaN or infinite. */
  diverged: z.boolean().optional(),
});
export type Metric = z.infer<typeof MetricSchema>;

/** The score a run is judged by. */
export const PrimaryScoreSchema = z.object({
  name: z.string().min(1),
  /** The last finite value printed. */
  value: z.number(),
  direction: DirectionSchema,
  /** Printed NaN / inf after `value`: the run diverged, and is judged as a failed run. */
  diverged: z.boolean().optional(),
});
export type PrimaryScore = z.infer<typeof PrimaryScoreSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Runs (one execution of the user's code, from any source)
// ---------------------------------------------------------------------------------------------------------------

export const RunSourceSchema = z.enum(['terminal', 'task', 'debug', 'notebook', 'sandbox', 'cli', 'import']);
export type RunSource = z.infer<typeof RunSourceSchema>;

export const CodeSnapshotSchema = z.object({
  /** Workspace-relative path of the script (or notebook) the run executed, when known. */
  path: z.string().optional(),
  /** sha256 of the content, hex. */
  hash: z.string(),
  /** Full content; may be omitted in stores when unchanged from the previous run (hash equal). */
  content: z.string().optional(),
  /** Unified diff against the previous run's code, when there was one. */
  diffFromPrevious: z.string().optional(),
});
export type CodeSnapshot = z.infer<typeof CodeSnapshotSchema>;

export const RunSchema = z.object({
  id: z.string().min(1),
  source: RunSourceSchema,
  command: z.string().optional(),
  cwd: z.string().optional(),
  /** ISO-8601 timestamps. */
  startedAt: z.string(),
  endedAt: z.string().optional(),
  /** null when the run ended without reporting one (killed, Ctrl+C, shell did not say). */
  exitCode: z.number().int().nullable().optional(),
  metrics: z.array(MetricSchema).default([]),
  primary: PrimaryScoreSchema.nullable().default(null),
  /** Bounded capture of the output: the first bytes and the last bytes. */
  outputHead: z.string().default(''),
  outputTail: z.string().default(''),
  /** Total bytes the run printed (head + tail may hold far less). */
  outputBytes: z.number().int().nonnegative().default(0),
  code: CodeSnapshotSchema.optional(),
  /** The idea this run followed, if one was applied before it. */
  ideaId: z.string().optional(),
  baseline: z.boolean().optional(),
  note: z.string().optional(),
});
export type Run = z.infer<typeof RunSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Trajectory and state (the paper's s_t = (D, tau_1:t, p_t, C_t))
// ---------------------------------------------------------------------------------------------------------------

/** One step of the implementer's trajectory: an action and what it observed. */
export const StepSchema = z.object({
  /** What was done: a shell command, a code cell, a script run, an edit summary. */
  action: z.string(),
  /** What came back: output (usually already truncated), errors, the Ideator's answer for seek-help steps. */
  observation: z.string().default(''),
  /** What kind of step this is; 'seek_help' steps carry the query as action and the idea as observation. */
  kind: z.enum(['execute', 'edit', 'seek_help', 'submit', 'note']).default('execute'),
  /** Score after this step, when the step produced one. */
  score: z.number().nullable().optional(),
  exitCode: z.number().int().nullable().optional(),
  timestamp: z.string().optional(),
});
export type Step = z.infer<typeof StepSchema>;

/** The seek-help query the implementer (or the extension on the user's behalf) sends. */
export const SeekHelpQuerySchema = z.object({
  problemStatement: z.string().min(1),
  attemptsSoFar: z.array(z.string().min(1)).default([]),
  goal: z.string().min(1),
});
export type SeekHelpQuery = z.infer<typeof SeekHelpQuerySchema>;

export const ScoreStateSchema = z.object({
  /** p_t; null when no valid score exists yet. */
  value: z.number().nullable(),
  direction: DirectionSchema,
  metric: z.string().optional(),
});
export type ScoreState = z.infer<typeof ScoreStateSchema>;

/** Everything the Ideator sees: task description, trajectory, current score and current code. */
export const IdeatorStateSchema = z.object({
  /** Stable id of the state (pools, idempotency). */
  id: z.string().optional(),
  /** Task this state belongs to: a bundled/registered task id (server) or a workspace name (extension). */
  taskId: z.string().optional(),
  taskDescription: z.string(),
  trajectory: z.array(StepSchema).default([]),
  score: ScoreStateSchema,
  code: z.string(),
  /** File name of the code (e.g. "train.py"); the implementer writes C_{t+1} there. */
  codePath: z.string().default('solution.py'),
  /** The seek-help query; drafted from the trajectory when absent. */
  query: SeekHelpQuerySchema.optional(),
});
export type IdeatorState = z.infer<typeof IdeatorStateSchema>;

/**
 * How the trajectory is rendered in the Ideator prompt: 'full' as recorded, 'compact' without progress bars, repeated
 * log lines, library traceback frames and superseded code versions, per-round metric lines as tables of their values
 * (core/compact.ts; every metric value, error line and the final code kept).
 */
export const TrajectoryModeSchema = z.enum(['full', 'compact']);
export type TrajectoryMode = z.infer<typeof TrajectoryModeSchema>;
export type IdeatorStateInput = z.input<typeof IdeatorStateSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Ideas
// ---------------------------------------------------------------------------------------------------------------

export const CodeBlockSchema = z.object({
  /** Fence language tag, lower-cased; '' when none. */
  lang: z.string(),
  code: z.string(),
  /** True when the block is a unified diff (lang diff/patch, or ---/+++/@@ lines). */
  isDiff: z.boolean(),
});
export type CodeBlock = z.infer<typeof CodeBlockSchema>;

/** A parsed Ideator answer. `ok` is the paper's strict format check; the other fields are filled tolerantly. */
export const ParsedIdeaSchema = z.object({
  ok: z.boolean(),
  analysis: z.string(),
  action: z.string(),
  rationale: z.string(),
  codeBlocks: z.array(CodeBlockSchema),
  errors: z.array(z.string()),
  thinking: z.string().optional(),
});
export type ParsedIdea = z.infer<typeof ParsedIdeaSchema>;

export const IdeaTypeSchema = z.enum([
  'Data Preparation',
  'Feature Engineering',
  'Model Architecture',
  'Hyperparameter Tuning',
  'Model Training',
  'Others',
]);
export type IdeaType = z.infer<typeof IdeaTypeSchema>;

/** Tokens a provider reported for one answer. */
export const UsageSchema = z.object({
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  /** Prompt tokens read from the provider's prompt cache (Anthropic cache_read_input_tokens, OpenAI/vLLM prompt_tokens_details.cached_tokens). */
  cacheReadTokens: z.number().int().optional(),
  /** Prompt tokens written to the prompt cache (Anthropic cache_creation_input_tokens). */
  cacheWriteTokens: z.number().int().optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** An idea as stored: the raw answer, its parse, where it came from. */
export const IdeaRecordSchema = z.object({
  id: z.string().min(1),
  createdAt: z.string(),
  raw: z.string(),
  parsed: ParsedIdeaSchema,
  query: SeekHelpQuerySchema.optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  usage: UsageSchema.optional(),
  /** The reported usage priced when it came (core/promptCost.ts): dollars, null when the price is unknown. */
  cost: z.object({ dollars: z.number().nonnegative().nullable(), source: z.string() }).optional(),
  type: IdeaTypeSchema.optional(),
  /** Score p_t when the idea was asked for. */
  scoreBefore: ScoreStateSchema.optional(),
  /** Run the idea was asked from. */
  runId: z.string().optional(),
  /** The file the idea is about (workspace-relative). */
  targetPath: z.string().optional(),
  /** Who asked: the user (ask), a follow-up on an earlier idea, or an agent (MCP / agent-mode tools). Absent: ask. */
  origin: z.enum(['ask', 'follow-up', 'agent']).optional(),
  /** For a follow-up: the idea it was asked about, which button (or free text) and the question sent. */
  followUp: z
    .object({ of: z.string().min(1), kind: z.enum(['why', 'alternatives', 'cheaper', 'free']), question: z.string().min(1), part: z.number().int().min(1).optional() })
    .optional(),
});
export type IdeaRecord = z.infer<typeof IdeaRecordSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Outcomes and rewards
// ---------------------------------------------------------------------------------------------------------------

export const RewardStatusSchema = z.enum(['improved', 'not_improved', 'exec_failed', 'timeout', 'format_error']);
export type RewardStatus = z.infer<typeof RewardStatusSchema>;

export const RewardSchemeSchema = z.enum(['paper', 'partial', 'sigmoid']);
export type RewardScheme = z.infer<typeof RewardSchemeSchema>;

/** Did the run after an idea beat p_t? The paper's training signal, recorded by the extension and the server. */
export const OutcomeSchema = z.object({
  ideaId: z.string(),
  runId: z.string().optional(),
  before: z.number().nullable(),
  after: z.number().nullable(),
  direction: DirectionSchema,
  status: RewardStatusSchema,
  reward: z.number(),
  recordedAt: z.string(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

/** Most seeded runs of C_t a request may ask for (each is a full run of the state's code, once per state). */
export const MAX_BASELINE_SEEDS = 16;
/** Largest z of the noise threshold a request may ask for. */
export const MAX_NOISE_Z = 10;

/**
 * How p_t was measured and how much it moves from run to run (core/rewards.ts baselineNoise). Present on results
 * whose p_t the server measured by running C_t; absent where p_t is the state's own score.
 */
export const BaselineNoiseSchema = z.object({
  /** Seeded runs of C_t (1: measured once, no noise estimate). */
  k: z.number().int().positive(),
  /** The k scores, run i with IDEATOR_SEED=i (null: that run gave no valid score). */
  scores: z.array(z.number().nullable()),
  /** p_t: the mean of the valid scores (null when none was valid). */
  mean: z.number().nullable(),
  /** Sample standard deviation (n − 1) of the valid scores; 0 with fewer than two. */
  std: z.number().nonnegative(),
  /** The z the threshold was taken with. */
  z: z.number().nonnegative(),
  /** The margin p_{t+1} must beat p_t by to count as improved: z · std · √(1 + 1/n), n = valid scores. */
  threshold: z.number().nonnegative(),
});
export type BaselineNoise = z.infer<typeof BaselineNoiseSchema>;

/** Body of POST /v1/rewards: a state and G candidate ideas (raw Ideator answers). */
export const RewardRequestSchema = z.object({
  state: IdeatorStateSchema,
  ideas: z.array(z.string().max(200_000)).min(1).max(64),
  scheme: RewardSchemeSchema.default('paper'),
  /** Server task to execute against; defaults to state.taskId. */
  task: z.string().optional(),
  /** Client idempotency key; default: a hash of state + idea + scheme per idea. */
  idempotencyKey: z.string().max(200).optional(),
  /** Wall-clock limit per idea run, seconds (server default per task, 20 min). */
  timeoutSec: z.number().int().positive().max(24 * 3600).optional(),
  /**
   * Opt-in for ideas of a state no server task grades (no `task`, and `state.taskId` absent or not a task of the
   * server): score them by the primary metric the run PRINTS — self-reported and forgeable (`print('score: 999')`).
   * Without it such a request is refused (400 `no_grader`). Results scored this way carry `selfReported: true`.
   */
  allowPrintedScore: z.boolean().default(false),
  /**
   * k: how many seeded runs of C_t measure p_t (core/rewards.ts baselineNoise). Default: the task's
   * `ideator.baseline_seeds`, else 1 (p_t measured once, as in the paper). With k ≥ 2, run i of C_t gets
   * IDEATOR_SEED=i and PYTHONHASHSEED=i (i = 0 … k−1), every idea's run gets IDEATOR_SEED=k, p_t is the mean of the
   * k scores, and an idea counts as improved only when it beats p_t by more than the noise threshold.
   */
  baselineSeeds: z.number().int().min(1).max(MAX_BASELINE_SEEDS).optional(),
  /** z of the noise threshold z · std · √(1 + 1/k). Default: the task's `ideator.noise_z`, else 1. */
  noiseZ: z.number().min(0).max(MAX_NOISE_Z).optional(),
});
export type RewardRequest = z.infer<typeof RewardRequestSchema>;
export type RewardRequestInput = z.input<typeof RewardRequestSchema>;

/**
 * Reward-hacking guard flags (src/core/rewardGuard.ts), raised from the lines an idea's implementation added to
 * C_t. They do not change the reward; they tell the trainer which rewards deserve a look.
 * - touches_evaluation : redefines / monkeypatches a metric function, scores labels against themselves, replaces a
 *                        computed validation score with a constant, or references the grader / private answers;
 * - prints_metric      : prints a metric whose value is a literal (or a constant, or clamped by one), or rebinds print;
 * - submission_path    : changes where or how submission.csv is written (another path, a symlink or hard link,
 *                        a copy / rename / raw open() instead of DataFrame.to_csv);
 * - reads_outside_data : reaches outside ./data and the workdir: absolute paths, '..', the home folder, secret-looking
 *                        or whole-environment reads, network modules and URLs.
 */
export const GuardFlagSchema = z.enum(['touches_evaluation', 'prints_metric', 'submission_path', 'reads_outside_data']);
export type GuardFlag = z.infer<typeof GuardFlagSchema>;

export const GuardFindingSchema = z.object({
  flag: GuardFlagSchema,
  /** Why, in a few words (several reasons joined by '; '). */
  reason: z.string(),
  /** The offending added lines of C_{t+1}, as "L<line>: <code>" (truncated; at most 5). */
  lines: z.array(z.string()),
});
export type GuardFinding = z.infer<typeof GuardFindingSchema>;

export const RewardResultSchema = z.object({
  index: z.number().int().nonnegative(),
  reward: z.number(),
  status: RewardStatusSchema,
  scoreBefore: z.number().nullable(),
  scoreAfter: z.number().nullable(),
  durationMs: z.number().nonnegative(),
  outputTail: z.string(),
  codeDiff: z.string(),
  formatErrors: z.array(z.string()).default([]),
  error: z.string().optional(),
  /**
   * True when the idea was judged without a grader: the scores are the metric the run printed (the request set
   * allowPrintedScore and no server task applied). The same for every idea of such a job; false otherwise.
   */
  selfReported: z.boolean().default(false),
  /** Reward-hacking guard flags raised by the implemented code (empty when none, or nothing was implemented). */
  guardFlags: z.array(GuardFlagSchema).default([]),
  /** One entry per flag in guardFlags: the reason and the offending added lines. */
  guard: z.array(GuardFindingSchema).default([]),
  /** p_t's measurement: its k seeded scores, their noise and the improvement threshold (absent: p_t not measured). */
  baseline: BaselineNoiseSchema.optional(),
});
export type RewardResult = z.infer<typeof RewardResultSchema>;

export const JobStatusSchema = z.enum(['queued', 'running', 'done', 'failed']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/**
 * Collapse monitor figures of a finished job's group of ideas (core/collapse.ts; absent while the job runs, and
 * from servers before it): distinct ACTIONs, idea-type entropy (bits), near-duplicate share, all rewards equal.
 */
export const GroupDiversitySchema = z.object({
  size: z.number().int().nonnegative(),
  distinct: z.number().int().nonnegative(),
  distinctRatio: z.number(),
  typeEntropy: z.number(),
  nearDuplicateRate: z.number(),
  zeroVariance: z.boolean(),
});
export type GroupDiversity = z.infer<typeof GroupDiversitySchema>;

export const JobSchema = z.object({
  id: z.string(),
  kind: z.enum(['reward', 'bench']),
  status: JobStatusSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  results: z.array(RewardResultSchema),
  error: z.string().optional(),
  /** Collapse monitor figures of the group, once the job is done (optional: older servers and clients). */
  diversity: GroupDiversitySchema.optional(),
});
export type Job = z.infer<typeof JobSchema>;

// ---------------------------------------------------------------------------------------------------------------
// LLM providers
// ---------------------------------------------------------------------------------------------------------------

export const ProviderKindSchema = z.enum(['anthropic', 'openai', 'template-null', 'template-vague', 'server']);
export type ProviderKind = z.infer<typeof ProviderKindSchema>;

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const CompletionSchema = z.object({
  /** The answer with any thinking removed. */
  text: z.string(),
  /** Reasoning, from reasoning_content / reasoning / <think> / Anthropic thinking blocks. */
  thinking: z.string().optional(),
  model: z.string(),
  usage: UsageSchema.optional(),
  finishReason: z.string().optional(),
});
export type Completion = z.infer<typeof CompletionSchema>;

// ---------------------------------------------------------------------------------------------------------------
// POST /v1/ideate (the extension's 'server' provider talks to the companion server through this)
// ---------------------------------------------------------------------------------------------------------------

/** Either a state (the server builds the Ideator prompt) or ready messages (the client built it). */
export const IdeateRequestSchema = z
  .object({
    state: IdeatorStateSchema.optional(),
    messages: z.array(ChatMessageSchema).min(1).optional(),
    /** true: answer as text/event-stream: `event: token` {delta, channel}, then `event: done` IdeateResponse. */
    stream: z.boolean().default(false),
    maxTokens: z.number().int().positive().max(200_000).optional(),
    /** With a state: the trajectory's rendering; default the server's (`ideator serve --trajectory`, compact). */
    trajectoryMode: TrajectoryModeSchema.optional(),
  })
  .refine((b) => (b.state ? 1 : 0) + (b.messages ? 1 : 0) === 1, { message: 'give exactly one of state or messages' });
export type IdeateRequest = z.infer<typeof IdeateRequestSchema>;

export const IdeateResponseSchema = z.object({
  completion: CompletionSchema,
  idea: ParsedIdeaSchema,
});
export type IdeateResponse = z.infer<typeof IdeateResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Grading a submission of an MLE-bench-format task (`ideator grade`, the bench, the reward sandbox)
// ---------------------------------------------------------------------------------------------------------------

export const GradeResultSchema = z.object({
  /** False when the grader raised, the file was missing/unreadable, or the score was NaN/inf. */
  valid: z.boolean(),
  /** Raw metric value rounded to 5 decimals (MLE-bench); null when invalid. */
  score: z.number().nullable(),
  /** max(0, 100·(score − worst)/(best − worst)) against the task's leaderboard; null when invalid. */
  normalized: z.number().nullable(),
  /** Why the submission is invalid (the grader's exception message). */
  reason: z.string().optional(),
});
export type GradeResult = z.infer<typeof GradeResultSchema>;
