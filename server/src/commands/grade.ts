/**
 * `ideator grade --task DIR|ID --submission CSV [--data-dir D] [--python P] [--json]` — grades one submission
 * with the task's own grade.py. Works the same on a bundled task and on a real MLE-bench checkout's competition
 * folder (then --data-dir is MLE-bench's data dir holding <id>/prepared/...). An invalid submission is a
 * successful grading (exit 0, valid:false, reason); a broken or missing task is a user error (exit 2).
 */
import { existsSync, statSync } from 'node:fs';
import { GradeResultSchema } from '../../../src/core/protocol';
import { findTask, gradeSubmission, TaskError } from '../tasks';
import { defineCommand, printJson, UsageError } from './common';

const HELP = `usage: ideator grade --task DIR|ID --submission CSV [--data-dir DIR] [--python PATH] [--json]
Grades CSV with the task's grade.py and prints {valid, score, normalized} (+ reason when invalid). As in MLE-bench,
a file not named *.csv is no submission (invalid), and only the answers (<id>/prepared/private) are needed.
  --task       a competition folder (config.yaml, grade.py, leaderboard.csv) or a bundled task id
  --data-dir   where <id>/prepared/{public,private} live (default: IDEATOR_DATA_DIR, else next to a bundled
               task, else ~/.cache/mle-bench/data); bundled tasks are prepared there on first use
  --python     interpreter for grade.py (default: IDEATOR_PYTHON, else .venv/bin/python, else python3)`;

const FLAGS = {
  task: { type: 'string' },
  submission: { type: 'string' },
  'data-dir': { type: 'string' },
  python: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * A user error is one line. A task error may carry a Python traceback (a failed prepare.py): keep its first line and
 * the exception, the traceback's last line.
 */
function oneLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length <= 1) return lines[0] ?? message;
  return `${lines[0].replace(/:$/, '')}: ${lines[lines.length - 1]}`;
}

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  if (!values.task || !values.submission) throw new UsageError('--task and --submission are required (see --help)');
  let result;
  let direction;
  try {
    const task = await findTask(values.task);
    direction = task.direction;
    // A path typed wrong is the user's mistake (exit 2); only a file that exists can be an invalid submission.
    if (!existsSync(values.submission)) throw new UsageError(`no such file: ${values.submission}`);
    if (statSync(values.submission).isDirectory()) throw new UsageError(`${values.submission} is a directory, not a CSV file`);
    result = GradeResultSchema.parse(
      await gradeSubmission(task, values.submission, { dataDir: values['data-dir'], python: values.python }),
    );
  } catch (err) {
    if (err instanceof TaskError) throw new UsageError(oneLine(err.message));
    throw err;
  }
  if (values.json) printJson(io, result);
  else if (result.valid) {
    io.stdout.write(`valid: score ${result.score} (${direction} is better), normalized ${result.normalized}\n`);
  } else io.stdout.write(`INVALID: ${result.reason}\n`);
  return 0;
});
