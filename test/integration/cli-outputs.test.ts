/**
 * The CLI's output paths and flags a user gets wrong: `export`, `report` and `collect` writing where they cannot
 * (missing folder, a file in the way) answer with one line and exit 2 — never an internal error with a stack —
 * and `report` takes --run-dir like `bench` does. Runs on an empty bench store: no execution needed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IdeatorStateSchema } from '../../src/core/protocol';
import { BenchStore } from '../../server/src/dualAgent/benchStore';
import { STORE_FILE } from '../../server/src/dualAgent/benchRun';
import { isOneLineUserError, runCli } from '../cliHarness';

const root = mkdtempSync(join(tmpdir(), 'ideator-cli-outputs-'));
const runDir = join(root, 'run');
const aFile = join(root, 'a-file');
after(() => rmSync(root, { recursive: true, force: true }));

before(() => {
  mkdirSync(join(runDir, 'state'), { recursive: true });
  new BenchStore(join(runDir, STORE_FILE)).db.close();
  writeFileSync(aFile, 'not a folder');
});

describe('output files the OS refuses are user errors', () => {
  for (const format of ['jsonl', 'verl']) {
    it(`export --format ${format} into a missing folder or through a file`, async () => {
      for (const out of [join(root, 'missing', 'pool.out'), join(aFile, 'pool.out')]) {
        const r = await runCli(['export', runDir, '--format', format, '--out', out]);
        assert.ok(isOneLineUserError(r), JSON.stringify(r));
        assert.match(r.stderr, /^ideator export: cannot write .*pool\.out: (its folder does not exist|a part of the path is a file)/);
      }
      assert.equal(existsSync(join(root, 'missing')), false, 'a typo must not leave folders behind');
    });
  }

  it('export still writes where it can (the empty pool is an empty file)', async () => {
    const out = join(root, 'pool.jsonl');
    const r = await runCli(['export', '--run-dir', runDir, '--format', 'jsonl', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), '');
  });

  it('report --out into a missing folder', async () => {
    const r = await runCli(['report', runDir, '--out', join(root, 'missing', 'r.html')]);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /cannot write .*r\.html: its folder does not exist/);
  });

  it('collect --out-dir through a file', async () => {
    // collect refuses an empty pool before it creates anything: give it one state to write.
    const oneState = join(root, 'run-one');
    mkdirSync(join(oneState, 'state'), { recursive: true });
    const store = new BenchStore(join(oneState, STORE_FILE));
    store.addPool({
      id: 'p1', runId: 'churn-binary|prompted|1', stepIdx: 1, task: 'churn-binary', config: 'prompted', ideaRaw: 'x', ideaOk: true, ideaType: null,
      state: IdeatorStateSchema.parse({ taskDescription: 't', score: { value: 0.5, direction: 'higher' }, code: 'print(1)\n' }),
      before: null, after: null, improved: null, createdAt: '2026-01-01T00:00:00.000Z',
    });
    store.db.close();
    const r = await runCli(['collect', oneState, '--out-dir', join(aFile, 'sets'), '--format', 'jsonl', '--val-per-task', '0']);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /cannot create .*sets: /);
  });
});

describe('report flags', () => {
  it('takes --run-dir like bench and export', async () => {
    const r = await runCli(['report', '--run-dir', runDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).html, join(runDir, 'report.html'));
    assert.ok(existsSync(join(runDir, 'report.html')));
  });

  it('a --chromium that is not there is an error, not a silent fallback to another browser', async () => {
    const r = await runCli(['report', runDir, '--png', join(root, 'r.png'), '--chromium', join(root, 'no-chromium')]);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /no Chromium at .*no-chromium/);
  });

  it('two run directories are refused instead of reporting only the first', async () => {
    const r = await runCli(['report', runDir, runDir]);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
  });
});

const exampleState = join(__dirname, '..', '..', 'server', 'examples', 'state.json');

describe('ask flags', () => {
  it('without --provider the template answer is announced as such on stderr', async () => {
    const r = await runCli(['ask', '--state', exampleState]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no --provider given: answering with template-vague .* use --provider anthropic\|openai\|server/);
    assert.equal(JSON.parse(r.stdout).model, 'template-vague');
    const chosen = await runCli(['ask', '--state', exampleState, '--provider', 'template-vague', '--quiet']);
    assert.doesNotMatch(chosen.stderr, /no --provider given/);
  });

  it('--timeout-ms that is not a number names the flag', async () => {
    const state = exampleState;
    const r = await runCli(['ask', '--state', state, '--provider', 'template-null', '--timeout-ms', 'soon']);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /--timeout-ms must be a whole number of milliseconds .* got 'soon'/);
  });
});

describe('parse-idea arguments', () => {
  it('a second file is refused instead of being ignored', async () => {
    const r = await runCli(['parse-idea', exampleState, exampleState]);
    assert.ok(isOneLineUserError(r), JSON.stringify(r));
    assert.match(r.stderr, /at most one answer file, got 2/);
  });
});

describe('--prompts override folders are checked when a command starts', () => {
  it('prompt, ask, bench and export: a missing folder or a broken template is one line, exit 2', async () => {
    const broken = join(root, 'prompts-broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'ideator.md'), '{task_description}\n{query}\n{trajectory}\n{score}\n');
    const unknown = join(root, 'prompts-unknown');
    mkdirSync(unknown, { recursive: true });
    writeFileSync(join(unknown, 'codeact-system.md'), '{max_steps} {time_limit_minutes} {gpu}\n');
    const cases: [string[], RegExp][] = [
      [['prompt', '--state', exampleState, '--prompts', broken], /--prompts: .*ideator\.md: required placeholder \{code\} is missing/],
      [['prompt', '--state', exampleState, '--prompts', join(root, 'nowhere')], /--prompts: prompt override folder not found/],
      [['ask', '--state', exampleState, '--provider', 'template-null', '--prompts', broken], /required placeholder \{code\}/],
      // bench checks before loading tasks or providers: nothing runs with a template that cannot be filled.
      [['bench', '--tasks', 'churn-binary', '--implementer', 'template-null', '--prompts', unknown, '--run-dir', join(root, 'b')], /codeact-system\.md: unknown placeholder \{gpu\}/],
      [['export', runDir, '--format', 'verl', '--out', join(root, 'x.parquet'), '--prompts', broken], /required placeholder \{code\}/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.ok(isOneLineUserError(r), `${argv[0]}: ${JSON.stringify(r)}`);
      assert.match(r.stderr, message);
    }
    assert.equal(existsSync(join(root, 'b')), false, 'bench must stop before creating its run directory');
  });
});

describe('--python that cannot run the graders', () => {
  it('bench stops before any run; grade says so in one line', async () => {
    const bench = await runCli(['bench', '--tasks', 'churn-binary', '--implementer', 'openai', '--python', join(root, 'no-python'), '--run-dir', join(root, 'p')]);
    assert.ok(isOneLineUserError(bench), JSON.stringify(bench));
    assert.match(bench.stderr, /cannot start Python .*no-python.*--python or IDEATOR_PYTHON/);
    assert.equal(existsSync(join(root, 'p')), false, 'no run directory, no runs recorded as failed');
    // An interpreter that starts but lacks pandas (a bare system python): same early stop, with Python's reason.
    const bare = join(root, 'bare-python');
    writeFileSync(bare, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pandas'\" >&2\nexit 1\n", { mode: 0o755 });
    const noPandas = await runCli(['bench', '--tasks', 'churn-binary', '--implementer', 'openai', '--python', bare, '--run-dir', join(root, 'p')]);
    assert.ok(isOneLineUserError(noPandas), JSON.stringify(noPandas));
    assert.match(noPandas.stderr, /cannot import pandas \(ModuleNotFoundError: No module named 'pandas'\)/);
    assert.equal(existsSync(join(root, 'p')), false);
    const sample = join(root, 's.csv');
    writeFileSync(sample, 'customer_id,churn\n');
    const grade = await runCli(['grade', '--task', 'churn-binary', '--submission', sample, '--python', join(root, 'no-python')]);
    assert.ok(isOneLineUserError(grade), JSON.stringify(grade));
    assert.match(grade.stderr, /cannot start Python/);
  });
});

describe('a reader that stops early (ideator … | head)', () => {
  it('ends quietly with exit 0, no EPIPE stack', async () => {
    // 4 MB of output: far more than a pipe buffer, so the writes are still going when the reader goes away.
    const answer = join(root, 'big-answer.txt');
    writeFileSync(answer, `ANALYSIS_ON_CURRENT_PROGRESS:\n${'x'.repeat(80).concat('\n').repeat(50_000)}\nACTION:\nA\n\nRATIONALE:\nR\n`);
    const repo = join(__dirname, '..', '..');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'server', 'src', 'cli.ts'), 'parse-idea', answer], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    await new Promise<void>((done) => child.stdout.once('data', () => done()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
