/**
 * `ideator collect RUN_DIR... --out-dir DIR [--per-task 100] [--val-per-task 10] [--seed 0]
 * [--format verl|openrlhf|jsonl] [--server URL]` — the paper's training-set construction: pool the seek-help states
 * of one or more bench runs, then sample per task a validation set and a training set without overlap
 * (deterministic for a seed), and write them as train/val files VeRL, OpenRLHF (or the reward server) reads.
 */
import { join, resolve } from 'node:path';
import { readPool, splitPool, verlRow, writePoolJsonl, writeVerlParquet, type PoolRecord, type VerlRow } from '../statePool';
import { lengthLines, measureLengths, type LengthItem, type LengthReport } from '../statePool/lengths';
import { openrlhfRow, writeOpenrlhfJsonl, type OpenRlhfRow } from '../statePool/openrlhf';
import { defineCommand, log, printJson, UsageError } from './common';
import { makeOutputDir, writeOutput } from './outputFile';
import { checkServerFlag, registerForOpenRlhf, type RegisterSummary } from './registerStates';
import { readTrajectoryFlag } from './stateArgs';

const HELP = `usage: ideator collect RUN_DIR [RUN_DIR ...] --out-dir DIR [--per-task N] [--val-per-task N] [--seed S]
                       [--format verl|openrlhf|jsonl] [--server URL] [--judged-only] [--trajectory full|compact] [--json]
Samples per task up to --val-per-task states (default 10) for val and up to --per-task (default 100) for train
from the state pools of the given bench run directories, and writes DIR/train.parquet and DIR/val.parquet
(--format openrlhf or jsonl: .jsonl; the columns are export's). Validation is sampled first: a task with
--val-per-task states or fewer gives train nothing (said on stderr). No split is written empty: no train states
is an error (exit 2), and with --val-per-task 0 no val file is written. For verl and openrlhf, prints the longest
prompt in Qwen3 tokens and the trainer's length settings that fit it. --server URL (openrlhf): registers the
states with that reward server, so that the labels resolve there (token: env IDEATOR_SERVER_TOKEN).
--trajectory full (default, the paper's prompt) or compact: the prompt column's trajectory, as for export.`;

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be an integer ≥ 0, got '${v}'`);
  return n;
}

const FORMATS = ['verl', 'openrlhf', 'jsonl'] as const;

const FLAGS = {
  'out-dir': { type: 'string' },
  'per-task': { type: 'string' },
  'val-per-task': { type: 'string' },
  seed: { type: 'string' },
  format: { type: 'string', default: 'verl' },
  server: { type: 'string' },
  'judged-only': { type: 'boolean' },
  trajectory: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  const trajectoryMode = values.trajectory === undefined ? ('full' as const) : readTrajectoryFlag(values.trajectory);
  if (!positionals.length) throw new UsageError('give at least one bench RUN_DIR');
  if (!values['out-dir']) throw new UsageError('--out-dir DIR is required');
  const format = FORMATS.find((f) => f === values.format);
  if (!format) throw new UsageError(`--format must be verl, openrlhf or jsonl, got '${values.format}'`);
  if (values.server !== undefined && format !== 'openrlhf') throw new UsageError('--server registers the states of --format openrlhf; other formats carry the whole state');
  const server = checkServerFlag(values.server);
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
  const ext = format === 'verl' ? 'parquet' : 'jsonl';
  const files: { train: string; val: string | null } = { train: join(out, `train.${ext}`), val: val.length ? join(out, `val.${ext}`) : null };
  const lengthItems: LengthItem[] = [];
  const openrlhfRows: OpenRlhfRow[] = [];
  for (const [split, set] of [['train', train], ['val', val]] as const) {
    const file = files[split];
    if (file === null) continue;
    if (format === 'verl') {
      const rows: VerlRow[] = set.map((r, i) => verlRow(r, i, split, { trajectoryMode }));
      await writeOutput(file, (f) => writeVerlParquet(f, rows));
      lengthItems.push(...rows.map((r) => ({ messages: r.prompt, answer: r.extra_info.idea, stateId: r.extra_info.state_id, task: r.extra_info.task })));
    } else if (format === 'openrlhf') {
      const rows = set.map((r, i) => openrlhfRow(r, i, split, { trajectoryMode }));
      await writeOutput(file, (f) => writeOpenrlhfJsonl(f, rows));
      lengthItems.push(...rows.map((r) => ({ messages: r.prompt, answer: r.idea, stateId: r.state_id, task: r.task })));
      openrlhfRows.push(...rows);
    } else await writeOutput(file, (f) => writePoolJsonl(f, set));
  }
  const registered: RegisterSummary | undefined = format === 'openrlhf' ? await registerForOpenRlhf(server, openrlhfRows) : undefined;
  const lengths: LengthReport | undefined = lengthItems.length ? await measureLengths(lengthItems) : undefined;
  const summary = { pooled: records.length, train: train.length, val: val.length, tasks, files, ...(lengths ? { lengths } : {}), ...(registered ? { registered } : {}) };
  if (values.json) printJson(io, summary);
  else {
    const valPart = files.val ? `${summary.val} val → ${files.val}` : 'no val split (--val-per-task 0): no val file written';
    io.stdout.write(`pooled ${summary.pooled} states from ${summary.tasks.length} task(s): ${summary.train} train → ${files.train}, ${valPart}\n`);
    for (const line of lengths ? lengthLines(lengths, format === 'openrlhf' ? 'openrlhf' : 'verl') : []) io.stdout.write(line + '\n');
    if (registered) io.stdout.write(registered.line + '\n');
  }
  return 0;
});
