/**
 * How the editor starts `ideator mcp` for a workspace (the MCP server definition the extension offers, VS Code >=
 * 1.101): pure, no 'vscode', so the unit tests check it directly.
 *
 * The server is the CLI the extension ships (dist/cli.js beside dist/extension.js), run by the extension host's
 * own runtime: in desktop VS Code, process.execPath is the editor's Electron binary, which behaves as Node with
 * ELECTRON_RUN_AS_NODE=1 (so no Node install is needed); in code-server and remote hosts it is Node itself.
 */
import * as path from 'node:path';
import type { ScoreChoice } from '../../core/metric';
import type { ProviderConfigInput } from '../../core/providers/index';

/** The first VS Code release where vscode.lm.registerMcpServerDefinitionProvider is stable (1.100 has it proposed). */
export const MCP_PROVIDER_MIN_VERSION = [1, 101] as const;

/** Whether `version` (vscode.version, e.g. "1.100.3" or "1.102.0-insider") has the stable MCP provider API. */
export function hasStableMcpProviderApi(version: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MCP_PROVIDER_MIN_VERSION[0] || (major === MCP_PROVIDER_MIN_VERSION[0] && minor >= MCP_PROVIDER_MIN_VERSION[1]);
}

export interface McpLaunchInput {
  /** The extension's install folder (context.extensionPath). */
  extensionPath: string;
  /** The workspace folder whose run history the server reads. */
  workspace: string;
  /** Where this window keeps that history (RunRecorder.storageFor), passed so the server needs no lookup. */
  historyDir: string;
  /** process.execPath of the extension host. */
  execPath: string;
  /** process.versions.electron: set when the extension host runs on Electron (desktop VS Code). */
  electron?: string;
}

export interface McpLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export function mcpLaunch(input: McpLaunchInput): McpLaunch {
  return {
    command: input.execPath,
    args: [path.join(input.extensionPath, 'dist', 'cli.js'), 'mcp', '--workspace', input.workspace, '--history', input.historyDir],
    env: input.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {},
  };
}

/** The Ideator settings the server needs, as `ideator mcp` flags (no key: that goes in the environment). */
export interface McpSettings {
  provider: ProviderConfigInput;
  trajectoryTokenBudget: number;
  /** ideator.trajectoryMode; absent: the server's default (compact). */
  trajectoryMode?: 'full' | 'compact';
  maxOutputTokens: number;
  requestTimeoutSeconds: number;
  promptsOverrideDir?: string;
  /** A file holding the task description, when it comes from a setting rather than the workspace's TASK.md. */
  taskFile?: string;
  /** ideator.runScore as the editor resolves it (user and workspace settings); as a flag it wins over the files the server reads. */
  runScore?: ScoreChoice;
}

export function mcpSettingsArgs(s: McpSettings): string[] {
  const args = [
    '--provider',
    JSON.stringify(s.provider),
    '--budget',
    String(s.trajectoryTokenBudget),
    '--max-tokens',
    String(s.maxOutputTokens),
    '--timeout-sec',
    String(Math.min(3600, Math.max(1, Math.ceil(s.requestTimeoutSeconds)))),
  ];
  if (s.trajectoryMode) args.push('--trajectory', s.trajectoryMode);
  if (s.promptsOverrideDir) args.push('--prompts', s.promptsOverrideDir);
  if (s.taskFile) args.push('--task-file', s.taskFile);
  if (s.runScore) args.push('--run-score', s.runScore);
  return args;
}
