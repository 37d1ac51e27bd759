/**
 * The reward service's sandbox binds the interpreter's folders (its venv, base installation, sys.path entries)
 * read-only at their host paths. An operator's interpreter whose sys.path names a folder that holds the task's
 * prepared data (an editable install of a checkout that keeps the tasks and their data, a .pth naming it) must not
 * hand the private answers to an idea's code: such a folder is not bound whole (runCode's privatePaths). Attacker:
 * an idea that reads the answers by their absolute path and submits them.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { api, ideaWithScript, removeDir, REPO, startServer, tempDir } from './serverHarness';

const TASK = 'digits-multiclass';
const VENV_PYTHON = join(REPO, '.venv', 'bin', 'python');

describe('reward runs: an interpreter whose sys.path holds the task data', () => {
  const root = tempDir('ideator-private-paths-');
  after(() => removeDir(root));

  it('the private answers stay out of an idea\'s run; the honest baseline still runs', { timeout: 240_000 }, async (t) => {
    const tasks = join(root, 'tasks');
    const data = join(root, 'data');
    cpSync(join(REPO, 'server', 'tasks', TASK), join(tasks, TASK), { recursive: true });
    // The operator's interpreter: a venv whose site-packages names the project's packages and, like an editable
    // install of a checkout holding the prepared data, the data folder itself.
    const venv = join(root, 'venv');
    const made = spawnSync(VENV_PYTHON, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const python = join(venv, 'bin', 'python');
    const sites = (py: string) => spawnSync(py, ['-c', 'import site; print(site.getsitepackages()[0])'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(sites(python), 'project.pth'), `${sites(VENV_PYTHON)}\n${data}\n`);

    const server = await startServer({ args: ['--tasks-dir', tasks, '--task-data-dir', data, '--python', python] });
    try {
      const health = (await api(server, 'GET', '/healthz')).json as unknown as { isolation: { mode: string } };
      if (health.isolation.mode !== 'bubblewrap') {
        t.skip('no bubblewrap on this host');
        return;
      }
      const answers = join(data, TASK, 'prepared', 'private', 'test.csv');
      const constant = [
        'import csv',
        'ids = [r["id"] for r in csv.DictReader(open("data/test.csv"))]',
        'with open("submission.csv", "w") as f:',
        '    f.write("id,label\\n" + "".join(f"{i},0\\n" for i in ids))',
        '',
      ].join('\n');
      const thief = [
        'import csv, shutil',
        'try:',
        `    shutil.copy(${JSON.stringify(answers)}, "submission.csv")`,
        '    print("STOLEN the answers")',
        'except Exception as e:',
        '    print("read blocked:", type(e).__name__)',
        '    ids = [r["id"] for r in csv.DictReader(open("data/test.csv"))]',
        '    with open("submission.csv", "w") as f:',
        '        f.write("id,label\\n" + "".join(f"{i},1\\n" for i in ids))',
        '',
      ].join('\n');
      const state = { taskId: TASK, taskDescription: 'digits', score: { value: 0.1, direction: 'higher' }, code: constant, codePath: 'solution.py' };
      const r = await api(server, 'POST', '/v1/rewards?wait=1&waitSec=200', { state, ideas: [ideaWithScript(thief)] });
      assert.equal(r.status, 200, r.text);
      const [result] = r.json.results;
      assert.doesNotMatch(result.outputTail, /STOLEN/, JSON.stringify(result));
      assert.match(result.outputTail, /read blocked: (FileNotFoundError|PermissionError)/, JSON.stringify(result));
      assert.notEqual(result.scoreAfter, 1, 'the answers were not submitted');
      assert.equal(typeof result.scoreBefore, 'number', `the baseline ran with this interpreter: ${JSON.stringify(result)}`);
    } finally {
      await server.stop();
      removeDir(server.dataDir);
    }
  });
});
