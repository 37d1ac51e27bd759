/**
 * `ideator demo` is the README's main command: the bundled state and 8 ideas through the real pipeline. It must
 * finish well under 3 minutes and give every kind of outcome — improved, not improved, failed, format error —
 * with the paper's rewards and VeRL's GRPO advantages.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Job } from '../../src/core/protocol';
import { grpoAdvantages } from '../../src/core/rewards';
import { collapseLines, noiseLine, rewardTable } from '../../server/src/commands/demo';
import { REPO } from './serverHarness';

describe('ideator demo', () => {
  it('runs 8 bundled ideas end to end and prints rewards and GRPO advantages', { timeout: 180_000 }, () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'demo', '--json'], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { job: Job; ideas: string[]; advantages: number[]; seconds: number };
    assert.equal(out.ideas.length, 8);
    assert.equal(out.job.status, 'done');
    const byName = Object.fromEntries(out.job.results.map((x) => [out.ideas[x.index], x]));
    for (const good of ['01-one-hot-categoricals', '02-churn-shaped-features', '03-gradient-boosting']) {
      assert.equal(byName[good].status, 'improved', `${good}: ${JSON.stringify(byName[good])}`);
      assert.equal(byName[good].reward, 1);
    }
    for (const useless of ['04-stronger-regularisation', '05-fewer-features', '06-inspect-the-data']) {
      assert.equal(byName[useless].status, 'not_improved', `${useless}: ${JSON.stringify(byName[useless])}`);
      assert.equal(byName[useless].reward, 0);
    }
    assert.equal(byName['07-plan-type-feature'].status, 'exec_failed');
    assert.match(byName['07-plan-type-feature'].error ?? '', /plan_type/);
    assert.equal(byName['08-unformatted'].status, 'format_error');
    assert.equal(byName['08-unformatted'].reward, -1);
    // The diff-carrying idea was applied as a diff.
    assert.match(byName['04-stronger-regularisation'].codeDiff, /^\+.*C=0\.002/m);
    assert.deepEqual(out.advantages, grpoAdvantages(out.job.results.map((x) => x.reward)));
    // Graded by the task's grade.py, never by printed metrics; the bundled ideas are honest edits: no guard flag.
    for (const x of out.job.results) {
      assert.equal(x.selfReported, false, out.ideas[x.index]);
      assert.deepEqual(x.guardFlags, [], `${out.ideas[x.index]}: ${JSON.stringify(x.guard)}`);
      assert.deepEqual(x.guard, []);
    }
    // Collapse monitor: 8 different ideas of several types, rewards that vary (GRPO has a signal).
    assert.equal(out.job.diversity?.size, 8);
    assert.equal(out.job.diversity?.distinct, 8);
    assert.equal(out.job.diversity?.zeroVariance, false);
    assert.ok((out.job.diversity?.typeEntropy ?? 0) > 1, JSON.stringify(out.job.diversity));
    assert.ok(Date.now() - t0 < 180_000);
    assert.match(r.stderr, /8\/8/);
  });

  it('prints the group diversity under the table, in plain words', () => {
    const job = {
      id: 'job_y',
      kind: 'reward',
      status: 'done',
      createdAt: '',
      updatedAt: '',
      progress: { done: 2, total: 2 },
      results: [],
      diversity: { size: 4, distinct: 1, distinctRatio: 0.25, typeEntropy: 0, nearDuplicateRate: 0.75, zeroVariance: true },
    } as Job;
    const [line, note] = collapseLines(job, []).split('\n');
    assert.equal(line, 'group diversity: 1 distinct of 4 ideas, type entropy 0.00 bits (max 2.58), 3 near-duplicates (75%), all rewards equal: this group gives GRPO no signal');
    assert.match(note, /^collapse watch: .*no signal\)$/);
  });

  it('shows a guard column (flags, or -) and marks self-reported scores with *', () => {
    const base = { status: 'improved' as const, reward: 1, scoreBefore: 0.5, durationMs: 1200, outputTail: '', codeDiff: '', formatErrors: [] };
    const job: Job = {
      id: 'job_x',
      kind: 'reward',
      status: 'done',
      createdAt: '',
      updatedAt: '',
      progress: { done: 2, total: 2 },
      results: [
        { ...base, index: 0, scoreAfter: 0.9, selfReported: false, guardFlags: [], guard: [] },
        {
          ...base,
          index: 1,
          scoreAfter: 999,
          selfReported: true,
          guardFlags: ['prints_metric', 'submission_path'],
          guard: [
            { flag: 'prints_metric', reason: 'prints a literal score', lines: ['L2: print("score: 999")'] },
            { flag: 'submission_path', reason: 'creates a symlink', lines: ['L3: os.symlink("a", "submission.csv")'] },
          ],
        },
      ],
    };
    const lines = rewardTable(['honest', 'forged'], job, [0, 0]).split('\n');
    assert.match(lines[0], /^# +idea +status +score +reward +advantage +guard +time *$/);
    assert.match(lines[2], /^1 +honest +improved +0\.90000 +\+1 +\+0\.000 +- +1\.2 s$/);
    assert.match(lines[3], /^2 +forged +improved +999\.00000\* +\+1 +\+0\.000 +prints_metric,submission_path +1\.2 s$/);
  });

  it('--baseline-seeds K: p_t over K seeded runs of the current code, its noise and the bar an idea must clear', { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'demo', '--baseline-seeds', '2'], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /p_t is measured over 2 seeded runs of the current code first/);
    // The bundled C_t is deterministic (a logistic regression, fixed split): no noise, the same rewards as one run.
    assert.match(r.stdout, /^p_t 0\.\d{4} ± 0\.0000 over 2 seeds \(improvement needs > 0\.0000: the same score on every seed\)$/m, r.stdout);
    assert.match(r.stdout, /^mean reward 0\.250; 3 of 8 ideas improved the score;/m);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'demo', '--baseline-seeds', '17'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), 'ideator demo: --baseline-seeds must be a whole number from 1 to 16');
  });

  it('the noise line: mean ± std over k seeds and the threshold; nothing for k = 1', () => {
    assert.equal(noiseLine({ k: 3, scores: [0.8082, 0.8164, 0.8123], mean: 0.8123, std: 0.0041, z: 1, threshold: 0.0041 * Math.sqrt(4 / 3) }), 'p_t 0.8123 ± 0.0041 over 3 seeds (improvement needs > 0.0047)');
    assert.equal(noiseLine({ k: 3, scores: [0.8, null, 0.9], mean: 0.85, std: 0.0707, z: 2, threshold: 0.1732 }), 'p_t 0.8500 ± 0.0707 over 3 seeds (2 gave a score) (improvement needs > 0.1732, z 2)');
    assert.equal(noiseLine({ k: 2, scores: [null, null], mean: null, std: 0, z: 1, threshold: 0 }), 'p_t — over 2 seeds (0 gave a score): no seeded run of the current code gave a score, so any valid score improves');
    assert.equal(noiseLine({ k: 4, scores: [12345.6, 12350.2, 12349.1, 12347], mean: 12347.975, std: 2.03, z: 1, threshold: 2.27 }), 'p_t 12347.9750 ± 2.0300 over 4 seeds (improvement needs > 2.2700)');
    assert.equal(noiseLine({ k: 3, scores: [1e-4, 1.1e-4, 1.2e-4], mean: 1.1e-4, std: 1e-5, z: 1, threshold: 1.15e-5 }), 'p_t 0.000110 ± 0.0000100 over 3 seeds (improvement needs > 0.0000115)');
    assert.equal(noiseLine({ k: 1, scores: [0.8], mean: 0.8, std: 0, z: 1, threshold: 0 }), undefined);
    assert.equal(noiseLine(undefined), undefined);
  });
});
