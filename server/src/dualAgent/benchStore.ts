/**
 * The bench's SQLite file (<runDir>/bench.sqlite, WAL): the plan, one row per (task × config × run), every step,
 * and the state pool (every seek-help state with the idea it got and what happened next). Resumable: a run that
 * was 'running' when the process died is reset and redone from scratch (an interpreter's state cannot be
 * restored), finished runs are never repeated.
 */
import Database from 'better-sqlite3';
import { z } from 'zod';
import { IdeatorStateSchema, type IdeatorState } from '../../../src/core/protocol';

export const RunResultSchema = z.object({
  valid: z.boolean(),
  score: z.number().nullable(),
  normalized: z.number().nullable(),
  reason: z.string().optional(),
  steps: z.number().int(),
  seekHelps: z.number().int(),
  endReason: z.enum(['submit', 'max_steps', 'time_limit', 'error']),
  error: z.string().optional(),
  implementerTokens: z.object({ input: z.number().int(), output: z.number().int() }),
  ideatorTokens: z.object({ input: z.number().int(), output: z.number().int() }),
  costUsd: z.number(),
  durationMs: z.number(),
});
export type RunResult = z.infer<typeof RunResultSchema>;

export interface RunKey {
  task: string;
  config: string;
  runIndex: number;
}

export interface RunRow extends RunKey {
  id: string;
  status: 'pending' | 'running' | 'done';
  result: RunResult | null;
}

export interface StepRow {
  runId: string;
  idx: number;
  kind: 'bash' | 'python' | 'seek_help' | 'submit' | 'none';
  action: string;
  observation: string;
  exitCode: number | null;
  /** Grade of submission.csv when this step changed it. */
  submissionValid: boolean | null;
  submissionScore: number | null;
  submissionNormalized: number | null;
  /** Best normalized score of a valid submission so far (0 before any). */
  bestNormalized: number;
  tokensIn: number;
  tokensOut: number;
  elapsedMs: number;
}

export interface PoolRow {
  id: string;
  runId: string;
  stepIdx: number;
  task: string;
  config: string;
  state: IdeatorState;
  ideaRaw: string;
  ideaOk: boolean;
  ideaType: string | null;
  /** Normalized score of the best valid submission before the question (null: none yet). */
  before: number | null;
  /** Normalized score of the first valid submission after the answer (null: none). */
  after: number | null;
  improved: boolean | null;
  createdAt: string;
}

export const runId = (k: RunKey) => `${k.task}|${k.config}|${k.runIndex}`;

export class BenchStore {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY, task TEXT NOT NULL, config TEXT NOT NULL, run_index INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', result TEXT, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS steps (
        run_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL, action TEXT NOT NULL, observation TEXT NOT NULL,
        exit_code INTEGER, sub_valid INTEGER, sub_score REAL, sub_normalized REAL, best_normalized REAL NOT NULL,
        tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, elapsed_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, idx));
      CREATE TABLE IF NOT EXISTS pool (
        id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_idx INTEGER NOT NULL, task TEXT NOT NULL, config TEXT NOT NULL,
        state TEXT NOT NULL, idea_raw TEXT NOT NULL, idea_ok INTEGER NOT NULL, idea_type TEXT,
        before REAL, after REAL, improved INTEGER, created_at TEXT NOT NULL);
    `);
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Adds the planned runs that are not there yet; resets interrupted ones. Returns every run of the plan. */
  plan(keys: RunKey[]): RunRow[] {
    const now = new Date().toISOString();
    const insert = this.db.prepare('INSERT OR IGNORE INTO runs (id, task, config, run_index, status, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const k of keys) insert.run(runId(k), k.task, k.config, k.runIndex, 'pending', now);
      const interrupted = this.db.prepare("SELECT id FROM runs WHERE status = 'running'").all() as { id: string }[];
      for (const { id } of interrupted) this.resetRun(id);
    })();
    return keys.map((k) => this.getRun(runId(k))!);
  }

  private resetRun(id: string): void {
    this.db.prepare('DELETE FROM steps WHERE run_id = ?').run(id);
    this.db.prepare('DELETE FROM pool WHERE run_id = ?').run(id);
    this.db.prepare("UPDATE runs SET status = 'pending', result = NULL, updated_at = ? WHERE id = ?").run(new Date().toISOString(), id);
  }

  getRun(id: string): RunRow | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as
      | { id: string; task: string; config: string; run_index: number; status: RunRow['status']; result: string | null }
      | undefined;
    if (!r) return undefined;
    return {
      id: r.id,
      task: r.task,
      config: r.config,
      runIndex: r.run_index,
      status: r.status,
      result: r.result ? RunResultSchema.parse(JSON.parse(r.result)) : null,
    };
  }

  allRuns(): RunRow[] {
    const ids = this.db.prepare('SELECT id FROM runs ORDER BY task, config, run_index').all() as { id: string }[];
    return ids.map(({ id }) => this.getRun(id)!);
  }

  startRun(id: string): void {
    this.resetRun(id);
    this.db.prepare("UPDATE runs SET status = 'running', updated_at = ? WHERE id = ?").run(new Date().toISOString(), id);
  }

  finishRun(id: string, result: RunResult): void {
    this.db
      .prepare("UPDATE runs SET status = 'done', result = ?, updated_at = ? WHERE id = ?")
      .run(JSON.stringify(RunResultSchema.parse(result)), new Date().toISOString(), id);
  }

  addStep(s: StepRow): void {
    this.db
      .prepare(
        `INSERT INTO steps (run_id, idx, kind, action, observation, exit_code, sub_valid, sub_score, sub_normalized,
           best_normalized, tokens_in, tokens_out, elapsed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.runId, s.idx, s.kind, s.action, s.observation, s.exitCode,
        s.submissionValid === null ? null : Number(s.submissionValid), s.submissionScore, s.submissionNormalized,
        s.bestNormalized, s.tokensIn, s.tokensOut, s.elapsedMs,
      );
  }

  steps(runIdValue?: string): StepRow[] {
    const rows = (runIdValue
      ? this.db.prepare('SELECT * FROM steps WHERE run_id = ? ORDER BY idx').all(runIdValue)
      : this.db.prepare('SELECT * FROM steps ORDER BY run_id, idx').all()) as Record<string, unknown>[];
    return rows.map((r) => ({
      runId: r.run_id as string,
      idx: r.idx as number,
      kind: r.kind as StepRow['kind'],
      action: r.action as string,
      observation: r.observation as string,
      exitCode: r.exit_code as number | null,
      submissionValid: r.sub_valid === null ? null : Boolean(r.sub_valid),
      submissionScore: r.sub_score as number | null,
      submissionNormalized: r.sub_normalized as number | null,
      bestNormalized: r.best_normalized as number,
      tokensIn: r.tokens_in as number,
      tokensOut: r.tokens_out as number,
      elapsedMs: r.elapsed_ms as number,
    }));
  }

  addPool(p: PoolRow): void {
    this.db
      .prepare(
        `INSERT INTO pool (id, run_id, step_idx, task, config, state, idea_raw, idea_ok, idea_type, before, after, improved, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        p.id, p.runId, p.stepIdx, p.task, p.config, JSON.stringify(p.state), p.ideaRaw, Number(p.ideaOk), p.ideaType,
        p.before, p.after, p.improved === null ? null : Number(p.improved), p.createdAt,
      );
  }

  setPoolOutcome(id: string, after: number | null, improved: boolean | null): void {
    this.db.prepare('UPDATE pool SET after = ?, improved = ? WHERE id = ?').run(after, improved === null ? null : Number(improved), id);
  }

  pool(): PoolRow[] {
    const rows = this.db.prepare('SELECT * FROM pool ORDER BY created_at, id').all() as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as string,
      runId: r.run_id as string,
      stepIdx: r.step_idx as number,
      task: r.task as string,
      config: r.config as string,
      state: IdeatorStateSchema.parse(JSON.parse(r.state as string)),
      ideaRaw: r.idea_raw as string,
      ideaOk: Boolean(r.idea_ok),
      ideaType: (r.idea_type as string | null) ?? null,
      before: r.before as number | null,
      after: r.after as number | null,
      improved: r.improved === null ? null : Boolean(r.improved),
      createdAt: r.created_at as string,
    }));
  }

  close(): void {
    this.db.close();
  }
}
