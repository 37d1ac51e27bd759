/** Options shared by `ideator prompt` and `ideator ask`: the state file and the prompt knobs. */
import { IdeatorStateSchema, type IdeatorState } from '../../../src/core/protocol';
import { readJsonFile, UsageError, type CliIO } from './common';
import { checkPromptsFlag } from './promptsFlag';

export const stateOptions = {
  state: { type: 'string' },
  budget: { type: 'string' },
  prompts: { type: 'string' },
} as const;

export interface StateArgs {
  state: IdeatorState;
  budgetTokens?: number;
  overrideDir?: string;
}

export async function readStateArgs(values: { state?: string; budget?: string; prompts?: string }, io: CliIO): Promise<StateArgs> {
  if (!values.state) throw new UsageError('--state STATE.json is required (use - for stdin)');
  checkPromptsFlag(values.prompts);
  const state = await readJsonFile(values.state, IdeatorStateSchema, io);
  let budgetTokens: number | undefined;
  if (values.budget !== undefined) {
    budgetTokens = Number(values.budget);
    if (!Number.isInteger(budgetTokens) || budgetTokens < 1000) throw new UsageError(`--budget must be an integer ≥ 1000 (tokens), got '${values.budget}'`);
  }
  return { state, budgetTokens, overrideDir: values.prompts };
}
