/**
 * POST /get_reward — OpenRLHF's remote reward protocol (`--reward.remote_url http://HOST:PORT/get_reward`, the route
 * of its own serve_rm): `{"query": [...], "prompts": [...], "labels": [...]}` in, `{"rewards", "scores",
 * "extra_logs"}` out, one entry per query. Each label is a state reference (`st_…`, the `label` column `ideator
 * export --format openrlhf` writes) that names a state registered on this server (POST /v1/states); the answer is
 * cut out of the query (rewards/openrlhf.ts) and goes through the same pipeline as POST /v1/rewards — same job
 * store, same idempotency: the same query again joins the job it started instead of running twice.
 *
 * Cached or fast results only: OpenRLHF's HTTP client gives each try 180 s (5 tries, 1 s apart), and an execution
 * reward takes minutes. The route waits up to `waitSec` (default 170) and answers 200 when every reward is there
 * (`extra_logs.cached` = 1 for a result that was stored before the request); otherwise 503 `reward_pending` with
 * Retry-After — OpenRLHF's client retries the same body, which joins the same jobs. For rewards that take longer,
 * use the reward_func file server/python/ideator_openrlhf.py: it waits as long as the run takes.
 *
 * `baselineSeeds=k` (and `noiseZ`) ask for the noise-aware reward: p_t measured over k seeded runs of C_t, an idea
 * improved only beyond their noise; every sample's extra_logs carries baseline_seeds / baseline_noise /
 * baseline_threshold (0 when p_t was not measured).
 *
 * Per sample, a label naming no registered state, a task this server lacks, a state no task grades (unless
 * allowPrintedScore) or a failed job give reward 0, score 0 and `extra_logs.bridge_error` = 1 (logged): for GRPO a
 * group whose every sample is such a failure has zero advantage, so it teaches nothing rather than crashing the run.
 * An empty label is a configuration error (OpenRLHF sends "" without --data.label_key): 400 missing_label.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_BASELINE_SEEDS, MAX_NOISE_Z, RewardRequestSchema, RewardSchemeSchema, type Job, type RewardResult } from '../../../../src/core/protocol';
import { QueueFullError } from '../../jobs/store';
import { waitForJob } from '../../jobs/wait';
import type { Runtime } from '../../queue/runtime';
import { EXTRA_LOG_KEYS, extraLogs, FAILURE_REWARD, responseFromQuery, score01, SCORE_MAPPINGS, type ExtraLogKey } from '../../rewards/openrlhf';
import { NoGraderError, submitRewardJob, UnknownTaskError } from '../../rewards/submit';
import { CorruptStateError, type StateRegistry } from '../../statePool/registry';
import { ErrorBodySchema, HttpError } from '../errors';
import { retryAfterSec } from './rewards';

export const DEFAULT_GET_REWARD_WAIT_SEC = 170;
const MAX_BATCH = 256;

export const GetRewardBodySchema = z.object({
  query: z.array(z.string().max(2_000_000)).min(1).max(MAX_BATCH).describe('prompt + response, decoded with special tokens'),
  prompts: z.array(z.string().max(2_000_000)).min(1).max(MAX_BATCH).describe('the chat-templated prompts'),
  labels: z.array(z.string().max(10_000)).min(1).max(MAX_BATCH).describe('state references (st_…), the exported label column'),
});

const GetRewardQuerySchema = z.object({
  waitSec: z.coerce.number().min(0).max(3600).optional().describe(`longest wait for the rewards (default ${DEFAULT_GET_REWARD_WAIT_SEC}: inside OpenRLHF's 180 s per try)`),
  scheme: RewardSchemeSchema.optional().describe('reward scheme (default paper: +1 / 0 / −1)'),
  scores: z.enum(SCORE_MAPPINGS).optional().describe('scores (0–1) from the result: improved (default: 1 if improved, else 0) or linear ((reward + 1) / 2)'),
  allowPrintedScore: z.enum(['0', '1', 'true', 'false']).optional().describe('1: states no server task grades are scored from the printed metric (self-reported)'),
  timeoutSec: z.coerce.number().int().positive().max(24 * 3600).optional().describe('wall-clock limit per idea run (default: the task\'s)'),
  baselineSeeds: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_BASELINE_SEEDS)
    .optional()
    .describe("k: measure p_t over k seeded runs of C_t; an idea counts as improved only beyond their noise (default: the task's ideator.baseline_seeds, else 1)"),
  noiseZ: z.coerce.number().min(0).max(MAX_NOISE_Z).optional().describe("z of the noise threshold z · std · √(1 + 1/k) (default: the task's ideator.noise_z, else 1)"),
  token: z.string().max(500).optional().describe('the bearer token, for clients that cannot send headers (OpenRLHF\'s)'),
});

export const GetRewardReplySchema = z.object({
  rewards: z.array(z.number()),
  scores: z.array(z.number()),
  extra_logs: z.record(z.enum(EXTRA_LOG_KEYS), z.array(z.number())),
});

interface Item {
  job?: Job;
  cached: boolean;
  error?: string;
}

const finished = (job: Job) => job.status === 'done' || job.status === 'failed';

export function openrlhfRoutes(app: FastifyInstance, rt: Runtime, registry: StateRegistry, log: (message: string) => void): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/get_reward',
    {
      schema: {
        summary: "OpenRLHF's remote reward (--reward.remote_url …/get_reward): cached or fast rewards; 503 reward_pending while runs go on",
        body: GetRewardBodySchema,
        querystring: GetRewardQuerySchema,
        response: {
          200: GetRewardReplySchema,
          400: ErrorBodySchema.describe('error.code: invalid_request / invalid_json, length_mismatch (query, prompts, labels differ in length), missing_label (an empty label: start OpenRLHF with --data.label_key label)'),
          401: ErrorBodySchema,
          413: ErrorBodySchema,
          429: ErrorBodySchema.describe('error.code: queue_full — the queue is at its depth limit (ideator serve --max-queued); retry after the Retry-After header (seconds)'),
          503: ErrorBodySchema.describe('error.code: reward_pending — runs still going after waitSec; retry the same body (it joins the same jobs)'),
        },
      },
    },
    async (request, reply) => {
      const { query, prompts, labels } = request.body;
      if (query.length !== prompts.length || query.length !== labels.length) {
        throw new HttpError(400, 'length_mismatch', `query, prompts and labels must have one entry per sample (got ${query.length}, ${prompts.length}, ${labels.length})`);
      }
      const empty = labels.findIndex((l) => !l.trim());
      if (empty >= 0) {
        throw new HttpError(400, 'missing_label', `labels[${empty}] is empty: start OpenRLHF with --data.label_key label (the state reference column ideator export --format openrlhf writes)`);
      }
      const q = request.query;
      const allowPrintedScore = q.allowPrintedScore === '1' || q.allowPrintedScore === 'true';
      const submitOne = (raw: string, i: number): Item => {
        const label = raw.trim();
        try {
          const entry = registry.get(label);
          if (!entry) return { cached: false, error: `no registered state '${label.slice(0, 80)}' (register the exported states: ideator export --format openrlhf --server URL)` };
          const rewardRequest = RewardRequestSchema.parse({
            state: entry.state,
            ideas: [responseFromQuery(query[i], prompts[i])],
            scheme: q.scheme ?? 'paper',
            task: entry.task ?? undefined,
            timeoutSec: q.timeoutSec,
            allowPrintedScore,
            baselineSeeds: q.baselineSeeds,
            noiseZ: q.noiseZ,
          });
          const { job, created } = submitRewardJob(rt.store, rt.catalog, rewardRequest, { maxQueued: rt.config.maxQueued });
          return { job, cached: !created && finished(job) };
        } catch (err) {
          if (err instanceof UnknownTaskError || err instanceof NoGraderError || err instanceof CorruptStateError) return { cached: false, error: err.message };
          if (err instanceof z.ZodError) return { cached: false, error: `the answer is not a valid idea request: ${err.issues[0]?.message ?? err.message}` };
          throw err;
        }
      };
      const items: Item[] = [];
      try {
        for (const [i, raw] of labels.entries()) items.push(submitOne(raw, i));
      } catch (err) {
        // The queue is at --max-queued: the same back-pressure as POST /v1/rewards (what was stored stays stored;
        // the retry joins it).
        if (!(err instanceof QueueFullError)) throw err;
        const after = await retryAfterSec(rt, err);
        reply.header('retry-after', String(after));
        throw new HttpError(429, 'queue_full', `${err.message}: retry after ${after} s`);
      }
      for (const [i, it] of items.entries()) if (it.error) log(`get_reward: sample ${i} (label ${labels[i].slice(0, 80)}): ${it.error}`);

      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      const timeoutMs = Math.round((q.waitSec ?? DEFAULT_GET_REWARD_WAIT_SEC) * 1000);
      await Promise.all(
        items.map(async (it) => {
          if (it.job && !finished(it.job)) it.job = (await waitForJob(rt.store, it.job.id, { signal: ac.signal, timeoutMs })) ?? it.job;
        }),
      );
      const pending = items.filter((it) => it.job && !finished(it.job)).map((it) => it.job!);
      if (pending.length) {
        reply.header('retry-after', '1');
        throw new HttpError(
          503,
          'reward_pending',
          `${pending.length} of ${items.length} reward(s) still running after ${timeoutMs / 1000}s (job ${pending.map((j) => j.id).join(', ')}): ` +
            'send the same request again to keep waiting (it joins the same jobs); for rewards that take minutes use the reward_func file server/python/ideator_openrlhf.py',
        );
      }

      const results: (RewardResult | null)[] = items.map((it) => {
        if (!it.job || it.job.status === 'failed') return null;
        return it.job.results[0] ?? null;
      });
      items.forEach((it, i) => {
        if (it.job?.status === 'failed') log(`get_reward: sample ${i}: job ${it.job.id} failed: ${it.job.error ?? 'no reason given'}`);
      });
      const mapping = q.scores ?? 'improved';
      const logs = results.map((res, i) => extraLogs(res, { cached: items[i].cached }));
      return reply.code(200).send({
        rewards: results.map((res) => (res ? res.reward : FAILURE_REWARD)),
        scores: results.map((res) => (res ? score01(res, mapping) : 0)),
        extra_logs: Object.fromEntries(EXTRA_LOG_KEYS.map((k) => [k, logs.map((l) => l[k])])) as Record<ExtraLogKey, number[]>,
      });
    },
  );
}
