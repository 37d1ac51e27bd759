/**
 * `ideator reward`: the same pipeline from the command line, in-process and against a running server, with the
 * CLI's contracts (one JSON document on stdout with --json, user errors exit 2 with one line on stderr).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { ideaWithScript, printsAcc, removeDir, REPO, serverForSuite, tempDir, toyState } from './serverHarness';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ideator reward', () => {
  const server = serverForSuite({ args: ['--slots', '1'] });
  let dir: string;
  before(() => {
    dir = tempDir('ideator-cli-');
    writeFileSync(join(dir, 'state.json'), JSON.stringify(toyState(0.5)));
    writeFileSync(join(dir, 'good.md'), printsAcc(0.7));
    writeFileSync(join(dir, 'same.md'), printsAcc(0.5));
    writeFileSync(join(dir, 'computed.md'), ideaWithScript('import statistics\nacc = statistics.mean([0.7, 0.7])\nprint("acc:", acc)'));
    writeFileSync(join(dir, 'ideas.json'), JSON.stringify(['not an idea']));
  });
  after(() => removeDir(dir));

  const expectRewards = (stdout: string) => {
    const out = JSON.parse(stdout) as { job: Job; ideas: string[]; advantages: number[] };
    assert.deepEqual(out.ideas, ['good', 'same', 'idea 3']);
    assert.deepEqual(
      out.job.results.map((r) => [r.status, r.reward]),
      [
        ['improved', 1],
        ['not_improved', 0],
        ['format_error', -1],
      ],
    );
    assert.equal(out.advantages.length, 3);
    assert.ok(out.advantages[0] > 0 && out.advantages[2] < 0);
    // Printed scores, asked for with --allow-printed-score: every result says so. good.md prints a new literal
    // score (flagged); same.md keeps C_t's own print line (nothing added to flag).
    assert.deepEqual(
      out.job.results.map((r) => [r.selfReported, r.guardFlags]),
      [
        [true, ['prints_metric']],
        [true, []],
        [true, []],
      ],
    );
  };

  it('runs in-process', async () => {
    const r = await cli(['reward', '--state', join(dir, 'state.json'), join(dir, 'good.md'), join(dir, 'same.md'), '--ideas-json', join(dir, 'ideas.json'), '--allow-printed-score', '--json']);
    assert.equal(r.code, 0, r.stderr);
    expectRewards(r.stdout);
  });

  it('runs against a server', async () => {
    const r = await cli(['reward', '--server', server.url, '--state', join(dir, 'state.json'), join(dir, 'good.md'), join(dir, 'same.md'), '--ideas-json', join(dir, 'ideas.json'), '--allow-printed-score', '--json']);
    assert.equal(r.code, 0, r.stderr);
    expectRewards(r.stdout);
  });

  it('reports user errors with exit 2', async () => {
    const noIdeas = await cli(['reward', '--state', join(dir, 'state.json')]);
    assert.equal(noIdeas.code, 2);
    assert.match(noIdeas.stderr, /at least one idea/);
    const badTask = await cli(['reward', '--state', join(dir, 'state.json'), join(dir, 'good.md'), '--task', 'no-such-task']);
    assert.equal(badTask.code, 2);
    assert.match(badTask.stderr, /unknown task/);
  });

  it('refuses printed scores unless --allow-printed-score, in-process and against a server', async () => {
    const local = await cli(['reward', '--state', join(dir, 'state.json'), join(dir, 'good.md'), '--json']);
    assert.equal(local.code, 2, local.stderr);
    assert.equal(local.stdout, '');
    assert.match(local.stderr, /the state names no task .*: pass --task ID, or pass --allow-printed-score to score ideas by the metric the run prints \(self-reported, forgeable\)/);
    const remote = await cli(['reward', '--server', server.url, '--state', join(dir, 'state.json'), join(dir, 'good.md'), '--json']);
    assert.equal(remote.code, 2, remote.stderr);
    assert.match(remote.stderr, /answered 400: .*"no_grader"/);
    const help = await cli(['reward', '--help']);
    assert.match(help.stdout + help.stderr, /--allow-printed-score/);
  });

  it('shows the guard column and the self-reported mark in the table', async () => {
    const r = await cli(['reward', '--state', join(dir, 'state.json'), join(dir, 'good.md'), join(dir, 'computed.md'), '--allow-printed-score']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /\bguard\b/);
    assert.match(r.stdout, /^1 +good +improved +0\.70000\* .* prints_metric /m);
    assert.match(r.stdout, /^2 +computed +improved +0\.70000\* .* - /m);
    assert.match(r.stdout, /self-reported: the score is the metric the run printed/);
    assert.match(r.stdout, /guard: reward-hacking flags/);
  });
});
