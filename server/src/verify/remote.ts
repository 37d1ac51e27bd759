/**
 * Verification on the companion server (#16): POST /v1/rewards with an uploaded workspace. The run folders are
 * filled from the upload (verify/upload.ts) and the operator's data root, then verify/engine.ts runs exactly what
 * `ideator verify` runs locally — same sandbox, same scoring, same VerifyEvent lines.
 *
 * Data is never uploaded: the operator names data folders (`ideator serve --data-root NAME=PATH`); a request names
 * one and lists the workspace plan's read-only paths, each bound from PATH/<path> (which must lie inside PATH, and
 * no part of which may be a hidden entry or key file), hidden entries inside a bound folder masked. A run sees its
 * own folder, the interpreter and those binds: no other upload, no other data root, no store, no network.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Provider } from '../../../src/core/providers/types';
import type { VerifyEvent, VerifyIdea, WorkspaceRewardRequest } from '../../../src/core/verify';
import { homeFolders, type SandboxHost } from '../exec/isolation';
import { DEFAULT_MAX_TIMEOUT_SEC, type Runtime } from '../queue/runtime';
import { prepareVerifyRoot, runVerification, type VerifyRun } from './engine';
import { WorkspaceStore } from './upload';
import { hiddenEntriesAsync, MAX_BINDS, MAX_REQUEST_DATA_WALK, skipped, SKIP_NAMES, type WorkspacePlan } from './workspace';

/** A request the server cannot run: one line for the client (a 4xx). */
export class RemoteVerifyError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteVerifyError';
  }
}

/**
 * Runs at once across every verification of this server: a run waits for a free slot. On a GPU server each slot is
 * one GPU, handed to the run that holds it (two verifications never share one).
 */
export class SlotGate {
  private readonly free: number[];
  private waiting: ((slot: number) => void)[] = [];
  constructor(
    readonly size: number,
    private readonly gpus: readonly string[] = [],
  ) {
    this.free = Array.from({ length: size }, (_, i) => i);
  }

  acquire(signal: AbortSignal): Promise<{ release: () => void; gpu?: string }> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('cancelled'));
      const grant = (slot: number) => {
        signal.removeEventListener('abort', onAbort);
        let released = false;
        resolve({
          gpu: this.gpus[slot],
          release: () => {
            if (released) return;
            released = true;
            const next = this.waiting.shift();
            if (next) next(slot);
            else this.free.push(slot);
          },
        });
      };
      const onAbort = () => {
        this.waiting = this.waiting.filter((w) => w !== grant);
        reject(new Error('cancelled'));
      };
      const slot = this.free.shift();
      if (slot !== undefined) return grant(slot);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }
}

/** What the server brings to every workspace verification. */
export interface RemoteVerifyEnv {
  uploads: WorkspaceStore;
  /** Data root name → its folder (real path). */
  dataRoots: ReadonlyMap<string, string>;
  host: SandboxHost;
  python: string;
  /** Where run folders are made (prepareVerifyRoot) and its empty file. */
  workRoot: string;
  emptyFile: string;
  /** The server's data dir (store, uploads), every data root, the home folders: never bound whole. */
  privatePaths: string[];
  gate: SlotGate;
  /** Per-run cap (seconds). */
  maxTimeoutSec: number;
  memoryMb: number;
  provider?: Provider;
  /** Entries looked through, at most, for one request's data folders together (MAX_REQUEST_DATA_WALK). */
  maxDataWalk?: number;
  /** Workspace verifications at once (being checked or running), at most: the server's --max-queued (0: no limit). */
  maxVerifications: number;
}

/**
 * A reward server's workspace verification: uploads in <dataDir>/workspaces, run folders in <dataDir>/verify-work,
 * the runtime's interpreter, sandbox, limits and implementer, as many runs at once as its --slots (0: none).
 */
export async function remoteVerifyEnv(rt: Runtime, dataRoots: ReadonlyMap<string, string>): Promise<RemoteVerifyEnv> {
  const dataDir = resolve(rt.config.dataDir);
  const workRoot = join(dataDir, 'verify-work');
  const emptyFile = await prepareVerifyRoot(workRoot);
  return {
    uploads: new WorkspaceStore(join(dataDir, 'workspaces')),
    dataRoots,
    host: rt.sandbox,
    python: rt.python,
    workRoot,
    emptyFile,
    privatePaths: [...new Set([dataDir, realpathSync(dataDir), ...dataRoots.values(), ...homeFolders()])],
    gate: new SlotGate(rt.pool?.size ?? 0, rt.config.gpus?.filter((g) => g.trim() !== '') ?? []),
    maxTimeoutSec: rt.config.maxTimeoutSec ?? DEFAULT_MAX_TIMEOUT_SEC,
    memoryMb: rt.env.limits.memoryMb,
    provider: rt.config.implementer,
    maxVerifications: rt.config.maxQueued ?? 0,
  };
}

/**
 * The request checked against this server: its run options, or a RemoteVerifyError (nothing has run yet). Its data
 * folders are looked through for hidden entries without holding the event loop, at most env.maxDataWalk entries
 * for all of them; a path named twice, or inside another one, is refused (each folder is walked and bound once).
 */
export async function prepareRemote(env: RemoteVerifyEnv, req: WorkspaceRewardRequest, signal: AbortSignal, emit: (e: VerifyEvent) => void): Promise<VerifyRun> {
  const info = env.uploads.info(req.workspace.sha256);
  if (!info) throw new RemoteVerifyError(404, 'unknown_workspace', `no workspace ${req.workspace.sha256} on this server: upload it first (PUT /v1/workspaces/{sha256})`);
  if (!info.files.includes(req.main)) throw new RemoteVerifyError(400, 'unknown_main', `the main file ${req.main} is not among the workspace's uploaded files`);
  const ids = req.ideas.map((i, n) => i.id ?? `idea-${n + 1}`);
  if (new Set(ids).size !== ids.length) throw new RemoteVerifyError(400, 'invalid_request', 'idea ids must be unique');
  const sourceDir = env.uploads.filesDir(info.sha256);
  const plan: WorkspacePlan = { copies: info.files.map(fromPosix), binds: [], copiedBytes: info.bytes, masks: [], refused: [] };
  if (req.workspace.data.length) {
    const name = req.workspace.dataRoot;
    if (!name) throw new RemoteVerifyError(400, 'no_data_root', `the workspace binds ${req.workspace.data.length} data path(s) (${req.workspace.data[0].path} …): name one of this server's data roots (dataRoot)`);
    const root = env.dataRoots.get(name);
    if (!root) throw new RemoteVerifyError(400, 'unknown_data_root', `no data root '${name}' on this server${env.dataRoots.size ? ` (it has: ${[...env.dataRoots.keys()].join(', ')})` : ' (it has none: start it with --data-root NAME=PATH)'}`);
    // Each path once, none inside another: as named (data, data/x) and where they lead (a link to data).
    const overlap = (paths: readonly string[], s: string): [string, string] | undefined => {
      const sorted = paths.map((p, i) => [p, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (let i = 1; i < sorted.length; i++) {
        const [a, ia] = sorted[i - 1];
        const [b, ib] = sorted[i];
        if (b === a || b.startsWith(a.endsWith(s) ? a : a + s)) return [req.workspace.data[ia].path, req.workspace.data[ib].path];
      }
      return undefined;
    };
    const named = overlap(
      req.workspace.data.map((d) => d.path),
      '/',
    );
    if (named) throw new RemoteVerifyError(400, 'invalid_request', named[0] === named[1] ? `the data path ${named[0]} is named twice` : `the data path ${named[1]} lies inside ${named[0]}, also named: name each folder once`);
    const reals: string[] = [];
    for (const d of req.workspace.data) {
      const parts = d.path.split('/');
      if (parts.some((p) => skipped(p) && !SKIP_NAMES.has(p))) throw new RemoteVerifyError(400, 'refused_data_path', `the data path ${d.path} is a hidden entry or key file: never bound`);
      if (info.files.includes(d.path) || info.files.some((f) => f.startsWith(d.path + '/'))) throw new RemoteVerifyError(400, 'invalid_request', `the data path ${d.path} is also an uploaded file or holds one`);
      const host = join(root, ...parts);
      let real: string;
      try {
        real = await realpath(host);
      } catch {
        throw new RemoteVerifyError(400, 'missing_data', `the data root '${name}' has no ${d.path}`);
      }
      if (real !== root && !real.startsWith(root + sep)) throw new RemoteVerifyError(400, 'refused_data_path', `${d.path} in the data root '${name}' leads outside it: not bound`);
      // A link inside the root is no way to a hidden entry or key file of it (notes -> .ssh).
      if (relative(root, real).split(sep).some((p) => p && skipped(p) && !SKIP_NAMES.has(p))) throw new RemoteVerifyError(400, 'refused_data_path', `${d.path} in the data root '${name}' leads to a hidden entry or key file: never bound`);
      const st = await stat(real);
      if (d.dir ? !st.isDirectory() : !st.isFile()) throw new RemoteVerifyError(400, 'missing_data', `${d.path} in the data root '${name}' is not a ${d.dir ? 'folder' : 'file'}`);
      reals.push(real);
    }
    const led = overlap(reals, sep);
    if (led) throw new RemoteVerifyError(400, 'invalid_request', `the data paths ${led[0]} and ${led[1]} lead to the same folder or one inside the other: name each folder once`);
    const budget = { left: env.maxDataWalk ?? MAX_REQUEST_DATA_WALK };
    const limit = budget.left;
    for (const [n, d] of req.workspace.data.entries()) {
      plan.binds.push({ rel: fromPosix(d.path), host: reals[n], dir: d.dir });
      if (!d.dir) continue;
      const hidden = await hiddenEntriesAsync(reals[n], reals[n], budget, signal);
      if (signal.aborted) throw new RemoteVerifyError(499, 'cancelled', 'the verification was cancelled before it started');
      if (hidden === 'too-big') throw new RemoteVerifyError(400, 'data_too_large', `the data folders of this request (${d.path} in the data root '${name}' among them) hold more than ${limit} entries: too many to look through for hidden files and keys; bind fewer or smaller folders`);
      plan.masks.push(...hidden.map((h) => ({ rel: join(fromPosix(d.path), h.rel), dir: h.dir })));
    }
    if (plan.masks.length > MAX_BINDS) throw new RemoteVerifyError(400, 'data_too_large', `the data holds ${plan.masks.length} hidden entries or key files (at most ${MAX_BINDS} are hidden one by one)`);
  }
  const budgetSec = Math.min(req.budgetSec, env.maxTimeoutSec);
  const taskFile = ['TASK.md', 'task.md'].find((n) => info.files.includes(n));
  return {
    sourceDir,
    plan,
    main: fromPosix(req.main),
    mainCode: readFileSync(join(sourceDir, fromPosix(req.main)), 'utf8'),
    command: req.command,
    ideas: req.ideas.map((i, n) => ({ ...i, id: ids[n] }) as VerifyIdea & { id: string }),
    metric: req.metric,
    direction: req.direction,
    choice: req.score,
    slots: Math.min(req.slots, env.gate.size),
    budgetSec,
    perRunSec: Math.min(req.timeoutSec ?? budgetSec, budgetSec),
    seeds: req.baselineSeeds,
    memoryMb: env.memoryMb,
    python: env.python,
    provider: env.provider,
    taskDescription: taskFile ? readFileSync(join(sourceDir, taskFile), 'utf8').slice(0, 20_000) : '',
    host: env.host,
    workRoot: env.workRoot,
    emptyFile: env.emptyFile,
    privatePaths: env.privatePaths,
    signal,
    emit,
    acquireSlot: (s) => env.gate.acquire(s),
  };
}

/** Runs a prepared request to its end (or until `signal` aborts: every run is killed). */
export async function runRemote(run: VerifyRun): Promise<void> {
  await runVerification(run);
}

/** Parses `NAME=PATH` data roots (serve --data-root): name → real path of an existing folder. */
export function parseDataRoots(specs: readonly string[]): Map<string, string> {
  const roots = new Map<string, string>();
  for (const spec of specs) {
    const m = /^([A-Za-z0-9_.-]{1,64})=(.+)$/.exec(spec);
    if (!m) throw new Error(`--data-root takes NAME=PATH (NAME: letters, digits, _ . -), got '${spec}'`);
    if (roots.has(m[1])) throw new Error(`--data-root ${m[1]} is named twice`);
    if (!existsSync(m[2]) || !statSync(m[2]).isDirectory()) throw new Error(`--data-root ${m[1]}: no such folder ${m[2]}`);
    roots.set(m[1], realpathSync(m[2]));
  }
  return roots;
}

function fromPosix(p: string): string {
  return p.split('/').join(sep);
}
