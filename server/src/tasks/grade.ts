/**
 * Grades a submission CSV with the task's own grade.py `grade(submission, answers)` in Python, the MLE-bench
 * way: any exception means invalid (with the message as the reason), valid scores are rounded to 5 decimals,
 * and — stricter than MLE-bench — a NaN/inf score is invalid too. A grader that cannot even be imported is a
 * broken task, not a bad submission, so that throws.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { normalizedScore } from '../../../src/core/grading';
import type { GradeResult } from '../../../src/core/protocol';
import { TaskError, type Task } from './loader';
import { prepareTask } from './prepare';
import { resolvePython } from './python';
import { runPythonCode } from './pythonProcess';

export interface GradeOptions {
  python?: string;
  dataDir?: string;
  timeoutMs?: number;
}

// One process grades a batch: importing pandas/sklearn costs ~1 s, grading a file milliseconds.
const GRADE_SNIPPET = `
import importlib, json, math, sys, traceback
spec = json.loads(sys.argv[1])
out_path = sys.argv[2]
def emit(obj):
    with open(out_path, "w") as f:
        json.dump(obj, f)
sys.path.insert(0, spec["root"])
try:
    fn = getattr(importlib.import_module(spec["module"]), spec["fn"])
except Exception as e:
    emit({"stage": "import", "reason": "".join(traceback.format_exception_only(type(e), e)).strip()})
    sys.exit(0)
import pandas as pd
def load_answers(path):
    if path.endswith(".jsonl"):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    return pd.read_csv(path)
try:
    answers = load_answers(spec["answers"])
except Exception as e:
    emit({"stage": "answers", "reason": f"{type(e).__name__}: {e}"})
    sys.exit(0)
def grade_one(path):
    try:
        submission = pd.read_csv(path)
    except Exception as e:
        return {"valid": False, "reason": f"cannot read the submission as CSV: {type(e).__name__}: {e}"}
    try:
        # Graders may mutate their inputs; each submission gets fresh answers.
        score = fn(submission, answers.copy() if hasattr(answers, "copy") else answers)
        if score is None:
            raise ValueError("the grader returned no score")
        score = float(score)
    except Exception as e:
        msg = str(e).strip() or type(e).__name__
        return {"valid": False, "reason": f"{type(e).__name__}: {msg}"}
    if math.isnan(score) or math.isinf(score):
        return {"valid": False, "reason": f"the grader returned {score}"}
    return {"valid": True, "score": round(score, 5)}
emit({"stage": "grade", "results": [grade_one(p) for p in spec["submissions"]]})
`;

interface SnippetOutput {
  stage: 'import' | 'answers' | 'grade';
  reason?: string;
  results?: { valid: boolean; score?: number; reason?: string }[];
}

function invalid(reason: string): GradeResult {
  return { valid: false, score: null, normalized: null, reason };
}

export async function gradeSubmission(task: Task, submissionCsv: string, options: GradeOptions = {}): Promise<GradeResult> {
  return (await gradeSubmissions(task, [submissionCsv], options))[0];
}

/** Grades several submissions of one task in a single Python process; results in input order. */
export async function gradeSubmissions(task: Task, submissionCsvs: string[], options: GradeOptions = {}): Promise<GradeResult[]> {
  const files = submissionCsvs.map((f) => resolve(f));
  const results: (GradeResult | undefined)[] = files.map((f) => (existsSync(f) ? undefined : invalid(`submission file not found: ${f}`)));
  const pending = files.filter((_, i) => results[i] === undefined);
  if (!pending.length) return results as GradeResult[];
  const python = options.python ?? resolvePython();
  const { answersPath } = await prepareTask(task, { python, dataDir: options.dataDir });
  const work = mkdtempSync(join(tmpdir(), 'ideator-grade-'));
  try {
    const outFile = join(work, 'result.json');
    const spec = { root: task.grader.root, module: task.grader.module, fn: task.grader.fn, answers: answersPath, submissions: pending };
    const run = await runPythonCode(python, GRADE_SNIPPET, [JSON.stringify(spec), outFile], {
      cwd: work,
      timeoutMs: options.timeoutMs ?? 5 * 60_000,
    });
    let graded: GradeResult[];
    if (run.timedOut) graded = pending.map(() => invalid(`grading timed out after ${Math.round(run.durationMs / 1000)} s`));
    else {
      if (!existsSync(outFile)) {
        throw new TaskError(`grader of ${task.id} crashed (exit ${run.exitCode ?? run.signal}):\n${run.stderr.slice(-4000)}`);
      }
      const out = JSON.parse(readFileSync(outFile, 'utf8')) as SnippetOutput;
      if (out.stage === 'import') throw new TaskError(`cannot import the grader of ${task.id} (${task.grader.file}): ${out.reason}`);
      if (out.stage === 'answers') throw new TaskError(`cannot read the answers of ${task.id} (${answersPath}): ${out.reason}`);
      graded = (out.results ?? []).map((r) => {
        if (!r.valid || typeof r.score !== 'number') return invalid(r.reason ?? 'invalid submission');
        const normalized = Math.round(normalizedScore(r.score, task.leaderboard) * 1e4) / 1e4;
        return { valid: true, score: r.score, normalized };
      });
    }
    let next = 0;
    return results.map((r) => r ?? graded[next++]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
