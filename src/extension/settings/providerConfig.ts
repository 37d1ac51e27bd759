/**
 * The `ideator.*` settings as a core ProviderConfig input (before validation): which provider, where, which model,
 * thinking, and the request timeout. Pure (no 'vscode'). The one mapping: Ask Ideator and Apply build their provider
 * from it (ideas/provider.ts), and the MCP server definition passes it to `ideator mcp --provider '<json>'`
 * (agentTools/mcpServer.ts).
 */
import type { ProviderConfigInput } from '../../core/providers/index';
import type { ExtensionConfig } from './configSchema';

export function providerConfigInput(config: ExtensionConfig, role: 'ideator' | 'implementer'): ProviderConfigInput {
  return {
    kind: config.provider,
    baseUrl: config.baseUrl,
    model: role === 'implementer' ? (config.implementerModel ?? config.model) : config.model,
    thinking: config.thinking === 'default' ? undefined : config.thinking === 'on',
    timeoutMs: Math.round(config.requestTimeoutSeconds * 1000),
  };
}
