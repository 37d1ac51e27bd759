/**
 * The Ideator as agent-mode tools (issue #17), through the real vscode.lm API in code-server's extension host:
 * the four tools are registered from package.json, list_runs / get_run read the Run History, seek_help asks the
 * Ideator set in the settings (the local OpenAI-compatible test server) and its idea lands in the history, the
 * lightbulb cache and the Idea panel; record_outcome and the next run judge it. VS Code answers every dialog itself
 * while extension tests run, so the confirmation is checked here as text (prepareInvocation) and shown, accepted and
 * declined in the real UI by test/vscode/e2e/agentTools.e2e.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { AGENT_TOOL_NAMES } from '../../../src/core/agentTools';
import type { Run } from '../../../src/core/protocol';
import { hasStableMcpProviderApi } from '../../../src/extension/agentTools/mcpLaunch';
import type { IdeatorApi } from '../../../src/extension/extension';
import { startOpenAIServer, type OpenAIServer } from '../../servers/openai';
import { GOOD_ANSWER } from '../lib/answers';

const EXTENSION_ID = 'mle-ideator.mle-ideator';
const G = vscode.ConfigurationTarget.Global;
const cfg = () => vscode.workspace.getConfiguration('ideator');

let api: IdeatorApi;
let folder: vscode.WorkspaceFolder;
let trainUri: vscode.Uri;
let original: string;
/** Runs this suite recorded, deleted at the end so the other suites see the history as they left it. */
const ours: string[] = [];

/** A training run through the recorder, as the terminal watcher records one: script snapshot, output, exit code. */
async function recordRun(output: string, exitCode = 0): Promise<Run> {
  const pending = api.runs.recorder.begin({ source: 'terminal', command: 'python train.py', cwd: folder.uri.fsPath, scriptPath: 'train.py' });
  pending.push(output);
  const run = await api.runs.recorder.complete(pending, exitCode);
  assert.ok(run, 'the run was not recorded');
  ours.push(run.id);
  return run;
}

function textOf(result: vscode.LanguageModelToolResult): string {
  return result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
}

function invoke(name: string, input: object, token?: vscode.CancellationToken): Thenable<vscode.LanguageModelToolResult> {
  return vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined }, token);
}

async function invokeText(name: string, input: object): Promise<string> {
  return textOf(await invoke(name, input));
}

/** The error an invocation rejects with. */
async function failure(p: Thenable<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail('the tool call succeeded; an error was expected');
}

async function useServer(server: OpenAIServer): Promise<void> {
  await cfg().update('provider', 'openai', G);
  await cfg().update('baseUrl', server.url, G);
  await cfg().update('model', 'ideator-agent-test', G);
  await cfg().update('requestTimeoutSeconds', 20, G);
}

const QUERY = {
  problem_statement: 'val_auc has been stuck around 0.96 for the last runs of train.py; the newest run crashed with a ValueError.',
  attempts_so_far: ['raised max_iter from 100 to 200: val_auc 0.9612 -> 0.9655', 'tried class_weight=balanced: crashed'],
  goal: 'Bring val_auc above 0.97 without changing the validation split.',
  code_path: 'train.py',
};

describe('MLE Ideator as agent-mode tools (vscode.lm)', function () {
  this.timeout(60_000);

  before(async () => {
    const ext = vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not loaded`);
    api = await ext.activate();
    folder = vscode.workspace.workspaceFolders![0];
    trainUri = vscode.Uri.joinPath(folder.uri, 'train.py');
    original = readFileSync(trainUri.fsPath, 'utf8');
    await cfg().update('watch.plateauRuns', 0, G);
    await recordRun('fitting LogisticRegression(max_iter=100)\nval_auc=0.9612\n');
    await recordRun('fitting LogisticRegression(max_iter=200)\nval_auc=0.9655\n');
    await recordRun('Traceback (most recent call last):\n  File "train.py", line 14, in build_model\nValueError: class_weight must be dict, \'balanced\', or None, got: \'balance\'\n', 1);
  });

  afterEach(async () => {
    for (const key of ['provider', 'baseUrl', 'model', 'requestTimeoutSeconds']) await cfg().update(key, undefined, G);
    // An apply here uses the default review (Keep / Undo in the editor): end it before the file is put back.
    await vscode.commands.executeCommand('ideator.review.keepAll');
    writeFileSync(trainUri.fsPath, original);
  });

  after(async () => {
    await cfg().update('watch.plateauRuns', undefined, G);
    const store = api.runs.recorder.store;
    for (const id of ours) store.deleteRun(id);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('registers the four tools of package.json with vscode.lm; the MCP server is offered only where the editor has the API', () => {
    assert.deepEqual(api.agentTools.tools, [...AGENT_TOOL_NAMES]);
    const contributed = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.languageModelTools as { name: string; inputSchema: object }[];
    for (const name of AGENT_TOOL_NAMES) {
      const info = vscode.lm.tools.find((t) => t.name === name);
      assert.ok(info, `${name} is not in vscode.lm.tools`);
      assert.deepEqual(info.inputSchema, contributed.find((t) => t.name === name)!.inputSchema);
    }
    if (hasStableMcpProviderApi(vscode.version)) assert.equal(api.agentTools.mcp.state, 'offered');
    else {
      assert.equal(api.agentTools.mcp.state, 'unsupported', `VS Code ${vscode.version}`);
      assert.match(api.agentTools.mcp.state === 'unsupported' ? api.agentTools.mcp.reason : '', /1\.101/);
    }
    console.log(`      VS Code ${vscode.version}: MCP server ${api.agentTools.mcp.state}`);
  });

  it('list_runs and get_run read the Run History: scores, new bests, the failure and the code that ran', async () => {
    const [first, second, crashed] = ours.map((id) => api.runs.recorder.store.run(id)!);
    const list = await invokeText('list_runs', { limit: 3 });
    assert.match(list, /runs? \(the newest 3 shown\)|^3 runs/);
    const lines = list.split('\n');
    assert.ok(lines[1].includes(crashed.id) && /failed \(exit 1\)/.test(lines[1]), lines[1]);
    assert.ok(lines[2].includes(second.id) && lines[2].includes('val_auc 0.9655 (new best)'), lines[2]);
    assert.ok(lines[3].includes(first.id) && lines[3].includes('`python train.py`'), lines[3]);

    const best = await invokeText('get_run', { run_id: 'best' });
    assert.ok(best.startsWith(`#`) && best.includes(second.id), best.slice(0, 200));
    assert.ok(best.includes('val_auc=0.9655'), 'output missing');
    assert.ok(best.includes('def build_model():'), 'the code the run executed is missing');

    const latest = await invokeText('get_run', { run_id: 'latest', include_code: false });
    assert.ok(latest.includes("ValueError: class_weight must be dict"), latest);
    assert.ok(!latest.includes('def build_model'), 'include_code: false still returned the code');
  });

  it('seek_help asks after the confirmation: the idea comes back to the agent and lands in the history, the lightbulb and the Idea panel', async () => {
    const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER, chunkSize: 40 }] });
    try {
      await useServer(server);
      const text = textOf(await invoke('seek_help', QUERY));
      assert.match(text, /^ANALYSIS_ON_CURRENT_PROGRESS:\nThe baseline fits an unscaled logistic regression/);
      assert.match(text, /\nACTION:\nStandardise the features inside a pipeline/);
      assert.match(text, /\nRATIONALE:\nScaling makes the problem well conditioned/);
      const ideaId = /idea_id: (\S+)/.exec(text)?.[1];
      assert.ok(ideaId, text);

      // What the Ideator saw: the agent's query as written, the task, the script, the recorded runs.
      assert.equal(server.requests.length >= 1, true);
      assert.equal(server.requests[0].model, 'ideator-agent-test');
      const prompt = JSON.stringify(server.requests[0].messages);
      for (const part of [QUERY.problem_statement, 'raised max_iter from 100 to 200', QUERY.goal, 'breast-cancer diagnosis', 'def build_model():', "got: 'balance'", 'val_auc=0.9612']) {
        assert.ok(prompt.includes(JSON.stringify(part).slice(1, -1)), `missing from the prompt: ${part}`);
      }

      // Where the idea landed: the run history (judged later), the lightbulb's cache, the Idea panel.
      const idea = api.runs.recorder.store.idea(ideaId);
      assert.ok(idea, 'the idea is not in the run history');
      assert.deepEqual(idea.query, { problemStatement: QUERY.problem_statement, attemptsSoFar: QUERY.attempts_so_far, goal: QUERY.goal });
      assert.deepEqual(idea.scoreBefore, { value: 0.9655, direction: 'higher', metric: 'val_auc' });
      assert.equal(idea.targetPath, 'train.py');
      assert.equal(api.services.ideas.latest?.id, ideaId);
      const html = api.ideas.panel.currentHtml;
      for (const h of ['ANALYSIS', 'ACTION', 'RATIONALE']) assert.ok(html.includes(`<h2>${h}</h2>`), `${h} missing in the Idea panel`);
      assert.ok(html.includes('StandardScaler'));

      // record_outcome: nothing ran yet; then the agent's run with the change decides.
      const early = await failure(invoke('record_outcome', { idea_id: ideaId }));
      assert.match(early.message, /No run has finished since idea/);
      const tested = await recordRun('val_auc=0.9702\n');
      const judged = await invokeText('record_outcome', { idea_id: ideaId });
      assert.equal(judged, `Idea ${ideaId} improved: 0.9655 -> 0.9702 (higher is better) in run ${tested.id}.`);
      assert.equal(api.runs.recorder.store.outcomeFor(ideaId)?.status, 'improved');
      assert.equal(api.runs.recorder.store.run(tested.id)?.ideaId, ideaId);
      assert.match(await invokeText('record_outcome', { idea_id: ideaId }), /\(already recorded\)\.$/);
    } finally {
      await server.close();
    }
  });

  it("an agent's idea applied from the editor is judged by the next run, as any idea is", async () => {
    const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER }] });
    try {
      await useServer(server);
      const text = await invokeText('seek_help', { ...QUERY, code_path: undefined });
      const ideaId = /idea_id: (\S+)/.exec(text)![1];
      assert.equal(api.runs.recorder.store.idea(ideaId)?.targetPath, 'train.py', 'without code_path the newest run\'s script is the target');
      api.services.prompts.confirmApply = async () => true;
      const applied = await vscode.commands.executeCommand<{ status: string; error?: string }>('ideator.applyIdea', ideaId, trainUri.toString());
      assert.equal(applied.status, 'applied', applied.error);
      assert.equal(api.runs.recorder.store.pendingIdea()?.applied.ideaId, ideaId);
      const next = await recordRun('val_auc=0.9680\n');
      assert.equal(next.ideaId, ideaId);
      const outcome = api.runs.recorder.store.outcomeFor(ideaId);
      // Judged against the score it was asked at (the newest good run: 0.9702), like every applied idea.
      assert.equal(outcome?.status, 'not_improved');
      assert.equal(outcome?.before, 0.9702);
    } finally {
      await server.close();
    }
  });

  it('seek_help asks for confirmation in plain words first, naming the file, the runs and who receives them; nothing is sent yet', async () => {
    const server = await startOpenAIServer({ responses: [{ text: GOOD_ANSWER }] });
    try {
      await useServer(server);
      const seekHelp = api.agentTools.implementations.seek_help;
      const cts = new vscode.CancellationTokenSource();
      const prepared = await seekHelp.prepareInvocation!({ input: QUERY }, cts.token);
      assert.ok(prepared?.confirmationMessages, 'seek_help runs without asking the user');
      assert.equal(prepared.confirmationMessages.title, 'Ask your Ideator for the next idea?');
      const message = prepared.confirmationMessages.message;
      const body = typeof message === 'string' ? message : message.value;
      const runs = api.runs.recorder.store.runs().length;
      assert.ok(body.startsWith(`This sends **train.py**, the task description and the ${runs} recorded runs`), body);
      assert.ok(body.includes(`to **openai-compatible ${server.url}`), body);
      assert.ok(body.includes('Idea panel'), body);
      assert.ok(body.includes('val\\_auc has been stuck'), 'the problem statement is shown (escaped)');
      assert.equal(prepared.invocationMessage, 'Asking the Ideator about train.py');
      assert.equal(server.requests.length, 0, 'preparing the confirmation contacted the Ideator');
      // The offline templates send nothing anywhere, and say so.
      await cfg().update('provider', 'template-vague', G);
      const offline = await seekHelp.prepareInvocation!({ input: QUERY }, cts.token);
      const offlineBody = offline!.confirmationMessages!.message;
      assert.match(typeof offlineBody === 'string' ? offlineBody : offlineBody.value, /Nothing leaves this machine/);
      // The read-only tools and record_outcome ask nothing.
      const listed = await api.agentTools.implementations.list_runs.prepareInvocation!({ input: {} }, cts.token);
      assert.equal(listed?.confirmationMessages, undefined);
    } finally {
      await server.close();
    }
  });

  it("the agent's cancellation stops a hanging request; nothing is recorded", async () => {
    const server = await startOpenAIServer({ responses: [{ type: 'hang' }] });
    try {
      await useServer(server);
      const ideas = api.runs.recorder.store.ideas().length;
      const cts = new vscode.CancellationTokenSource();
      const pending = failure(invoke('seek_help', QUERY, cts.token));
      const t0 = Date.now();
      while (server.requests.length === 0 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(server.requests.length, 1, 'the request never reached the server');
      const t1 = Date.now();
      cts.cancel();
      const err = await pending;
      assert.match(err.message, /Cancel/i);
      assert.ok(Date.now() - t1 < 5_000, `cancellation took ${Date.now() - t1} ms`);
      assert.equal(api.ideas.asker.busy, false);
      assert.equal(api.runs.recorder.store.ideas().length, ideas);
    } finally {
      await server.close();
    }
  });

  it('says what went wrong in plain words, and the editor keeps working', async () => {
    const bad = await failure(invoke('seek_help', { goal: 'x' }));
    assert.match(bad.message, /^Invalid arguments for seek_help: problem_statement: /);
    const outside = await failure(invoke('seek_help', { ...QUERY, code_path: '../../../../etc/passwd' }));
    assert.match(outside.message, /code_path '..\/..\/..\/..\/etc\/passwd' is not a file in the workspace/);
    const unknownRun = await failure(invoke('get_run', { run_id: 'no-such-run' }));
    assert.match(unknownRun.message, /No run 'no-such-run' in the run history \(\d+ runs; list_runs shows their ids\)/);
    const unknownIdea = await failure(invoke('record_outcome', { idea_id: 'no-such-idea' }));
    assert.match(unknownIdea.message, /No idea 'no-such-idea' in the run history/);

    const server = await startOpenAIServer({ responses: [{ type: 'error', status: 500, message: 'CUDA out of memory' }] });
    try {
      await useServer(server);
      const down = await failure(invoke('seek_help', QUERY));
      assert.match(down.message, /^The Ideator could not answer: .*(500|CUDA out of memory)/);
    } finally {
      await server.close();
    }
    // Still answering afterwards.
    assert.match(await invokeText('list_runs', {}), /runs?/);
  });
});
