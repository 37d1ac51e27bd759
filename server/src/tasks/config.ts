/**
 * The shape of an MLE-bench competition's config.yaml (openai/mle-bench layout), validated with zod.
 * Unknown keys pass through (real competitions carry extras); our bundled tasks add an optional `ideator`
 * section with hints for the bench (kind of task, time limit).
 */
import { z } from 'zod';
import { MAX_BASELINE_SEEDS, MAX_NOISE_Z } from '../../../src/core/protocol';

/** `module.path:function`, e.g. `mlebench.competitions.spaceship-titanic.grade:grade` or `grade:grade`. */
const FunctionRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+:[A-Za-z_][A-Za-z0-9_]*$/, 'expected "module.path:function"');

export const TaskKindSchema = z.enum([
  'binary-classification',
  'multiclass-classification',
  'regression',
  'text-classification',
  'other',
]);
export type TaskKind = z.infer<typeof TaskKindSchema>;

export const TaskConfigSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'ids are folder names: letters, digits, _ . -'),
    name: z.string().min(1),
    competition_type: z.string().default('simple'),
    awards_medals: z.boolean().default(false),
    prizes: z.unknown().optional(),
    /** Path of description.md, relative to the repository root (MLE-bench) or to the task folder (bundled). */
    description: z.string().min(1),
    dataset: z
      .object({
        /** Relative to the data dir, e.g. `<id>/prepared/private/test.csv`. */
        answers: z.string().min(1),
        sample_submission: z.string().min(1),
        gold_submission: z.string().optional(),
      })
      .passthrough(),
    grader: z.object({ name: z.string().min(1), grade_fn: FunctionRefSchema }).passthrough(),
    preparer: FunctionRefSchema.optional(),
    ideator: z
      .object({
        kind: TaskKindSchema.default('other'),
        /** Wall-clock budget for one reasonable solution, seconds. */
        solution_timeout_sec: z.number().int().positive().default(300),
        /** Declared metric direction; only used to sort a new leaderboard and cross-checked against it. */
        lower_is_better: z.boolean().optional(),
        /**
         * Seeded runs of C_t that measure p_t when a reward request names none (docs/verl.md "Noise-aware
         * reward"): set it for tasks whose score moves from run to run (a small validation set, a random split,
         * stochastic training). Run i gets IDEATOR_SEED=i; the task's solutions should seed from it.
         */
        baseline_seeds: z.number().int().min(1).max(MAX_BASELINE_SEEDS).optional(),
        /** z of the improvement threshold z · std · √(1 + 1/k) when a request names none (default 1). */
        noise_z: z.number().min(0).max(MAX_NOISE_Z).optional(),
      })
      .optional(),
  })
  .passthrough();
export type TaskConfig = z.infer<typeof TaskConfigSchema>;

export function parseFunctionRef(ref: string): { module: string; fn: string } {
  const idx = ref.lastIndexOf(':');
  return { module: ref.slice(0, idx), fn: ref.slice(idx + 1) };
}
