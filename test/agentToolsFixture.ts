/**
 * A workspace's run history as the editor writes it, for the agent tool tests (core contract, `ideator mcp`): three
 * runs of train.py written through core's HistoryStore — a baseline (auc 0.80), a worse change (0.78, with its
 * diff), and a crash with a traceback (no score) — each with its code snapshot.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { sha256 } from '../src/core/codeSnapshot';
import { HistoryStore } from '../src/core/history';
import type { Run } from '../src/core/protocol';

export const CODE_V1 = 'import lightgbm as lgb\nmodel = lgb.LGBMClassifier(n_estimators=200)\nprint("val_auc", 0.80)\n';
export const CODE_V2 = 'import lightgbm as lgb\nmodel = lgb.LGBMClassifier(n_estimators=500)\nprint("val_auc", 0.78)\n';
export const CODE_V3 = 'import lightgbm as lgb\nmodel = lgb.LGBMClassifier(n_estimators=500, max_depth=-2)\nprint("val_auc", 0.78)\n';

export const GOOD_ANSWER = `ANALYSIS_ON_CURRENT_PROGRESS:
More trees did not help (0.80 -> 0.78), so capacity is not the bottleneck.

ACTION:
Add ratio features between the usage columns before fitting.

RATIONALE:
Tree ensembles learn ratios poorly from raw columns; explicit ratios usually move AUC more than tuning.`;

export function runRecord(id: string, minute: number, extra: Partial<Run>): Run {
  const at = (m: number) => new Date(Date.UTC(2026, 11, 6, 10, m, 0)).toISOString();
  return {
    id,
    source: 'terminal',
    command: 'python train.py',
    cwd: '/ws',
    startedAt: at(minute),
    endedAt: at(minute + 1),
    exitCode: 0,
    metrics: [],
    primary: null,
    outputHead: '',
    outputTail: '',
    outputBytes: 0,
    ...extra,
  };
}

function metric(value: number) {
  return { name: 'val_auc', last: value, best: value, series: [value], count: 1, direction: 'higher' as const, validation: true };
}

/** A history folder (removed by the returned cleanup) holding the three runs. */
export function buildHistory(dir = mkdtempSync(join(tmpdir(), 'ideator-agent-history-'))): { dir: string; store: HistoryStore; cleanup: () => void } {
  const store = HistoryStore.open(dir, { onWarning: () => undefined });
  store.appendRun(
    runRecord('run-1', 0, {
      primary: { name: 'val_auc', value: 0.8, direction: 'higher' },
      metrics: [metric(0.8)],
      outputHead: 'loading data\nval_auc 0.80\n',
      outputBytes: 26,
      code: { path: 'train.py', hash: sha256(CODE_V1), content: CODE_V1 },
    }),
  );
  store.appendRun(
    runRecord('run-2', 10, {
      primary: { name: 'val_auc', value: 0.78, direction: 'higher' },
      metrics: [metric(0.78)],
      outputHead: 'loading data\nval_auc 0.78\n',
      outputBytes: 26,
      code: { path: 'train.py', hash: sha256(CODE_V2), content: CODE_V2, diffFromPrevious: createTwoFilesPatch('train.py', 'train.py', CODE_V1, CODE_V2) },
    }),
  );
  store.appendRun(
    runRecord('run-3', 20, {
      exitCode: 1,
      outputHead: 'loading data\nTraceback (most recent call last):\n  File "train.py", line 2\nValueError: max_depth must be >= -1\n',
      outputBytes: 95,
      code: { path: 'train.py', hash: sha256(CODE_V3), content: CODE_V3, diffFromPrevious: createTwoFilesPatch('train.py', 'train.py', CODE_V2, CODE_V3) },
    }),
  );
  return { dir, store, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A workspace folder with train.py (CODE_V3) and a TASK.md. */
export function buildWorkspace(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ideator-agent-ws-'));
  writeFileSync(join(dir, 'train.py'), CODE_V3);
  writeFileSync(join(dir, 'TASK.md'), '# Churn\nPredict customer churn from usage columns; metric: validation ROC AUC.\n');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
