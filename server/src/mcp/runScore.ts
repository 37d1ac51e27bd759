/**
 * Which score of a run `ideator mcp` judges by — the editor's setting `ideator.runScore` (core/metric.ts: the value
 * printed last, or the best epoch) — found without the editor, in VS Code's order, the first that sets it winning:
 *
 *   1. --run-score last|best (the command line);
 *   2. the workspace's settings: <folder>/.vscode/settings.json, or the `settings` of a .code-workspace file;
 *   3. the user's settings of the editor whose run history is used (…/User/settings.json beside its globalStorage);
 *   4. 'last', the setting's default.
 *
 * Settings files are JSONC (comments, trailing commas), as VS Code writes them. A file that cannot be read or parsed,
 * or a value that is not last/best, is passed over with a warning (the next source decides), as the editor ignores an
 * invalid value. Read again on every tool call: the user may change the setting while the server lives.
 *
 *   parseJsonc(text)                         -> the value, or throws SyntaxError
 *   workspaceSettingsFile(workspace)          -> {file, key}: where the workspace's settings are
 *   resolveRunScore({flag, workspace, userSettings, warn}) -> {choice, from}
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { SCORE_CHOICES, type ScoreChoice } from '../../../src/core/metric';

export const RUN_SCORE_SETTING = 'ideator.runScore';

/** The longest settings file read (a bigger one is not a settings file). */
const MAX_SETTINGS_BYTES = 1024 * 1024;

/**
 * JSON with comments (line and block) and trailing commas, as VS Code's settings files are: both are removed
 * outside strings, then JSON.parse reads the rest (so every other error is JSON's).
 */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (ch === '"') {
      // A string, copied as is up to its closing quote (escapes skipped over).
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new SyntaxError('unterminated /* comment');
      out += ' ';
      i = end + 2;
    } else if (ch === ',') {
      // A trailing comma: nothing but whitespace and comments between it and the } or ] that follows.
      let j = i + 1;
      for (;;) {
        while (j < n && /\s/.test(text[j])) j++;
        if (text[j] === '/' && text[j + 1] === '/') {
          while (j < n && text[j] !== '\n') j++;
        } else if (text[j] === '/' && text[j + 1] === '*') {
          const end = text.indexOf('*/', j + 2);
          j = end < 0 ? n : end + 2;
        } else break;
      }
      if (text[j] !== '}' && text[j] !== ']') out += ',';
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return JSON.parse(out.replace(/^\uFEFF/, ''));
}

const SettingsSchema = z.record(z.string(), z.unknown());
const CodeWorkspaceSchema = z.object({ settings: SettingsSchema.optional() }).passthrough();

/** Where a workspace's settings are: the folder's .vscode/settings.json, or a .code-workspace file's `settings`. */
export function workspaceSettingsFile(workspace: string): { file: string; key?: 'settings' } {
  return workspace.endsWith('.code-workspace') ? { file: workspace, key: 'settings' } : { file: path.join(workspace, '.vscode', 'settings.json') };
}

/**
 * The value of ideator.runScore in one settings file: undefined when the file is absent or does not set it; a
 * warning (and undefined) when it cannot be read, is not JSONC, or holds neither last nor best.
 */
export function runScoreIn(file: string, key: 'settings' | undefined, warn: (message: string) => void): ScoreChoice | undefined {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_SETTINGS_BYTES) {
      warn(`${file} is ${buf.length} bytes; not read for ${RUN_SCORE_SETTING}`);
      return undefined;
    }
    text = buf.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') warn(`cannot read ${file} for ${RUN_SCORE_SETTING}: ${code ?? (err as Error).message}`);
    return undefined;
  }
  let settings: Record<string, unknown> | undefined;
  try {
    const parsed = parseJsonc(text);
    settings = key ? CodeWorkspaceSchema.parse(parsed).settings : SettingsSchema.parse(parsed);
  } catch (err) {
    warn(`${file} is not a settings file (${err instanceof z.ZodError ? 'not an object' : (err as Error).message}); ${RUN_SCORE_SETTING} not read from it`);
    return undefined;
  }
  const value = settings?.[RUN_SCORE_SETTING];
  if (value === undefined) return undefined;
  const choice = z.enum(SCORE_CHOICES).safeParse(value);
  if (!choice.success) {
    warn(`${RUN_SCORE_SETTING} in ${file} must be last or best, got ${JSON.stringify(value)}; ignored`);
    return undefined;
  }
  return choice.data;
}

export interface RunScoreSources {
  /** --run-score, already checked. */
  flag?: ScoreChoice;
  /** The --workspace folder or .code-workspace file. */
  workspace: string;
  /** The user settings file of the editor whose run history is used, when known. */
  userSettings?: string;
  warn: (message: string) => void;
}

/** The score choice and where it came from (for the log). */
export function resolveRunScore(sources: RunScoreSources): { choice: ScoreChoice; from: string } {
  if (sources.flag) return { choice: sources.flag, from: '--run-score' };
  const ws = workspaceSettingsFile(sources.workspace);
  const inWorkspace = runScoreIn(ws.file, ws.key, sources.warn);
  if (inWorkspace) return { choice: inWorkspace, from: `${RUN_SCORE_SETTING} in ${ws.file}` };
  if (sources.userSettings) {
    const inUser = runScoreIn(sources.userSettings, undefined, sources.warn);
    if (inUser) return { choice: inUser, from: `${RUN_SCORE_SETTING} in ${sources.userSettings}` };
  }
  return { choice: 'last', from: `the default of ${RUN_SCORE_SETTING}` };
}
