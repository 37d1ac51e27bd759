/**
 * `ideator collect RUN_DIR... --out-dir DIR [--per-task 100] [--val-per-task 10] [--seed 0] [--format verl|jsonl]`
 * — the paper's training-set construction: pool the seek-help states of one or more bench runs, then sample per
 * task a validation set and a training set without overlap (deterministic for a seed), and write them as
 * train/val files VeRL (or the reward server) reads.
 */
import { join, resolve } from 'node:path';
import { readPool, splitPool, verlRow, writePoolJsonl, writeVerlParquet, type PoolRecord } from '../statePool';
import { defineCommand, printJson, UsageError } from './common';
import { makeOutputDir, writeOutput } from './outputFile';

const HELP = `usage: ideator collect RUN_DIR [RUN_DIR ...] --out-dir DIR [--per-task N] [--val-per-task N] [--seed S]
                       [--format verl|jsonl] [--judged-only] [--json]
Samples per task up to --val-per-task states (default 10) for val and up to --per-task (default 100) for train
from the state pools of the given bench run directories, and writes DIR/train.parquet and DIR/val.parquet
(--format jsonl: .jsonl).`;

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be an integer ≥ 0, got '${v}'`);
  return n;
}

const FLAGS = {
  'out-dir': { type: 'string' },
  'per-task': { type: 'string' },
  'val-per-task': { type: 'string' },
  seed: { type: 'string' },
  format: { type: 'string', default: 'verl' },
  'judged-only': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  if (!positionals.length) throw new UsageError('give at least one bench RUN_DIR');
  if (!values['out-dir']) throw new UsageError('--out-dir DIR is required');
  if (values.format !== 'verl' && values.format !== 'jsonl') throw new UsageError(`--format must be verl or jsonl, got '${values.format}'`);
  const records: PoolRecord[] = [];
  for (const dir of positionals) {
    try {
      records.push(...readPool(resolve(dir), { judgedOnly: values['judged-only'] }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const { train, val } = splitPool(records, {
    perTask: count(values['per-task'], 'per-task', 100),
    valPerTask: count(values['val-per-task'], 'val-per-task', 10),
    seed: count(values.seed, 'seed', 0),
  });
  const out = makeOutputDir(values['out-dir']);
  const ext = values.format === 'verl' ? 'parquet' : 'jsonl';
  const files = { train: join(out, `train.${ext}`), val: join(out, `val.${ext}`) };
  for (const [split, set] of [['train', train], ['val', val]] as const) {
    await writeOutput(files[split], (file) =>
      values.format === 'verl' ? writeVerlParquet(file, set.map((r, i) => verlRow(r, i, split))) : writePoolJsonl(file, set),
    );
  }
  const summary = { pooled: records.length, train: train.length, val: val.length, tasks: [...new Set(records.map((r) => r.task))].sort(), files };
  if (values.json) printJson(io, summary);
  else io.stdout.write(`pooled ${summary.pooled} states from ${summary.tasks.length} task(s): ${summary.train} train → ${files.train}, ${summary.val} val → ${files.val}\n`);
  return 0;
});
