/**
 * The workspace plan of a verification (#16), one definition for `ideator verify` and the companion server's
 * workspace runs: which of a project's files each run gets as its own copy (small source/config files), which are
 * bound in read-only (data folders, large files, links to data elsewhere), which hidden entries and key files are
 * never copied nor bound (masked inside a folder bound whole), and how a run's folder is filled from the plan.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { Bind } from '../exec/bwrapArgs';

/**
 * A workspace that cannot be verified as it is (a data folder too big to look through, too many data files or keys):
 * one line saying what to change. The CLI reports it as a usage error.
 */
export class WorkspacePlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspacePlanError';
  }
}

/** Files copied into each run's folder when small enough: source and configuration. */
export const SOURCE_EXT = new Set(['.py', '.pyi', '.json', '.yaml', '.yml', '.toml', '.cfg', '.ini', '.conf', '.txt', '.sh']);
/**
 * Never copied nor bound, since an idea's code could print them: hidden entries (.env*, .git, .ssh, .aws, .netrc,
 * .pypirc, editor folders …) and key or credential files (*.pem, id_rsa*, kaggle.json, credentials.json, a Google
 * client_secret*.json or service-account*.json, secrets.yaml …).
 */
export function skipped(name: string): boolean {
  return name.startsWith('.') || SKIP_NAMES.has(name) || KEY_FILE.test(name);
}
const KEY_FILE = /\.(pem|key|p12|pfx|ppk|jks|keystore|kdbx)$|^id_(rsa|ed25519|ecdsa|dsa)|^kaggle\.json$|^credentials(\.(json|ya?ml|toml|ini|cfg))?$|^client_secret.*\.json$|^service[-_]?account.*\.json$|^secrets?\.(json|ya?ml|toml|ini|cfg|env)$/i;
/** Nor these tooling folders and caches. */
export const SKIP_NAMES = new Set(['venv', 'node_modules', '__pycache__']);
/** Nor a Python environment under any name (python -m venv env, conda): thousands of files, none of them the project's. */
export function isEnvironment(dir: string): boolean {
  return existsSync(join(dir, 'pyvenv.cfg')) || existsSync(join(dir, 'conda-meta'));
}
/** A folder with more entries than this (walked in full) is data: bound whole. */
export const MAX_WALK_ENTRIES = 2000;
/** Files and folders bound one by one, at most (each is a mount in every run). */
export const MAX_BINDS = 1000;
/** Deeper than this, a folder is bound whole. */
export const MAX_DEPTH = 6;
/**
 * Entries looked through, at most, in a folder bound whole to find its hidden entries and key files (masked in each
 * run); a larger one is refused, not bound unchecked.
 */
export const MAX_DATA_WALK = 1_000_000;
/**
 * Entries looked through, at most, for all the data folders of one companion-server request together (walked
 * asynchronously): a request naming many folders is refused past it, not walked for minutes.
 */
export const MAX_REQUEST_DATA_WALK = 1_000_000;

export interface WorkspacePlan {
  /** Files to copy: workspace-relative paths. */
  copies: string[];
  /** Read-only binds: workspace-relative path → host path (a folder or a file). */
  binds: { rel: string; host: string; dir: boolean }[];
  copiedBytes: number;
  /**
   * Hidden entries and key files inside a folder bound whole (workspace-relative), hidden in each run by a mask; those
   * of a folder too big to look through are not found.
   */
  masks: { rel: string; dir: boolean }[];
  /** Links not followed (workspace-relative path: why), said before the runs. */
  refused: { rel: string; why: string }[];
}

/**
 * Why a link's target is not bound, or undefined when it may be: a target in (or through) a hidden folder or a key
 * file (a link is no way around the rule above: `notes -> .env`, `k -> ~/.ssh`), or a folder holding the workspace
 * or the home folder (the whole of it, hidden entries included: `up -> ..`, `h -> ~`).
 */
export function refusedLinkTarget(target: string, workspaceReal: string, home: string): string | undefined {
  const holds = (outer: string, inner: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
  if (holds(target, workspaceReal)) return 'its target holds the workspace';
  if (home && home !== sep && holds(target, home)) return 'its target holds the home folder';
  // Judged below the workspace or the home folder when it lies there (a workspace may itself sit in a hidden folder).
  const below = (outer: string) => (outer && outer !== sep && target.startsWith(outer + sep) ? target.slice(outer.length + 1) : undefined);
  const path = below(workspaceReal) ?? below(home) ?? target;
  if (path.split(sep).some((part) => part && skipped(part) && !SKIP_NAMES.has(part))) return 'its target is a hidden entry or a key file';
  return undefined;
}

/**
 * What a run's folder holds: small source/config files copied, everything else bound read-only. A folder holding no
 * source file (or too many entries to walk) is bound whole; a mixed folder is recreated with its files one by one.
 */
export function planWorkspace(root: string, maxFileBytes: number, maxDataWalk = MAX_DATA_WALK): WorkspacePlan {
  const plan: WorkspacePlan = { copies: [], binds: [], copiedBytes: 0, masks: [], refused: [] };
  const rootReal = realpathSync(root);
  let home = '';
  try {
    home = realpathSync(homedir());
  } catch {
    // no home folder: nothing to protect there
  }
  // Entries looked at while deciding about one folder (reset for each): a data tree is not walked in full.
  let walked = 0;
  const hasSource = (dir: string, depth: number): boolean | 'too-big' => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    walked += entries.length;
    if (walked > MAX_WALK_ENTRIES * 4 || entries.length > MAX_WALK_ENTRIES) return 'too-big';
    for (const e of entries) {
      if (skipped(e.name)) continue;
      if (e.isFile() && SOURCE_EXT.has(extname(e.name).toLowerCase())) return true;
      if (e.isDirectory() && depth < MAX_DEPTH && !isEnvironment(join(dir, e.name))) {
        const sub = hasSource(join(dir, e.name), depth + 1);
        if (sub) return sub;
      }
    }
    return false;
  };
  const walk = (rel: string, depth: number) => {
    const abs = join(root, rel);
    for (const e of readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (skipped(e.name)) continue;
      const r = rel ? join(rel, e.name) : e.name;
      const p = join(root, r);
      if (e.isSymbolicLink()) {
        // A link to data elsewhere (data -> /mnt/datasets/x): its target, read-only. A dangling one: nothing.
        let target: string;
        try {
          target = realpathSync(p);
        } catch {
          continue;
        }
        const why = refusedLinkTarget(target, rootReal, home);
        if (why) {
          plan.refused.push({ rel: r, why });
          continue;
        }
        const st = statSync(target);
        if (st.isDirectory()) bindWhole(r, target);
        else if (st.isFile()) plan.binds.push({ rel: r, host: target, dir: false });
        continue;
      }
      if (e.isFile()) {
        const size = lstatSync(p).size;
        if (SOURCE_EXT.has(extname(e.name).toLowerCase()) && size <= maxFileBytes) {
          plan.copies.push(r);
          plan.copiedBytes += size;
        } else plan.binds.push({ rel: r, host: p, dir: false });
        continue;
      }
      if (!e.isDirectory() || isEnvironment(p)) continue;
      walked = 0;
      const source = depth < MAX_DEPTH ? hasSource(p, depth + 1) : 'too-big';
      if (source === true) walk(r, depth + 1);
      else bindWhole(r, p);
    }
  };
  // A folder bound whole: every hidden entry and key file in it, at any depth, is masked; one too large to look
  // through is refused (its deep entries would be bound unseen).
  const bindWhole = (r: string, host: string) => {
    const hidden = hiddenEntries(host, host, maxDataWalk);
    if (hidden === 'too-big') throw new WorkspacePlanError(`the data folder ${r} holds more than ${maxDataWalk} entries: too many to look through for hidden files and keys, so it is not bound into the runs; split it, or verify a workspace that links only the part it needs`);
    plan.binds.push({ rel: r, host, dir: true });
    plan.masks.push(...hidden.map((h) => ({ rel: join(r, h.rel), dir: h.dir })));
  };
  walk('', 0);
  if (plan.masks.length > MAX_BINDS) {
    throw new WorkspacePlanError(`the workspace's data folders hold ${plan.masks.length} hidden entries or key files (at most ${MAX_BINDS} are hidden one by one): remove them from the data`);
  }
  if (plan.binds.length > MAX_BINDS) {
    throw new WorkspacePlanError(`the workspace has ${plan.binds.length} data files beside its source files (at most ${MAX_BINDS} are bound one by one): move the data into a folder, which is bound whole`);
  }
  return plan;
}

/**
 * The folder bound whole that holds the main file, if any: bound over the run's copy, it would show the original file
 * instead of the idea's code (every idea would measure the unchanged code).
 */
export function mainUnderBoundFolder(plan: WorkspacePlan, main: string): string | undefined {
  return plan.binds.find((b) => b.dir && main.startsWith(b.rel + sep))?.rel;
}

/**
 * Fills a run's folder from the plan, the main file replaced by `mainCode`; returns the sandbox's binds. Without
 * isolation there are no binds: the data is linked (writable — the warning says so).
 */
export function fillRunDir(dir: string, workspace: string, plan: WorkspacePlan, main: string, mainCode: string, isolated: boolean, emptyFile: string): Bind[] {
  for (const rel of plan.copies) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    copyFileSync(join(workspace, rel), join(dir, rel));
  }
  mkdirSync(dirname(join(dir, main)), { recursive: true });
  writeFileSync(join(dir, main), mainCode);
  const binds: Bind[] = [];
  for (const b of plan.binds) {
    // The main file is the idea's, whatever its size.
    if (b.rel === main) continue;
    const at = join(dir, b.rel);
    mkdirSync(dirname(at), { recursive: true });
    if (!isolated) {
      symlinkSync(b.host, at);
      continue;
    }
    // The mount point, made here (the tmpfs is ours): bubblewrap binds over it, read-only.
    if (b.dir) mkdirSync(at, { recursive: true });
    else writeFileSync(at, '');
    binds.push({ host: b.host, inside: b.rel });
  }
  // After the folders that show them.
  if (isolated) for (const m of plan.masks) binds.push(m.dir ? { host: '', inside: m.rel, emptyDir: true } : { host: emptyFile, inside: m.rel });
  return binds;
}

/**
 * Hidden entries and key files under the folder `dir` (paths relative to `base`), found by walking at most `limit`
 * entries: 'too-big' when the folder holds more (its deep entries would go unseen).
 */
export function hiddenEntries(dir: string, base: string, limit: number): { rel: string; dir: boolean }[] | 'too-big' {
  const out: { rel: string; dir: boolean }[] = [];
  let seen = 0;
  const walk = (d: string): boolean => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return true;
    }
    seen += entries.length;
    if (seen > limit) return false;
    for (const e of entries) {
      const p = join(d, e.name);
      if (skipped(e.name) && !SKIP_NAMES.has(e.name)) {
        if (e.isFile() || e.isDirectory()) out.push({ rel: relative(base, p), dir: e.isDirectory() });
        continue;
      }
      if (e.isDirectory() && !walk(p)) return false;
    }
    return true;
  };
  return walk(dir) ? out : 'too-big';
}

/**
 * hiddenEntries without holding the event loop (the companion server walks a request's data folders while it serves
 * others): folders read a batch at a time, at most `budget.left` entries in all (decreased as they are seen, so one
 * budget caps every folder of a request); 'too-big' past it. Stops early when `signal` aborts.
 */
export async function hiddenEntriesAsync(dir: string, base: string, budget: { left: number }, signal?: AbortSignal): Promise<{ rel: string; dir: boolean }[] | 'too-big'> {
  const out: { rel: string; dir: boolean }[] = [];
  const walk = async (d: string): Promise<boolean> => {
    let handle;
    try {
      handle = await opendir(d, { bufferSize: 256 });
    } catch {
      return true;
    }
    const subdirs: string[] = [];
    // The iterator closes the folder when it ends or is left early.
    for await (const e of handle) {
      if (--budget.left < 0 || signal?.aborted) return false;
      const p = join(d, e.name);
      if (skipped(e.name) && !SKIP_NAMES.has(e.name)) {
        if (e.isFile() || e.isDirectory()) out.push({ rel: relative(base, p), dir: e.isDirectory() });
        continue;
      }
      if (e.isDirectory()) subdirs.push(p);
    }
    for (const s of subdirs) if (!(await walk(s))) return false;
    return true;
  };
  return (await walk(dir)) ? out : 'too-big';
}
