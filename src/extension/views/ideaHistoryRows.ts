/**
 * The rows of Idea History, host-free: what became of an idea (its last apply, the outcome the next run gave it, in
 * words) and the ideas as a forest (follow-ups under the idea they ask about). The tree view (ideaHistoryTree.ts)
 * and the Idea panel both use these.
 */
import type { AppliedEdit } from '../../core/history';
import { describeOutcome } from '../../core/historyRows';
import { isProse } from '../../core/followUp';
import type { IdeaRecord, Outcome, Run } from '../../core/protocol';

/** What ideaStatus reads from the run history. */
export interface IdeaHistoryLike {
  applied(): AppliedEdit[];
  outcomeFor(ideaId: string): Outcome | undefined;
  run?(id: string): Pick<Run, 'primary'> | undefined;
}

/** What became of an idea: its last apply and the outcome the next run gave it. */
export interface IdeaStatus {
  applied?: AppliedEdit;
  outcome?: Outcome;
  /** In words, the verdict first: "Improved: val_auc 0.91 → 0.93", "Applied to train.py; the next run judges it" ("Partly applied" when some of the change was left out), "Not applied". */
  text: string;
  /** Short form for a tree row. */
  short: string;
}

/** "Partly applied" when only some of the change was kept (left out in the diff preview, or undone in the editor). */
const appliedWord = (applied: AppliedEdit | undefined): string => (applied?.partial ? 'Partly applied' : 'Applied');

export function ideaStatus(store: IdeaHistoryLike | undefined, idea: IdeaRecord): IdeaStatus {
  if (isProse(idea)) return { text: 'An explanation: nothing to apply', short: 'explanation' };
  const applied = store?.applied().filter((a) => a.ideaId === idea.id).pop();
  const outcome = store?.outcomeFor(idea.id);
  if (outcome) {
    // The metric by its name: the judging run's, else the one the idea was asked under.
    const metric = (outcome.runId ? store?.run?.(outcome.runId)?.primary?.name : undefined) ?? idea.scoreBefore?.metric;
    const verdict = describeOutcome(outcome, metric);
    return { applied, outcome, text: `${applied?.path ? `${appliedWord(applied)} to ${applied.path} · ` : `${appliedWord(applied)} · `}${verdict}`, short: verdict };
  }
  if (applied?.undone) return { applied, text: `Not applied: every change was undone in ${applied.path ?? 'the file'}`, short: 'undone' };
  if (applied) return { applied, text: `${appliedWord(applied)} to ${applied.path ?? 'the file'}; the next run will judge it`, short: applied.partial ? 'partly applied, waiting for a run' : 'applied, waiting for a run' };
  return { text: 'Not applied', short: 'not applied' };
}

export interface IdeaNode {
  idea: IdeaRecord;
  children: IdeaNode[];
}

/** The ideas as a forest: follow-ups under the idea they ask about, newest first at each level. */
export function ideaForest(ideas: readonly IdeaRecord[]): IdeaNode[] {
  const nodes = new Map(ideas.map((i) => [i.id, { idea: i, children: [] as IdeaNode[] }]));
  const roots: IdeaNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.idea.followUp ? nodes.get(node.idea.followUp.of) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const newestFirst = (a: IdeaNode, b: IdeaNode) =>
    b.idea.createdAt.localeCompare(a.idea.createdAt) || (a.idea.followUp?.part ?? 0) - (b.idea.followUp?.part ?? 0);
  const sort = (list: IdeaNode[]) => {
    list.sort(newestFirst);
    for (const n of list) sort(n.children);
  };
  sort(roots);
  return roots;
}
