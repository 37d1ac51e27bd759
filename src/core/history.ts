/**
 * Run history: an append-only JSONL journal of runs, ideas, applied edits, outcomes, deletions and baselines.
 *
 * API
 *   HistoryStore.open(dir, opts?)            -> HistoryStore   (reads every segment; a bad line is skipped + warned)
 *   store.appendRun(run)                     -> Run             (same id again = update, keeps its place)
 *   store.appendIdea(idea)                   -> IdeaRecord      (same id again = update, e.g. its type once classified)
 *   store.appendApplied({ideaId, path?, beforeHash?, afterHash?, diff?, via?, partial?, undone?, at | appliedAt})
 *   store.appendOutcome(outcome)
 *   store.deleteRun(id) / store.markBaseline(id | null)
 *   store.runs()       oldest -> newest, deleted excluded
 *   store.run(id) / store.ideas() / store.idea(id) / store.applied() / store.outcomes() / store.outcomeFor(ideaId)
 *   store.baselineId() / store.bestScore() / store.lastScore() / store.pendingIdea() / store.codeContent(hash)
 *   store.toTrajectory({until?, maxObservationChars?, sinceBaseline?}) -> Step[]
 *   store.setScoreChoice('last' | 'best') / store.scoreChoice()
 *   store.onChange(listener) -> unsubscribe
 *
 * Why a journal: appends are cheap and crash-safe (a torn last line is just one skipped record), and replaying the
 * journal rebuilds the state after a reload. Why segments: the file is size-capped; when the active segment passes
 * `maxSegmentBytes` it is renamed to history.<n>.jsonl and the oldest segments beyond `maxSegments` are dropped,
 * so disk use stays bounded at about maxSegmentBytes * (maxSegments + 1).
 *
 * A run's score: the journal keeps what the run printed (primary.value = the last value, metrics with their best
 * and series); runs read from the store carry in primary.value the score `ideator.runScore` chooses (metric.ts
 * runScore: last or best epoch), so the best so far, trends, outcomes, the plateau prompt and p_t all use one choice.
 *
 * What a run's result counts as (failed, best, newest score) is core/runResults.ts; the runs and ideas as trajectory
 * steps are core/historyTrajectory.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { IdeaRecordSchema, OutcomeSchema, RunSchema, type IdeaRecord, type Outcome, type Run, type ScoreState, type Step } from './protocol';
import { runScore, type ScoreChoice } from './metric';
import { bestOf, newestScore, type BestScore } from './runResults';
import { buildTrajectory, type TrajectoryOptions } from './historyTrajectory';

// ---------------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------------

export const AppliedEditSchema = z.object({
  ideaId: z.string().min(1),
  /** Workspace-relative path of the file the idea was applied to. */
  path: z.string().optional(),
  /** sha256 of the file before / after the edit, when the applier knows them. */
  beforeHash: z.string().optional(),
  afterHash: z.string().optional(),
  /** The unified diff that was applied. */
  diff: z.string().optional(),
  /** How it was applied (diff preview, code action, ...). */
  via: z.string().optional(),
  /**
   * Only part of the proposed change is in the file: hunks left out in the diff preview, or undone in the editor's
   * Keep / Undo review (which records the apply again, with the same `at`, once every change is decided).
   */
  partial: z.boolean().optional(),
  /** Every change was undone in that review: none of the idea is in the file, and no run judges it. */
  undone: z.boolean().optional(),
  /** ISO-8601. */
  at: z.string(),
});
export type AppliedEdit = z.infer<typeof AppliedEditSchema>;
/** What appendApplied accepts: `appliedAt` is taken as a synonym of `at` (the Ask Ideator side uses that name). */
export type AppliedEditInput = Omit<AppliedEdit, 'at'> & { at?: string; appliedAt?: string };

export const HistoryRecordSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('run'), run: RunSchema }),
  z.object({ kind: z.literal('idea'), idea: IdeaRecordSchema }),
  z.object({ kind: z.literal('applied'), applied: AppliedEditSchema }),
  z.object({ kind: z.literal('outcome'), outcome: OutcomeSchema }),
  z.object({ kind: z.literal('delete'), runId: z.string().min(1), at: z.string() }),
  /** runId null clears the baseline. */
  z.object({ kind: z.literal('baseline'), runId: z.string().min(1).nullable(), at: z.string() }),
]);
export type HistoryRecord = z.infer<typeof HistoryRecordSchema>;

export interface HistoryOptions {
  /** Size at which the active segment is rotated (default 16 MiB). */
  maxSegmentBytes?: number;
  /** Rotated segments kept besides the active one (default 4). */
  maxSegments?: number;
  /** Where skipped lines are reported (default console.warn). */
  onWarning?: (message: string) => void;
  /** Which value of the primary metric is a run's score (default 'last'); see setScoreChoice. */
  scoreChoice?: ScoreChoice;
}

export interface PendingIdea {
  idea: IdeaRecord | undefined;
  applied: AppliedEdit;
}

export type HistoryListener = (record: HistoryRecord) => void;

const ACTIVE = 'history.jsonl';
const SEGMENT_RE = /^history\.(\d+)\.jsonl$/;

// ---------------------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------------------

export class HistoryStore {
  private readonly runsById = new Map<string, Run>();
  private readonly runOrder: string[] = [];
  private readonly deleted = new Set<string>();
  private readonly ideasById = new Map<string, IdeaRecord>();
  private readonly ideaOrder: string[] = [];
  private readonly appliedList: AppliedEdit[] = [];
  private readonly outcomeList: Outcome[] = [];
  private baseline: string | null = null;
  private choice: ScoreChoice = 'last';
  /** Runs as read under the 'best' choice (primary.value = the best epoch), by id; dropped when a run changes. */
  private readonly chosen = new Map<string, Run>();
  private readonly listeners = new Set<HistoryListener>();
  private activeBytes = 0;
  /** True when the active file does not end in a newline (a torn write): the next append starts a new line. */
  private needsNewline = false;
  /** Lines skipped while reading (corrupt JSON or failed validation). */
  readonly skipped: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly maxSegmentBytes: number,
    private readonly maxSegments: number,
    private readonly warn: (message: string) => void,
  ) {}

  static open(dir: string, opts: HistoryOptions = {}): HistoryStore {
    fs.mkdirSync(dir, { recursive: true });
    const store = new HistoryStore(
      dir,
      opts.maxSegmentBytes ?? 16 * 1024 * 1024,
      opts.maxSegments ?? 4,
      opts.onWarning ?? ((m) => console.warn(m)),
    );
    store.choice = opts.scoreChoice ?? 'last';
    store.load();
    return store;
  }

  // ----- reading ---------------------------------------------------------------------------------------------

  private segmentFiles(): string[] {
    const rotated = fs
      .readdirSync(this.dir)
      .map((f) => ({ f, m: SEGMENT_RE.exec(f) }))
      .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
      .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
      .map((x) => x.f);
    return [...rotated, ACTIVE];
  }

  private load(): void {
    for (const file of this.segmentFiles()) {
      const full = path.join(this.dir, file);
      if (!fs.existsSync(full)) continue;
      const text = fs.readFileSync(full, 'utf8');
      if (file === ACTIVE) {
        this.activeBytes = Buffer.byteLength(text);
        this.needsNewline = text.length > 0 && !text.endsWith('\n');
      }
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (!line) continue;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          this.skip(`${file}:${i + 1}: not JSON, skipped`);
          continue;
        }
        const parsed = HistoryRecordSchema.safeParse(json);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          this.skip(`${file}:${i + 1}: invalid record (${issue?.path.join('.') || 'root'}: ${issue?.message}), skipped`);
          continue;
        }
        this.apply(parsed.data);
      }
    }
  }

  private skip(message: string): void {
    this.skipped.push(message);
    this.warn(`Ideator run history: ${message}`);
  }

  private apply(rec: HistoryRecord): void {
    switch (rec.kind) {
      case 'run':
        if (!this.runsById.has(rec.run.id)) this.runOrder.push(rec.run.id);
        this.runsById.set(rec.run.id, rec.run);
        this.chosen.delete(rec.run.id);
        break;
      case 'idea':
        if (!this.ideasById.has(rec.idea.id)) this.ideaOrder.push(rec.idea.id);
        this.ideasById.set(rec.idea.id, rec.idea);
        break;
      case 'applied': {
        // The same apply (same idea and `at`) recorded again is an update of it (the inline review's outcome: partly
        // applied or undone), whenever it lands; the list stays ordered by `at`, so the last is the newest apply.
        const a = rec.applied;
        const same = this.appliedList.findIndex((x) => x.ideaId === a.ideaId && x.at === a.at);
        if (same >= 0) this.appliedList[same] = a;
        else {
          let i = this.appliedList.length;
          while (i > 0 && this.appliedList[i - 1].at > a.at) i--;
          this.appliedList.splice(i, 0, a);
        }
        break;
      }
      case 'outcome': {
        // One outcome per idea: a later one replaces the earlier (e.g. re-judged).
        const i = this.outcomeList.findIndex((o) => o.ideaId === rec.outcome.ideaId);
        if (i >= 0) this.outcomeList.splice(i, 1);
        this.outcomeList.push(rec.outcome);
        break;
      }
      case 'delete':
        this.deleted.add(rec.runId);
        if (this.baseline === rec.runId) this.baseline = null;
        break;
      case 'baseline':
        this.baseline = rec.runId;
        break;
    }
  }

  // ----- writing ---------------------------------------------------------------------------------------------

  private append(rec: HistoryRecord): void {
    const valid = HistoryRecordSchema.parse(rec);
    const line = (this.needsNewline ? '\n' : '') + JSON.stringify(valid) + '\n';
    const bytes = Buffer.byteLength(line);
    if (this.activeBytes > 0 && this.activeBytes + bytes > this.maxSegmentBytes) this.rotate();
    fs.appendFileSync(path.join(this.dir, ACTIVE), line);
    this.activeBytes += bytes;
    this.needsNewline = false;
    this.apply(valid);
    for (const l of this.listeners) {
      try {
        l(valid);
      } catch (err) {
        this.warn(`Ideator run history: listener failed: ${String(err)}`);
      }
    }
  }

  private rotate(): void {
    const segments = this.segmentFiles().filter((f) => f !== ACTIVE);
    const next = segments.length ? Number(SEGMENT_RE.exec(segments[segments.length - 1])![1]) + 1 : 1;
    fs.renameSync(path.join(this.dir, ACTIVE), path.join(this.dir, `history.${next}.jsonl`));
    const all = [...segments, `history.${next}.jsonl`];
    // Drop the oldest segments beyond the cap. What they held stays in memory for this session; after a reload the
    // oldest records are gone, which is the price of a bounded store.
    for (const old of all.slice(0, Math.max(0, all.length - this.maxSegments))) fs.rmSync(path.join(this.dir, old), { force: true });
    this.activeBytes = 0;
  }

  /** Records a run; returns it as the store's readers see it (its score under the current choice). */
  appendRun(run: Run): Run {
    const valid = RunSchema.parse(run);
    this.append({ kind: 'run', run: valid });
    return this.scored(valid);
  }

  appendIdea(idea: IdeaRecord): IdeaRecord {
    const valid = IdeaRecordSchema.parse(idea);
    this.append({ kind: 'idea', idea: valid });
    return valid;
  }

  appendApplied(applied: AppliedEditInput): void {
    const { appliedAt, at, ...rest } = applied;
    this.append({ kind: 'applied', applied: { ...rest, at: at ?? appliedAt ?? new Date().toISOString() } });
  }

  appendOutcome(outcome: Outcome): void {
    this.append({ kind: 'outcome', outcome });
  }

  deleteRun(id: string): void {
    this.append({ kind: 'delete', runId: id, at: new Date().toISOString() });
  }

  markBaseline(id: string | null): void {
    this.append({ kind: 'baseline', runId: id, at: new Date().toISOString() });
  }

  onChange(listener: HistoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ----- the run score choice --------------------------------------------------------------------------------

  /** Which value of the primary metric is a run's score from now on. True when it changed (views re-render). */
  setScoreChoice(choice: ScoreChoice): boolean {
    if (choice === this.choice) return false;
    this.choice = choice;
    this.chosen.clear();
    return true;
  }

  scoreChoice(): ScoreChoice {
    return this.choice;
  }

  /** A run as readers see it: under 'best', primary.value is its best epoch's value (a copy; the record is kept). */
  private scored(run: Run): Run {
    if (this.choice === 'last' || !run.primary) return run;
    let view = this.chosen.get(run.id);
    if (!view) {
      const value = runScore(run.primary, this.choice, run.metrics);
      view = value === run.primary.value ? run : { ...run, primary: { ...run.primary, value } };
      this.chosen.set(run.id, view);
    }
    return view;
  }

  // ----- queries ---------------------------------------------------------------------------------------------

  /** Oldest -> newest, deleted excluded; each with its score under the current choice. */
  runs(): Run[] {
    const out: Run[] = [];
    for (const id of this.runOrder) if (!this.deleted.has(id)) out.push(this.scored(this.runsById.get(id)!));
    return out;
  }

  run(id: string): Run | undefined {
    const run = this.deleted.has(id) ? undefined : this.runsById.get(id);
    return run && this.scored(run);
  }

  /** The run as it was recorded (primary.value = the last value printed), whatever the choice. */
  recordedRun(id: string): Run | undefined {
    return this.deleted.has(id) ? undefined : this.runsById.get(id);
  }

  ideas(): IdeaRecord[] {
    return this.ideaOrder.map((id) => this.ideasById.get(id)!);
  }

  idea(id: string): IdeaRecord | undefined {
    return this.ideasById.get(id);
  }

  /** One record per apply (an apply recorded again replaces its earlier record), oldest `at` first. */
  applied(): AppliedEdit[] {
    return [...this.appliedList];
  }

  outcomes(): Outcome[] {
    return [...this.outcomeList];
  }

  outcomeFor(ideaId: string): Outcome | undefined {
    return this.outcomeList.find((o) => o.ideaId === ideaId);
  }

  baselineId(): string | null {
    return this.baseline && !this.deleted.has(this.baseline) ? this.baseline : null;
  }

  /** Runs from the baseline on (all runs when none is marked): the window "best so far" is judged in. */
  runsSinceBaseline(): Run[] {
    const all = this.runs();
    const b = this.baselineId();
    const i = b ? all.findIndex((r) => r.id === b) : -1;
    return i >= 0 ? all.slice(i) : all;
  }

  bestScore(): BestScore | null {
    return bestOf(this.runsSinceBaseline());
  }

  /**
   * The current solution's score p_t: the newest completed, non-failed run's primary score (same metric as the best).
   * Shape matches services.ts RunHistoryLike.lastScore.
   */
  lastScore(): ScoreState | undefined {
    return newestScore(this.runsSinceBaseline());
  }

  /** The newest applied idea that has no outcome yet: the next completed run will judge it. */
  pendingIdea(): PendingIdea | null {
    // Only the newest applied edit (by `at`) can be pending: an older one without an outcome was superseded before any run.
    const applied = this.appliedList[this.appliedList.length - 1];
    // An outcome recorded before the edit (the idea was verified first: core/verify.ts) leaves the next run to judge it.
    const outcome = applied && this.outcomeFor(applied.ideaId);
    if (!applied || applied.undone || (outcome && outcome.recordedAt >= applied.at)) return null;
    return { idea: this.ideasById.get(applied.ideaId), applied };
  }

  /** Full code for a content hash, from the newest run that stored it (runs omit unchanged content). */
  codeContent(hash: string): string | undefined {
    for (let i = this.runOrder.length - 1; i >= 0; i--) {
      const code = this.runsById.get(this.runOrder[i])!.code;
      if (code?.hash === hash && code.content !== undefined) return code.content;
    }
    return undefined;
  }

  toTrajectory(opts: TrajectoryOptions = {}): Step[] {
    return buildTrajectory(opts.sinceBaseline ? this.runsSinceBaseline() : this.runs(), this.ideas(), opts);
  }
}
