/**
 * `ideator reward --state STATE.json IDEA.md…` — rewards for a group of candidate ideas, either from a running
 * server (`--server URL`, token from IDEATOR_SERVER_TOKEN) or in-process on embedded defaults (the same pipeline
 * `ideator serve` runs). Prints the reward table and the group's GRPO advantages, or with --json
 * {job, ideas, advantages}. A state no task grades is refused unless --allow-printed-score says that the metric
 * the run prints (self-reported, forgeable) may be the score.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { IdeatorStateSchema, JobSchema, RewardRequestSchema, RewardSchemeSchema, type Job, type RewardRequest } from '../../../src/core/protocol';
import { grpoAdvantages } from '../../../src/core/rewards';
import { waitForJob } from '../jobs/wait';
import { RUNTIME_HELP, runtimeConfigFromFlags, runtimeFlags } from './runtimeFlags';
import { createRuntime } from '../queue/runtime';
import { NoGraderError, submitRewardJob, UnknownTaskError } from '../rewards/submit';
import { defineCommand, log, printJson, readJsonFile, UsageError } from './common';
import { GUARD_NOTE, jobNoiseLine, rewardTable, SELF_REPORTED_NOTE } from './demo';

const HELP = `usage: ideator reward --state STATE.json [IDEA.md …] [--ideas-json FILE] [options]
Rewards a group of Ideator answers for one state: format check, implementer, sandboxed run, grade, reward.
  --state FILE          the IdeatorState the ideas answer (JSON)
  IDEA.md …             one raw Ideator answer per file; or --ideas-json FILE with a JSON array of strings
  --server URL          use a running 'ideator serve' (token: env IDEATOR_SERVER_TOKEN); default: in-process
  --task ID             server task to run against (default: the state's taskId when the server has it)
  --allow-printed-score when no task grades the state, score ideas by the metric the run PRINTS (self-reported,
                        forgeable: print('score: 999') would win); without it such a state is refused
  --scheme S            paper (default) | partial | sigmoid
  --timeout-sec N       wall clock per idea
  --baseline-seeds K    measure p_t over K seeded runs of C_t; an idea counts as improved only beyond their noise
                        (default: the task's setting, else 1)
  --json                print {job, ideas, advantages} on stdout
In-process options:
${RUNTIME_HELP}`;

async function viaServer(url: string, request: RewardRequest): Promise<Job> {
  const token = process.env.IDEATOR_SERVER_TOKEN?.trim();
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const base = url.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}/v1/rewards?wait=1`, { method: 'POST', headers, body: JSON.stringify(request) });
  } catch (err) {
    throw new UsageError(`cannot reach ${base}: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (res.status >= 400) throw new UsageError(`${base} answered ${res.status}: ${text.slice(0, 500)}`);
  let job = JobSchema.parse(JSON.parse(text));
  while (job.status !== 'done' && job.status !== 'failed') {
    const poll = await fetch(`${base}/v1/jobs/${job.id}?wait=1&waitSec=300`, { headers });
    job = JobSchema.parse(await poll.json());
  }
  return job;
}

const FLAGS = {
  ...runtimeFlags,
  state: { type: 'string' },
  'ideas-json': { type: 'string' },
  server: { type: 'string' },
  task: { type: 'string' },
  'allow-printed-score': { type: 'boolean' },
  scheme: { type: 'string', default: 'paper' },
  'baseline-seeds': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS, positionals: true }, async ({ values, positionals }, io) => {
  if (!values.state) throw new UsageError('--state STATE.json is required');
  const state = await readJsonFile(values.state, IdeatorStateSchema, io);
  const names: string[] = [];
  const ideas: string[] = [];
  for (const file of positionals) {
    try {
      ideas.push(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    names.push(basename(file).replace(/\.(md|txt)$/, ''));
  }
  if (values['ideas-json']) {
    const list = await readJsonFile(values['ideas-json'], z.array(z.string()).min(1), io);
    for (const raw of list) {
      ideas.push(raw);
      names.push(`idea ${names.length + 1}`);
    }
  }
  if (!ideas.length) throw new UsageError('give at least one idea: IDEA.md files or --ideas-json FILE');
  const scheme = RewardSchemeSchema.safeParse(values.scheme);
  if (!scheme.success) throw new UsageError(`--scheme must be one of ${RewardSchemeSchema.options.join(', ')}`);
  const parsed = RewardRequestSchema.safeParse({
    state,
    ideas,
    scheme: scheme.data,
    task: values.task,
    allowPrintedScore: values['allow-printed-score'] === true,
    timeoutSec: values['timeout-sec'] !== undefined ? Number(values['timeout-sec']) : undefined,
    baselineSeeds: values['baseline-seeds'] !== undefined ? Number(values['baseline-seeds']) : undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`invalid request at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }

  let job: Job;
  if (values.server) {
    job = await viaServer(values.server, parsed.data);
  } else {
    const say = (m: string) => log(io, `ideator reward: ${m}`);
    const config = runtimeConfigFromFlags(values, say);
    const tempData = values['data-dir'] ? undefined : mkdtempSync(join(tmpdir(), 'ideator-reward-'));
    const runtime = createRuntime({
      ...config,
      dataDir: values['data-dir'] ?? tempData!,
      slots: config.slots ?? 1,
      // In-process rewards are a local tool: a weak sandbox is said loudly, not refused.
      allowWeakSandbox: true,
      onComplete: (_w, o) => say(`${o.status} (reward ${o.reward})`),
    });
    try {
      let submitted;
      try {
        submitted = submitRewardJob(runtime.store, runtime.catalog, parsed.data);
      } catch (err) {
        if (err instanceof UnknownTaskError) throw new UsageError(err.message);
        if (err instanceof NoGraderError) throw new UsageError(new NoGraderError(err.task, 'pass --allow-printed-score', 'pass --task ID').message);
        throw err;
      }
      if (!runtime.pool) throw new UsageError('--slots 0 runs nothing in-process; use --server or --slots ≥ 1');
      runtime.pool.start();
      job = (await waitForJob(runtime.store, submitted.job.id))!;
    } finally {
      await runtime.close();
      if (tempData) rmSync(tempData, { recursive: true, force: true });
    }
  }
  const advantages = grpoAdvantages(job.results.map((r) => r.reward));
  if (values.json) printJson(io, { job, ideas: names, advantages });
  else {
    io.stdout.write(rewardTable(names, job, advantages) + '\n');
    io.stdout.write(`GRPO advantages: [${advantages.map((a) => a.toFixed(3)).join(', ')}]\n`);
    const noise = jobNoiseLine(job);
    if (noise) io.stdout.write(`${noise}\n`);
    if (job.results.some((r) => r.selfReported)) io.stdout.write(`${SELF_REPORTED_NOTE}\n`);
    if (job.results.some((r) => r.guardFlags.length)) io.stdout.write(`${GUARD_NOTE}\n`);
  }
  return 0;
});
