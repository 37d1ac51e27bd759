/** Options shared by `ideator prompt` and `ideator ask`: the state file and the prompt knobs. */
import { DEFAULT_TRAJECTORY_MODE, TrajectoryModeSchema, type TrajectoryMode } from '../../../src/core/compact';
import { IdeatorStateSchema, type IdeatorState } from '../../../src/core/protocol';
import { readJsonFile, UsageError, type CliIO } from './common';
import { checkPromptsFlag } from './promptsFlag';

export const stateOptions = {
  state: { type: 'string' },
  budget: { type: 'string' },
  prompts: { type: 'string' },
  trajectory: { type: 'string' },
} as const;

/** --trajectory full|compact (default compact, see core/compact.ts); a one-line usage error otherwise. */
export function readTrajectoryFlag(value: string | undefined): TrajectoryMode {
  if (value === undefined) return DEFAULT_TRAJECTORY_MODE;
  const r = TrajectoryModeSchema.safeParse(value);
  if (!r.success) throw new UsageError(`--trajectory must be full or compact, got '${value}'`);
  return r.data;
}

export interface StateArgs {
  state: IdeatorState;
  budgetTokens?: number;
  overrideDir?: string;
  trajectoryMode: TrajectoryMode;
}

export async function readStateArgs(values: { state?: string; budget?: string; prompts?: string; trajectory?: string }, io: CliIO): Promise<StateArgs> {
  if (!values.state) throw new UsageError('--state STATE.json is required (use - for stdin)');
  const trajectoryMode = readTrajectoryFlag(values.trajectory);
  checkPromptsFlag(values.prompts);
  const state = await readJsonFile(values.state, IdeatorStateSchema, io);
  let budgetTokens: number | undefined;
  if (values.budget !== undefined) {
    budgetTokens = Number(values.budget);
    if (!Number.isInteger(budgetTokens) || budgetTokens < 1000) throw new UsageError(`--budget must be an integer ≥ 1000 (tokens), got '${values.budget}'`);
  }
  return { state, budgetTokens, overrideDir: values.prompts, trajectoryMode };
}
