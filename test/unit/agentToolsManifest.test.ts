/**
 * package.json `contributes.languageModelTools` (what VS Code shows agent mode) must say what core/agentTools.ts
 * says: the same four tool names, each description and title, and an inputSchema equal to the core schema's JSON
 * Schema (less `$schema`, as `ideator mcp` lists it). A change to a zod schema that is not copied into package.json
 * fails here. Also the pure part of the MCP server definition (src/extension/agentTools/mcpLaunch.ts).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AGENT_TOOL_NAMES, AGENT_TOOLS, agentToolJsonSchemas } from '../../src/core/agentTools';
import { hasStableMcpProviderApi, mcpLaunch, mcpSettingsArgs } from '../../src/extension/agentTools/mcpLaunch';
import { ExtensionConfigSchema } from '../../src/extension/settings/configSchema';
import { providerConfigInput } from '../../src/extension/settings/providerConfig';
import { ProviderConfigSchema } from '../../src/core/providers/index';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

interface ContributedTool {
  name: string;
  displayName: string;
  toolReferenceName: string;
  canBeReferencedInPrompt: boolean;
  icon: string;
  userDescription: string;
  modelDescription: string;
  inputSchema: Record<string, unknown>;
}

const contributed: ContributedTool[] = pkg.contributes.languageModelTools ?? [];

describe('package.json languageModelTools = core/agentTools.ts', () => {
  it('contributes exactly the four core tools, in order', () => {
    assert.deepEqual(
      contributed.map((t) => t.name),
      [...AGENT_TOOL_NAMES],
    );
  });

  it("each tool's inputSchema equals the core schema's JSON Schema (copy it from agentToolJsonSchemas() when this fails)", () => {
    const schemas = agentToolJsonSchemas();
    for (const tool of contributed) {
      const { $schema: _dropped, ...expected } = schemas[tool.name as keyof typeof schemas].input;
      assert.deepEqual(tool.inputSchema, expected, `package.json languageModelTools "${tool.name}".inputSchema differs from core/agentTools.ts`);
    }
  });

  it('the model reads core\'s description and the user sees its title', () => {
    for (const def of AGENT_TOOLS) {
      const tool = contributed.find((t) => t.name === def.name)!;
      assert.equal(tool.modelDescription, def.description, `${def.name}.modelDescription`);
      assert.equal(tool.displayName, def.title, `${def.name}.displayName`);
    }
  });

  it('each tool can be referenced with # under its own name, and has an icon and a description for people', () => {
    const refs = contributed.map((t) => t.toolReferenceName);
    assert.equal(new Set(refs).size, refs.length, `duplicate toolReferenceName: ${refs.join(', ')}`);
    for (const t of contributed) {
      assert.equal(t.canBeReferencedInPrompt, true, t.name);
      assert.match(t.toolReferenceName, /^[A-Za-z][A-Za-z0-9]*$/, `${t.name}.toolReferenceName`);
      assert.match(t.icon, /^\$\([a-z0-9-]+\)$/, `${t.name}.icon`);
      assert.ok(t.userDescription.length >= 40 && !/\b(reward|trajectory|rollout|policy)\b/i.test(t.userDescription), `${t.name}.userDescription: plain words`);
    }
  });

  it('needs the VS Code release with stable language-model tools, and declares the MCP provider the extension registers', () => {
    const [major, minor] = /^\^(\d+)\.(\d+)/.exec(pkg.engines.vscode)!.slice(1).map(Number);
    assert.ok(major > 1 || minor >= 95, `engines.vscode ${pkg.engines.vscode} predates vscode.lm.registerTool (1.95)`);
    const typesVersion = pkg.devDependencies['@types/vscode'];
    assert.equal(typesVersion, `${major}.${minor}.0`, '@types/vscode must match the lowest engines.vscode (vsce refuses newer types)');
    assert.deepEqual(pkg.contributes.mcpServerDefinitionProviders, [{ id: 'ideator.mcp', label: 'MLE Ideator' }]);
  });
});

describe('the MCP server definition (mcpLaunch)', () => {
  it('is offered from VS Code 1.101 on, where the provider API is stable', () => {
    for (const v of ['1.101.0', '1.101.2', '1.102.0-insider', '1.110.1', '2.0.0']) assert.equal(hasStableMcpProviderApi(v), true, v);
    for (const v of ['1.100.3', '1.95.0', '1.9.0', '0.200.0', 'unknown', '']) assert.equal(hasStableMcpProviderApi(v), false, v);
  });

  it("runs the extension's own CLI with the host's runtime (Electron as Node on the desktop), never a key in the arguments", () => {
    const desktop = mcpLaunch({
      extensionPath: '/ext/mle-ideator',
      workspace: '/home/me/proj',
      historyDir: '/home/me/.config/Code/User/globalStorage/mle-ideator.mle-ideator/run-history/0123456789abcdef',
      execPath: '/usr/share/code/code',
      electron: '35.5.1',
    });
    assert.equal(desktop.command, '/usr/share/code/code');
    assert.deepEqual(desktop.args.slice(0, 4), ['/ext/mle-ideator/dist/cli.js', 'mcp', '--workspace', '/home/me/proj']);
    assert.deepEqual(desktop.args.slice(4), ['--history', '/home/me/.config/Code/User/globalStorage/mle-ideator.mle-ideator/run-history/0123456789abcdef']);
    assert.deepEqual(desktop.env, { ELECTRON_RUN_AS_NODE: '1' });
    const server = mcpLaunch({ extensionPath: '/ext', workspace: '/w', historyDir: '/h', execPath: '/usr/bin/node' });
    assert.deepEqual(server.env, {});
    assert.ok(!JSON.stringify([desktop, server]).match(/key|token/i));
  });

  it("passes the user's Ideator settings as ideator mcp flags, the provider as the JSON its --provider validates", () => {
    const config = ExtensionConfigSchema.parse({
      provider: 'openai',
      baseUrl: 'http://127.0.0.1:8000/v1/',
      model: 'ideator',
      thinking: 'off',
      trajectoryTokenBudget: 12000,
      maxOutputTokens: 2048,
      requestTimeoutSeconds: 90.5,
      promptsOverrideDir: '/home/me/prompts',
    });
    const args = mcpSettingsArgs({
      provider: providerConfigInput(config, 'ideator'),
      trajectoryTokenBudget: config.trajectoryTokenBudget,
      maxOutputTokens: config.maxOutputTokens,
      requestTimeoutSeconds: config.requestTimeoutSeconds,
      promptsOverrideDir: config.promptsOverrideDir,
      taskFile: '/tmp/task.md',
      runScore: 'best',
    });
    const flag = (name: string) => args[args.indexOf(name) + 1];
    assert.deepEqual(ProviderConfigSchema.parse(JSON.parse(flag('--provider'))), ProviderConfigSchema.parse({ kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'ideator', thinking: false, timeoutMs: 90_500 }));
    assert.equal(flag('--budget'), '12000');
    assert.equal(flag('--max-tokens'), '2048');
    assert.equal(flag('--timeout-sec'), '91');
    assert.equal(flag('--prompts'), '/home/me/prompts');
    assert.equal(flag('--task-file'), '/tmp/task.md');
    assert.equal(flag('--run-score'), 'best');
    const defaults = ExtensionConfigSchema.parse({});
    const plain = mcpSettingsArgs({ provider: providerConfigInput(defaults, 'ideator'), trajectoryTokenBudget: 32000, maxOutputTokens: 4096, requestTimeoutSeconds: 300 });
    assert.deepEqual(JSON.parse(plain[1]), { kind: 'anthropic', timeoutMs: 300_000 });
    assert.ok(!plain.includes('--prompts') && !plain.includes('--task-file') && !plain.includes('--run-score'));
  });
});
