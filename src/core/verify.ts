/**
 * Verify: ideas measured by real runs before the user applies one. The shapes both hosts share, defined once:
 * `ideator verify` (server/src/commands/verify.ts) writes them as JSON lines, the editor's launcher
 * (src/extension/ideas/verify.ts) parses the same schema; and the pure rules — an idea's status against the
 * baseline's noise, the ranking, the outcome recorded in the run history.
 *
 *   VerifyIdeasFileSchema               the --ideas file: raw answers, parsed ideas or implemented code per idea
 *   VerifyEventSchema / parseVerifyLine  {type:'progress'} … {type:'result'} … {type:'summary'} (one JSON a line)
 *   verifyStatus(score, baseline, dir)  improved | within_noise | worse (a gain inside the noise is no win)
 *   rankResults(results, direction)     ids best first: measured scores by the metric, then failures
 *   WorkspaceRewardRequestSchema       POST /v1/rewards with an uploaded workspace instead of a catalog task (the
 *                                      companion server streams the same VerifyEvent lines back)
 *   verifiedOutcome(result, …)          the Outcome an applied idea would get, so idea-type statistics learn
 *   recordVerifiedOutcomes(store, …)    appends those outcomes (and the ideas they judge) to a HistoryStore
 */
import { z } from 'zod';
import type { HistoryStore } from './history';
import { compareBestFirst, improves, SCORE_CHOICES } from './metric';
import { BaselineNoiseSchema, DirectionSchema, GuardFindingSchema, GuardFlagSchema, ParsedIdeaSchema, type BaselineNoise, type Direction, type IdeaRecord, type Outcome, type RewardStatus } from './protocol';
import { paperReward } from './rewards';

// ---------------------------------------------------------------------------------------------------------------
// Input: the ideas
// ---------------------------------------------------------------------------------------------------------------

/** Largest implemented file or raw answer accepted per idea. */
export const MAX_VERIFY_IDEA_CHARS = 1_000_000;
/** Most ideas one verification takes. */
export const MAX_VERIFY_IDEAS = 32;

/** An idea id: also a file-name fragment and a process marker, so plain characters only. */
const IdeaIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'an idea id is 1–64 letters, digits, _ . : -');

/**
 * One idea to verify: the raw Ideator answer (parsed by core/idea.ts), an already parsed idea, or the main file as
 * it would be with the idea applied (`code`, e.g. what the editor's diff preview holds). `code` wins when given.
 */
export const VerifyIdeaSchema = z
  .object({
    id: IdeaIdSchema.optional(),
    /** A short label (the ACTION's first line when absent). */
    title: z.string().max(500).optional(),
    raw: z.string().max(MAX_VERIFY_IDEA_CHARS).optional(),
    parsed: ParsedIdeaSchema.optional(),
    code: z.string().max(MAX_VERIFY_IDEA_CHARS).optional(),
  })
  .refine((i) => i.raw !== undefined || i.parsed !== undefined || i.code !== undefined, { message: 'an idea needs raw, parsed or code' });
export type VerifyIdea = z.infer<typeof VerifyIdeaSchema>;

/** The --ideas file: a list (a bare string is a raw answer) or {ideas: [...]}. Ids must be unique. */
export const VerifyIdeasFileSchema = z
  .union([z.array(z.union([z.string().max(MAX_VERIFY_IDEA_CHARS), VerifyIdeaSchema])), z.object({ ideas: z.array(z.union([z.string().max(MAX_VERIFY_IDEA_CHARS), VerifyIdeaSchema])) })])
  .transform((v) => (Array.isArray(v) ? v : v.ideas).map((i) => (typeof i === 'string' ? { raw: i } : i)))
  .pipe(z.array(VerifyIdeaSchema).min(1, 'give at least one idea').max(MAX_VERIFY_IDEAS, `at most ${MAX_VERIFY_IDEAS} ideas`))
  .transform((ideas) => ideas.map((i, n) => ({ ...i, id: i.id ?? `idea-${n + 1}` })))
  .refine((ideas) => new Set(ideas.map((i) => i.id)).size === ideas.length, { message: 'idea ids must be unique' });
export type VerifyIdeasInput = z.input<typeof VerifyIdeasFileSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Input on a companion server: POST /v1/rewards with a workspace
// ---------------------------------------------------------------------------------------------------------------

/** Most baseline runs one verification asks for. */
export const MAX_VERIFY_SEEDS = 16;
/** Most data paths a workspace request binds (each is a mount in every run). */
export const MAX_VERIFY_DATA_PATHS = 1000;

/** A workspace-relative path: no absolute path, no `..`, no empty or `.` part, no NUL; posix separators. */
export const WorkspaceRelPathSchema = z
  .string()
  .min(1)
  .max(1000)
  .refine((p) => !p.startsWith('/') && !p.includes('\0') && !p.includes('\\') && p.split('/').every((x) => x !== '' && x !== '.' && x !== '..'), { message: 'a workspace-relative path (no absolute path, no .., no empty part)' });

/**
 * POST /v1/rewards, the workspace form: the ideas measured against a workspace uploaded before (PUT
 * /v1/workspaces/{sha256}) instead of a catalog task, as `ideator verify` measures them locally. The answer is
 * `application/x-ndjson`: the VerifyEvent lines below, the summary last.
 */
export const WorkspaceRewardRequestSchema = z.object({
  workspace: z.object({
    /** The upload's sha256 (its source files: the workspace plan's copies). */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** A data folder the server's operator named (`ideator serve --data-root NAME=PATH`); needed when `data` is not empty. */
    dataRoot: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
    /** The plan's read-only paths (data folders, large files), bound from the data root at the same relative path. */
    data: z.array(z.object({ path: WorkspaceRelPathSchema, dir: z.boolean() })).max(MAX_VERIFY_DATA_PATHS).default([]),
  }),
  /** The command that produced the current score, run by /bin/sh in each run's folder. */
  command: z.string().min(1).max(4000),
  /** The file the ideas change (one of the uploaded files). */
  main: WorkspaceRelPathSchema,
  metric: z.string().min(1).max(200).optional(),
  direction: DirectionSchema.optional(),
  /** A run's score: the metric's last value printed, or its best epoch. */
  score: z.enum(SCORE_CHOICES).default('last'),
  /** The ideas, as the --ideas file gives them (an id each, or idea-1, idea-2 … by position). */
  ideas: z.array(VerifyIdeaSchema).min(1).max(MAX_VERIFY_IDEAS),
  /** Runs of the unchanged workspace (IDEATOR_SEED=i) that measure the noise. */
  baselineSeeds: z.number().int().min(1).max(MAX_VERIFY_SEEDS).default(3),
  /** Runs at once (at most the server's slots). */
  slots: z.number().int().min(1).max(64).default(1),
  /** Wall-time budget of the whole verification, seconds (at most the server's per-run cap). */
  budgetSec: z.number().positive().max(24 * 3600).default(1800),
  /** At most this long per run (default: the budget). */
  timeoutSec: z.number().positive().max(24 * 3600).optional(),
});
export type WorkspaceRewardRequest = z.infer<typeof WorkspaceRewardRequestSchema>;
export type WorkspaceRewardRequestInput = z.input<typeof WorkspaceRewardRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Output: the JSON lines
// ---------------------------------------------------------------------------------------------------------------

export const VerifyStatusSchema = z.enum(['improved', 'within_noise', 'worse', 'failed', 'timed_out']);
export type VerifyStatus = z.infer<typeof VerifyStatusSchema>;

/** What is happening: a run started or finished, or a warning (e.g. runs not isolated on this host). */
export const VerifyProgressSchema = z.object({
  type: z.literal('progress'),
  phase: z.enum(['prepare', 'baseline', 'idea', 'warning']),
  /** One plain line for the UI. */
  message: z.string(),
  /** 'started' / 'finished' for a run; absent for prepare and warnings. */
  event: z.enum(['started', 'finished']).optional(),
  idea: z.string().optional(),
  /** The baseline run's seed. */
  seed: z.number().int().nonnegative().optional(),
  score: z.number().nullable().optional(),
  seconds: z.number().nonnegative().optional(),
  /** Runs finished so far, and in all (baseline seeds + ideas). */
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export type VerifyProgress = z.infer<typeof VerifyProgressSchema>;

export const VerifyResultSchema = z.object({
  type: z.literal('result'),
  idea: z.string(),
  title: z.string(),
  status: VerifyStatusSchema,
  /** The measured score (null: no valid score). */
  score: z.number().nullable(),
  /** score − the baseline's mean (signed, in the metric's units; null without both). */
  delta: z.number().nullable(),
  /** The noise threshold a gain must pass: z · std · √(1 + 1/n) of the baseline's seeded runs. */
  noise: z.number().nonnegative(),
  /** The run's wall time (0 when it never ran). */
  seconds: z.number().nonnegative(),
  /** The unified diff of the main file the run used ('' when the idea could not be implemented). */
  diff: z.string(),
  /** How the code was obtained: the idea's own diff or script, the implementer model, or given as code. */
  via: z.enum(['diff', 'script', 'model', 'code', 'none']),
  /** Why there is no score (failed / timed_out). */
  error: z.string().optional(),
  /** The last lines the run printed. */
  outputTail: z.string(),
  /**
   * The score is what the run printed, so an idea can forge it: the reward guard (core/rewardGuard.ts) on the lines
   * the idea added — e.g. prints_metric for print('val_acc=0.99'), touches_evaluation — with its reasons and lines.
   */
  guardFlags: z.array(GuardFlagSchema).default([]),
  guard: z.array(GuardFindingSchema).default([]),
});
export type VerifyResult = z.infer<typeof VerifyResultSchema>;

export const VerifySummarySchema = z.object({
  type: z.literal('summary'),
  /** Idea ids, best first (see rankResults). */
  ranking: z.array(z.string()),
  metric: z.string().nullable(),
  direction: DirectionSchema,
  /** The baseline's k seeded runs: mean, std and the noise threshold. */
  baseline: BaselineNoiseSchema,
  slots: z.number().int().positive(),
  /** Verification wall time, and the sum of every run's own time (baseline + ideas). */
  wallSeconds: z.number().nonnegative(),
  runSeconds: z.number().nonnegative(),
  /** wallSeconds ÷ (runSeconds ÷ slots): 1 is perfect use of the slots. Null when nothing ran. */
  parallelRatio: z.number().nullable(),
  budgetSeconds: z.number().positive(),
  cancelled: z.boolean(),
  sandbox: z.object({ isolated: z.boolean(), missing: z.array(z.string()) }),
});
export type VerifySummary = z.infer<typeof VerifySummarySchema>;

/** A line of `ideator verify --json`. A fatal error is no line: one line on stderr and exit 2, as every command. */
export const VerifyEventSchema = z.discriminatedUnion('type', [VerifyProgressSchema, VerifyResultSchema, VerifySummarySchema]);
export type VerifyEvent = z.infer<typeof VerifyEventSchema>;

/** One stdout line of `ideator verify --json`, validated; an error names what is wrong. */
export function parseVerifyLine(line: string): { ok: true; event: VerifyEvent } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: `not JSON: ${line.slice(0, 120)}` };
  }
  const r = VerifyEventSchema.safeParse(value);
  if (r.success) return { ok: true, event: r.data };
  const issue = r.error.issues[0];
  return { ok: false, error: `unexpected shape at ${issue.path.join('.') || '(root)'}: ${issue.message}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------------------------

/**
 * A measured score against the baseline: improved only when it beats the baseline's mean by more than the noise
 * threshold (metric.ts improves with the margin), worse when the mean beats it by more than that, else
 * within_noise. No baseline score at all: any valid score is improved (as metric.ts has it).
 */
export function verifyStatus(score: number, baseline: Pick<BaselineNoise, 'mean' | 'threshold'>, direction: Direction): { status: 'improved' | 'within_noise' | 'worse'; delta: number | null } {
  const { mean, threshold } = baseline;
  const delta = mean === null ? null : score - mean;
  if (improves(mean, score, direction, threshold)) return { status: 'improved', delta };
  if (mean !== null && improves(score, mean, direction, threshold)) return { status: 'worse', delta };
  return { status: 'within_noise', delta };
}

const FAILED_ORDER: Record<VerifyStatus, number> = { improved: 0, within_noise: 0, worse: 0, timed_out: 1, failed: 2 };

/** Idea ids best first: every measured score by the metric (ties keep input order), then timed out, then failed. */
export function rankResults(results: readonly Pick<VerifyResult, 'idea' | 'status' | 'score'>[], direction: Direction): string[] {
  return results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const sa = a.r.score;
      const sb = b.r.score;
      if (sa !== null && sb !== null) return compareBestFirst(sa, sb, direction) || a.i - b.i;
      if (sa !== null) return -1;
      if (sb !== null) return 1;
      return FAILED_ORDER[a.r.status] - FAILED_ORDER[b.r.status] || a.i - b.i;
    })
    .map(({ r }) => r.idea);
}

const OUTCOME_STATUS: Record<VerifyStatus, RewardStatus> = {
  improved: 'improved',
  within_noise: 'not_improved',
  worse: 'not_improved',
  failed: 'exec_failed',
  timed_out: 'timeout',
};

/** The run-history runId of a verification run (no run of the history has it: it was measured, not watched). */
export const VERIFY_RUN_PREFIX = 'verify:';

/**
 * The Outcome a verified idea gets, as an applied one would (outcome.ts): before = the baseline's mean, after = the
 * measured score, the paper's reward of the status — a gain within the noise is not_improved.
 */
export function verifiedOutcome(result: Pick<VerifyResult, 'status' | 'score'>, ideaId: string, summary: Pick<VerifySummary, 'baseline' | 'direction'>, now: () => Date = () => new Date()): Outcome {
  const status = OUTCOME_STATUS[result.status];
  const before = summary.baseline.mean;
  return {
    ideaId,
    runId: `${VERIFY_RUN_PREFIX}${ideaId}`,
    before,
    after: result.score,
    direction: summary.direction,
    status,
    reward: paperReward({ status, before, after: result.score, direction: summary.direction }),
    recordedAt: now().toISOString(),
  };
}

/**
 * Records each verified idea's outcome in the run history, like an applied idea's, so the idea-type statistics
 * (historyRows.ts ideaTypeSuccessRates) learn from it. `ideas` maps a result's idea id to its IdeaRecord: a record
 * the history does not hold yet is appended first. Results without a record are skipped. Returns the outcomes.
 * Applying a verified idea later still has its next run judge it (history.ts pendingIdea ignores an outcome
 * recorded before the edit).
 */
export function recordVerifiedOutcomes(
  store: Pick<HistoryStore, 'idea' | 'appendIdea' | 'appendOutcome'>,
  results: readonly Pick<VerifyResult, 'idea' | 'status' | 'score'>[],
  summary: Pick<VerifySummary, 'baseline' | 'direction' | 'cancelled'>,
  ideas: ReadonlyMap<string, IdeaRecord>,
  now?: () => Date,
): Outcome[] {
  const out: Outcome[] = [];
  for (const r of results) {
    const record = ideas.get(r.idea);
    if (!record) continue;
    if (!store.idea(record.id)) store.appendIdea(record);
    const outcome = verifiedOutcome(r, record.id, summary, now);
    store.appendOutcome(outcome);
    out.push(outcome);
  }
  return out;
}
