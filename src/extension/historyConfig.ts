/**
 * Settings of run watching (`ideator.watch.*`), validated with zod: a bad value is reported once and falls back
 * to its default instead of breaking the watchers. The JSON schema in package.json mirrors this file.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { DEFAULT_TRAINING_GLOBS } from '../core/commandMatch';
import type { ScoreOptions } from '../core/scores';

export const WatchConfigSchema = z.object({
  enabled: z.boolean().default(true),
  commandPatterns: z.array(z.string().min(1)).default([...DEFAULT_TRAINING_GLOBS]),
  plateauRuns: z.number().int().min(0).max(100).default(3),
  plateauCooldownMinutes: z.number().min(0).max(24 * 60).default(30),
  notebookRun: z.enum(['cell', 'session']).default('cell'),
  debugRedirectOutput: z.boolean().default(true),
  maxHistoryMB: z.number().min(1).max(4096).default(64),
  notifyOutcomes: z.boolean().default(true),
});
export type WatchConfig = z.infer<typeof WatchConfigSchema>;

const KEYS = Object.keys(WatchConfigSchema.shape) as (keyof WatchConfig)[];

export function readWatchConfig(onError?: (message: string) => void): WatchConfig {
  const cfg = vscode.workspace.getConfiguration('ideator.watch');
  const raw: Record<string, unknown> = {};
  for (const key of KEYS) {
    const i = cfg.inspect(key);
    const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    if (v !== undefined && v !== null) raw[key] = v;
  }
  const parsed = WatchConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    onError?.(`Setting "ideator.watch.${String(issue.path[0])}": ${issue.message}; using the default`);
    delete raw[String(issue.path[0])];
  }
  return WatchConfigSchema.parse(raw);
}

/** Score options from the main settings (`ideator.primaryMetric`, `ideator.metricDirection`). */
export function readScoreOptions(): ScoreOptions {
  const cfg = vscode.workspace.getConfiguration('ideator');
  const metric = cfg.get<string>('primaryMetric')?.trim();
  const dir = cfg.get<string>('metricDirection');
  return {
    primaryMetric: metric || undefined,
    primaryDirection: dir === 'higher' || dir === 'lower' ? dir : undefined,
  };
}
