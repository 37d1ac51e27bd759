/**
 * Collapse monitor (issue #14). RL on execution rewards tends to collapse onto a few simple ideas: the mean reward
 * rises while the best result does not. These figures say, for one group (a job: one state's G ideas) and over a
 * window of groups (a trainer step), how varied the ideas are and whether the group still gives GRPO a signal:
 *
 * - `distinct`: distinct ideas, after normalising the ACTION's whitespace and case;
 * - `typeEntropy`: Shannon entropy (bits) of the idea-type distribution (core/ideaTypes keyword classification;
 *   0 = every idea of one type, log2(6) ≈ 2.585 = the six types evenly);
 * - `nearDuplicateRate`: share of ideas whose ACTION is near-identical to an EARLIER one in the group: token-set
 *   Jaccard similarity ≥ NEAR_DUPLICATE_JACCARD (0.8) over lower-cased alphanumeric tokens. Exact duplicates count,
 *   the first of a cluster does not: G identical ideas give (G−1)/G;
 * - `zeroVariance`: every reward of the group is equal (GRPO's advantages are all 0: no gradient from it). A group
 *   of fewer than two ideas is never zero-variance (it says nothing about a GRPO group).
 *
 * Pure and cheap: O(G²) token-set comparisons on ACTIONs capped at MAX_ACTION_CHARS.
 */
import { parseIdea } from './idea';
import { classifyByKeywords, IDEA_TYPES } from './ideaTypes';
import type { GroupDiversity, IdeaType } from './protocol';

/** Two ACTIONs whose token sets overlap at least this much (|A∩B| / |A∪B|) are near-duplicates. */
export const NEAR_DUPLICATE_JACCARD = 0.8;
/** ACTIONs longer than this are compared (and classified) on their first this-many characters. */
export const MAX_ACTION_CHARS = 20_000;
/** log2 of the number of idea types: the highest possible typeEntropy. */
export const MAX_TYPE_ENTROPY = Math.log2(IDEA_TYPES.length);

export interface GroupIdea {
  /** The model's answer as submitted. */
  raw: string;
  /** Its parsed ACTION; parsed from `raw` when absent. An answer with no ACTION is compared on its whole text. */
  action?: string;
  /** Its reward; null when not known (such ideas do not enter zeroVariance). */
  reward: number | null;
}

/** size: ideas in the group; distinctRatio: distinct / size (1 for an empty group). */
export type { GroupDiversity };

/** The ACTION with whitespace collapsed and case folded: the identity `distinct` counts. */
export function normalizeAction(action: string): string {
  return action.slice(0, MAX_ACTION_CHARS).replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Lower-cased alphanumeric tokens of an ACTION, as a set. */
export function actionTokens(action: string): Set<string> {
  return new Set(action.slice(0, MAX_ACTION_CHARS).toLowerCase().match(/[a-z0-9_]+/g) ?? []);
}

/** |A∩B| / |A∪B|; two empty sets are identical (1). */
export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let inter = 0;
  for (const t of small) if (large.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Shannon entropy in bits of a distribution given by counts. */
export function entropyBits(counts: Iterable<number>): number {
  const list = [...counts].filter((c) => c > 0);
  const total = list.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let h = 0;
  for (const c of list) {
    const p = c / total;
    h -= p * Math.log2(p);
  }
  // -0 and float dust (1e-16) read as 0.
  return h < 1e-12 ? 0 : h;
}

/** The figures of one group of ideas (see the module comment). */
export function groupDiversity(ideas: readonly GroupIdea[]): GroupDiversity {
  const size = ideas.length;
  const actions: string[] = [];
  const types = new Map<IdeaType, number>();
  for (const idea of ideas) {
    let action = idea.action;
    let analysis = '';
    let rationale = '';
    if (action === undefined) {
      const parsed = parseIdea(String(idea.raw ?? ''));
      action = parsed.action;
      analysis = parsed.analysis;
      rationale = parsed.rationale;
    }
    if (!action.trim()) action = String(idea.raw ?? '');
    actions.push(action);
    const type = classifyByKeywords({ action: action.slice(0, MAX_ACTION_CHARS), analysis, rationale });
    types.set(type, (types.get(type) ?? 0) + 1);
  }
  const distinct = new Set(actions.map(normalizeAction)).size;
  const tokens = actions.map(actionTokens);
  let near = 0;
  for (let i = 1; i < size; i++) {
    for (let j = 0; j < i; j++) {
      if (jaccard(tokens[i], tokens[j]) >= NEAR_DUPLICATE_JACCARD) {
        near++;
        break;
      }
    }
  }
  const rewards = ideas.map((i) => i.reward).filter((r): r is number => typeof r === 'number' && Number.isFinite(r));
  const zeroVariance = rewards.length >= 2 && rewards.every((r) => r === rewards[0]);
  return {
    size,
    distinct,
    distinctRatio: size > 0 ? distinct / size : 1,
    typeEntropy: entropyBits(types.values()),
    nearDuplicateRate: size > 0 ? near / size : 0,
    zeroVariance,
  };
}

export interface DiversityWindow {
  /** Groups in the window. */
  groups: number;
  meanDistinct: number;
  meanDistinctRatio: number;
  meanTypeEntropy: number;
  meanNearDuplicateRate: number;
  /** Zero-variance groups among the groups of two or more ideas (0 when there are none). */
  zeroVarianceShare: number;
}

/** Means over a window of groups (a trainer step: the last jobs), and the share of zero-variance groups. */
export function aggregateDiversity(groups: readonly GroupDiversity[]): DiversityWindow {
  const n = groups.length;
  const mean = (f: (g: GroupDiversity) => number) => (n ? groups.reduce((a, g) => a + f(g), 0) / n : 0);
  const multi = groups.filter((g) => g.size >= 2);
  return {
    groups: n,
    meanDistinct: mean((g) => g.distinct),
    meanDistinctRatio: mean((g) => g.distinctRatio),
    meanTypeEntropy: mean((g) => g.typeEntropy),
    meanNearDuplicateRate: mean((g) => g.nearDuplicateRate),
    zeroVarianceShare: multi.length ? multi.filter((g) => g.zeroVariance).length / multi.length : 0,
  };
}

/** One line for people: "7 distinct of 8 ideas, type entropy 2.16 bits (max 2.58), 1 near-duplicate, rewards vary". */
export function describeDiversity(d: GroupDiversity): string {
  const nearCount = Math.round(d.nearDuplicateRate * d.size);
  const variance = d.size < 2 ? 'one idea: no group to compare' : d.zeroVariance ? 'all rewards equal: this group gives GRPO no signal' : 'rewards vary: GRPO has a signal';
  return (
    `${d.distinct} distinct of ${d.size} ideas, type entropy ${d.typeEntropy.toFixed(2)} bits (max ${MAX_TYPE_ENTROPY.toFixed(2)}), ` +
    `${nearCount} near-duplicate${nearCount === 1 ? '' : 's'} (${Math.round(d.nearDuplicateRate * 100)}%), ${variance}`
  );
}
