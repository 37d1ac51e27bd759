/** `--prompts DIR` (a prompt override folder), checked when a command starts: a broken template is a user error. */
import { checkPromptOverrides, PromptTemplateError } from '../../../src/core/prompts';
import { UsageError } from './common';

export function checkPromptsFlag(dir: string | undefined): void {
  if (dir === undefined) return;
  try {
    checkPromptOverrides(dir);
  } catch (err) {
    if (err instanceof PromptTemplateError) throw new UsageError(`--prompts: ${err.message}`);
    throw err;
  }
}
