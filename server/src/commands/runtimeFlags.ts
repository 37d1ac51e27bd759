/**
 * The flags `ideator serve` and `ideator worker` share (both run ideas from the same store the same way), turned
 * into a RuntimeConfig. Provider flags (`--implementer`, `--ideator`) take the provider spec KIND[:MODEL][@URL], or the
 * whole ProviderConfig as JSON, inline or a file; API keys come from the environment only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createProvider, describeProviderError, ProviderConfigSchema, type ProviderConfig } from '../../../src/core/providers/index';
import { looksLikeSpec, parseProviderSpec, SpecError } from '../../../src/core/providers/spec';
import type { Provider } from '../../../src/core/providers/types';
import { UsageError } from './common';
import type { RuntimeConfig } from '../queue/runtime';
import { parseRedisUrl } from '../queue/redis/protocol';

export const runtimeFlags = {
  'data-dir': { type: 'string' },
  slots: { type: 'string' },
  gpus: { type: 'string' },
  python: { type: 'string' },
  'tasks-dir': { type: 'string', multiple: true },
  'task-data-dir': { type: 'string' },
  'timeout-sec': { type: 'string' },
  'memory-mb': { type: 'string' },
  'max-output-mb': { type: 'string' },
  'lease-sec': { type: 'string' },
  'poll-ms': { type: 'string' },
  implementer: { type: 'string' },
  baseline: { type: 'string' },
  'no-sandbox': { type: 'boolean' },
  'allow-weak-sandbox': { type: 'boolean' },
  'max-timeout-sec': { type: 'string' },
  'disk-mb': { type: 'string' },
  'max-processes': { type: 'string' },
  'keep-workdirs': { type: 'boolean' },
} as const;

export const RUNTIME_HELP = `  --data-dir DIR        store + work folders (default ./.ideator/server)
  --slots N             parallel CPU runs (default 1; 0 = store only, run nothing)
  --gpus 0,1,…          one run per GPU via CUDA_VISIBLE_DEVICES (overrides --slots)
  --python PATH         interpreter for ideas (default: env IDEATOR_PYTHON, ./.venv/bin/python, python3)
  --tasks-dir DIR       folder of MLE-bench-format tasks (repeatable; default: the bundled server/tasks)
  --task-data-dir DIR   where task data is prepared (default: the loader's)
  --timeout-sec N       per-idea wall clock when a request gives none (default: the task's, else 1200)
  --memory-mb N         address-space cap per run (default 4096; 0 = none; off by default with --gpus)
  --max-output-mb N     kill a run after this much output (default 64)
  --lease-sec N         lease of a running idea; a dead worker's idea is resumed after it (default 30)
  --implementer SPEC    implementer model for ideas without code: KIND[:MODEL][@URL], or ProviderConfig JSON (inline or file)
  --baseline MODE       p_t of task-graded states: measure (run C_t through the same sandbox + grader, once
                        per code; default) or state (trust state.score — only when it already is a grader score)
  --max-timeout-sec N   cap on a request's own per-idea time limit (default 14400); longer asks run with the cap
  --disk-mb N           size of each run's workdir (tmpfs, as root; default 4096)
  --max-processes N     processes + threads of one run (default 512)
  --no-sandbox          no sandbox at all, like IDEATOR_SANDBOX=off (development only; needs --allow-weak-sandbox)
  --allow-weak-sandbox  start even when the sandbox cannot enforce its minimum (bubblewrap, per-run cgroup,
                        disk cap): code under evaluation could forge its reward — development only
  --keep-workdirs       keep each run's folder (debugging)`;

function num(v: string | undefined, flag: string, opts: { min?: number; int?: boolean } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < (opts.min ?? 0)) {
    throw new UsageError(`--${flag} must be a ${opts.int ? 'whole ' : ''}number ≥ ${opts.min ?? 0}, got '${v}'`);
  }
  return n;
}

/**
 * A provider flag: the one provider spelling `KIND[:MODEL][@URL]` (src/core/providers/spec.ts), or the whole
 * ProviderConfig as inline JSON or a JSON file for the options a spec does not carry (temperature, timeouts, …).
 */
export function providerFromFlag(value: string | undefined, flag: string): Provider | undefined {
  const config = providerConfigFromFlag(value, flag);
  if (config === undefined) return undefined;
  try {
    return createProvider(config);
  } catch (err) {
    throw new UsageError(`--${flag}: ${describeProviderError(err)}`);
  }
}

/** The validated ProviderConfig a provider flag names (for callers that add secrets of their own, like `ideator mcp`). */
export function providerConfigFromFlag(value: string | undefined, flag: string): ProviderConfig | undefined {
  if (value === undefined) return undefined;
  let text = value.trim();
  if (!text.startsWith('{') && looksLikeSpec(text) && !existsSync(text)) {
    try {
      const spec = parseProviderSpec(text, false);
      if (spec.kind === 'none') throw new SpecError('no provider for none');
      return ProviderConfigSchema.parse({ kind: spec.kind, model: spec.model, baseUrl: spec.baseUrl });
    } catch (err) {
      if (err instanceof z.ZodError) throw new UsageError(`--${flag}: ${err.issues[0]?.path.join('.') || '(root)'}: ${err.issues[0]?.message}`);
      throw new UsageError(`--${flag}: ${err instanceof SpecError ? err.message : describeProviderError(err)}`);
    }
  }
  if (!text.startsWith('{')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new UsageError(`--${flag}: cannot read ${value}: ${(err as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${flag}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ProviderConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--${flag}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function runtimeConfigFromFlags(values: Record<string, unknown>, log: (m: string) => void): RuntimeConfig {
  const v = values as Record<string, string | string[] | boolean | undefined>;
  const s = (k: string) => v[k] as string | undefined;
  const gpus = s('gpus')
    ?.split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  if (gpus?.some((g) => !/^[A-Za-z0-9-]+$/.test(g))) throw new UsageError(`--gpus takes GPU ids separated by commas, e.g. 0,1`);
  const lease = num(s('lease-sec'), 'lease-sec', { min: 1 });
  const memoryMb = num(s('memory-mb'), 'memory-mb', { int: true });
  const maxOutputMb = num(s('max-output-mb'), 'max-output-mb', { min: 0.001 });
  const diskMb = num(s('disk-mb'), 'disk-mb', { min: 1, int: true });
  const maxProcesses = num(s('max-processes'), 'max-processes', { min: 8, int: true });
  const baseline = s('baseline');
  if (baseline !== undefined && baseline !== 'measure' && baseline !== 'state') throw new UsageError(`--baseline must be measure or state, got '${baseline}'`);
  return {
    dataDir: s('data-dir') ?? join(process.cwd(), '.ideator', 'server'),
    slots: num(s('slots'), 'slots', { int: true }),
    gpus,
    python: s('python') ?? (process.env.IDEATOR_PYTHON?.trim() || undefined),
    taskDirs: (v['tasks-dir'] as string[] | undefined)?.length ? (v['tasks-dir'] as string[]) : undefined,
    taskDataDir: s('task-data-dir'),
    defaultTimeoutSec: num(s('timeout-sec'), 'timeout-sec', { min: 1 }),
    limits: {
      memoryMb,
      maxOutputBytes: maxOutputMb !== undefined ? Math.round(maxOutputMb * 1024 * 1024) : undefined,
      diskMb,
      maxProcesses,
    },
    maxTimeoutSec: num(s('max-timeout-sec'), 'max-timeout-sec', { min: 1 }),
    allowWeakSandbox: Boolean(v['allow-weak-sandbox']) || process.env.IDEATOR_ALLOW_WEAK_SANDBOX === '1',
    leaseMs: lease !== undefined ? lease * 1000 : undefined,
    pollMs: num(s('poll-ms'), 'poll-ms', { min: 10, int: true }),
    implementer: providerFromFlag(s('implementer'), 'implementer'),
    baseline,
    disableSandbox: Boolean(v['no-sandbox']),
    keepWorkdirs: Boolean(v['keep-workdirs']),
    log,
  };
}

/** `--redis URL`, else env IDEATOR_REDIS_URL; checked here so a typo is a usage error, not a log line. */
export function redisUrlFrom(flag: string | undefined): string | undefined {
  const url = flag ?? (process.env.IDEATOR_REDIS_URL?.trim() || undefined);
  if (url === undefined) return undefined;
  try {
    parseRedisUrl(url);
  } catch (err) {
    throw new UsageError(`--redis: ${(err as Error).message}`);
  }
  return url;
}
