/**
 * Plateau detection: after N completed runs that did not beat the best score, offer to ask the Ideator — once,
 * then stay quiet for a cooldown so the prompt never nags.
 *
 * API
 *   runsSinceBest(runs)                        -> { count, best }   pure: completed runs after the best one
 *   new PlateauMonitor({ patience?, cooldownMs?, now? })
 *   monitor.check(runs, { ideaPending? })      -> PlateauSignal | null   (non-null = show the prompt now)
 *   monitor.snooze()                           -> the user dismissed: wait a full patience window + cooldown
 */
import { bestOf, runFailed, type BestScore } from './runResults';
import type { Run } from './protocol';

export interface PlateauOptions {
  /** Completed runs without beating the best before prompting (default 3). */
  patience?: number;
  /** Minimum time between two prompts (default 30 minutes). */
  cooldownMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface PlateauSignal {
  runsSinceBest: number;
  best: BestScore;
}

/**
 * Completed runs (ended, any exit status) after the run holding the best score. A failed run counts: it did not
 * beat the best. Runs still in progress do not. null best = nothing scored yet, so no plateau can be judged.
 */
export function runsSinceBest(runs: readonly Run[]): { count: number; best: BestScore | null } {
  const best = bestOf(runs);
  if (!best) return { count: 0, best: null };
  const i = runs.findIndex((r) => r.id === best.runId);
  let count = 0;
  for (const r of runs.slice(i + 1)) if (r.endedAt && (runFailed(r) || r.primary === null || r.primary.name === best.name)) count++;
  return { count, best };
}

export class PlateauMonitor {
  private readonly patience: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  /** The best run and run count at the last prompt: a new prompt needs a new window of `patience` runs. */
  private lastPrompt: { bestRunId: string; count: number; at: number } | null = null;

  constructor(opts: PlateauOptions = {}) {
    this.patience = Math.max(1, Math.floor(opts.patience ?? 3));
    this.cooldownMs = Math.max(0, opts.cooldownMs ?? 30 * 60_000);
    this.now = opts.now ?? Date.now;
  }

  check(runs: readonly Run[], opts: { ideaPending?: boolean } = {}): PlateauSignal | null {
    const { count, best } = runsSinceBest(runs);
    if (!best || count < this.patience) return null;
    // An applied idea is waiting for its run: the user is already acting on advice.
    if (opts.ideaPending) return null;
    const last = this.lastPrompt;
    if (last && last.bestRunId === best.runId) {
      if (count - last.count < this.patience) return null;
      if (this.now() - last.at < this.cooldownMs) return null;
    } else if (last && this.now() - last.at < this.cooldownMs) {
      return null;
    }
    this.lastPrompt = { bestRunId: best.runId, count, at: this.now() };
    return { runsSinceBest: count, best };
  }
}
