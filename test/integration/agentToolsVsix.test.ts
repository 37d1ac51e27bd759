/**
 * The MCP server the extension offers the editor (src/extension/agentTools/mcpServer.ts) runs `ideator mcp` from the
 * .vsix itself: <extension>/dist/cli.js. This copies exactly what .vscodeignore lets into the .vsix to a folder with
 * no node_modules above it, starts the server as the extension's definition does (mcpLaunch + mcpSettingsArgs), and
 * drives it with the MCP SDK's client over stdio: the tools are listed and answer against a real run history.
 * Needs the bundles: `node scripts/build.mjs` (npm test builds first).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { HistoryStore } from '../../src/core/history';
import { mcpLaunch, mcpSettingsArgs } from '../../src/extension/agentTools/mcpLaunch';
import { copyPackagedFiles } from '../packagedFiles';

let base: string;
let extensionPath: string;
let workspace: string;
let historyDir: string;

describe('the .vsix carries the MCP server the extension offers', () => {
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'ideator-vsix-mcp-'));
    extensionPath = join(base, 'extension');
    workspace = join(base, 'workspace');
    historyDir = join(base, 'run-history');
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, 'TASK.md'), '# Churn\nPredict churn from usage columns; metric: ROC AUC.\n');
    writeFileSync(join(workspace, 'train.py'), 'print("val_auc=0.81")\n');
    const store = HistoryStore.open(historyDir, { onWarning: () => undefined });
    store.appendRun({
      id: 'run-1',
      source: 'terminal',
      command: 'python train.py',
      startedAt: '2026-12-06T10:00:00.000Z',
      endedAt: '2026-12-06T10:01:00.000Z',
      exitCode: 0,
      metrics: [{ name: 'val_auc', last: 0.81, best: 0.81, series: [0.81], count: 1, direction: 'higher', validation: true }],
      primary: { name: 'val_auc', value: 0.81, direction: 'higher' },
      outputHead: '',
      outputTail: 'val_auc=0.81\n',
      outputBytes: 13,
      code: { path: 'train.py', hash: 'h1', content: 'print("val_auc=0.81")\n' },
    });
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  test('dist/cli.js and dist/cli-commands.js are packaged', () => {
    const included = copyPackagedFiles(extensionPath);
    for (const f of ['dist/extension.js', 'dist/cli.js', 'dist/cli-commands.js', 'prompts']) assert.ok(included.includes(f), `.vscodeignore does not ship ${f}`);
    assert.ok(existsSync(join(extensionPath, 'dist', 'cli.js')), 'dist/cli.js missing: run node scripts/build.mjs');
    assert.ok(!existsSync(join(extensionPath, 'node_modules')));
  });

  test("the extension's definition starts it, and an MCP client lists and calls the tools", async () => {
    const launch = mcpLaunch({ extensionPath, workspace, historyDir, execPath: process.execPath });
    const args = [
      ...launch.args,
      ...mcpSettingsArgs({ provider: { kind: 'template-vague', timeoutMs: 10_000 }, trajectoryTokenBudget: 8000, maxOutputTokens: 512, requestTimeoutSeconds: 10 }),
    ];
    const transport = new StdioClientTransport({ command: launch.command, args, cwd: base, env: { PATH: process.env.PATH ?? '', ...launch.env }, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const client = new Client({ name: 'vsix-probe', version: '1' });
    await client.connect(transport);
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.deepEqual(tools, ['seek_help', 'list_runs', 'get_run', 'record_outcome']);
      const list = (await client.callTool({ name: 'list_runs', arguments: {} })) as { content: { text: string }[] };
      assert.match(list.content[0].text, /^1 run; best val_auc 0\.81/);
      const asked = (await client.callTool({
        name: 'seek_help',
        arguments: { problem_statement: 'val_auc is stuck at 0.81.', goal: 'Raise val_auc.', code_path: 'train.py' },
      })) as { isError?: boolean; content: { text: string }[] };
      assert.ok(!asked.isError, asked.content[0]?.text);
      assert.match(asked.content[0].text, /\nACTION:\n\S/);
      const ideaId = /idea_id: (\S+)/.exec(asked.content[0].text)?.[1];
      assert.ok(ideaId && HistoryStore.open(historyDir, { onWarning: () => undefined }).idea(ideaId), 'the idea is not in the history the extension reads');
    } finally {
      await client.close();
    }
    assert.match(stderr, /run history .*run-history \(--history\)/);
  });
});
