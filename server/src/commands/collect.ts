/**
 * `ideator collect RUN_DIR... --out-dir DIR [--per-task 100] [--val-per-task 10] [--seed 0] [--format verl|jsonl]`
 * — the paper's training-set construction: pool the seek-help states of one or more bench runs, then sample per
 * task a validation set and a training set without overlap (deterministic for a seed), and write them as
 * train/val files VeRL (or the reward server) reads.
 */
import { join, resolve } from 'node:path';
import { readPool, splitPool, verlRow, writePoolJsonl, writeVerlParquet, type PoolRecord, type VerlRow } from '../statePool';
import { lengthLines, measureLengths, type LengthReport } from '../statePool/lengths';
import { defineCommand, log, printJson, UsageError } from './common';
import { makeOutputDir, writeOutput } from './outputFile';

const HELP = `usage: ideator collect RUN_DIR [RUN_DIR ...] --out-dir DIR [--per-task N] [--val-per-task N] [--seed S]
                       [--format verl|jsonl] [--judged-only] [--json]
Samples per task up to --val-per-task states (default 10) for val and up to --per-task (default 100) for train
from the state pools of the given bench run directories, and writes DIR/train.parquet and DIR/val.parquet
(--format jsonl: .jsonl). Validation is sampled first: a task with --val-per-task states or fewer gives train
nothing (said on stderr). No split is written empty: no train states is an error (exit 2), and with
--val-per-task 0 no val file is written. For verl, prints the longest prompt in Qwen3 tokens and the VeRL
length settings that fit it.`;

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
  const valPerTask = count(values['val-per-task'], 'val-per-task', 10);
  const { train, val } = splitPool(records, {
    perTask: count(values['per-task'], 'per-task', 100),
    valPerTask,
    seed: count(values.seed, 'seed', 0),
  });
  const tasks = [...new Set(records.map((r) => r.task))].sort();
  // A trainer handed an empty split dies on "no data" long after this command said all was well: refuse it here.
  if (!train.length) {
    throw new UsageError(
      records.length
        ? `no training states: the ${records.length} pooled state(s) of ${tasks.length} task(s) all went to val (--val-per-task ${valPerTask} is sampled first, per task); ` +
            `lower --val-per-task or pool more runs — nothing written`
        : `no states in the pools of ${positionals.join(', ')}${values['judged-only'] ? ' (--judged-only)' : ''}: nothing to train on, nothing written`,
    );
  }
  for (const task of tasks) {
    if (!train.some((r) => r.task === task)) {
      const n = records.filter((r) => r.task === task).length;
      log(io, `ideator collect: task ${task} has ${n} state(s), all in val (--val-per-task ${valPerTask}): none in train`);
    }
  }
  const out = makeOutputDir(values['out-dir']);
  const ext = values.format === 'verl' ? 'parquet' : 'jsonl';
  const files: { train: string; val: string | null } = { train: join(out, `train.${ext}`), val: val.length ? join(out, `val.${ext}`) : null };
  const rows: Record<'train' | 'val', VerlRow[]> = { train: [], val: [] };
  for (const [split, set] of [['train', train], ['val', val]] as const) {
    const file = files[split];
    if (file === null) continue;
    if (values.format === 'verl') rows[split] = set.map((r, i) => verlRow(r, i, split));
    await writeOutput(file, (f) => (values.format === 'verl' ? writeVerlParquet(f, rows[split]) : writePoolJsonl(f, set)));
  }
  let lengths: LengthReport | undefined;
  if (values.format === 'verl') {
    const all = [...rows.train, ...rows.val];
    lengths = await measureLengths(all.map((r) => ({ messages: r.prompt, answer: r.extra_info.idea, stateId: r.extra_info.state_id, task: r.extra_info.task })));
  }
  const summary = { pooled: records.length, train: train.length, val: val.length, tasks, files, ...(lengths ? { lengths } : {}) };
  if (values.json) printJson(io, summary);
  else {
    const valPart = files.val ? `${summary.val} val → ${files.val}` : 'no val split (--val-per-task 0): no val file written';
    io.stdout.write(`pooled ${summary.pooled} states from ${summary.tasks.length} task(s): ${summary.train} train → ${files.train}, ${valPart}\n`);
    for (const line of lengths ? lengthLines(lengths, 'verl') : []) io.stdout.write(line + '\n');
  }
  return 0;
});
