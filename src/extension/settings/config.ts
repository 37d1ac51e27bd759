/**
 * The extension's settings (`ideator.*`, `ideator.watch.*`), read from VS Code and validated with zod
 * (configSchema.ts) so a bad value produces one clear message naming the setting instead of a confusing failure
 * deep inside a provider call or a watcher.
 */
import * as vscode from 'vscode';
import type { ScoreOptions } from '../../core/scores';
import { CONFIG_KEYS, parseConfig, parseWatchConfig, scoreOptionsOf, SECTION, settingValue, WATCH_KEYS, WATCH_SECTION, type ConfigResult, type Validated, type WatchConfig } from './configSchema';

export { SECTION, parseConfig, type ConfigResult, type ExtensionConfig, type WatchConfig } from './configSchema';

/** The explicitly set values of a section's keys (unset keys take the schema's default). */
function readRaw(section: string, keys: readonly string[], scope?: vscode.ConfigurationScope): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration(section, scope);
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const value = settingValue(key, cfg.inspect(key));
    if (value !== undefined && value !== null) raw[key] = value;
  }
  return raw;
}

/** Reads every `ideator.*` setting (scoped to a resource when given) and validates it. */
export function readConfig(scope?: vscode.ConfigurationScope): ConfigResult {
  return parseConfig(readRaw(SECTION, CONFIG_KEYS, scope));
}

/** The run-watching settings; each bad value is passed to `onError` once and replaced by its default. */
export function readWatchConfig(onError?: (message: string) => void): WatchConfig {
  const r: Validated<WatchConfig> = parseWatchConfig(readRaw(WATCH_SECTION, WATCH_KEYS));
  if (!r.ok) for (const e of r.errors) onError?.(e);
  return r.config;
}

/** Score options from the validated main settings (`ideator.primaryMetric`, `ideator.metricDirection`). */
export function readScoreOptions(): ScoreOptions {
  return scoreOptionsOf(readConfig().config);
}
