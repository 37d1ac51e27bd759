/**
 * Prometheus text exposition for GET /metrics. Queue depth, running and finished counts come from the store
 * (durable, and they include ideas run by `ideator worker` processes); durations and per-request figures are
 * this process's own, since it started.
 */
import { GuardFlagSchema } from '../../../src/core/protocol';
import type { JobStore } from '../jobs/store';
import type { ClusterSnapshot } from './runtime';

const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600];
/** The collapse gauges look at this many most recent finished jobs (about one trainer step of groups). */
export const COLLAPSE_WINDOW_JOBS = 64;

class Histogram {
  readonly counts = new Array<number>(DURATION_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(v: number): void {
    this.sum += v;
    this.count++;
    DURATION_BUCKETS.forEach((b, i) => {
      if (v <= b) this.counts[i]++;
    });
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class Metrics {
  private readonly durations = new Map<string, Histogram>();
  private readonly requests = new Map<string, number>();
  private readonly started = Date.now();

  /** One idea finished in this process. */
  observeIdea(status: string, durationMs: number): void {
    let h = this.durations.get(status);
    if (!h) this.durations.set(status, (h = new Histogram()));
    h.observe(durationMs / 1000);
  }

  observeRequest(route: string, method: string, code: number): void {
    const key = `${method}\u0000${route}\u0000${code}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  /** `cluster`: the remote workers of a scale-out server (`serve --redis`); their gauges appear only then. */
  render(store: JobStore, pool: { size: number; busy: number } | undefined, cluster?: ClusterSnapshot, sharedRuns = 0): string {
    const out: string[] = [];
    const gauge = (name: string, help: string, value: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    const counts = store.counts();
    gauge('ideator_queue_depth', 'Ideas waiting to run (all workers sharing the store).', counts.queued);
    gauge('ideator_ideas_running', 'Ideas running now (all workers sharing the store).', counts.running);
    gauge('ideator_jobs', 'Reward jobs recorded.', counts.jobs);
    gauge('ideator_slots', 'Execution slots of this process.', pool?.size ?? 0);
    gauge('ideator_slots_busy', 'Execution slots of this process running an idea.', pool?.busy ?? 0);
    if (cluster) {
      gauge('ideator_redis_up', 'The server is connected to its Redis (scale-out); 0 while it reconnects.', cluster.redisUp ? 1 : 0);
      gauge('ideator_workers', 'Live remote workers (scale-out: heartbeat in Redis within its TTL).', cluster.workers);
      gauge('ideator_worker_slots', 'Execution slots of the live remote workers.', cluster.slots);
      gauge('ideator_worker_slots_busy', 'Slots of the live remote workers running an idea.', cluster.busy);
      out.push(
        '# HELP ideator_results_duplicate_total Results delivered again for an idea already recorded (redelivered or duplicated executions), dropped; this process.',
        '# TYPE ideator_results_duplicate_total counter',
        `ideator_results_duplicate_total ${cluster.duplicateResults}`,
      );
    }
    out.push(
      '# HELP ideator_runs_shared_total Ideas answered from another idea\'s run of the same implemented code (executed once): by this process, or (scale-out) recorded from any worker; since this process started.',
      '# TYPE ideator_runs_shared_total counter',
      `ideator_runs_shared_total ${sharedRuns + (cluster?.sharedRuns ?? 0)}`,
    );
    gauge('ideator_uptime_seconds', 'Seconds since this process started serving.', Math.round((Date.now() - this.started) / 1000));

    // Collapse monitor (core/collapse.ts): one group = one job's ideas; means over the last finished jobs.
    const w = store.recentDiversity(COLLAPSE_WINDOW_JOBS);
    gauge('ideator_collapse_window_jobs', `Finished jobs the collapse gauges cover (the last ${COLLAPSE_WINDOW_JOBS} at most).`, w.groups);
    gauge('ideator_collapse_distinct_ratio', 'Mean share of distinct ideas (ACTION, whitespace and case normalised) per job, recent finished jobs.', w.meanDistinctRatio);
    gauge('ideator_collapse_type_entropy_bits', 'Mean Shannon entropy (bits, max log2 6) of the idea types per job, recent finished jobs.', w.meanTypeEntropy);
    gauge('ideator_collapse_near_duplicate_rate', 'Mean share of ideas near-identical (token Jaccard >= 0.8) to an earlier one of their job, recent finished jobs.', w.meanNearDuplicateRate);
    gauge('ideator_collapse_zero_variance_share', 'Share of recent finished jobs of 2+ ideas whose rewards are all equal (no GRPO signal).', w.zeroVarianceShare);

    const outcomes = store.outcomeCounts();
    out.push('# HELP ideator_ideas_done_total Ideas finished, by outcome status (durable).', '# TYPE ideator_ideas_done_total counter');
    for (const o of outcomes) out.push(`ideator_ideas_done_total{status="${esc(String(o.status))}"} ${o.n}`);
    out.push('# HELP ideator_reward_sum Sum of rewards of finished ideas, by outcome status.', '# TYPE ideator_reward_sum counter');
    for (const o of outcomes) out.push(`ideator_reward_sum{status="${esc(String(o.status))}"} ${o.rewardSum}`);
    const failed = outcomes.filter((o) => o.status === 'exec_failed' || o.status === 'timeout').reduce((a, o) => a + o.n, 0);
    out.push('# HELP ideator_ideas_failed_total Ideas whose run failed or timed out.', '# TYPE ideator_ideas_failed_total counter', `ideator_ideas_failed_total ${failed}`);

    // Trust: rewards the trainer should look at. Every known flag is listed, 0 until seen (durable).
    const flagCounts = new Map(store.guardFlagCounts().map((g) => [g.flag, g.n]));
    out.push('# HELP ideator_guard_flags_total Finished ideas whose code raised a reward-hacking guard flag, by flag.', '# TYPE ideator_guard_flags_total counter');
    for (const flag of new Set<string>([...GuardFlagSchema.options, ...flagCounts.keys()])) out.push(`ideator_guard_flags_total{flag="${esc(flag)}"} ${flagCounts.get(flag) ?? 0}`);
    const trust = store.trustCounts();
    out.push('# HELP ideator_ideas_guard_flagged_total Finished ideas with at least one guard flag.', '# TYPE ideator_ideas_guard_flagged_total counter', `ideator_ideas_guard_flagged_total ${trust.flagged}`);
    out.push(
      '# HELP ideator_ideas_self_reported_total Finished ideas scored from the metric the run printed (allowPrintedScore, no grader).',
      '# TYPE ideator_ideas_self_reported_total counter',
      `ideator_ideas_self_reported_total ${trust.selfReported}`,
    );

    out.push('# HELP ideator_idea_duration_seconds Time from claim to result per idea, in this process.', '# TYPE ideator_idea_duration_seconds histogram');
    for (const [status, h] of this.durations) {
      DURATION_BUCKETS.forEach((b, i) => out.push(`ideator_idea_duration_seconds_bucket{status="${esc(status)}",le="${b}"} ${h.counts[i]}`));
      out.push(`ideator_idea_duration_seconds_bucket{status="${esc(status)}",le="+Inf"} ${h.count}`);
      out.push(`ideator_idea_duration_seconds_sum{status="${esc(status)}"} ${h.sum}`);
      out.push(`ideator_idea_duration_seconds_count{status="${esc(status)}"} ${h.count}`);
    }

    out.push('# HELP ideator_http_requests_total HTTP requests answered, by route and status code.', '# TYPE ideator_http_requests_total counter');
    for (const [key, n] of this.requests) {
      const [method, route, code] = key.split('\u0000');
      out.push(`ideator_http_requests_total{method="${esc(method)}",route="${esc(route)}",code="${code}"} ${n}`);
    }
    return out.join('\n') + '\n';
  }
}
