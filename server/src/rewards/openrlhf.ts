/**
 * OpenRLHF's side of a reward, as pure functions (the HTTP route POST /get_reward and the reward_func file
 * server/python/ideator_openrlhf.py both go through them, on the server):
 *
 * - responseFromQuery: OpenRLHF sends `query` = the decoded prompt + response tokens (special tokens kept) and
 *   `prompt` = the chat-templated prompt. The Ideator's answer is what follows the prompt, without the end-of-turn
 *   token. An over-long prompt is cut from the LEFT before generation, so the query may start inside the prompt: then
 *   the answer follows the longest suffix of the prompt the query starts with.
 * - score01: OpenRLHF's `scores` must lie in [0, 1]; it uses them only for dynamic filtering, which keeps a prompt's
 *   group when its mean score is strictly inside --algo.dynamic_filtering_range (default (0, 1)). The default mapping
 *   `improved` gives 1 to an improving idea and 0 to everything else (not improved, failed, format error): a group
 *   is then kept iff some but not all of its ideas improved — the groups that carry a GRPO signal about improving;
 *   all-tied groups (8 × "not improved", the common case) are dropped. `linear` maps the reward r ∈ [−1, 1] to
 *   (r + 1) / 2 (paper scheme: −1 → 0, 0 → 0.5, +1 → 1), which keeps groups that differ only in format errors but
 *   also every all-"not improved" group (mean 0.5), so dynamic filtering then drops almost nothing.
 * - extraLogs: per-sample numbers for OpenRLHF's logs, the same keys for every sample (OpenRLHF stacks them per
 *   key), matching the VeRL bridge's keys plus `cached`; the noise-aware reward's measurement of p_t
 *   (baseline_seeds = k, baseline_noise = the std of C_t's k seeded scores, baseline_threshold = the margin an idea
 *   had to beat p_t by) is 0 on a sample whose p_t was not measured (the state's own score, or a bridge error).
 */
import type { RewardResult } from '../../../src/core/protocol';

export const SCORE_MAPPINGS = ['improved', 'linear'] as const;
export type ScoreMapping = (typeof SCORE_MAPPINGS)[number];

/** Keys of `extra_logs`, in this order, for every sample (bridge errors included). */
export const EXTRA_LOG_KEYS = [
  'improved',
  'not_improved',
  'exec_failed',
  'timeout',
  'format_error',
  'bridge_error',
  'duration_s',
  'self_reported',
  'guard_flagged',
  'guard_touches_evaluation',
  'guard_prints_metric',
  'guard_submission_path',
  'guard_reads_outside_data',
  'cached',
  'baseline_seeds',
  'baseline_noise',
  'baseline_threshold',
] as const;
export type ExtraLogKey = (typeof EXTRA_LOG_KEYS)[number];

/** The reward of a sample whose reward could not be obtained (no state for its label, no grader, a failed job). */
export const FAILURE_REWARD = 0;

const END_TOKENS = ['<|im_end|>', '<|endoftext|>', '<|eot_id|>', '<|end_of_text|>', '<|end|>', '</s>'];
/** Assistant headers of common chat templates (ChatML/Qwen, Llama 3), for a query that does not start inside the prompt. */
const ASSISTANT_HEADERS = ['<|im_start|>assistant\n', '<|start_header_id|>assistant<|end_header_id|>\n\n'];

function stripEnd(text: string): string {
  let s = text;
  for (;;) {
    const trimmed = s.replace(/\s+$/, '');
    const end = END_TOKENS.find((t) => trimmed.endsWith(t));
    if (!end) return s;
    s = trimmed.slice(0, -end.length);
  }
}

/** The Ideator's answer inside OpenRLHF's query (prompt + response, decoded with special tokens). */
export function responseFromQuery(query: string, prompt: string): string {
  if (prompt && query.startsWith(prompt)) return stripEnd(query.slice(prompt.length));
  // The prompt was cut from the left: the query starts with a suffix of it. Find the longest such suffix.
  if (prompt) {
    const head = query.slice(0, Math.min(64, query.length));
    for (let i = prompt.indexOf(head); head && i >= 0; i = prompt.indexOf(head, i + 1)) {
      if (query.startsWith(prompt.slice(i))) return stripEnd(query.slice(prompt.length - i));
    }
  }
  let from = -1;
  for (const h of ASSISTANT_HEADERS) {
    const at = query.lastIndexOf(h);
    if (at >= 0 && at + h.length > from) from = at + h.length;
  }
  return stripEnd(from >= 0 ? query.slice(from) : query);
}

/** OpenRLHF's `scores` (0–1, dynamic filtering) of one result; see the file comment. */
export function score01(result: Pick<RewardResult, 'status' | 'reward'>, mapping: ScoreMapping = 'improved'): number {
  if (mapping === 'linear') return Math.min(1, Math.max(0, (result.reward + 1) / 2));
  return result.status === 'improved' ? 1 : 0;
}

/**
 * extra_logs of one sample: one-hot status, guard flags, duration, whether the result was already stored, and p_t's
 * noise measurement (k seeds, their std, the threshold; 0 when p_t was not measured).
 */
export function extraLogs(result: RewardResult | null, opts: { cached?: boolean } = {}): Record<ExtraLogKey, number> {
  const out = Object.fromEntries(EXTRA_LOG_KEYS.map((k) => [k, 0])) as Record<ExtraLogKey, number>;
  if (!result) {
    out.bridge_error = 1;
    return out;
  }
  out[result.status] = 1;
  out.duration_s = Math.round(result.durationMs) / 1000;
  out.self_reported = result.selfReported ? 1 : 0;
  out.guard_flagged = result.guardFlags.length ? 1 : 0;
  for (const flag of result.guardFlags) out[`guard_${flag}`] = 1;
  out.cached = opts.cached ? 1 : 0;
  if (result.baseline) {
    out.baseline_seeds = result.baseline.k;
    out.baseline_noise = result.baseline.std;
    out.baseline_threshold = result.baseline.threshold;
  }
  return out;
}
