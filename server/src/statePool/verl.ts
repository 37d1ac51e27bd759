/**
 * VeRL's RL dataset from the state pool, as parquet (hyparquet-writer): data_source, prompt (the Ideator's chat
 * messages, built by the same core prompt builder the server uses), ability, reward_model {style, ground_truth},
 * extra_info {…, state: the full IdeatorState as JSON so a reward function can send it to the reward server}.
 */
import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { TrajectoryMode } from '../../../src/core/compact';
import { outcomeColumns, promptOf, type PoolRecord } from './records';

export const VERL_ABILITY = 'ml-ideation';

export interface VerlRow {
  data_source: string;
  prompt: { role: string; content: string }[];
  ability: string;
  reward_model: { style: string; ground_truth: string };
  extra_info: {
    index: number;
    split: string;
    state_id: string;
    task: string;
    config: string;
    state: string;
    idea: string;
    idea_type: string | null;
    score_before: number | null;
    score_after: number | null;
    reward: number | null;
  };
}

export function verlRow(r: PoolRecord, index: number, split: string, opts: { budgetTokens?: number; promptsDir?: string; trajectoryMode?: TrajectoryMode } = {}): VerlRow {
  return {
    data_source: `mle-ideator/${r.task}`,
    prompt: promptOf(r, opts),
    ability: VERL_ABILITY,
    // The "truth" an execution reward needs: which task, which state, and p_t to beat.
    reward_model: {
      style: 'rule',
      ground_truth: JSON.stringify({ task: r.task, state_id: r.state.id ?? r.ideaId, score: r.state.score }),
    },
    extra_info: {
      index,
      split,
      state_id: r.state.id ?? r.ideaId,
      task: r.task,
      config: r.config,
      ...outcomeColumns(r),
    },
  };
}

const str = (name: string, required = false) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: required ? 'REQUIRED' : 'OPTIONAL' });
const dbl = (name: string) => ({ name, type: 'DOUBLE', repetition_type: 'OPTIONAL' });

export function writeVerlParquet(file: string, rows: VerlRow[]): void {
  const schema = [
    { name: 'root', num_children: 5 },
    str('data_source', true),
    { name: 'prompt', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    str('role'),
    str('content'),
    str('ability'),
    { name: 'reward_model', repetition_type: 'OPTIONAL', num_children: 2 },
    str('style'),
    str('ground_truth'),
    { name: 'extra_info', repetition_type: 'OPTIONAL', num_children: 11 },
    { name: 'index', type: 'INT64', repetition_type: 'OPTIONAL' },
    str('split'),
    str('state_id'),
    str('task'),
    str('config'),
    str('state'),
    str('idea'),
    str('idea_type'),
    dbl('score_before'),
    dbl('score_after'),
    dbl('reward'),
  ];
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'data_source', data: rows.map((r) => r.data_source) },
      { name: 'prompt', data: rows.map((r) => r.prompt) },
      { name: 'ability', data: rows.map((r) => r.ability) },
      { name: 'reward_model', data: rows.map((r) => r.reward_model) },
      // INT64 columns take bigint.
      { name: 'extra_info', data: rows.map((r) => ({ ...r.extra_info, index: BigInt(r.extra_info.index) })) },
    ],
    // hyparquet-writer's SchemaElement type is stricter than the plain objects above; the shapes are parquet's.
    schema: schema as never,
  });
  writeFileSync(file, Buffer.from(buffer));
}
