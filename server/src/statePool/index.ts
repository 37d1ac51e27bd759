/**
 * State pools: read a bench run directory's pool, write it as VeRL parquet or JSONL, split it for training.
 *
 *   readPool(runDir, { judgedOnly?, task? }): PoolRecord[]
 *   writePoolJsonl(file, records): void            one ExportLine (+ task/config/runId/stepIdx) per line
 *   writeVerlParquet(file, rows) / verlRow(record, index, split)
 *   splitPool(records, { perTask, valPerTask, seed }): { train, val }   the paper's per-task sampling
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchStore } from '../dualAgent/benchStore';
import { STORE_FILE } from '../dualAgent/benchRun';
import { poolRecord, type PoolRecord } from './records';
import { shuffled } from '../../../src/core/prng';

export { poolOutcome, poolRecord, type PoolRecord } from './records';
export { verlRow, writeVerlParquet, VERL_ABILITY, type VerlRow } from './verl';

export function readPool(runDir: string, opts: { judgedOnly?: boolean; task?: string } = {}): PoolRecord[] {
  const file = join(runDir, STORE_FILE);
  if (!existsSync(file)) throw new Error(`no bench store in ${runDir} (expected ${STORE_FILE}; run 'ideator bench --run-dir ${runDir}' first)`);
  const store = new BenchStore(file);
  try {
    return store
      .pool()
      .filter((r) => (!opts.task || r.task === opts.task) && (!opts.judgedOnly || r.improved !== null))
      .map(poolRecord);
  } finally {
    store.close();
  }
}

export function writePoolJsonl(file: string, records: PoolRecord[]): void {
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
}

/** Per task: up to valPerTask states for validation, then up to perTask for training, sampled without overlap. */
export function splitPool(records: PoolRecord[], opts: { perTask: number; valPerTask: number; seed: number }): { train: PoolRecord[]; val: PoolRecord[] } {
  const train: PoolRecord[] = [];
  const val: PoolRecord[] = [];
  const tasks = [...new Set(records.map((r) => r.task))].sort();
  for (const task of tasks) {
    const mine = shuffled(records.filter((r) => r.task === task).sort((a, b) => a.ideaId.localeCompare(b.ideaId)), opts.seed);
    val.push(...mine.slice(0, opts.valPerTask));
    train.push(...mine.slice(opts.valPerTask, opts.valPerTask + opts.perTask));
  }
  return { train, val };
}
