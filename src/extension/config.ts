/**
 * The extension's settings (`ideator.*`), read from VS Code and validated with zod (configSchema.ts) so a bad value
 * produces one clear message naming the setting instead of a confusing failure deep inside a provider call.
 */
import * as vscode from 'vscode';
import { CONFIG_KEYS, parseConfig, SECTION, type ConfigResult } from './configSchema';

export { SECTION, parseConfig, type ConfigResult, type ExtensionConfig } from './configSchema';

/** Reads every `ideator.*` setting (scoped to a resource when given) and validates it. */
export function readConfig(scope?: vscode.ConfigurationScope): ConfigResult {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const inspected = cfg.inspect(key);
    // Only explicitly set values go through validation; unset keys take the schema's default.
    const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (value !== undefined && value !== null) raw[key] = value;
  }
  return parseConfig(raw);
}
