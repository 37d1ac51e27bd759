/**
 * The bench's parts in isolation: action parsing, head+tail truncation, provider specs, idea types, the
 * persistent Python session (real interpreter), bash execution, context compaction, per-task pool splits,
 * the baseline prompt without seek_help, and the table arithmetic.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAction } from '../../server/src/dualAgent/actions';
import { compactHistory, DEFAULT_LIMITS, runAgent, type IdeatorClient } from '../../server/src/dualAgent/agent';
import type { Provider } from '../../src/core/providers/types';
import { createWorkdir, findTask, prepareTask } from '../../server/src/tasks';
import { agentSandbox, bareSandbox } from '../../server/src/dualAgent/agentSandbox';
import { ideatorClient } from '../../server/src/dualAgent/ideatorClient';
import { parseProviderSpec as spec, providerFromSpec } from '../../src/core/providers/spec';
import { NULL_IDEA, VAGUE_IDEA } from '../../src/core/providers/index';
import { createServer } from 'node:net';
import { runBash } from '../../server/src/dualAgent/bash';
import { implementerMessages, withoutSeekHelp } from '../../server/src/dualAgent/prompt';
import { parseProviderSpec } from '../../src/core/providers/spec';
import { PythonSession } from '../../server/src/dualAgent/pythonSession';
import type { RunRow } from '../../server/src/dualAgent/benchStore';
import { benchTable } from '../../server/src/dualAgent/table';
import { truncateMiddle } from '../../server/src/dualAgent/truncate';
import { splitPool, type PoolRecord } from '../../server/src/statePool';
import { resolvePython } from '../../server/src/tasks';

const dir = mkdtempSync(join(tmpdir(), 'ideator-bench-parts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('parseAction', () => {
  it('reads each tag, unfences bodies, takes the first action', () => {
    assert.deepEqual(parseAction('ok\n<execute_bash>ls -la</execute_bash>'), { kind: 'bash', code: 'ls -la' });
    assert.deepEqual(parseAction('<execute_ipython>\n```python\nx = 1\n```\n</execute_ipython>'), { kind: 'python', code: 'x = 1' });
    assert.deepEqual(parseAction('<execute_python>print(1)</execute_python>'), { kind: 'python', code: 'print(1)' });
    assert.equal(parseAction('<seek_help>\nPROBLEM_STATEMENT:\nx\n</seek_help>').kind, 'seek_help');
    assert.equal(parseAction('done <submit/>').kind, 'submit');
    assert.equal(parseAction('<submit>final: 0.83</submit>').kind, 'submit');
    assert.equal(parseAction('<finish></finish>').kind, 'submit');
    assert.deepEqual(parseAction('<execute_bash>a</execute_bash> then <execute_ipython>b</execute_ipython>'), { kind: 'bash', code: 'a' });
    assert.deepEqual(parseAction('<execute_ipython>b</execute_ipython> <execute_bash>a</execute_bash>'), { kind: 'python', code: 'b' });
  });
  it('falls back to a fenced block, and says what is wrong otherwise', () => {
    assert.deepEqual(parseAction('Run:\n```bash\npython train.py\n```'), { kind: 'bash', code: 'python train.py' });
    assert.deepEqual(parseAction('```python\nimport os\n```'), { kind: 'python', code: 'import os' });
    assert.equal(parseAction('I will think more.').kind, 'none');
    assert.deepEqual(parseAction('<execute_bash>   </execute_bash>'), { kind: 'none', reason: 'empty <execute_bash> block' });
  });
});

describe('truncateMiddle', () => {
  it('keeps head and tail, marks the cut, leaves short text alone', () => {
    assert.equal(truncateMiddle('short', 100), 'short');
    const long = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const t = truncateMiddle(long, 1000);
    assert.ok(t.length <= 1000);
    assert.ok(t.startsWith('line 0\n'));
    assert.ok(t.endsWith('line 1999'));
    assert.match(t, /\[\.\.\. \d+ characters \(\d+ lines\) omitted \.\.\.\]/);
  });
});

describe('parseProviderSpec', () => {
  it('KIND[:MODEL][@URL], NAME=SPEC, model names with colons, none only for the Ideator', () => {
    assert.deepEqual(parseProviderSpec('openai:qwen3:8b@http://127.0.0.1:11434/v1', false), { name: 'openai:qwen3:8b', kind: 'openai', model: 'qwen3:8b', baseUrl: 'http://127.0.0.1:11434/v1' });
    assert.deepEqual(parseProviderSpec('rl=openai:ideator@http://h:8000/v1', true), { name: 'rl', kind: 'openai', model: 'ideator', baseUrl: 'http://h:8000/v1' });
    assert.equal(parseProviderSpec('template-vague', true).name, 'template-vague');
    assert.equal(parseProviderSpec('none', true).kind, 'none');
    assert.throws(() => parseProviderSpec('none', false), /only valid for the Ideator/);
    assert.throws(() => parseProviderSpec('gpt4', true), /unknown provider kind 'gpt4'/);
  });
});


describe('PythonSession (real interpreter)', () => {
  it('keeps variables, shows the last expression, tracebacks without driver frames, restarts after a timeout', async () => {
    const s = new PythonSession(resolvePython(), bareSandbox(dir, resolvePython()));
    try {
      const a = await s.run('import sys\nx = 41\nprint("to stderr", file=sys.stderr)\nx + 1', 20_000);
      assert.equal(a.ok, true);
      assert.match(a.output, /to stderr\n42/);
      const b = await s.run('print(x)\n1/0', 20_000);
      assert.equal(b.ok, false);
      assert.match(b.output, /^41\nTraceback/);
      assert.match(b.output, /ZeroDivisionError/);
      assert.ok(!b.output.includes('line 1, in <module>\n    ast'), 'driver frames leak');
      const c = await s.run('import time\ntime.sleep(30)', 1500);
      assert.equal(c.timedOut, true);
      const d = await s.run('print("x" in globals())', 20_000);
      assert.equal(d.restarted, true);
      assert.match(d.output, /False/);
      const e = await s.run('import os\nos.system("echo from-child")\ninput_ok = True', 20_000);
      assert.match(e.output, /from-child/);
    } finally {
      s.close();
    }
  });
});

describe('runBash', () => {
  it('merges stderr, reports exit codes, kills on timeout, puts the configured python first on PATH', async () => {
    const box = bareSandbox(dir, resolvePython());
    const r = await runBash('echo out; echo err >&2; exit 3', box, 10_000);
    assert.equal(r.exitCode, 3);
    assert.match(r.output, /out\nerr/);
    const t = await runBash('sleep 20', box, 500);
    assert.equal(t.timedOut, true);
    const p = await runBash('python -c "import sys; print(sys.executable)"', box, 20_000);
    assert.equal(p.exitCode, 0, p.output);
  });

  it('keeps multibyte characters whole across chunk edges, and stops on abort', async () => {
    const box = bareSandbox(dir, resolvePython());
    const r = await runBash('python -c "import sys\nfor i in range(4000): sys.stdout.write(\'é€😀\' * 99 + \'\\n\')"', box, 20_000, { maxOutput: 16 << 20 });
    assert.equal(r.exitCode, 0, r.output.slice(0, 200));
    assert.ok(!r.output.includes('\ufffd'), 'a character was split between two chunks');
    assert.equal(r.output.split('\n').filter((l) => l === 'é€😀'.repeat(99)).length, 4000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    const a = await runBash('sleep 20', box, 30_000, { signal: ac.signal });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(a.exitCode, null);
  });
});

describe('prompts', () => {
  it('the CodeAct baseline prompt has no seek_help; the dual-agent one does', () => {
    const base = { taskDescription: 'T', workdir: '/w', maxSteps: 50, timeLimitSec: 3600, actionTimeoutSec: 600, observationChars: 10_000 };
    const with_ = implementerMessages({ ...base, seekHelp: true });
    const without = implementerMessages({ ...base, seekHelp: false });
    assert.match(with_[0].content, /<seek_help>/);
    assert.ok(!/seek_help|help/i.test(without[0].content), without[0].content);
    assert.match(without[0].content, /<execute_bash>/);
    assert.match(without.at(-1)!.content, /# Task\n\nT/);
    assert.equal(withoutSeekHelp('a\n<seek_help>\nX\n</seek_help>\nb'), 'a\nb');
  });
});

describe('compactHistory', () => {
  it('cuts old observations, keeps the system prompt, the task and the recent turns whole', () => {
    const long = 'x'.repeat(5000);
    const msgs = [
      { role: 'system' as const, content: long },
      { role: 'user' as const, content: long },
      ...Array.from({ length: 30 }, (_, i) => ({ role: (i % 2 ? 'user' : 'assistant') as 'user' | 'assistant', content: long })),
    ];
    const out = compactHistory(msgs, DEFAULT_LIMITS);
    assert.equal(out[0].content.length, 5000);
    assert.equal(out[1].content.length, 5000);
    assert.ok(out[3].content.length <= DEFAULT_LIMITS.oldObservationChars);
    assert.equal(out.at(-1)!.content.length, 5000);
    assert.equal(out.length, msgs.length);
  });
});

describe('splitPool', () => {
  it('per task: validation first, no overlap, deterministic for a seed', () => {
    const rec = (task: string, i: number) => ({ task, ideaId: `${task}-${i}` }) as unknown as PoolRecord;
    const records = [...Array.from({ length: 7 }, (_, i) => rec('a', i)), ...Array.from({ length: 3 }, (_, i) => rec('b', i))];
    const s1 = splitPool(records, { perTask: 4, valPerTask: 2, seed: 1 });
    const s2 = splitPool(records, { perTask: 4, valPerTask: 2, seed: 1 });
    assert.deepEqual(s1, s2);
    assert.equal(s1.val.length, 4);
    assert.equal(s1.train.length, 4 + 1);
    const ids = [...s1.train, ...s1.val].map((r) => r.ideaId);
    assert.equal(new Set(ids).size, ids.length);
    assert.notDeepEqual(splitPool(records, { perTask: 4, valPerTask: 2, seed: 2 }).val.map((r) => r.ideaId), s1.val.map((r) => r.ideaId));
  });
});

describe('benchTable', () => {
  it('Avg@K over valid runs, Best@K, a task with all runs failed scores 0, overall = mean over tasks', () => {
    const result = (valid: boolean, normalized: number | null) => ({
      valid, score: normalized, normalized, steps: 10, seekHelps: 2, endReason: 'submit' as const,
      implementerTokens: { input: 10, output: 1 }, ideatorTokens: { input: 5, output: 1 }, costUsd: 0.5, durationMs: 1,
    });
    const run = (task: string, k: number, r: ReturnType<typeof result>): RunRow => ({ id: `${task}|c|${k}`, task, config: 'c', runIndex: k, status: 'done', result: r });
    const t = benchTable([
      run('a', 0, result(true, 40)), run('a', 1, result(false, null)), run('a', 2, result(true, 80)),
      run('b', 0, result(false, null)), run('b', 1, result(false, null)), run('b', 2, result(false, null)),
    ]);
    const a = t.perTask.find((r) => r.task === 'a')!;
    const b = t.perTask.find((r) => r.task === 'b')!;
    assert.deepEqual([a.avgAtK, a.bestAtK, a.validRate], [60, 80, 0.67]);
    assert.deepEqual([b.avgAtK, b.bestAtK, b.validRate], [0, 0, 0]);
    assert.deepEqual([t.overall[0].avgAtK, t.overall[0].bestAtK, t.overall[0].tokens, t.overall[0].costUsd], [30, 40, 6 * 17, 3]);
    assert.equal(t.k, 3);
  });
});

describe('runAgent without a reachable Ideator or a submission', () => {
  it('tells the agent the advisor is unavailable, keeps going, and ends invalid without submission.csv', async () => {
    const replies = ['<seek_help>\nPROBLEM_STATEMENT:\nstuck\n\nGOAL:\nbetter\n</seek_help>', 'no action here', '<submit/>'];
    const seen: string[] = [];
    const implementer: Provider = {
      kind: 'openai',
      label: 'scripted in-process implementer',
      async complete(messages) {
        seen.push(messages.at(-1)!.content);
        const turn = messages.filter((m) => m.role === 'assistant').length;
        return { text: replies[turn], model: 'scripted', usage: { inputTokens: 10, outputTokens: 2 } };
      },
    };
    const ideator: IdeatorClient = {
      label: 'down',
      ask: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:9');
      },
      parseQuery: () => null,
      renderQuery: (q) => q.problemStatement,
    };
    const workdir = mkdtempSync(join(dir, 'work-'));
    const pool: unknown[] = [];
    const logs: string[] = [];
    const result = await runAgent({
      runId: 'r', task: await findTask('churn-binary'), config: 'c', workdir, python: resolvePython(), implementer, ideator,
      limits: { ...DEFAULT_LIMITS, maxSteps: 10 }, prices: { implementerIn: 1, implementerOut: 1, ideatorIn: 0, ideatorOut: 0 },
      onStep: () => undefined, onPool: (p) => pool.push(p), onPoolOutcome: () => undefined, log: (l) => logs.push(l),
    });
    assert.match(seen[1], /advisor could not be reached/);
    assert.match(seen[2], /ERROR: no action found.*<seek_help>/s);
    assert.equal(pool.length, 0);
    assert.ok(logs.some((l) => /ideator error: connect ECONNREFUSED/.test(l)));
    assert.deepEqual([result.valid, result.steps, result.seekHelps, result.endReason], [false, 3, 1, 'submit']);
    assert.match(result.reason ?? '', /no submission.csv written/);
    assert.equal(result.costUsd, 36 / 1e6);
  });
});

describe('the agent sandbox', () => {
  it('hides the private answers, blocks the network, keeps writes in the workdir and API keys out', async (t) => {
    const task = await findTask('churn-binary');
    const dataDir = join(dir, 'sandbox-data');
    const { privateDir } = await prepareTask(task, { dataDir });
    const workdir = await createWorkdir(task, { dir: join(dir, 'sandbox-work'), dataDir });
    const sandbox = agentSandbox({ workdir, python: resolvePython() });
    if (!sandbox.info.filesystem || !sandbox.info.network) {
      t.skip(`namespaces unavailable here (${sandbox.info.mode}: ${sandbox.info.notes.join('; ')})`);
      return;
    }
    const listener = createServer((c) => c.end('secret')).listen(0, '127.0.0.1');
    await new Promise((r) => listener.once('listening', r));
    const port = (listener.address() as { port: number }).port;
    process.env.OPENAI_API_KEY = 'sk-test-must-not-leak';
    const replies = [
      `<execute_bash>ls ${privateDir} | wc -l; cat ${privateDir}/test.csv; echo "key=[$OPENAI_API_KEY]"; touch ../escape && echo WROTE-OUTSIDE; touch inside && echo WROTE-INSIDE; ls data</execute_bash>`,
      `<execute_ipython>import socket\ns = socket.socket()\ns.settimeout(3)\ntry:\n    s.connect(("127.0.0.1", ${port})); print("CONNECTED")\nexcept OSError as e:\n    print("blocked:", e)</execute_ipython>`,
      '<submit/>',
    ];
    const seen: string[] = [];
    const implementer: Provider = {
      kind: 'openai',
      label: 'scripted',
      async complete(messages) {
        seen.push(messages.at(-1)!.content);
        return { text: replies[messages.filter((m) => m.role === 'assistant').length], model: 'scripted' };
      },
    };
    try {
      await runAgent({
        runId: 's', task, config: 'c', workdir, python: resolvePython(), dataDir, implementer, ideator: null,
        limits: { ...DEFAULT_LIMITS, maxSteps: 5 }, prices: { implementerIn: 0, implementerOut: 0, ideatorIn: 0, ideatorOut: 0 },
        onStep: () => undefined, onPool: () => undefined, onPoolOutcome: () => undefined, log: () => undefined, sandbox,
      });
    } finally {
      delete process.env.OPENAI_API_KEY;
      listener.close();
    }
    const bash = seen[1];
    // The answers' folder is absent, not an empty folder.
    assert.match(bash, /^OBSERVATION:\nls: cannot access [^\n]*No such file or directory\n0\n/, bash);
    assert.ok(!bash.includes('customer_id,churn'), 'the private answers were readable');
    assert.match(bash, /key=\[\]/);
    assert.ok(!bash.includes('WROTE-OUTSIDE') && bash.includes('WROTE-INSIDE'), bash);
    assert.match(bash, /sample_submission\.csv/);
    assert.match(seen[2], /blocked:/);
  });
});

describe('runAgent wall-time limit', () => {
  it('cuts the action at the deadline and ends the run with time_limit', async () => {
    const implementer: Provider = {
      kind: 'openai',
      label: 'scripted',
      complete: async () => ({ text: '<execute_ipython>import time\ntime.sleep(60)</execute_ipython>', model: 'scripted' }),
    };
    const started = Date.now();
    const result = await runAgent({
      runId: 't', task: await findTask('churn-binary'), config: 'c', workdir: mkdtempSync(join(dir, 'tl-')), python: resolvePython(),
      implementer, ideator: null, limits: { ...DEFAULT_LIMITS, timeLimitSec: 3, maxSteps: 50 },
      prices: { implementerIn: 0, implementerOut: 0, ideatorIn: 0, ideatorOut: 0 },
      onStep: () => undefined, onPool: () => undefined, onPoolOutcome: () => undefined, log: () => undefined,
    });
    assert.equal(result.endReason, 'time_limit');
    assert.equal(result.steps, 1);
    assert.ok(Date.now() - started < 20_000, 'the sleeping cell was not cut at the deadline');
  });
});

describe('ideatorClient with the paper\'s template ablations', () => {
  it('template-null and template-vague answer in the three-field format through the shared prompt path', async () => {
    const state = {
      taskId: 't', taskDescription: 'Predict y.', trajectory: [], score: { value: 0.7, direction: 'higher' as const }, code: 'print(1)', codePath: 'solution.py',
      query: { problemStatement: 'stuck', attemptsSoFar: ['a baseline'], goal: 'better' },
    };
    const nul = await ideatorClient(providerFromSpec(spec('template-null', true))).ask(state);
    const vague = await ideatorClient(providerFromSpec(spec('template-vague', true))).ask(state);
    assert.equal(nul.raw, NULL_IDEA);
    assert.equal(vague.raw, VAGUE_IDEA);
    assert.ok(nul.ok && vague.ok);
    assert.equal(vague.ideaType, 'Others');
    const c = ideatorClient(providerFromSpec(spec('template-vague', true)));
    assert.deepEqual(c.parseQuery('PROBLEM_STATEMENT:\nx\n\nATTEMPTS_SO_FAR:\n- y\n\nGOAL:\nz'), { problemStatement: 'x', attemptsSoFar: ['y'], goal: 'z' });
    assert.equal(c.parseQuery('just words'), null);
  });
});
