/**
 * `ideator export [RUN_DIR] --format verl|openrlhf|jsonl --out FILE` — the bench's state pool (every seek-help
 * state, the idea it got, what happened next) as VeRL's parquet dataset, OpenRLHF's prompt dataset (JSONL whose
 * `label` names the state on the reward server; `--server URL` registers the states there), or as JSONL lines the
 * reward server accepts.
 */
import { resolve } from 'node:path';
import { readPool, verlRow, writePoolJsonl, writeVerlParquet } from '../statePool';
import { lengthLines, measureLengths, type LengthItem } from '../statePool/lengths';
import { openrlhfRow, writeOpenrlhfJsonl } from '../statePool/openrlhf';
import { defineCommand, printJson, UsageError } from './common';
import { writeOutput } from './outputFile';
import { checkPromptsFlag } from './promptsFlag';
import { readTrajectoryFlag } from './stateArgs';
import { checkServerFlag, registerForOpenRlhf, type RegisterSummary } from './registerStates';

const HELP = `usage: ideator export [RUN_DIR | --run-dir DIR] --format verl|openrlhf|jsonl --out FILE [--task ID] [--judged-only]
                      [--server URL] [--trajectory full|compact] [--json]
Writes the state pool of a bench run directory (default .ideator/bench).
  verl      parquet with data_source, prompt (chat messages), ability, reward_model {style, ground_truth},
            extra_info {index, split, state_id, task, config, state (IdeatorState JSON), idea, idea_type,
            score_before, score_after, reward}
  openrlhf  JSONL for --data.prompt_dataset: prompt (chat messages: --data.input_key prompt
            --data.apply_chat_template), label (the state's reference st_…: --data.label_key label), datasource,
            task, state_id, split, index, state (IdeatorState JSON), idea, idea_type, score_before, score_after,
            reward. The reward server resolves a label only once the state is registered there: --server URL
            (token: env IDEATOR_SERVER_TOKEN) does it now; registering again is harmless. See docs/openrlhf.md.
  jsonl     one {state, idea, outcome, ideaId, ideaType, task, config, runId, stepIdx} per line
  --judged-only   only states whose idea was followed by a graded submission (or the run's end)
  --trajectory    the prompt column's trajectory: full (default: the paper's prompt, what pools recorded before
                  compact mode hold) or compact (see 'ideator prompt --help'); train with the mode you will ask in
verl and openrlhf also print the longest prompt in Qwen3 tokens (chat template included) and the trainer's length
settings that fit it: VeRL's data.max_prompt_length / data.max_response_length default to 512, far below an
Ideator prompt.`;

const FLAGS = {
  format: { type: 'string' },
  out: { type: 'string' },
  task: { type: 'string' },
  'run-dir': { type: 'string' },
  'judged-only': { type: 'boolean' },
  prompts: { type: 'string' },
  trajectory: { type: 'string' },
  server: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const FORMATS = ['verl', 'openrlhf', 'jsonl'] as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  const format = FORMATS.find((f) => f === values.format);
  if (!format) throw new UsageError(`--format must be verl, openrlhf or jsonl, got '${values.format ?? ''}'`);
  if (!values.out) throw new UsageError('--out FILE is required');
  if (values.server !== undefined && format !== 'openrlhf') throw new UsageError('--server registers the states of --format openrlhf; other formats carry the whole state');
  const server = checkServerFlag(values.server);
  checkPromptsFlag(values.prompts);
  const runDir = resolve(positionals[0] ?? values['run-dir'] ?? '.ideator/bench');
  let records;
  try {
    records = readPool(runDir, { task: values.task, judgedOnly: values['judged-only'] });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const opts = { promptsDir: values.prompts, trajectoryMode: values.trajectory === undefined ? ('full' as const) : readTrajectoryFlag(values.trajectory) };
  let lengthItems: LengthItem[] = [];
  let registered: RegisterSummary | undefined;
  if (format === 'verl') {
    const rows = records.map((r, i) => verlRow(r, i, 'train', opts));
    await writeOutput(values.out, (file) => writeVerlParquet(file, rows));
    lengthItems = rows.map((r) => ({ messages: r.prompt, answer: r.extra_info.idea, stateId: r.extra_info.state_id, task: r.extra_info.task }));
  } else if (format === 'openrlhf') {
    const rows = records.map((r, i) => openrlhfRow(r, i, 'train', opts));
    await writeOutput(values.out, (file) => writeOpenrlhfJsonl(file, rows));
    lengthItems = rows.map((r) => ({ messages: r.prompt, answer: r.idea, stateId: r.state_id, task: r.task }));
    registered = await registerForOpenRlhf(server, rows);
  } else await writeOutput(values.out, (file) => writePoolJsonl(file, records));
  const lengths = lengthItems.length ? await measureLengths(lengthItems) : undefined;
  const summary = {
    out: resolve(values.out),
    format,
    states: records.length,
    tasks: [...new Set(records.map((r) => r.task))],
    ...(lengths ? { lengths } : {}),
    ...(registered ? { registered } : {}),
  };
  if (values.json) printJson(io, summary);
  else {
    io.stdout.write(`wrote ${records.length} states (${summary.tasks.join(', ') || 'no tasks'}) to ${summary.out}\n`);
    for (const line of lengths ? lengthLines(lengths, format === 'openrlhf' ? 'openrlhf' : 'verl') : []) io.stdout.write(line + '\n');
    if (registered) io.stdout.write(registered.line + '\n');
  }
  return 0;
});
