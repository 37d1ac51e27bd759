/**
 * What isolation the OS grants the sandbox, found by trying it once at start-up (reported by /healthz), and the
 * command line that applies it. The strongest mode runs each idea in fresh mount + network + pid namespaces:
 * - mount: every file system is remounted read-only inside the namespace except the run's own workdir (a bind
 *   mount of itself) and a private size-capped /dev/shm, so nothing can be written outside the workdir;
 * - net: an empty network namespace (loopback down): no network;
 * - pid: the run is pid 1 of its namespace, so killing it kills every process it started, daemons included;
 * - `setpriv --pdeathsig KILL` + `unshare --kill-child`: if the server itself is SIGKILLed, its runs die too.
 * Root uses plain namespaces; other users try a user namespace (`--map-root-user`). When neither works the run
 * still gets its rlimits, its own process group and a workdir HOME/TMPDIR, and /healthz says isolation is off.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IsolationInfo {
  /** 'namespaces' (root), 'user-namespaces' (unprivileged), 'net-only', or 'none'. */
  mode: 'namespaces' | 'user-namespaces' | 'net-only' | 'none';
  network: boolean;
  filesystem: boolean;
  pid: boolean;
  /** Runs die with the server (parent-death signal). */
  parentDeath: boolean;
  /**
   * Without a mount namespace, a root server still confines writes by running the code as nobody (uid/gid 65534):
   * it can then write only its (world-writable) workdir and world-writable folders such as /tmp.
   */
  dropToNobody?: boolean;
  /** Why the stronger modes were not used. */
  notes: string[];
}

export const NOBODY = 65534;

/**
 * The in-sandbox set-up, run by /bin/sh before exec'ing the command. Positional args: workdir, RLIMIT_AS in KiB
 * (0 = none), RLIMIT_FSIZE in KiB (0 = none), /dev/shm size in MiB, 1 to confine the file system; then argv.
 * then newline-separated paths to hide (an empty read-only tmpfs is mounted over each: task folders and private
 * answers stay unreadable). Exit 125 means the sandbox itself could not be set up.
 */
export const SANDBOX_SCRIPT = `
W="$1"; MEM_KB="$2"; FSIZE_KB="$3"; SHM_MB="$4"; FS="$5"; HIDE="$6"; shift 6
if [ "$FS" = 1 ]; then
  mount --make-rprivate / || { echo "sandbox: cannot make mounts private" >&2; exit 125; }
  if [ -n "$HIDE" ]; then
    printf '%s\n' "$HIDE" | while read -r p; do
      [ -d "$p" ] || continue
      mount -t tmpfs -o size=4k,ro,mode=0555 hidden "$p" || { echo "sandbox: cannot hide $p" >&2; exit 125; }
    done || exit 125
  fi
  mount --bind "$W" "$W" || { echo "sandbox: cannot bind the workdir" >&2; exit 125; }
  mount -o remount,bind,ro / || { echo "sandbox: cannot make / read-only" >&2; exit 125; }
  awk '{print $2}' /proc/self/mounts | while read -r m; do
    case "$m" in /|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
    [ "$m" = "$W" ] && continue
    mount -o remount,bind,ro "$m" 2>/dev/null
  done
  mount -t tmpfs -o "size=\${SHM_MB}m,mode=1777,nosuid,nodev" tmpfs /dev/shm 2>/dev/null \\
    || mount -o remount,bind,ro /dev/shm 2>/dev/null
fi
cd "$W" || { echo "sandbox: cannot enter the workdir" >&2; exit 125; }
if [ "$MEM_KB" -gt 0 ]; then ulimit -v "$MEM_KB" || exit 125; fi
if [ "$FSIZE_KB" -gt 0 ]; then ulimit -f "$FSIZE_KB" || exit 125; fi
exec "$@" 2>&1
`;

export interface WrapOptions {
  workdir: string;
  memoryKb: number;
  fileSizeKb: number;
  shmMb: number;
  /** Folders the run must not see (never an ancestor of the workdir). */
  hide?: string[];
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function prefixFor(mode: IsolationInfo['mode'], parentDeath: boolean, dropToNobody = false): string[] {
  const death = parentDeath ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
  if (dropToNobody) {
    // The uid drop comes last, after any namespace set-up that needs root.
    const drop = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];
    if (mode === 'net-only') return [...death, 'unshare', '--net', '--', ...drop];
    if (mode === 'none') return parentDeath ? ['setpriv', '--pdeathsig', 'KILL', ...drop.slice(1)] : drop;
  }
  switch (mode) {
    case 'namespaces':
      return [...death, 'unshare', '--kill-child', '--pid', '--mount-proc', '--mount', '--net', '--'];
    case 'user-namespaces':
      return [...death, 'unshare', '--user', '--map-root-user', '--kill-child', '--pid', '--mount-proc', '--mount', '--net', '--'];
    case 'net-only':
      return [...death, 'unshare', '--net', '--'];
    case 'none':
      return death;
  }
}

/** The argv that runs `command` in the sandbox. */
export function wrapCommand(info: IsolationInfo, opts: WrapOptions, command: string[]): string[] {
  const fs = info.filesystem ? '1' : '0';
  return [
    ...prefixFor(info.mode, info.parentDeath, info.dropToNobody && !info.filesystem),
    'sh',
    '-c',
    SANDBOX_SCRIPT,
    'sandbox',
    opts.workdir,
    String(Math.max(0, Math.floor(opts.memoryKb))),
    String(Math.max(0, Math.floor(opts.fileSizeKb))),
    String(Math.max(1, Math.floor(opts.shmMb))),
    fs,
    (opts.hide ?? []).join('\n'),
    ...command,
  ];
}

function tryMode(mode: IsolationInfo['mode'], parentDeath: boolean, dir: string): { ok: boolean; why: string } {
  const info: IsolationInfo = {
    mode,
    network: mode !== 'none',
    filesystem: mode === 'namespaces' || mode === 'user-namespaces',
    pid: mode === 'namespaces' || mode === 'user-namespaces',
    parentDeath,
    notes: [],
  };
  // The probe proves the confinement: writing inside the workdir works, writing to its parent must not.
  const probe = info.filesystem
    ? `touch ./inside && ! touch ../outside-probe 2>/dev/null`
    : 'true';
  const argv = wrapCommand(info, { workdir: dir, memoryKb: 0, fileSizeKb: 0, shmMb: 16 }, ['sh', '-c', probe]);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
  const ok = r.status === 0;
  return { ok, why: ok ? '' : `${mode}: ${(r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim().split('\n')[0]}` };
}

let cached: IsolationInfo | undefined;

/** Probes once per process; `disable` (or IDEATOR_SANDBOX=off) forces mode 'none'. */
export function probeIsolation(opts: { disable?: boolean } = {}): IsolationInfo {
  const disabled = opts.disable || process.env.IDEATOR_SANDBOX === 'off';
  if (cached && !disabled) return cached;
  const parentDeath = has('setpriv');
  const notes: string[] = [];
  if (!parentDeath) notes.push('setpriv not found: runs may outlive a killed server');
  if (disabled) return { mode: 'none', network: false, filesystem: false, pid: false, parentDeath, notes: ['isolation disabled by configuration'] };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const modes: IsolationInfo['mode'][] = has('unshare')
    ? root
      ? ['namespaces', 'user-namespaces', 'net-only']
      : ['user-namespaces', 'net-only']
    : [];
  if (!modes.length) notes.push('unshare not found');
  const base = mkdtempSync(join(tmpdir(), 'ideator-probe-'));
  const dir = join(base, 'w');
  try {
    for (const mode of modes) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      const r = tryMode(mode, parentDeath, dir);
      if (r.ok) {
        cached = {
          mode,
          network: true,
          filesystem: mode !== 'net-only',
          pid: mode !== 'net-only',
          parentDeath,
          notes,
        };
        return withUidFallback(cached, root);
      }
      notes.push(r.why);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  cached = { mode: 'none', network: false, filesystem: false, pid: false, parentDeath, notes };
  return withUidFallback(cached, root);
}

/**
 * Keeps the nobody fallback only if it works here: nobody must reach the work folder and run the interpreter (a
 * venv under /root, mode 0700, would not be). Otherwise runs stay root and /healthz says writes are not confined.
 */
export function confirmUidFallback(info: IsolationInfo, python: string, workRoot: string): IsolationInfo {
  if (!info.dropToNobody) return info;
  const dir = mkdtempSync(join(workRoot, `${process.pid}-probe-`));
  try {
    const argv = wrapCommand(info, { workdir: dir, memoryKb: 0, fileSizeKb: 0, shmMb: 16 }, [python, '-c', 'open("probe", "w").write("ok")']);
    chmodSync(dir, 0o777);
    const r = spawnSync(argv[0], argv.slice(1), { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return info;
    const why = (r.stdout || r.stderr || `exit ${r.status}`).trim().split('\n').pop();
    return { ...info, dropToNobody: false, notes: [...info.notes.filter((n) => !n.startsWith('no mount namespace')), `cannot run as uid ${NOBODY} here (${why}): runs keep the server's user`] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Root without a mount namespace: confine writes by running as nobody (when setpriv is there to do it). */
function withUidFallback(info: IsolationInfo, root: boolean): IsolationInfo {
  if (!root || info.filesystem || !has('setpriv')) return info;
  info.dropToNobody = true;
  info.notes.push(`no mount namespace: runs execute as uid ${NOBODY} (writes limited to the workdir and world-writable folders)`);
  return info;
}
