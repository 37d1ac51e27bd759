/**
 * Grades submissions with the task's own grade.py `grade(submission, answers)` in Python, the MLE-bench way: any
 * exception means invalid (with the message as the reason), valid scores are rounded to 5 decimals, and — stricter
 * than MLE-bench — a NaN/inf score is invalid too. A grader that cannot even be imported is a broken task, not a
 * bad submission, so that throws.
 *
 * The grader runs apart, in its own sandbox (isolation.ts): the task's grader folder and the answers are bound in
 * read-only there and only there, the environment is clean, with its own limits. A submission is read only as a
 * regular file (lstat + O_NOFOLLOW, never a symlink, FIFO or device, at most `maxSubmissionMb`) and copied into
 * the grader's folder, so a run cannot point its submission at the answers, /proc/self/environ or /dev/zero.
 * As in MLE-bench's grade_csv, a file whose name does not end in .csv is no submission, and grading needs only the
 * prepared answers (a data dir holding only <id>/prepared/private is enough). Reasons are cut to one short paragraph.
 */
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { normalizedScore } from '../../../src/core/grading';
import type { GradeResult } from '../../../src/core/protocol';
import { WORK_INSIDE } from '../exec/bwrapArgs';
import { execFailure, sandboxHost, type SandboxHost } from '../exec/isolation';
import { cleanEnv, runProcess, SpawnError } from '../exec/runner';
import { TaskError, type Task } from './loader';
import { prepareTask } from './prepare';
import { resolvePython } from './python';

export interface GradeOptions {
  python?: string;
  dataDir?: string;
  timeoutMs?: number;
  /** The sandbox the grader runs in (default: this process's). */
  host?: SandboxHost;
  /** Largest submission read (default 256 MiB). */
  maxSubmissionMb?: number;
  /** Memory of the grader's run (default 4096 MiB). */
  memoryMb?: number;
}

const REASON_CHARS = 500;

/** Copies `from` to `to` if it is a regular file no bigger than `maxBytes`; else says why not. */
export function copyRegularFile(from: string, to: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'not found';
    if (code === 'ELOOP') return 'it is a symbolic link, not a regular file';
    return `cannot open it (${code ?? (err as Error).message})`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return 'it is not a regular file';
    if (st.size > maxBytes) return `it is ${Math.round(st.size / 1048576)} MiB, over the ${Math.round(maxBytes / 1048576)} MiB limit`;
    const out = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      const buf = Buffer.alloc(1 << 20);
      let total = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        total += n;
        if (total > maxBytes) return `it grew past the ${Math.round(maxBytes / 1048576)} MiB limit while being read`;
        writeSync(out, buf, 0, n);
      }
    } finally {
      closeSync(out);
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
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

/** A wrong interpreter path is the user's to fix: one line naming the flag, not a grader crash. */
function cannotStart(python: string, why: string): TaskError {
  return new TaskError(`cannot start Python '${python}': ${why} (check --python or IDEATOR_PYTHON)`);
}

function invalid(reason: string): GradeResult {
  return { valid: false, score: null, normalized: null, reason };
}

export async function gradeSubmission(task: Task, submissionCsv: string, options: GradeOptions = {}): Promise<GradeResult> {
  return (await gradeSubmissions(task, [submissionCsv], options))[0];
}

/** Grades several submissions of one task in a single sandboxed Python process; results in input order. */
export async function gradeSubmissions(task: Task, submissionCsvs: string[], options: GradeOptions = {}): Promise<GradeResult[]> {
  const files = submissionCsvs.map((f) => resolve(f));
  const work = mkdtempSync(join(tmpdir(), 'ideator-grade-'));
  try {
    const maxBytes = (options.maxSubmissionMb ?? 256) * 1024 * 1024;
    const host = options.host ?? sandboxHost();
    // What the grader sees: the copies, under the grader's own folder.
    const inWork = (name: string) => (host.isolated ? `${WORK_INSIDE}/${name}` : join(work, name));
    const results: (GradeResult | undefined)[] = files.map((f, i) => {
      // MLE-bench's grade_csv counts a file that is not *.csv as no submission at all; so do we.
      if (extname(f).toLowerCase() !== '.csv') return invalid(`${basename(f)} is not a .csv file: MLE-bench grades CSV submissions only (no submission)`);
      const why = copyRegularFile(f, join(work, `submission-${i}.csv`), maxBytes);
      return why === undefined ? undefined : invalid(why === 'not found' ? `submission file not found: ${basename(f)}` : `the submission ${basename(f)} was not read: ${why}`);
    });
    const pendingIdx = files.map((_, i) => i).filter((i) => results[i] === undefined);
    if (!pendingIdx.length) return results as GradeResult[];
    const python = options.python ?? resolvePython();
    const { answersPath } = await prepareTask(task, { python, dataDir: options.dataDir, gradingOnly: true });
    const answersInside = host.isolated ? `/answers/${basename(answersPath)}` : answersPath;
    const spec = { root: task.grader.root, module: task.grader.module, fn: task.grader.fn, answers: answersInside, submissions: pendingIdx.map((i) => inWork(`submission-${i}.csv`)) };
    const timeoutMs = options.timeoutMs ?? 5 * 60_000;
    const wrapped = host.wrap(
      {
        workdir: work,
        python,
        binds: [
          { host: task.grader.root, inside: task.grader.root },
          { host: answersPath, inside: answersInside },
        ],
        limits: { timeoutMs, memoryMb: options.memoryMb ?? 4096, maxOutputBytes: 4 << 20, maxFileMb: 64, shmMb: 64, maxProcesses: 256, diskMb: 256, cpus: 0 },
      },
      [python, '-c', GRADE_SNIPPET, JSON.stringify(spec), inWork('result.json')],
    );
    let run;
    try {
      run = await runProcess({
        argv: wrapped.argv,
        cwd: wrapped.cwd,
        env: cleanEnv({ home: inWork('.home'), tmp: host.isolated ? '/tmp' : work, python, threads: 2 }),
        timeoutMs,
        maxOutputBytes: 4 << 20,
        headChars: 1024,
        tailChars: 4096,
        extraFds: wrapped.extraFds,
        onKill: () => wrapped.group?.kill(),
      });
    } catch (err) {
      if (err instanceof SpawnError) throw cannotStart(python, err.message.replace(/^cannot start [^:]*: /, ''));
      throw err;
    } finally {
      wrapped.release();
    }
    const notStarted = run.exitCode !== 0 ? execFailure(run.outputHead) : null;
    if (notStarted) throw cannotStart(python, notStarted);
    let graded: GradeResult[];
    if (run.timedOut) graded = pendingIdx.map(() => invalid(`grading timed out after ${Math.round(run.durationMs / 1000)} s`));
    else {
      let out: SnippetOutput;
      try {
        // The grader wrote it as the sandbox user; read it as a regular file only, like a submission.
        const copy = join(work, 'result.read.json');
        const why = copyRegularFile(join(work, 'result.json'), copy, 64 << 20);
        if (why) throw new Error(why);
        out = JSON.parse(readFileSync(copy, 'utf8')) as SnippetOutput;
      } catch {
        throw new TaskError(`grader of ${task.id} crashed (exit ${run.exitCode ?? run.signal}):\n${run.outputTail.slice(-2000)}`);
      }
      if (out.stage === 'import') throw new TaskError(`cannot import the grader of ${task.id} (${task.grader.file}): ${cut(out.reason)}`);
      if (out.stage === 'answers') throw new TaskError(`cannot read the answers of ${task.id} (${answersPath}): ${cut(out.reason)}`);
      graded = (out.results ?? []).map((r) => {
        if (!r.valid || typeof r.score !== 'number') return invalid(cut(r.reason) || 'invalid submission');
        const normalized = Math.round(normalizedScore(r.score, task.leaderboard) * 1e4) / 1e4;
        return { valid: true, score: r.score, normalized };
      });
    }
    let next = 0;
    return results.map((r) => r ?? graded[next++] ?? invalid('the grader returned no result'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function cut(text: string | undefined): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return t.length > REASON_CHARS ? `${t.slice(0, REASON_CHARS)}…` : t;
}
