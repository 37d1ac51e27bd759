/**
 * `ideator demo` — the reward phase end to end, in-process, on embedded defaults: a bundled state of the
 * churn-binary task (C_t = a numeric-only logistic regression, p_t its graded ROC AUC) and 8 bundled candidate
 * ideas (some good, some useless, one broken, one badly formatted) go through the real pipeline — format check,
 * implementer, sandboxed run, the task's grade.py, the paper's reward — and it prints the reward table and the
 * GRPO advantages this group would get. Progress on stderr; the table (or --json) on stdout.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { describeDiversity, groupDiversity } from '../../../src/core/collapse';
import { IdeatorStateSchema, MAX_BASELINE_SEEDS, RewardSchemeSchema, type BaselineNoise, type IdeatorState, type Job } from '../../../src/core/protocol';
import { grpoAdvantages } from '../../../src/core/rewards';
import { waitForJob } from '../jobs/wait';
import { createRuntime } from '../queue/runtime';
import { submitRewardJob } from '../rewards/submit';
import { packageRoot } from '../tasks/python';
import { defineCommand, log, printJson, UsageError } from './common';

const HELP = `usage: ideator demo [--slots N] [--scheme paper|partial|sigmoid] [--baseline-seeds K] [--data-dir DIR] [--python PATH] [--json]
Runs the bundled state + 8 candidate ideas through the real reward pipeline and prints rewards and GRPO advantages.
  --slots N      parallel runs (default: min(2, CPUs))
  --scheme S     reward scheme (default paper: +1 improved, 0 not improved or failed, -1 format error)
  --baseline-seeds K  measure p_t over K seeded runs of the current code (1-${MAX_BASELINE_SEEDS}, default 1) and print
                 its run-to-run noise; an idea counts as improved only beyond it (as ideator reward --baseline-seeds)
  --data-dir D   keep the job store here (default: a temporary folder, removed afterwards)
  --json         print {job, ideas, advantages} as JSON instead of the table`;

export interface DemoBundle {
  state: IdeatorState;
  ideas: { name: string; raw: string }[];
}

export function loadDemoBundle(dir?: string): DemoBundle {
  const root = dir ?? join(packageRoot() ?? process.cwd(), 'server', 'demo');
  let state: IdeatorState;
  try {
    state = IdeatorStateSchema.parse(JSON.parse(readFileSync(join(root, 'state.json'), 'utf8')));
  } catch (err) {
    throw new UsageError(`cannot load the demo state from ${root}/state.json: ${(err as Error).message}`);
  }
  const ideaDir = join(root, 'ideas');
  const ideas = readdirSync(ideaDir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => ({ name: basename(f, '.md'), raw: readFileSync(join(ideaDir, f), 'utf8') }));
  return { state, ideas };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function fmt(v: number | null, digits = 5): string {
  return v === null ? '—' : v.toFixed(digits);
}

export const SELF_REPORTED_NOTE = '* self-reported: the score is the metric the run printed, not a grader (forgeable)';
export const GUARD_NOTE = 'guard: reward-hacking flags on the code the idea added (they do not change the reward)';
export const COLLAPSE_NOTE =
  'collapse watch: a trainer collapsing onto a few simple ideas shows fewer distinct ideas, lower type entropy, more near-duplicates and more groups whose rewards are all equal (those give GRPO no signal)';

/** The group's collapse-monitor line (the job's diversity, else computed here) and its plain-words note. */
export function collapseLines(job: Job, raws: string[]): string {
  const d = job.diversity ?? groupDiversity(raws.map((raw, i) => ({ raw, reward: job.results.find((r) => r.index === i)?.reward ?? null })));
  return `group diversity: ${describeDiversity(d)}\n${COLLAPSE_NOTE}`;
}

function num(v: number): string {
  return v === 0 || Math.abs(v) >= 1e-3 ? v.toFixed(4) : v.toPrecision(3);
}

/**
 * The noise-aware reward's measurement of p_t in one line, e.g. `p_t 0.8123 ± 0.0041 over 3 seeds (improvement
 * needs > 0.0079)`; undefined for k = 1 (one run says nothing about the noise). Shared by demo and reward.
 */
export function noiseLine(b: BaselineNoise | undefined): string | undefined {
  if (!b || b.k < 2) return undefined;
  const valid = b.scores.filter((v) => v !== null).length;
  const over = `over ${b.k} seeds${valid < b.k ? ` (${valid} gave a score)` : ''}`;
  if (b.mean === null) return `p_t — ${over}: no seeded run of the current code gave a score, so any valid score improves`;
  const z = b.z === 1 ? '' : `, z ${b.z}`;
  const same = b.std === 0 && valid >= 2 ? ': the same score on every seed' : '';
  return `p_t ${num(b.mean)} ± ${num(b.std)} ${over} (improvement needs > ${num(b.threshold)}${z}${same})`;
}

/** The noise line of a job: its first result that carries p_t's measurement. */
export function jobNoiseLine(job: Job): string | undefined {
  return noiseLine(job.results.find((r) => r.baseline)?.baseline);
}

/** The reward table; `guard` lists each idea's reward-hacking flags ('-' when none), `*` marks printed scores. */
export function rewardTable(names: string[], job: Job, advantages: number[]): string {
  const header = ['#', 'idea', 'status', 'score', 'reward', 'advantage', 'guard', 'time'];
  const rows = job.results.map((r, i) => [
    String(r.index + 1),
    names[r.index] ?? `idea ${r.index + 1}`,
    r.status,
    fmt(r.scoreAfter) + (r.selfReported && r.scoreAfter !== null ? '*' : ''),
    (r.reward >= 0 ? '+' : '') + r.reward.toFixed(r.reward % 1 === 0 ? 0 : 3),
    (advantages[i] >= 0 ? '+' : '') + advantages[i].toFixed(3),
    r.guardFlags?.length ? r.guardFlags.join(',') : '-',
    `${(r.durationMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => pad(cell, widths[c])).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const FLAGS = {
  slots: { type: 'string' },
  scheme: { type: 'string', default: 'paper' },
  'baseline-seeds': { type: 'string' },
  'data-dir': { type: 'string' },
  python: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  const scheme = RewardSchemeSchema.safeParse(values.scheme);
  if (!scheme.success) throw new UsageError(`--scheme must be one of ${RewardSchemeSchema.options.join(', ')}`);
  const slots = values.slots !== undefined ? Number(values.slots) : Math.min(2, cpus().length);
  if (!Number.isInteger(slots) || slots < 1) throw new UsageError('--slots must be a whole number ≥ 1');
  const seeds = values['baseline-seeds'] !== undefined ? Number(values['baseline-seeds']) : undefined;
  if (seeds !== undefined && (!Number.isInteger(seeds) || seeds < 1 || seeds > MAX_BASELINE_SEEDS)) {
    throw new UsageError(`--baseline-seeds must be a whole number from 1 to ${MAX_BASELINE_SEEDS}`);
  }

  const bundle = loadDemoBundle();
  const names = bundle.ideas.map((i) => i.name);
  const tempData = values['data-dir'] ? undefined : mkdtempSync(join(tmpdir(), 'ideator-demo-'));
  const say = (m: string) => log(io, m);
  const tty = Boolean((io.stderr as NodeJS.WriteStream).isTTY);
  const bar = new SingleBar(
    { stream: io.stderr as NodeJS.WriteStream, format: ' {bar} {value}/{total} ideas | {last}', hideCursor: true, clearOnComplete: false, noTTYOutput: false },
  );
  let done = 0;
  const runtime = createRuntime({
    dataDir: values['data-dir'] ?? tempData!,
    slots,
    python: values.python ?? (process.env.IDEATOR_PYTHON?.trim() || undefined),
    // A local demo still runs on a host without bubblewrap; the runtime says loudly what is not enforced.
    allowWeakSandbox: true,
    log: say,
    onComplete: (work, outcome) => {
      done++;
      const name = names[bundle.ideas.findIndex((i) => i.raw === work.raw)] ?? '?';
      if (tty) bar.update(done, { last: `${name}: ${outcome.status}` });
      else say(`  [${done}/${names.length}] ${name}: ${outcome.status} (reward ${outcome.reward})`);
    },
  });
  const started = Date.now();
  try {
    const task = bundle.state.taskId!;
    const iso = runtime.isolation;
    say(`ideator demo: task ${task}, ${names.length} ideas, ${slots} slot(s), sandbox ${iso.mode}, python ${runtime.python}`);
    say(`  current score p_t = ${bundle.state.score.value} (${bundle.state.score.metric ?? 'score'}, ${bundle.state.score.direction} is better)`);
    if (seeds !== undefined && seeds > 1) say(`  p_t is measured over ${seeds} seeded runs of the current code first`);
    say('  preparing task data …');
    await runtime.catalog.ready(task);
    // The bundled state names a bundled task: its grader scores every idea (printed scores are never used here).
    const { job } = submitRewardJob(runtime.store, runtime.catalog, {
      state: bundle.state,
      ideas: bundle.ideas.map((i) => i.raw),
      scheme: scheme.data,
      allowPrintedScore: false,
      ...(seeds !== undefined ? { baselineSeeds: seeds } : {}),
    });
    // Format errors are settled at submission (−1 without executing): they count as done from the start.
    for (const r of job.results) {
      done++;
      if (!tty) say(`  [${done}/${names.length}] ${names[r.index]}: ${r.status} (reward ${r.reward}, not executed)`);
    }
    if (tty) bar.start(names.length, done, { last: 'running …' });
    runtime.pool!.start();
    const finished = (await waitForJob(runtime.store, job.id))!;
    if (tty) bar.stop();
    const rewards = finished.results.map((r) => r.reward);
    const advantages = grpoAdvantages(rewards);
    const seconds = (Date.now() - started) / 1000;
    if (values.json) {
      printJson(io, { job: finished, ideas: names, advantages, seconds });
    } else {
      io.stdout.write(`\nRewards (${scheme.data} scheme) for ${names.length} ideas on ${task}, p_t = ${bundle.state.score.value}:\n\n`);
      io.stdout.write(rewardTable(names, finished, advantages) + '\n\n');
      const noise = jobNoiseLine(finished);
      if (noise) io.stdout.write(`${noise}\n`);
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      io.stdout.write(`GRPO advantages (r - mean) / (std + 1e-6), unbiased std: [${advantages.map((a) => a.toFixed(3)).join(', ')}]\n`);
      io.stdout.write(`mean reward ${mean.toFixed(3)}; ${finished.results.filter((r) => r.status === 'improved').length} of ${names.length} ideas improved the score; ${seconds.toFixed(1)} s\n`);
      const flagged = finished.results.filter((r) => r.guardFlags.length).length;
      io.stdout.write(`${GUARD_NOTE}: ${flagged ? `${flagged} of ${names.length} ideas flagged` : 'none raised'}\n`);
      io.stdout.write(collapseLines(finished, bundle.ideas.map((i) => i.raw)) + '\n');
    }
    return 0;
  } finally {
    if (tty) bar.stop();
    await runtime.close();
    if (tempData) rmSync(tempData, { recursive: true, force: true });
  }
});
