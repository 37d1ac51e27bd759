/**
 * Prompt templates (prompts/*.md) and the message builders that fill them.
 *
 * Template syntax (also in prompts/README.md):
 *  - `{name}` is a placeholder (lower-case letters, digits, underscores, starting with a letter);
 *  - `{{` and `}}` are a literal `{` and `}`; any other brace is literal as written (`{"a": 1}`, `{ x }`);
 *  - `<!-- role: system -->` / `<!-- role: user -->` lines split a file into chat messages (none: one user message);
 *  - any other `<!-- … -->` comment is a note for template editors and is removed on load.
 * Each template name has a fixed set of required and optional placeholders (PROMPT_SPECS). Loading checks the file
 * against it, so an edited or user-overridden template that lacks a required placeholder or uses an unknown one
 * fails at load time with the file and placeholder named, never as a silently blank prompt.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { formatIdea } from './idea';
import { IdeatorStateSchema, type ChatMessage, type IdeatorStateInput, type ParsedIdea, type ScoreState, type SeekHelpQuery } from './protocol';
import { draftQuery, renderSeekHelp } from './query';
import { estimateTokens, type TokenCounter } from './tokens';
import { DEFAULT_TRAJECTORY_BUDGET, renderTrajectory } from './trajectory';

export type PromptName = 'ideator' | 'implementer' | 'classify' | 'codeact-system' | 'followup';

export interface PromptSpec {
  required: readonly string[];
  optional: readonly string[];
}

/** What each template must and may use. Callers of fill() must give a value for every placeholder the file uses. */
export const PROMPT_SPECS: Record<PromptName, PromptSpec> = {
  ideator: { required: ['task_description', 'query', 'trajectory', 'score', 'code'], optional: ['code_path'] },
  implementer: { required: ['idea', 'code', 'code_path'], optional: ['task_description', 'score'] },
  classify: { required: ['idea'], optional: ['trajectory', 'task_description'] },
  followup: { required: ['question'], optional: [] },
  'codeact-system': {
    required: ['max_steps', 'time_limit_minutes'],
    optional: ['workdir', 'data_dir', 'submission_path', 'step_timeout_seconds', 'output_limit_chars'],
  },
};

export interface PromptPart {
  role: 'system' | 'user';
  text: string;
}

export interface PromptTemplate {
  name: PromptName;
  /** Absolute path of the file that was loaded (the override when one exists). */
  file: string;
  /** Placeholders the file uses, in order of first use. */
  placeholders: string[];
  /** Fills the whole file (all parts, blank-line separated). Throws if a used placeholder has no value. */
  fill(values: Record<string, string>): string;
  /** Fills each part into a chat message. Throws if a used placeholder has no value. */
  fillMessages(values: Record<string, string>): ChatMessage[];
}

// ---------------------------------------------------------------------------------------------------------------
// Locating and loading
// ---------------------------------------------------------------------------------------------------------------

/**
 * The package's prompts/ folder: walks up from this module's folder (src/core under tsx, dist/ in the esbuild
 * bundles) to the first folder holding prompts/ideator.md.
 */
export function defaultPromptsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'prompts');
    if (existsSync(join(candidate, 'ideator.md'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`prompts folder not found above ${__dirname} (expected prompts/ideator.md in the package)`);
}

const TOKEN_RE = /\{\{|\}\}|\{([a-z][a-z0-9_]*)\}/g;
const ROLE_RE = /^[ \t]*<!--\s*role:\s*(system|user)\s*-->[ \t]*$/gim;
const COMMENT_RE = /<!--[\s\S]*?-->\n?/g;

function isPromptName(name: string): name is PromptName {
  return Object.prototype.hasOwnProperty.call(PROMPT_SPECS, name);
}

/** Splits the file into role parts and drops editor comments. */
function splitParts(source: string): PromptPart[] {
  const text = source.replace(/\r\n?/g, '\n');
  const parts: PromptPart[] = [];
  const markers = [...text.matchAll(ROLE_RE)];
  const clean = (s: string) => s.replace(COMMENT_RE, '').replace(/^\n+|\s+$/g, '');
  if (markers.length === 0) return [{ role: 'user', text: clean(text) }];
  const before = clean(text.slice(0, markers[0].index));
  if (before) parts.push({ role: 'user', text: before });
  markers.forEach((m, k) => {
    const end = k + 1 < markers.length ? markers[k + 1].index : text.length;
    const body = clean(text.slice((m.index ?? 0) + m[0].length, end));
    if (body) parts.push({ role: m[1].toLowerCase() as 'system' | 'user', text: body });
  });
  return parts;
}

function placeholdersOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TOKEN_RE)) if (m[1] && !out.includes(m[1])) out.push(m[1]);
  return out;
}

function fillText(text: string, values: Record<string, string>, file: string): string {
  return text.replace(TOKEN_RE, (tok, name: string | undefined) => {
    if (tok === '{{') return '{';
    if (tok === '}}') return '}';
    const v = values[name as string];
    if (typeof v !== 'string') throw new Error(`${file}: no value given for placeholder {${name}}`);
    return v;
  });
}

/**
 * A template (or override folder) the user can fix: a missing folder, an unreadable file, a missing or unknown
 * placeholder. Hosts show it as a settings/flag error, not as a crash.
 */
export class PromptTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptTemplateError';
  }
}

/**
 * Loads every template an override folder holds (and checks the folder exists), so that a broken override is
 * reported when a command starts, not at the first Ideator question an hour into a benchmark run.
 */
export function checkPromptOverrides(overrideDir: string, opts: { promptsDir?: string } = {}): void {
  for (const name of Object.keys(PROMPT_SPECS)) loadPrompt(name, { ...opts, overrideDir });
}

/**
 * Loads and checks a template. The file in `overrideDir` wins over the package's when it exists.
 * Throws a PromptTemplateError for an unknown name, a missing override folder, an unreadable file, a missing required
 * placeholder or an unknown placeholder.
 */
export function loadPrompt(name: string, opts: { promptsDir?: string; overrideDir?: string } = {}): PromptTemplate {
  if (!isPromptName(name)) throw new PromptTemplateError(`unknown prompt "${name}" (known: ${Object.keys(PROMPT_SPECS).join(', ')})`);
  let file: string | undefined;
  if (opts.overrideDir) {
    const dir = resolve(opts.overrideDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PromptTemplateError(`prompt override folder not found: ${dir}`);
    if (existsSync(join(dir, `${name}.md`))) file = join(dir, `${name}.md`);
  }
  file ??= join(resolve(opts.promptsDir ?? defaultPromptsDir()), `${name}.md`);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PromptTemplateError(`cannot read prompt template ${file}: ${(err as Error).message}`);
  }
  const parts = splitParts(source);
  const whole = parts.map((p) => p.text).join('\n\n');
  const used = placeholdersOf(whole);
  const spec = PROMPT_SPECS[name];
  const unknown = used.filter((p) => !spec.required.includes(p) && !spec.optional.includes(p));
  if (unknown.length) {
    throw new PromptTemplateError(
      `${file}: unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')} (allowed: ${[...spec.required, ...spec.optional].map((p) => `{${p}}`).join(' ')}; write {{ and }} for literal braces)`,
    );
  }
  const missing = spec.required.filter((p) => !used.includes(p));
  if (missing.length) throw new PromptTemplateError(`${file}: required placeholder ${missing.map((p) => `{${p}}`).join(', ')} is missing`);
  if (parts.every((p) => p.text === '')) throw new PromptTemplateError(`${file}: template is empty`);

  const check = (values: Record<string, string>) => {
    const absent = used.filter((p) => typeof values?.[p] !== 'string');
    if (absent.length) throw new Error(`${file}: no value given for placeholder ${absent.map((p) => `{${p}}`).join(', ')}`);
  };
  return {
    name,
    file,
    placeholders: used,
    fill(values) {
      check(values);
      return fillText(whole, values, file);
    },
    fillMessages(values) {
      check(values);
      return parts.map((p) => ({ role: p.role, content: fillText(p.text, values, file) }));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------------

const LANG_BY_EXT: Record<string, string> = {
  '.py': 'python',
  '.ipynb': 'json',
  '.r': 'r',
  '.jl': 'julia',
  '.sh': 'bash',
  '.ts': 'typescript',
  '.js': 'javascript',
  '.sql': 'sql',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.json': 'json',
};

/** Wraps code in a fence longer than any backtick run inside it, tagged with the language of `path`. */
export function fenceCode(code: string, path = ''): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  const lang = LANG_BY_EXT[extname(path).toLowerCase()] ?? '';
  return `${fence}${lang}\n${code.replace(/\n$/, '')}\n${fence}`;
}

/** p_t with its metric and direction, e.g. "auc = 0.8123 (higher is better)". */
export function scoreText(score: ScoreState): string {
  const metric = score.metric?.trim() || 'score';
  const dir = score.direction === 'higher' ? 'higher is better' : 'lower is better';
  if (score.value === null || !Number.isFinite(score.value)) return `no valid ${metric} yet (${dir})`;
  return `${metric} = ${Number(score.value.toPrecision(6))} (${dir})`;
}

// ---------------------------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------------------------

export interface BuildOptions {
  /** Token budget of the whole Ideator prompt; the trajectory gets what the rest leaves. Default 32,000. */
  budgetTokens?: number;
  countTokens?: TokenCounter;
  promptsDir?: string;
  overrideDir?: string;
}

/** The trajectory never gets less than this, even when the code alone fills the budget. */
const MIN_TRAJECTORY_TOKENS = 1_000;
const SENTINEL = '\u0000TRAJECTORY\u0000';

/** The Ideator prompt for a state: s_t = (task, trajectory, score, code) plus the seek-help query. */
export function buildIdeatorMessages(
  stateInput: IdeatorStateInput,
  opts: BuildOptions = {},
): { messages: ChatMessage[]; query: SeekHelpQuery; trajectoryTokens: number } {
  const state = IdeatorStateSchema.parse(stateInput);
  const count = opts.countTokens ?? estimateTokens;
  const budget = opts.budgetTokens ?? DEFAULT_TRAJECTORY_BUDGET;
  const template = loadPrompt('ideator', opts);
  const query = state.query ?? draftQuery({ trajectory: state.trajectory, score: state.score, taskDescription: state.taskDescription });
  const values: Record<string, string> = {
    task_description: state.taskDescription.trim() || '(no task description given)',
    query: renderSeekHelp(query),
    trajectory: SENTINEL,
    score: scoreText(state.score),
    code: state.code.trim() ? fenceCode(state.code, state.codePath) : '(no code yet)',
    code_path: state.codePath,
  };
  const rest = count(template.fill(values).replace(SENTINEL, ''));
  const trajectory = renderTrajectory(state.trajectory, { budgetTokens: Math.max(MIN_TRAJECTORY_TOKENS, budget - rest), countTokens: count });
  values.trajectory = trajectory.text;
  return { messages: template.fillMessages(values), query, trajectoryTokens: trajectory.tokens };
}

/** The frozen one-step implementer: rewrite the code file following the idea, answer with the whole file. */
export function buildImplementerMessages(stateInput: IdeatorStateInput, idea: ParsedIdea, opts: Omit<BuildOptions, 'budgetTokens'> = {}): ChatMessage[] {
  const state = IdeatorStateSchema.parse(stateInput);
  const template = loadPrompt('implementer', opts);
  return template.fillMessages({
    idea: formatIdea(idea),
    code: state.code.trim() ? fenceCode(state.code, state.codePath) : '(the file is empty: write it from scratch)',
    code_path: state.codePath,
    task_description: state.taskDescription.trim() || '(no task description given)',
    score: scoreText(state.score),
  });
}

/** Idea-type classification (six categories), with the trajectory as context when there is one. */
export function buildClassifyMessages(stateInput: IdeatorStateInput | null, idea: ParsedIdea, opts: BuildOptions = {}): ChatMessage[] {
  const template = loadPrompt('classify', opts);
  let trajectory = '(no trajectory available)';
  let task = '(no task description given)';
  if (stateInput) {
    const state = IdeatorStateSchema.parse(stateInput);
    if (state.taskDescription.trim()) task = state.taskDescription.trim();
    if (state.trajectory.length) {
      trajectory = renderTrajectory(state.trajectory, { budgetTokens: opts.budgetTokens ?? 8_000, countTokens: opts.countTokens }).text;
    }
  }
  return template.fillMessages({ idea: formatIdea(idea), trajectory, task_description: task });
}
