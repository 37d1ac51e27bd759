/**
 * The Ideator in the editor's agent mode (issue #17): the four tools of core/agentTools.ts registered with
 * vscode.lm.registerTool (contributed in package.json `contributes.languageModelTools`, whose inputSchema must equal
 * core's: test/unit/agentToolsManifest.test.ts), and, where the editor has the API (VS Code >= 1.101), the
 * `ideator mcp` server offered as an MCP server definition for the workspace. Registration only: nothing runs until
 * an agent calls a tool.
 */
import * as vscode from 'vscode';
import { AGENT_TOOL_NAMES, type AgentToolName } from '../../core/agentTools';
import type { AskController } from '../ideas/askIdeator';
import type { Services } from '../services';
import { registerMcpServer, type McpOffer } from './mcpServer';
import { createAgentTools } from './tools';

export interface AgentTools {
  /** The tools registered with vscode.lm (all four, or none where the editor has no language-model tools). */
  tools: AgentToolName[];
  /** Whether the MCP server definition is offered, or why not. */
  mcp: McpOffer;
  /** The tool objects handed to vscode.lm (tests read seek_help's confirmation from them). */
  implementations: Record<AgentToolName, vscode.LanguageModelTool<object>>;
}

export function registerAgentTools(
  context: vscode.ExtensionContext,
  services: Services,
  asker: AskController,
  historyDir: string,
): { agentTools: AgentTools; disposable: vscode.Disposable } {
  const disposables: vscode.Disposable[] = [];
  const registered: AgentToolName[] = [];
  const tools = createAgentTools(services, asker);
  if (typeof vscode.lm?.registerTool === 'function') {
    for (const name of AGENT_TOOL_NAMES) {
      try {
        disposables.push(vscode.lm.registerTool(name, tools[name]));
        registered.push(name);
      } catch (err) {
        services.output.warn(`Agent tool ${name} could not be registered: ${(err as Error).message}`);
      }
    }
  } else {
    services.output.info('This editor has no language-model tools API; the Ideator agent tools are not registered.');
  }
  const mcp = registerMcpServer(context, services, historyDir);
  disposables.push(mcp.disposable);
  return { agentTools: { tools: registered, mcp: mcp.offer, implementations: tools }, disposable: vscode.Disposable.from(...disposables) };
}
