/**
 * The implementer's opening messages: prompts/codeact-system.md (shared template, user-overridable via
 * --prompts DIR) filled for this run, then the task description as the first user message. For the CodeAct
 * baseline (no Ideator) the seek_help action and its section are cut out of the system prompt, so the baseline
 * agent is the paper's plain CodeAct rather than one told about an advisor that never answers.
 */
import { join } from 'node:path';
import { loadPrompt } from '../../../src/core/prompts';
import type { ChatMessage } from '../../../src/core/protocol';
import { DATA_SUBDIR, SUBMISSION_FILE } from '../tasks/layout';

export interface ImplementerPromptOptions {
  taskDescription: string;
  workdir: string;
  maxSteps: number;
  timeLimitSec: number;
  actionTimeoutSec: number;
  observationChars: number;
  /** False for the CodeAct baseline (no Ideator): seek_help is not offered. */
  seekHelp: boolean;
  /** A folder whose codeact-system.md overrides the shipped one. */
  promptsDir?: string;
}

/** Removes the <seek_help> example block and any section/line about asking for help. */
export function withoutSeekHelp(text: string): string {
  return text
    .replace(/\n?<seek_help>[\s\S]*?<\/seek_help>\n?/g, '\n')
    .replace(/^#+ [^\n]*help[^\n]*\n[\s\S]*?(?=^#+ |$(?![\s\S]))/gim, '')
    .replace(/\n{3,}/g, '\n\n');
}

export function implementerMessages(o: ImplementerPromptOptions): ChatMessage[] {
  const template = loadPrompt('codeact-system', { overrideDir: o.promptsDir });
  const messages = template.fillMessages({
    max_steps: String(o.maxSteps),
    time_limit_minutes: String(Math.max(1, Math.round(o.timeLimitSec / 60))),
    workdir: o.workdir,
    data_dir: join(o.workdir, DATA_SUBDIR),
    submission_path: join(o.workdir, SUBMISSION_FILE),
    step_timeout_seconds: String(o.actionTimeoutSec),
    output_limit_chars: String(o.observationChars),
  });
  const adjusted = o.seekHelp ? messages : messages.map((m) => ({ ...m, content: withoutSeekHelp(m.content) }));
  return [
    ...adjusted,
    {
      role: 'user',
      content: `# Task\n\n${o.taskDescription.trim()}\n\nThe data files are in ${join(o.workdir, DATA_SUBDIR)}/ (train.csv, test.csv, sample_submission.csv and any others listed above). Write ${join(o.workdir, SUBMISSION_FILE)}. Begin.`,
    },
  ];
}
