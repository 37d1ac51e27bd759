/**
 * The implementer trajectory tau as steps, built from a run history's runs and ideas (the store's toTrajectory, the
 * export of a state); core/trajectory.ts renders such steps as the prompt's TRAJECTORY text.
 */
import type { IdeaRecord, Run, Step } from './protocol';
import { renderSeekHelp } from './query';

export interface TrajectoryOptions {
  /** Only steps strictly before this ISO time (the state at the moment an idea was asked for). */
  until?: string;
  /** Output tails / diffs are cut to this many characters, keeping the end (default 4000). */
  maxObservationChars?: number;
  /** Start at the baseline run when one is marked. */
  sinceBaseline?: boolean;
}

function keepEnd(text: string, max: number): string {
  if (text.length <= max) return text;
  return `[… ${text.length - max} characters cut …]\n` + text.slice(text.length - max);
}

/**
 * The implementer trajectory tau built from a run history: for each run an 'edit' step when its code changed
 * (the diff) and an 'execute' step (command -> output tail, score, exit code); each idea is a 'seek_help' step
 * (its query as the <seek_help> block `renderSeekHelp` writes, the Ideator's answer as observation). Ordered by time.
 */
export function buildTrajectory(runs: readonly Run[], ideas: readonly IdeaRecord[], opts: TrajectoryOptions = {}): Step[] {
  const max = opts.maxObservationChars ?? 4000;
  const events: { at: string; order: number; steps: Step[] }[] = [];
  let order = 0;
  for (const run of runs) {
    if (opts.until && !(run.startedAt < opts.until)) continue;
    const steps: Step[] = [];
    if (run.code?.diffFromPrevious) {
      steps.push({
        kind: 'edit',
        action: `edit ${run.code.path ?? 'code'}`,
        observation: keepEnd(run.code.diffFromPrevious, max),
        timestamp: run.startedAt,
      });
    }
    const output = run.outputTail || run.outputHead;
    steps.push({
      kind: 'execute',
      action: run.command ?? `${run.source} run${run.code?.path ? ` of ${run.code.path}` : ''}`,
      observation: keepEnd(output, max),
      score: run.primary?.value ?? null,
      exitCode: run.exitCode ?? null,
      timestamp: run.endedAt ?? run.startedAt,
    });
    events.push({ at: run.startedAt, order: order++, steps });
  }
  for (const idea of ideas) {
    if (opts.until && !(idea.createdAt < opts.until)) continue;
    events.push({
      at: idea.createdAt,
      order: order++,
      steps: [{ kind: 'seek_help', action: idea.query ? renderSeekHelp(idea.query) : 'seek_help', observation: keepEnd(idea.raw, max), timestamp: idea.createdAt }],
    });
  }
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.order - b.order));
  return events.flatMap((e) => e.steps);
}
