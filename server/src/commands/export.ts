/**
 * `ideator export [RUN_DIR] --format verl|jsonl --out FILE` — the bench's state pool (every seek-help state,
 * the idea it got, what happened next) as VeRL's parquet dataset or as JSONL lines the reward server accepts.
 */
import { resolve } from 'node:path';
import { readPool, verlRow, writePoolJsonl, writeVerlParquet } from '../statePool';
import { lengthLines, measureLengths } from '../statePool/lengths';
import { defineCommand, printJson, UsageError } from './common';
import { writeOutput } from './outputFile';
import { checkPromptsFlag } from './promptsFlag';

const HELP = `usage: ideator export [RUN_DIR | --run-dir DIR] --format verl|jsonl --out FILE [--task ID] [--judged-only] [--json]
Writes the state pool of a bench run directory (default .ideator/bench).
  verl   parquet with data_source, prompt (chat messages), ability, reward_model {style, ground_truth},
         extra_info {index, split, state_id, task, config, state (IdeatorState JSON), idea, idea_type,
         score_before, score_after, reward}
  jsonl  one {state, idea, outcome, ideaId, ideaType, task, config, runId, stepIdx} per line
  --judged-only   only states whose idea was followed by a graded submission (or the run's end)
verl also prints the longest prompt in Qwen3 tokens (chat template included) and the VeRL length settings that
fit it: data.max_prompt_length / data.max_response_length default to 512, far below an Ideator prompt.`;

const FLAGS = {
  format: { type: 'string' },
  out: { type: 'string' },
  task: { type: 'string' },
  'run-dir': { type: 'string' },
  'judged-only': { type: 'boolean' },
  prompts: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  if (values.format !== 'verl' && values.format !== 'jsonl') throw new UsageError(`--format must be verl or jsonl, got '${values.format ?? ''}'`);
  if (!values.out) throw new UsageError('--out FILE is required');
  checkPromptsFlag(values.prompts);
  const runDir = resolve(positionals[0] ?? values['run-dir'] ?? '.ideator/bench');
  let records;
  try {
    records = readPool(runDir, { task: values.task, judgedOnly: values['judged-only'] });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const rows = values.format === 'verl' ? records.map((r, i) => verlRow(r, i, 'train', { promptsDir: values.prompts })) : null;
  await writeOutput(values.out, (file) => (rows ? writeVerlParquet(file, rows) : writePoolJsonl(file, records)));
  const lengths = rows?.length
    ? await measureLengths(rows.map((r) => ({ messages: r.prompt, answer: r.extra_info.idea, stateId: r.extra_info.state_id, task: r.extra_info.task })))
    : undefined;
  const summary = { out: resolve(values.out), format: values.format, states: records.length, tasks: [...new Set(records.map((r) => r.task))], ...(lengths ? { lengths } : {}) };
  if (values.json) printJson(io, summary);
  else {
    io.stdout.write(`wrote ${records.length} states (${summary.tasks.join(', ') || 'no tasks'}) to ${summary.out}\n`);
    for (const line of lengths ? lengthLines(lengths, 'verl') : []) io.stdout.write(line + '\n');
  }
  return 0;
});
