/**
 * `ideator mcp` as agents run it: the SDK's own Client + StdioClientTransport spawn `node dist/cli.js mcp` against
 * the scripted OpenAI-compatible server (test/servers/openai.ts) and a real run history written by core's
 * HistoryStore. Tools listed and called, bad arguments, model errors, a missing history (and the editor's storage
 * found by the workspace's key), cancellation, the deadline, keys kept out of the logs, usage errors.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HistoryStore } from '../../src/core/history';
import { historyKey } from '../../server/src/mcp/historyLocation';
import { renderSeekHelp } from '../../src/core/query';
import { buildHistory, buildWorkspace, CODE_V3, GOOD_ANSWER, runRecord } from '../agentToolsFixture';
import { startOpenAIServer, type OpenAIServer, type ScriptedReply } from '../servers/openai';

const root = join(__dirname, '..', '..');
const CLI = join(root, 'dist', 'cli.js');

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let home: string;
before(() => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run node scripts/build.mjs first`);
  // An empty home: the editors' storage folders the server looks in are all under it.
  home = mkdtempSync(join(tmpdir(), 'ideator-mcp-home-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
});

interface Session {
  client: Client;
  stderr: () => string;
  call: (name: string, args?: unknown, opts?: { signal?: AbortSignal; onprogress?: (p: { progress: number; message?: string }) => void }) => Promise<CallToolResult>;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<Session> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', ...args],
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  // Listing the tools first makes the SDK client check every structuredContent against the tool's outputSchema.
  await client.listTools();
  return {
    client,
    stderr: () => stderr,
    call: async (name, args = {}, opts = {}) => (await client.callTool({ name, arguments: args as Record<string, unknown> }, undefined, { ...opts, timeout: 30_000 })) as CallToolResult,
  };
}

async function openai(responses: ScriptedReply[], apiKey?: string): Promise<OpenAIServer> {
  const server = await startOpenAIServer({ responses, apiKey });
  cleanups.push(() => server.close());
  return server;
}

function text(r: CallToolResult): string {
  assert.equal(r.content.length, 1);
  assert.equal(r.content[0].type, 'text');
  return (r.content[0] as { text: string }).text;
}

/** A tool error: isError, one line, matching `pattern`. */
function toolError(r: CallToolResult, pattern: RegExp): string {
  assert.equal(r.isError, true, `a tool error, got ${JSON.stringify(r).slice(0, 300)}`);
  const t = text(r);
  assert.ok(!t.includes('\n'), `one line: ${t}`);
  assert.match(t, pattern);
  return t;
}

function fixture() {
  const h = buildHistory();
  const ws = buildWorkspace();
  cleanups.push(h.cleanup, ws.cleanup);
  return { history: h, ws: ws.dir };
}

const ASK = { problem_statement: 'val_auc is stuck at 0.80 and the last run crashed', attempts_so_far: ['n_estimators 200 -> 500: 0.80 -> 0.78'], goal: 'val_auc above 0.82' };
/** The provider as a ProviderConfig: no retries, so a scripted 429/500 is the answer. */
const noRetries = (url: string) => JSON.stringify({ kind: 'openai', baseUrl: url, model: 'ideator', maxRetries: 0 });

describe('ideator mcp: tools over stdio', () => {
  test('lists the four tools with their schemas and annotations', async () => {
    const { history, ws } = fixture();
    const s = await start(['--workspace', ws, '--history', history.dir, '--provider', 'template-vague']);
    assert.equal(s.client.getServerVersion()?.name, 'mle-ideator');
    assert.match(s.client.getInstructions() ?? '', /seek_help/);
    const { tools } = await s.client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      ['seek_help', 'list_runs', 'get_run', 'record_outcome'],
    );
    const seek = tools[0];
    assert.deepEqual(seek.inputSchema.required, ['problem_statement', 'goal']);
    assert.equal((seek.inputSchema as { additionalProperties?: boolean }).additionalProperties, false);
    assert.equal(seek.annotations?.readOnlyHint, false);
    assert.equal(seek.annotations?.openWorldHint, true);
    assert.equal(tools[1].annotations?.readOnlyHint, true);
    assert.ok(tools.every((t) => t.outputSchema?.type === 'object' && t.description!.length > 100));
  });

  test('list_runs, get_run, seek_help (progress, recorded), record_outcome, against the live history', async () => {
    const { history, ws } = fixture();
    const llm = await openai([{ text: GOOD_ANSWER, chunkSize: 8, chunkDelayMs: 5, usage: { prompt_tokens: 900, completion_tokens: 60 } }]);
    const s = await start(['--workspace', ws, '--history', history.dir, '--provider', `openai:ideator@${llm.url}`]);

    const list = await s.call('list_runs', { limit: 2 });
    assert.equal(list.isError, undefined);
    assert.match(text(list), /^3 runs \(the newest 2 shown\); best val_auc 0\.8/);
    const runs = (list.structuredContent as { runs: { id: string }[] }).runs;
    assert.deepEqual(runs.map((r) => r.id), ['run-3', 'run-2']);

    const run = await s.call('get_run', { run_id: 'run-3' });
    assert.match(text(run), /ValueError: max_depth must be >= -1/);
    assert.equal((run.structuredContent as { code: { content: string } }).code.content, CODE_V3);

    const progress: { progress: number; message?: string }[] = [];
    const seek = await s.call('seek_help', { ...ASK, code_path: 'train.py' }, { onprogress: (p) => progress.push(p) });
    assert.equal(seek.isError, undefined, text(seek));
    const out = seek.structuredContent as { idea_id: string; action: string; format_ok: boolean; score_before: unknown; model: string };
    assert.equal(out.format_ok, true);
    assert.match(out.action, /ratio features/);
    assert.deepEqual(out.score_before, { value: 0.78, metric: 'val_auc', direction: 'higher' });
    assert.match(text(seek), /^ANALYSIS_ON_CURRENT_PROGRESS:\n[\s\S]*idea_id: /);
    assert.ok(progress.length >= 2, `progress notifications: ${JSON.stringify(progress)}`);
    assert.match(progress[0].message ?? '', /^asking openai-compatible/);
    assert.ok(progress.some((p) => /^writing: \d+ characters$/.test(p.message ?? '') && p.progress > 0));

    // What the Ideator was asked: the query block, the task, the script read from the workspace, the history.
    const prompt = llm.requests[0].messages.map((m) => String(m.content)).join('\n');
    assert.ok(prompt.includes(renderSeekHelp({ problemStatement: ASK.problem_statement, attemptsSoFar: ASK.attempts_so_far, goal: ASK.goal })));
    assert.ok(prompt.includes('Predict customer churn') && prompt.includes('max_depth=-2') && prompt.includes('ValueError'));

    // Recorded in the history, as Ask Ideator records its ideas.
    const reread = HistoryStore.open(history.dir, { onWarning: () => undefined });
    const idea = reread.idea(out.idea_id);
    assert.equal(idea?.provider, 'openai');
    assert.equal(idea?.targetPath, 'train.py');
    assert.equal(idea?.query?.goal, ASK.goal);
    assert.deepEqual(idea?.usage, { inputTokens: 900, outputTokens: 60 });

    // No run yet: a clear tool error. Then the editor records a run (another process, while the server lives).
    toolError(await s.call('record_outcome', { idea_id: out.idea_id }), /no run has finished since idea .* run the training with the change/);
    const later = new Date(Date.parse(idea!.createdAt) + 60_000);
    reread.appendRun({ ...runRecord('run-after', 0, { primary: { name: 'val_auc', value: 0.84, direction: 'higher' } }), startedAt: later.toISOString(), endedAt: new Date(later.getTime() + 1000).toISOString() });
    const judged = await s.call('record_outcome', { idea_id: out.idea_id });
    assert.deepEqual(
      { ...(judged.structuredContent as object), recorded_at: undefined },
      { idea_id: out.idea_id, run_id: 'run-after', before: 0.78, after: 0.84, direction: 'higher', status: 'improved', improved: true, reward: 1, recorded_at: undefined, already_recorded: false },
    );
    assert.match(text(judged), /improved: 0\.78 -> 0\.84/);
    assert.equal(HistoryStore.open(history.dir, { onWarning: () => undefined }).outcomeFor(out.idea_id)?.runId, 'run-after');
    assert.equal(((await s.call('list_runs')).structuredContent as { runs: { idea_id: string | null }[] }).runs[0].idea_id, out.idea_id);
    assert.match(s.stderr(), /ideator mcp: seek_help answered in \d+ ms/);
  });

  test('bad arguments are one-line tool errors and the server carries on', async () => {
    const { history, ws } = fixture();
    const s = await start(['--workspace', ws, '--history', history.dir, '--provider', 'template-vague']);
    toolError(await s.call('seek_help', { goal: 'g' }), /^invalid arguments for seek_help: problem_statement: Invalid input: expected string, received undefined$/);
    toolError(await s.call('seek_help', { ...ASK, problem_statement: 'x'.repeat(5000) }), /problem_statement: Too big: .*4000/);
    toolError(await s.call('seek_help', { ...ASK, api_key: 'sk-x' }), /Unrecognized key: "api_key"/);
    toolError(await s.call('list_runs', { limit: 'ten' }), /limit: Invalid input: expected number, received string/);
    toolError(await s.call('get_run', { run_id: 'run-404' }), /^no run 'run-404' in the run history \(3 runs; list_runs shows their ids\)$/);
    toolError(await s.call('record_outcome', { idea_id: 'nope' }), /^no idea 'nope'/);
    toolError(await s.call('no_such_tool', {}), /^unknown tool 'no_such_tool'/);
    // code_path never leads out of the workspace, by '..' or by a symlink.
    const outside = mkdtempSync(join(tmpdir(), 'ideator-mcp-outside-'));
    cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
    writeFileSync(join(outside, 'secret.py'), 'KEY = 1\n');
    symlinkSync(join(outside, 'secret.py'), join(ws, 'link.py'));
    toolError(await s.call('seek_help', { ...ASK, code_path: '../' + join(outside, 'secret.py').split('/').slice(-2).join('/') }), /code_path must name a file inside the workspace|no file/);
    toolError(await s.call('seek_help', { ...ASK, code_path: join(outside, 'secret.py') }), /code_path must name a file inside the workspace/);
    toolError(await s.call('seek_help', { ...ASK, code_path: 'link.py' }), /code_path must name a file inside the workspace/);
    toolError(await s.call('seek_help', { ...ASK, code_path: 'missing.py' }), /^no file 'missing.py' in the workspace/);
    toolError(await s.call('seek_help', { ...ASK, code_path: '.' }), /code_path must name a file inside the workspace/);
    // Still alive, and nothing was recorded by the failed calls.
    assert.equal(((await s.call('list_runs')).structuredContent as { total: number }).total, 3);
    assert.equal(HistoryStore.open(history.dir, { onWarning: () => undefined }).ideas().length, 0);
  });

  test('429, 500 and an unknown model are clear tool errors; nothing is recorded', async () => {
    const { history, ws } = fixture();
    const llm = await openai([
      { type: 'error', status: 429, message: 'Rate limit reached for requests', headers: { 'retry-after': '20' } },
      { type: 'error', status: 500, message: 'CUDA out of memory' },
    ]);
    const s = await start(['--workspace', ws, '--history', history.dir, '--provider', noRetries(llm.url)]);
    toolError(await s.call('seek_help', ASK), /^the Ideator failed: .*rate-limiting requests \(HTTP 429.*wait 20 s.*Rate limit reached/);
    toolError(await s.call('seek_help', ASK), /^the Ideator failed: .*server error \(HTTP 500.*CUDA out of memory/);
    assert.equal(HistoryStore.open(history.dir, { onWarning: () => undefined }).ideas().length, 0);
    assert.equal(((await s.call('list_runs')).structuredContent as { total: number }).total, 3);
    // A model the server does not serve: the fix is named as this command spells it.
    const vllm = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER }], models: ['ideator'] });
    cleanups.push(() => vllm.close());
    const wrong = await start(['--workspace', ws, '--history', history.dir, '--provider', `openai:qwen3-8b@${vllm.url}`]);
    toolError(await wrong.call('seek_help', ASK), /^the Ideator failed: The model `qwen3-8b` does not exist.*HTTP 404\): MODEL in --provider KIND:MODEL@URL is "qwen3-8b"/);
  });

  test('cancellation aborts the model request; the deadline gives a tool error; the server carries on', async () => {
    const { history, ws } = fixture();
    const llm = await openai([{ type: 'hang' }, { type: 'hang' }, { text: GOOD_ANSWER }]);
    const s = await start(['--workspace', ws, '--history', history.dir, '--provider', noRetries(llm.url), '--timeout-sec', '2']);
    const controller = new AbortController();
    const pending = s.call('seek_help', ASK, { signal: controller.signal });
    while (llm.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await assert.rejects(pending, /abort/i);
    // The server saw the cancellation and dropped the request (its log says so), before the 2 s deadline.
    const t0 = Date.now();
    while (!/seek_help failed: seek_help was cancelled by the client/.test(s.stderr()) && Date.now() - t0 < 1500) await new Promise((r) => setTimeout(r, 20));
    assert.match(s.stderr(), /seek_help failed: seek_help was cancelled by the client; nothing was recorded/);

    const timedOut = await s.call('seek_help', ASK);
    toolError(timedOut, /^no complete answer from the Ideator within 2 s \(raise --timeout-sec\); nothing was recorded$/);
    const ok = await s.call('seek_help', ASK);
    assert.equal(ok.isError, undefined, text(ok));
    assert.equal(HistoryStore.open(history.dir, { onWarning: () => undefined }).ideas().length, 1);
  });

  test('keys come from the environment or --api-key-file and never reach the log or a tool error', async () => {
    const { history, ws } = fixture();
    const KEY = 'sk-test-0123456789abcdef';
    const llm = await openai([{ text: GOOD_ANSWER }], KEY);
    const fromEnv = await start(['--workspace', ws, '--history', history.dir, '--provider', `openai@${llm.url}`], { OPENAI_API_KEY: KEY });
    assert.equal((await fromEnv.call('seek_help', ASK)).isError, undefined);
    const keyFile = join(ws, '.key');
    writeFileSync(keyFile, `${KEY}\n`);
    const fromFile = await start(['--workspace', ws, '--history', history.dir, '--provider', `openai@${llm.url}`, '--api-key-file', keyFile]);
    assert.equal((await fromFile.call('seek_help', ASK)).isError, undefined);
    assert.equal(llm.headers.filter((h) => h.authorization === `Bearer ${KEY}`).length, 2);
    const wrong = await start(['--workspace', ws, '--history', history.dir, '--provider', noRetries(llm.url)], { OPENAI_API_KEY: 'sk-wrong-key-42' });
    const denied = toolError(await wrong.call('seek_help', ASK), /rejected the credentials \(HTTP 401\)/);
    for (const where of [fromEnv.stderr(), fromFile.stderr(), wrong.stderr(), denied]) {
      assert.ok(!where.includes(KEY) && !where.includes('sk-wrong-key-42'), 'no key in logs or errors');
    }
    // Without a key the Anthropic Ideator cannot answer, but the history tools still work.
    const noKey = await start(['--workspace', ws, '--history', history.dir, '--provider', 'anthropic']);
    toolError(await noKey.call('seek_help', ASK), /^the Ideator is not configured: .*no Anthropic API key.*ANTHROPIC_API_KEY/);
    assert.equal((await noKey.call('list_runs')).isError, undefined);
    assert.match(noKey.stderr(), /warning: seek_help will fail until this is fixed/);
  });
});

describe('ideator mcp: finding the run history', () => {
  test('none: a tool error naming every folder tried; then the editor\'s storage for this workspace is found', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'ideator-mcp-ws-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const ws = join(parent, 'my proj');
    mkdirSync(ws);
    const s = await start(['--workspace', ws, '--provider', 'template-vague']);
    const err = toolError(await s.call('list_runs'), /^no run history for the workspace .*my proj: run the training once in the editor .*--history DIR\); looked in /);
    // The key is sha256 of the URI VS Code writes for the folder (space percent-encoded), first 16 hex digits.
    const key = createHash('sha256').update(`file://${parent.split('/').map(encodeURIComponent).join('/')}/my%20proj`).digest('hex').slice(0, 16);
    const vscode = join(home, '.config', 'Code', 'User', 'globalStorage', 'mle-ideator.mle-ideator', 'run-history', key);
    const codeServer = join(home, '.local', 'share', 'code-server', 'User', 'globalStorage', 'mle-ideator.mle-ideator', 'run-history', key);
    assert.ok(err.includes(vscode), `tried ${vscode}: ${err}`);
    assert.ok(err.includes(codeServer) && err.includes(join('.config', 'Cursor')) && err.includes('VSCodium'), err);
    assert.match(s.stderr(), /run history not found yet/);

    // The editor (code-server here) records its first run: the next call finds it, without a restart.
    mkdirSync(codeServer, { recursive: true });
    buildHistory(codeServer);
    const list = await s.call('list_runs');
    assert.equal(list.isError, undefined, text(list));
    assert.equal((list.structuredContent as { total: number }).total, 3);
    rmSync(codeServer, { recursive: true, force: true });
  });
});

describe("ideator mcp: a run's score (ideator.runScore)", () => {
  /** The fixture plus run-4, whose best epoch (0.86) beats its last value (0.81): the best score tells the choice. */
  function scoredFixture(historyDir?: string) {
    const h = buildHistory(historyDir);
    const ws = buildWorkspace();
    cleanups.push(h.cleanup, ws.cleanup);
    h.store.appendRun(
      runRecord('run-4', 30, {
        primary: { name: 'val_auc', value: 0.81, direction: 'higher' },
        metrics: [{ name: 'val_auc', last: 0.81, best: 0.86, series: [0.7, 0.86, 0.81], count: 3, direction: 'higher', validation: true }],
      }),
    );
    return { history: h, ws: ws.dir };
  }
  const answered = (s: Session) => s.stderr().match(/ answered in \d+ ms/g)?.length ?? 0;
  /** list_runs' best score; returns once the call's log is in (stderr and stdout are separate pipes). */
  const bestOf = async (s: Session) => {
    const before = answered(s);
    const r = await s.call('list_runs', { limit: 1 });
    assert.equal(r.isError, undefined, text(r));
    for (const t0 = Date.now(); answered(s) <= before && Date.now() - t0 < 5000; ) await new Promise((res) => setTimeout(res, 10));
    return (r.structuredContent as { best: { value: number; run_id: string } }).best;
  };
  const settingsOf = (ws: string, jsonc: string) => {
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    writeFileSync(join(ws, '.vscode', 'settings.json'), jsonc);
  };

  test("the workspace's .vscode/settings.json (JSONC) chooses, read again on each call; a bad value is passed over; --run-score wins", async () => {
    const { history, ws } = scoredFixture();
    const s = await start(['--workspace', ws, '--history', history.dir, '--provider', 'template-vague']);
    assert.deepEqual(await bestOf(s), { value: 0.81, metric: 'val_auc', direction: 'higher', run_id: 'run-4' });
    assert.match(s.stderr(), /a run's score is its last epoch \(the default of ideator\.runScore\)/);

    // Set while the server lives, as VS Code writes it: comments, a trailing comma, a URL with // inside a string.
    settingsOf(ws, '{\n  // the script keeps its best checkpoint\n  "python.defaultInterpreterPath": "http://x//y", /* not a comment: */\n  "ideator.runScore": "best",\n}\n');
    assert.equal((await bestOf(s)).value, 0.86);
    assert.ok(s.stderr().includes(`a run's score is its best epoch (ideator.runScore in ${join(ws, '.vscode', 'settings.json')})`), s.stderr());
    // get_run and seek_help's score read the same store: run-4's score is its best epoch.
    assert.match(text(await s.call('get_run', { run_id: 'run-4' })), /val_auc 0\.86/);

    // Not last or best: a warning (once), and the default.
    settingsOf(ws, '{ "ideator.runScore": "median" }');
    assert.equal((await bestOf(s)).value, 0.81);
    assert.equal((await bestOf(s)).value, 0.81);
    assert.equal(s.stderr().match(/warning: ideator\.runScore in .* must be last or best, got "median"; ignored/g)?.length, 1, s.stderr());
    // Not JSON at all: a warning, the default.
    settingsOf(ws, '{ "ideator.runScore": best }');
    assert.equal((await bestOf(s)).value, 0.81);
    assert.match(s.stderr(), /warning: .*settings\.json is not a settings file \(Unexpected token/);

    settingsOf(ws, '{ "ideator.runScore": "best" }');
    const flagged = await start(['--workspace', ws, '--history', history.dir, '--provider', 'template-vague', '--run-score', 'last']);
    assert.equal((await bestOf(flagged)).value, 0.81);
    assert.match(flagged.stderr(), /a run's score is its last epoch \(--run-score\)/);
    const flaggedBest = await start(['--workspace', ws, '--history', history.dir, '--provider', 'template-vague', '--run-score', 'best']);
    assert.equal((await bestOf(flaggedBest)).value, 0.86);
  });

  test("a .code-workspace file's settings; the user settings of the editor whose history is used, below the workspace's", async () => {
    const { history, ws } = scoredFixture();
    const file = join(ws, 'proj.code-workspace');
    writeFileSync(file, '{\n  "folders": [{ "path": "." }],\n  // shared with the team\n  "settings": { "ideator.runScore": "best", },\n}\n');
    const s = await start(['--workspace', file, '--history', history.dir, '--provider', 'template-vague']);
    assert.equal((await bestOf(s)).value, 0.86);

    // The history the editor (code-server here) keeps for the folder, and that editor's user settings.
    const ws2 = mkdtempSync(join(tmpdir(), 'ideator-mcp-user-'));
    cleanups.push(() => rmSync(ws2, { recursive: true, force: true }));
    const user = join(home, '.local', 'share', 'code-server', 'User');
    const dir = join(user, 'globalStorage', 'mle-ideator.mle-ideator', 'run-history', historyKey(ws2));
    mkdirSync(dir, { recursive: true });
    const { history: h2 } = scoredFixture(dir);
    cleanups.push(() => rmSync(join(user, 'settings.json'), { force: true }));
    writeFileSync(join(user, 'settings.json'), '{ "workbench.colorTheme": "Default Dark+", "ideator.runScore": "best" }');
    const u = await start(['--workspace', ws2, '--provider', 'template-vague']);
    assert.equal((await bestOf(u)).value, 0.86);
    assert.ok(u.stderr().includes(`(ideator.runScore in ${join(user, 'settings.json')})`), u.stderr());
    // The workspace's setting is above the user's.
    settingsOf(ws2, '{ "ideator.runScore": "last" }');
    assert.equal((await bestOf(u)).value, 0.81);
    // With --history the editor is not known: its user settings are not read.
    rmSync(join(ws2, '.vscode'), { recursive: true });
    const pinned = await start(['--workspace', ws2, '--history', h2.dir, '--provider', 'template-vague']);
    assert.equal((await bestOf(pinned)).value, 0.81);
  });
});

describe('ideator mcp: command line', () => {
  function cli(args: string[]) {
    return spawnSync(process.execPath, [CLI, 'mcp', ...args], { encoding: 'utf8', input: '', timeout: 20_000, env: { PATH: process.env.PATH, HOME: home } });
  }
  test('usage errors: one line on stderr, exit 2, nothing on stdout', () => {
    const ws = mkdtempSync(join(tmpdir(), 'ideator-mcp-cli-'));
    cleanups.push(() => rmSync(ws, { recursive: true, force: true }));
    writeFileSync(join(ws, 'notes.txt'), 'x');
    const cases: [string[], RegExp][] = [
      [['--workspace', join(ws, 'absent')], /--workspace .*absent does not exist/],
      [['--workspace', join(ws, 'notes.txt')], /--workspace must be a folder or a .code-workspace file/],
      [['--workspace', ws, '--history', join(ws, 'absent')], /--history .* is not a folder/],
      [['--workspace', ws, '--provider', 'gpt'], /--provider: cannot read gpt/],
      [['--workspace', ws, '--provider', 'openai@ftp://x'], /--provider: baseUrl: must be an http\(s\) URL/],
      [['--workspace', ws, '--timeout-sec', '0'], /--timeout-sec must be a whole number from 1 to 3600, got '0'/],
      [['--workspace', ws, '--api-key-file', join(ws, 'absent')], /--api-key-file: cannot read .*ENOENT/],
      [['--workspace', ws, '--bogus'], /Unknown option '--bogus'/],
      [['--workspace', ws, '--trajectory', 'short'], /--trajectory must be full or compact, got 'short'/],
      [['--workspace', ws, '--run-score', 'median'], /--run-score must be last or best, got 'median'/],
    ];
    for (const [args, pattern] of cases) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
    const help = cli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: ideator mcp/);
    assert.match(spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout, /\n {2}mcp +serve the Ideator to coding agents over MCP/);
  });

  test('closing stdin while the Ideator is still writing ends the server promptly, with nothing recorded', async () => {
    const { history, ws } = fixture();
    const llm = await openai([{ type: 'hang' }]);
    const child = spawn(process.execPath, [CLI, 'mcp', '--workspace', ws, '--history', history.dir, '--provider', `openai:ideator@${llm.url}`], {
      env: { PATH: process.env.PATH, HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const send = (m: unknown) => child.stdin.write(JSON.stringify(m) + '\n');
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'seek_help', arguments: ASK } });
    while (llm.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    child.stdin.end();
    assert.equal(await exited, 0, stderr);
    assert.ok(Date.now() - t0 < 5000, `exited ${Date.now() - t0} ms after stdin closed (the provider's own timeout is 120 s)`);
    assert.equal(HistoryStore.open(history.dir, { onWarning: () => undefined }).ideas().length, 0);
  });

  test('stdout holds only protocol messages; end of input ends the server with exit 0', () => {
    const { history, ws } = fixture();
    const messages = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_runs', arguments: { limit: 1 } } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'get_run', arguments: { run_id: 7 } } },
    ];
    const r = spawnSync(process.execPath, [CLI, 'mcp', '--workspace', ws, '--history', history.dir, '--provider', 'template-vague'], {
      encoding: 'utf8',
      input: messages.map((m) => JSON.stringify(m)).join('\n') + '\n',
      timeout: 20_000,
      env: { PATH: process.env.PATH, HOME: home },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const replies = lines.map((l) => JSON.parse(l) as { id: number; result: CallToolResult });
    assert.deepEqual(replies.map((x) => x.id), [1, 2, 3]);
    assert.match((replies[1].result.content[0] as { text: string }).text, /^3 runs \(the newest 1 shown\)/);
    assert.equal(replies[2].result.isError, true);
    assert.match(r.stderr, /ideator mcp: workspace /);
    assert.equal(readFileSync(join(history.dir, 'history.jsonl'), 'utf8').split('\n').filter(Boolean).length, 3, 'reading changes nothing');
  });
});
