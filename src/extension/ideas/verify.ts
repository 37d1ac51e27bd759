/**
 * Verify ideas from the editor: runs the bundled CLI's `ideator verify --json --watch-stdin` (dist/cli.js beside
 * dist/extension.js, as agentTools/mcpLaunch.ts starts `ideator mcp`), streams its JSON lines, validates each
 * against core/verify.ts's schema and hands them over. No 'vscode' here: unit and integration tests call it as is.
 *
 * How to call it (the N-ideas view's Verify button):
 *
 *   import { verifyIdeas, stopAllVerifications } from './verify';
 *   const { results, summary } = await verifyIdeas(
 *     {
 *       workspace: folder.uri.fsPath,           // the project folder
 *       command: 'python train.py',             // the command that produced the current score
 *       main: 'train.py',                       // optional: the file the ideas change (default: first *.py of command)
 *       ideas: [{ id: idea.id, title, code }],  // code = the main file with the idea applied; or raw / parsed
 *       slots: 2, budgetMinutes: 10,            // what the user agreed to
 *       baselineSeeds: 3,                       // optional (default 3): the baseline runs that measure the noise
 *       metric, direction, python, implementer, // optional: ideator.primaryMetric, its direction, the interpreter,
 *     },                                        //   the implementer model's ProviderConfig (ideas without code)
 *     {
 *       cli: verifyCli(context.extensionPath),  // which CLI to run (tests pass their own)
 *       onProgress: (p) => progress.report({ message: p.message, increment: … p.done / p.total }),
 *       onResult: (r) => view.update(r),        // one per idea, as soon as it is judged
 *       signal,                                 // abort = Cancel: every run is killed at once
 *       history: { store: services.history, ideas: new Map([[idea.id, ideaRecord], …]) },  // outcomes recorded
 *     },
 *   );
 *   // summary.ranking: idea ids best first; results[i].status: improved | within_noise | worse | failed | timed_out,
 *   // .score, .delta (vs the baseline's mean), .noise (the threshold a gain must pass), .seconds, .diff, .error.
 *   // summary.cancelled is true after an abort (results then hold the ideas judged before it).
 *   // With `history`, each judged idea's outcome is in the run history (core/verify.ts recordVerifiedOutcomes:
 *   // improved / not_improved — a gain within the noise — / exec_failed / timeout), as an applied idea's would be.
 *
 * It rejects (one clear line) when the CLI cannot start, refuses its input (e.g. no such folder) or dies without a
 * summary. Killing: abort → SIGTERM (the CLI kills its runs and prints the summary), SIGKILL 5 s later if needed;
 * the CLI also stops when its stdin closes, so an extension host that dies takes every run with it; and
 * `stopAllVerifications()` (called from deactivate) stops every verification still going.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { HistoryStore } from '../../core/history';
import type { ScoreChoice } from '../../core/metric';
import type { Direction, IdeaRecord } from '../../core/protocol';
import type { ProviderConfigInput } from '../../core/providers/index';
import { parseVerifyLine, recordVerifiedOutcomes, type VerifyIdeasInput, type VerifyProgress, type VerifyResult, type VerifySummary } from '../../core/verify';

export interface VerifyInput {
  workspace: string;
  command: string;
  main?: string;
  ideas: VerifyIdeasInput;
  slots: number;
  budgetMinutes: number;
  baselineSeeds?: number;
  /** Per-run cap in seconds (default: the budget). */
  timeoutSec?: number;
  metric?: string;
  direction?: Direction;
  /** A run's score: its last value (default) or its best epoch (ideator.runScore). */
  score?: ScoreChoice;
  python?: string;
  /** The implementer model for ideas that carry no code (no key here: pass it in `cli.env`). */
  implementer?: ProviderConfigInput;
  /** GPU ids, one run per GPU (overrides slots). */
  gpus?: string[];
  /**
   * A companion server (`ideator serve`) to verify on instead of this machine: its URL, and the name of its data
   * folder holding the workspace's data (`serve --data-root NAME=PATH`). Its token goes in `cli.env`
   * (IDEATOR_SERVER_TOKEN), never in the arguments; python, implementer and gpus are then the server's own.
   */
  server?: { url: string; dataRoot?: string };
}

/** How to start the CLI: the program and the arguments before `verify`, plus environment entries. */
export interface VerifyCli {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** The CLI the extension ships (dist/cli.js), run by the extension host's own runtime (Electron as Node on desktop). */
export function verifyCli(extensionPath: string, execPath: string = process.execPath, electron: string | undefined = process.versions.electron): VerifyCli {
  return { command: execPath, args: [path.join(extensionPath, 'dist', 'cli.js')], env: electron ? { ELECTRON_RUN_AS_NODE: '1' } : {} };
}

export interface VerifyOptions {
  cli: VerifyCli;
  /**
   * Where each judged idea's outcome is recorded (core/verify.ts recordVerifiedOutcomes), as an applied idea's
   * would be, so the idea-type statistics learn: the run history and the IdeaRecord of each idea id (ideas
   * without one are not recorded). Recorded when the verification ends, also after a cancel (judged ideas only).
   */
  history?: { store: Pick<HistoryStore, 'idea' | 'appendIdea' | 'appendOutcome'>; ideas: ReadonlyMap<string, IdeaRecord> };
  onProgress?: (p: VerifyProgress) => void;
  onResult?: (r: VerifyResult) => void;
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL on abort (default 5000 ms). */
  killAfterMs?: number;
}

export interface VerifyRun {
  results: VerifyResult[];
  summary: VerifySummary;
}

/** The `ideator verify` arguments for an input (the ideas file written by the caller). */
export function verifyArgs(input: VerifyInput, ideasFile: string): string[] {
  const args = ['verify', '--json', '--watch-stdin', '--workspace', input.workspace, '--command', input.command, '--ideas', ideasFile];
  args.push('--slots', String(input.slots), '--budget-min', String(input.budgetMinutes));
  if (input.main) args.push('--main', input.main);
  if (input.baselineSeeds !== undefined) args.push('--baseline-seeds', String(input.baselineSeeds));
  if (input.timeoutSec !== undefined) args.push('--timeout-sec', String(input.timeoutSec));
  if (input.metric) args.push('--metric', input.metric);
  if (input.direction) args.push('--direction', input.direction);
  if (input.score) args.push('--score', input.score);
  if (input.server) {
    args.push('--server', input.server.url);
    if (input.server.dataRoot) args.push('--data-root', input.server.dataRoot);
    return args;
  }
  if (input.python) args.push('--python', input.python);
  if (input.implementer) args.push('--implementer', JSON.stringify(input.implementer));
  if (input.gpus?.length) args.push('--gpus', input.gpus.join(','));
  return args;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Stops every verification still going (deactivate): SIGTERM, so each CLI kills its runs and prints its summary
 * (a second signal would make it exit at once, without one). Should the host be gone first, stdin closing does it.
 */
export function stopAllVerifications(): void {
  for (const child of live) child.kill('SIGTERM');
}

export function verifyIdeas(input: VerifyInput, opts: VerifyOptions): Promise<VerifyRun> {
  if (opts.signal?.aborted) return Promise.reject(new Error('Verification cancelled before it started'));
  const tmp = mkdtempSync(path.join(tmpdir(), 'ideator-verify-ideas-'));
  const ideasFile = path.join(tmp, 'ideas.json');
  writeFileSync(ideasFile, JSON.stringify(input.ideas), { mode: 0o600 });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // The host going away: nothing it started keeps running (the CLI's runs die with it: pdeathsig, process groups).
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  return new Promise<VerifyRun>((resolve, reject) => {
    const child = spawn(opts.cli.command, [...opts.cli.args, ...verifyArgs(input, ideasFile)], {
      env: { ...process.env, ...opts.cli.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    const results: VerifyResult[] = [];
    let summary: VerifySummary | undefined;
    let failure: string | undefined;
    let stderrTail = '';
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 5000);
    };
    const onAbort = () => stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdin.on('error', () => undefined);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderrTail = (stderrTail + c).slice(-4000)));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.trim()) return;
      const parsed = parseVerifyLine(line);
      if (!parsed.ok) {
        failure ??= `ideator verify printed an unexpected line (${parsed.error})`;
        stop();
        return;
      }
      const e = parsed.event;
      try {
        if (e.type === 'progress') opts.onProgress?.(e);
        else if (e.type === 'result') {
          results.push(e);
          opts.onResult?.(e);
        } else summary = e;
      } catch (err) {
        failure ??= `a verification listener failed: ${(err as Error).message}`;
        stop();
      }
    });
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      live.delete(child);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      rmSync(tmp, { recursive: true, force: true });
      if (err) reject(err);
      else if (failure) reject(new Error(failure));
      else if (summary) {
        if (opts.history) {
          try {
            recordVerifiedOutcomes(opts.history.store, results, summary, opts.history.ideas);
          } catch (e) {
            reject(new Error(`the verification ended but its outcomes could not be recorded: ${(e as Error).message}`));
            return;
          }
        }
        resolve({ results, summary });
      }
      else {
        const last = stderrTail.trim().split('\n').filter(Boolean).pop();
        reject(new Error(opts.signal?.aborted ? 'Verification cancelled' : last ?? `ideator verify ended (exit ${child.exitCode ?? child.signalCode}) without a result`));
      }
    };
    child.on('error', (err) => finish(new Error(`cannot start ideator verify (${opts.cli.command}): ${err.message}`)));
    // 'close': stdout is fully read by then, so the summary line is in.
    child.on('close', () => finish());
  });
}
