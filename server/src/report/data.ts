/**
 * What the report shows, computed from a bench store: Table 1, the best-so-far normalized score per step per
 * configuration (paper Fig. 2, averaged over every task and run; a finished run keeps its last value), how often
 * seek_help is called at each step (over the configurations that have an Ideator), and the idea types with
 * their effectiveness (paper Fig. 3/4: share of judged ideas followed by a better submission, mean gain).
 */
import { z } from 'zod';
import type { PoolRow, RunRow, StepRow } from '../dualAgent/benchStore';
import { benchTable, type BenchTable } from '../dualAgent/table';

export const PlanSchema = z.object({
  tasks: z.array(z.object({ id: z.string(), dir: z.string() })),
  configs: z.array(z.union([z.string(), z.object({ name: z.string(), ideator: z.string().nullable() })])),
  runs: z.number(),
  implementer: z.string(),
  limits: z.record(z.string(), z.unknown()),
  isolation: z.string().optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

export interface TypeStat {
  type: string;
  count: number;
  judged: number;
  improved: number;
  /** improved / judged, 0..1 (0 when none judged). */
  rate: number;
  /** Mean (after − before) of normalized scores where both exist. */
  meanGain: number | null;
}

export interface ReportData {
  plan: Plan | null;
  table: BenchTable;
  curves: { name: string; values: number[] }[];
  seekHelpRate: number[];
  ideaTypes: TypeStat[];
  runs: (RunRow & { log: string })[];
  poolSize: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function reportData(runs: RunRow[], steps: StepRow[], pool: PoolRow[], plan: Plan | null, logName: (r: RunRow) => string): ReportData {
  const done = runs.filter((r) => r.status === 'done');
  const byRun = new Map<string, StepRow[]>();
  for (const s of steps) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s]);
  const length = Math.max(0, ...done.map((r) => byRun.get(r.id)?.length ?? 0));
  const configs = [...new Set(done.map((r) => r.config))].sort();

  const curves = configs.map((config) => {
    const mine = done.filter((r) => r.config === config).map((r) => (byRun.get(r.id) ?? []).sort((a, b) => a.idx - b.idx));
    const values = Array.from({ length }, (_, i) => mean(mine.map((ss) => (ss.length ? ss[Math.min(i, ss.length - 1)].bestNormalized : 0))));
    return { name: config, values };
  });

  const withIdeator = new Set(
    (plan?.configs ?? [])
      .map((c) => (typeof c === 'string' ? { name: c, ideator: c === 'codeact' ? null : c } : c))
      .filter((c) => c.ideator !== null)
      .map((c) => c.name),
  );
  const helped = done.filter((r) => (plan ? withIdeator.has(r.config) : r.result!.seekHelps > 0));
  const seekHelpRate = Array.from({ length }, (_, i) => {
    const reached = helped.filter((r) => (byRun.get(r.id)?.length ?? 0) > i);
    const asked = reached.filter((r) => byRun.get(r.id)!.find((s) => s.idx === i)?.kind === 'seek_help');
    return reached.length ? asked.length / reached.length : 0;
  });

  const types = new Map<string, PoolRow[]>();
  for (const p of pool) {
    const t = p.ideaOk ? (p.ideaType ?? 'Others') : 'Format error';
    types.set(t, [...(types.get(t) ?? []), p]);
  }
  const ideaTypes: TypeStat[] = [...types.entries()]
    .map(([type, ps]) => {
      const judged = ps.filter((p) => p.improved !== null);
      const improved = judged.filter((p) => p.improved).length;
      const gains = ps.filter((p) => p.before !== null && p.after !== null).map((p) => p.after! - p.before!);
      return { type, count: ps.length, judged: judged.length, improved, rate: judged.length ? improved / judged.length : 0, meanGain: gains.length ? mean(gains) : null };
    })
    .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type));

  return {
    plan,
    table: benchTable(runs),
    curves,
    seekHelpRate,
    ideaTypes,
    runs: runs.map((r) => ({ ...r, log: logName(r) })),
    poolSize: pool.length,
  };
}
