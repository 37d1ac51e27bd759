/**
 * The paper's Table 1 from the bench store: per task and configuration Avg@K and Best@K of the normalized
 * score (invalid runs count as failures; a task scores 0 only when every run failed), the valid-submission
 * rate, mean steps and seek-help calls, tokens and cost; then the mean over tasks per configuration.
 */
import { avgAtK, bestAtK, validRate } from '../../../src/core/grading';
import type { RunRow } from './benchStore';

export interface TableRow {
  task: string;
  config: string;
  runs: number;
  avgAtK: number;
  bestAtK: number;
  validRate: number;
  meanSteps: number;
  meanSeekHelps: number;
  tokens: number;
  costUsd: number;
}

export interface BenchTable {
  k: number;
  perTask: TableRow[];
  /** task = '(all)': means over tasks of Avg@K / Best@K / rates; sums of tokens and cost. */
  overall: TableRow[];
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const r2 = (x: number) => Math.round(x * 100) / 100;

export function benchTable(runs: RunRow[]): BenchTable {
  const done = runs.filter((r) => r.status === 'done' && r.result);
  const groups = new Map<string, RunRow[]>();
  for (const r of done) {
    const key = `${r.task}\u0000${r.config}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const perTask: TableRow[] = [...groups.entries()].map(([key, rs]) => {
    const [task, config] = key.split('\u0000');
    const scores = rs.map((r) => (r.result!.valid ? r.result!.normalized : null));
    return {
      task,
      config,
      runs: rs.length,
      avgAtK: r2(avgAtK(scores)),
      bestAtK: r2(bestAtK(scores)),
      validRate: r2(validRate(scores)),
      meanSteps: r2(mean(rs.map((r) => r.result!.steps))),
      meanSeekHelps: r2(mean(rs.map((r) => r.result!.seekHelps))),
      tokens: rs.reduce((a, r) => a + r.result!.implementerTokens.input + r.result!.implementerTokens.output + r.result!.ideatorTokens.input + r.result!.ideatorTokens.output, 0),
      costUsd: Math.round(rs.reduce((a, r) => a + r.result!.costUsd, 0) * 1e6) / 1e6,
    };
  });
  perTask.sort((a, b) => a.task.localeCompare(b.task) || a.config.localeCompare(b.config));
  const configs = [...new Set(perTask.map((r) => r.config))];
  const overall = configs.map((config) => {
    const rows = perTask.filter((r) => r.config === config);
    return {
      task: '(all)',
      config,
      runs: rows.reduce((a, r) => a + r.runs, 0),
      avgAtK: r2(mean(rows.map((r) => r.avgAtK))),
      bestAtK: r2(mean(rows.map((r) => r.bestAtK))),
      validRate: r2(mean(rows.map((r) => r.validRate))),
      meanSteps: r2(mean(rows.map((r) => r.meanSteps))),
      meanSeekHelps: r2(mean(rows.map((r) => r.meanSeekHelps))),
      tokens: rows.reduce((a, r) => a + r.tokens, 0),
      costUsd: Math.round(rows.reduce((a, r) => a + r.costUsd, 0) * 1e6) / 1e6,
    };
  });
  const k = Math.max(0, ...perTask.map((r) => r.runs));
  return { k, perTask, overall };
}

export function formatTable(t: BenchTable): string {
  const head = ['task', 'config', 'runs', `Avg@${t.k}`, `Best@${t.k}`, 'valid %', 'steps', 'seek_help', 'tokens', 'cost $'];
  const rows = [...t.perTask, ...t.overall].map((r) => [
    r.task, r.config, String(r.runs), r.avgAtK.toFixed(2), r.bestAtK.toFixed(2), (r.validRate * 100).toFixed(0),
    r.meanSteps.toFixed(1), r.meanSeekHelps.toFixed(1), String(r.tokens), r.costUsd.toFixed(4),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
