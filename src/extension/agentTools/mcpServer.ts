/**
 * Offers `ideator mcp` to the editor as an MCP server definition (vscode.lm.registerMcpServerDefinitionProvider,
 * stable from VS Code 1.101; `contributes.mcpServerDefinitionProviders` in package.json) when `ideator.offerMcpServer`
 * is on (off by default: agent mode has the same tools built in and would see each twice; the provider is registered
 * anyway, so turning the setting on or off takes effect at once). Older hosts (1.95-1.100,
 * where the call is missing or still a proposed API) skip it and say so in the log: the language-model tools give
 * their agent mode the same four tools. The definition runs the CLI shipped in the extension (dist/cli.js) on the
 * first workspace folder, reading the same run history this window records (its folder is passed explicitly).
 * The Ideator's settings and key are added only when the editor starts the server (resolveMcpServerDefinition),
 * through the environment: never in the arguments, never in the cached definition.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { providerConfigInput } from '../settings/providerConfig';
import { ENV_FALLBACK } from '../settings/secrets';
import type { Services } from '../services';
import { hasStableMcpProviderApi, mcpLaunch, mcpSettingsArgs } from './mcpLaunch';

export const MCP_PROVIDER_ID = 'ideator.mcp';

export type McpOffer = { state: 'offered' } | { state: 'unsupported'; reason: string };

/** The 1.101 API, declared here because the extension compiles against @types/vscode 1.95 (its minimum). */
interface StdioDefinition {
  readonly label: string;
  command: string;
  args: string[];
  env: Record<string, string | number | null>;
  cwd?: vscode.Uri;
  version?: string;
}
interface McpApi {
  registerMcpServerDefinitionProvider(
    id: string,
    provider: {
      onDidChangeMcpServerDefinitions?: vscode.Event<void>;
      provideMcpServerDefinitions(token: vscode.CancellationToken): vscode.ProviderResult<StdioDefinition[]>;
      resolveMcpServerDefinition?(server: StdioDefinition, token: vscode.CancellationToken): vscode.ProviderResult<StdioDefinition>;
    },
  ): vscode.Disposable;
}
type StdioDefinitionCtor = new (label: string, command: string, args?: string[], env?: Record<string, string | number | null>, version?: string) => StdioDefinition;

export function registerMcpServer(context: vscode.ExtensionContext, services: Services, historyDir: string): { offer: McpOffer; disposable: vscode.Disposable } {
  const lm = vscode.lm as unknown as Partial<McpApi>;
  const Definition = (vscode as unknown as { McpStdioServerDefinition?: StdioDefinitionCtor }).McpStdioServerDefinition;
  const unsupported = (reason: string) => {
    services.output.info(`The Ideator MCP server is not offered to the editor: ${reason}.`);
    return { offer: { state: 'unsupported', reason } as McpOffer, disposable: new vscode.Disposable(() => undefined) };
  };
  if (!hasStableMcpProviderApi(vscode.version) || typeof lm.registerMcpServerDefinitionProvider !== 'function' || typeof Definition !== 'function') {
    return unsupported(`VS Code ${vscode.version} has no MCP server provider API (1.101 or later has it); agent mode uses the built-in Ideator tools`);
  }
  const changed = new vscode.EventEmitter<void>();
  const version = String((context.extension.packageJSON as { version?: unknown }).version ?? '0');
  try {
    const registration = lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, {
      onDidChangeMcpServerDefinitions: changed.event,
      provideMcpServerDefinitions: () => {
        // Off by default: agent mode already has the same four tools built in, and would list each twice.
        if (!services.config().config.offerMcpServer) return [];
        const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
        if (!folder) return [];
        const launch = mcpLaunch({
          extensionPath: context.extensionPath,
          workspace: folder.uri.fsPath,
          historyDir,
          execPath: process.execPath,
          electron: process.versions.electron,
        });
        const def = new Definition(`MLE Ideator (${folder.name})`, launch.command, launch.args, launch.env, version);
        def.cwd = folder.uri;
        return [def];
      },
      resolveMcpServerDefinition: async (def) => {
        const { config } = services.config();
        try {
          void services.history; // opens the store, which creates the folder --history names
        } catch (err) {
          services.output.warn(`MCP server: the run history could not be opened: ${(err as Error).message}`);
        }
        let taskFile: string | undefined;
        if (config.taskDescription) {
          // A description kept in the settings is not in the workspace for the server to find: hand it over as a file.
          const dir = path.join(context.globalStorageUri.fsPath, 'mcp');
          mkdirSync(dir, { recursive: true });
          taskFile = path.join(dir, 'task.md');
          writeFileSync(taskFile, config.taskDescription);
        }
        def.args = [
          ...def.args,
          ...mcpSettingsArgs({
            provider: providerConfigInput(config, 'ideator'),
            trajectoryTokenBudget: config.trajectoryTokenBudget,
            trajectoryMode: config.trajectoryMode,
            maxOutputTokens: config.maxOutputTokens,
            requestTimeoutSeconds: config.requestTimeoutSeconds,
            promptsOverrideDir: config.promptsOverrideDir,
            taskFile,
            runScore: config.runScore,
          }),
        ];
        const envName = ENV_FALLBACK[config.provider];
        const key = envName ? await services.secrets.get(config.provider) : undefined;
        if (envName && key) def.env = { ...def.env, [envName]: key };
        return def;
      },
    });
    const folders = vscode.workspace.onDidChangeWorkspaceFolders(() => changed.fire());
    // ideator.offerMcpServer adds or removes the definition; other settings and a new key take effect when the editor
    // next starts the server. Either way the editor asks again.
    const settings = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('ideator')) changed.fire();
    });
    const keys = services.secrets.onDidChange(() => changed.fire());
    return { offer: { state: 'offered' }, disposable: vscode.Disposable.from(registration, folders, settings, keys, changed) };
  } catch (err) {
    changed.dispose();
    return unsupported(`registering it failed (${(err as Error).message})`);
  }
}
