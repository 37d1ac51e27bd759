/**
 * The one sandbox every untrusted execution goes through (reward and baseline runs, graders, the bench agent's
 * actions), built on bubblewrap instead of a hand-written script, and the probe that finds out once per process
 * what this host lets it enforce (reported by /healthz and `ideator doctor`).
 *
 * Inside bubblewrap (its options: bwrapArgs.ts) the code runs as uid 65534 with no capabilities, no_new_privs and
 * the seccomp filter of seccomp.ts, unable to create user namespaces, in its own user/mount/pid/net/ipc/uts
 * namespaces, on a root assembled from read-only binds, with a writable workdir at /sandbox. Everything else — the
 * task's private answers, the data dir and its store, other runs, the server's files and home — is absent, not
 * hidden.
 *
 * Limits are per run: a cgroup (v1 or v2) caps processes, memory (+swap) and CPU; where none is granted, RLIMIT_NPROC
 * (counted per run: each run has its own user namespace) and RLIMIT_AS stand in. Disk: as root the workdir is a
 * tmpfs of a fixed size (runDirs.ts), /tmp is a folder of it; otherwise only RLIMIT_FSIZE bounds each file.
 * Without bubblewrap (macOS, Windows, a container that forbids namespaces) runs say plainly they are not isolated,
 * and the reward service refuses to start unless told loudly to go on.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { CgroupManager, type CgroupLimits, type RunGroup } from './cgroup';
import { bwrapArgs, SANDBOX_UID, WORK_INSIDE, type RootEntry, type WrapRequest } from './bwrapArgs';
import { deniedSyscalls, seccompProgram } from './seccomp';
import { processAlive } from './runDirs';

export type LimitMechanism = 'cgroup-v1' | 'cgroup-v2' | 'rlimit' | 'none';

export interface IsolationInfo {
  /** 'bubblewrap', or 'none' (no confinement: the host lacks it, or it was turned off). */
  mode: 'bubblewrap' | 'none';
  bwrapVersion?: string;
  /** Runs have no network (their own network namespace, loopback only). */
  network: boolean;
  /** Runs see only what is bound in, read-only except their workdir. */
  filesystem: boolean;
  /** Runs live in their own pid namespace (the whole tree dies with the run). */
  pid: boolean;
  /** Runs die with the server (parent-death signal). */
  parentDeath: boolean;
  /** Unprivileged uid, no capabilities, no_new_privs. */
  unprivileged: boolean;
  /** Runs cannot create user namespaces. */
  noUserNamespaces: boolean;
  seccomp: boolean;
  limits: {
    processes: LimitMechanism;
    memory: LimitMechanism;
    cpu: LimitMechanism;
    disk: 'tmpfs' | 'rlimit-per-file' | 'none';
    wallTime: true;
    output: true;
  };
  /** Everything the reward service requires is enforced. */
  minimumMet: boolean;
  /** What is missing from that minimum, in words. */
  missing: string[];
  notes: string[];
}

export interface Wrapped {
  argv: string[];
  /** The cwd to spawn with (host path of the workdir). */
  cwd: string;
  /** Path of the workdir as the run sees it. */
  inside: string;
  /** Extra stdio fds to pass (fd 3 = the seccomp program). */
  extraFds: number[];
  /** The run's cgroup, if any: kill / stats / remove after the run. */
  group?: RunGroup;
  /** Close the fds and remove the cgroup (after the run). */
  release(): { groupRemoved: boolean };
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * When the command itself could not be started — by bubblewrap ("bwrap: execvp /x/python: No such file or
 * directory") or by the in-sandbox watchdog, coreutils' timeout ("/usr/bin/timeout: failed to run command
 * ‘/x/python’: No such file or directory") — the reason; null for anything the command printed. Callers turn it into
 * "cannot start", not a crash of the code.
 */
export function execFailure(outputHead: string): string | null {
  const head = outputHead.slice(0, 2000).trimStart();
  const bwrap = /^bwrap: execvp [^\n]*?: ([^\n]+)$/m.exec(head);
  if (bwrap && head.startsWith('bwrap: ')) return bwrap[1].trim();
  const watchdog = /^(?:\S*\/)?timeout: failed to run command [^\n]*?: ([^\n]+)$/m.exec(head);
  return watchdog && watchdog.index === 0 ? watchdog[1].trim() : null;
}


/** The user's home folder (as named and as resolved): never to be bound whole into a run. */
export function homeFolders(): string[] {
  const home = homedir();
  if (!home || home === '/') return [];
  try {
    return [...new Set([home, realpathSync(home)])];
  } catch {
    return [home];
  }
}

/** The interpreter folders that hold (or are) one of `privatePaths`: never bound (WrapRequest.privatePaths). */
export function rootsHoldingPrivate(roots: readonly string[], privatePaths: readonly string[] = []): string[] {
  const holds = (outer: string, inner: string) => inner === outer || inner.startsWith(outer.endsWith('/') ? outer : outer + '/');
  return roots.filter((d) => privatePaths.some((p) => holds(d, p)));
}

/** Every folder the interpreter names (prefixes, its own folders, sys.path entries), outside /usr; asked of it once. */
const pythonDirsCache = new Map<string, string[]>();
export function pythonDirs(python: string): string[] {
  let dirs = pythonDirsCache.get(python);
  if (dirs) return dirs;
  const code = 'import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.path.realpath(sys.executable))] + [p for p in sys.path if p]))';
  const r = spawnSync(python, ['-I', '-c', code], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const found: string[] = [];
  try {
    found.push(...(JSON.parse(r.stdout) as string[]));
  } catch {
    // not a Python we can ask: bind its folder only
  }
  if (python.includes('/')) {
    found.push(dirname(resolve(python)), dirname(dirname(resolve(python))));
    try {
      found.push(dirname(realpathSync(python)));
    } catch {
      // a dangling interpreter path fails later, with its own message
    }
  }
  // /usr is bound whole; never / itself.
  dirs = [...new Set(found.filter((p) => p.startsWith('/') && existsSync(p)).map((p) => (lstatSync(p).isDirectory() ? p : dirname(p))))].filter((d) => d !== '/' && d !== '/usr' && !d.startsWith('/usr/'));
  pythonDirsCache.set(python, dirs);
  return dirs;
}

/**
 * Folders an interpreter needs (its venv, its base installation, extra sys.path entries): the outermost of
 * pythonDirs, leaving out any that holds one of `privatePaths` (the folders inside it are then bound one by one).
 */
export function pythonRoots(python: string, privatePaths: readonly string[] = []): string[] {
  const held = new Set(rootsHoldingPrivate(pythonDirs(python), privatePaths));
  return pythonDirs(python)
    .filter((d) => !held.has(d))
    .sort((a, b) => a.length - b.length)
    .filter((d, i, all) => !all.slice(0, i).some((o) => d.startsWith(o + '/')));
}

export interface HostOptions {
  /** Turn the sandbox off (development only; the reward service then needs an explicit opt-out). */
  disable?: boolean;
  /** bubblewrap binary; default env IDEATOR_BWRAP, else bwrap on PATH. */
  bwrap?: string;
  /** cgroup mount point (tests). */
  cgroupRoot?: string;
  /** Skip cgroups even where granted (tests of the fallback). */
  noCgroups?: boolean;
  /** Where the GPU device nodes are (tests with stand-in nodes); default /dev. */
  devRoot?: string;
  /** Seconds after its limit the in-sandbox watchdog kills a run (tests); default WATCHDOG_GRACE_S. */
  watchdogGraceS?: number;
}

/**
 * What this host enforces, and the wrapper that applies it. One per process (see `sandboxHost()`); `ideator
 * doctor` prints `info` and attacks it.
 */
export class SandboxHost {
  readonly info: IsolationInfo;
  private readonly bwrap?: string;
  private readonly privateDir: string;
  private readonly seccompFile?: string;
  private readonly cgroups?: CgroupManager;
  private readonly disableUserns: boolean;
  private readonly devRoot: string;
  /**
   * `setpriv --pdeathsig KILL`: the run's first process dies with the server from its first instruction on.
   * bubblewrap's own --die-with-parent is set only once bubblewrap runs, after the cgroup join (which can wait
   * ~10 ms): a server killed inside that window would otherwise leave the run going until its time limit.
   */
  private readonly deathPrefix: string[];
  private readonly timeoutBin?: string;
  private readonly prlimit?: string;
  private readonly watchdogGraceS: number;
  readonly rootTmpfs: boolean;

  constructor(opts: HostOptions = {}) {
    const notes: string[] = [];
    this.devRoot = opts.devRoot ?? '/dev';
    const setpriv = which('setpriv');
    this.deathPrefix = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
    this.timeoutBin = which('timeout');
    this.prlimit = which('prlimit');
    this.watchdogGraceS = opts.watchdogGraceS ?? WATCHDOG_GRACE_S;
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    this.privateDir = mkdtempSync(join(tmpdir(), 'ideator-sandbox-'));
    chmodSync(this.privateDir, 0o700);
    process.once('exit', () => rmSync(this.privateDir, { recursive: true, force: true }));
    const disabled = opts.disable || process.env.IDEATOR_SANDBOX === 'off';
    const bwrap = disabled ? undefined : (opts.bwrap ?? (process.env.IDEATOR_BWRAP?.trim() || which('bwrap')));
    if (disabled) notes.push('sandbox turned off by configuration: code runs with the server’s user, files and network');
    else if (!bwrap) notes.push('bubblewrap (bwrap) not found: install it (Debian/Ubuntu: apt-get install bubblewrap); runs are NOT isolated');

    // The synthetic /etc/passwd and /etc/group: the run's user exists (getpass, torch's cache paths) and nothing else.
    writeFileSync(join(this.privateDir, 'passwd'), `root:x:0:0:root:/root:/bin/sh\nsandbox:x:${SANDBOX_UID}:${SANDBOX_UID}:sandbox:${WORK_INSIDE}/.home:/bin/sh\n`);
    writeFileSync(join(this.privateDir, 'group'), `root:x:0:\nsandbox:x:${SANDBOX_UID}:\n`);
    const program = seccompProgram();
    if (program) {
      this.seccompFile = join(this.privateDir, 'seccomp.bpf');
      writeFileSync(this.seccompFile, program);
    } else notes.push(`no seccomp filter for ${process.arch}`);

    let version: string | undefined;
    let works = false;
    let disableUserns = true;
    if (bwrap) {
      const v = spawnSync(bwrap, ['--version'], { encoding: 'utf8' });
      version = v.stdout?.trim().replace(/^bubblewrap\s*/, '') || undefined;
      this.bwrap = bwrap;
      for (const tryDisable of [true, false]) {
        this.disableUserns = tryDisable;
        const r = this.trial();
        if (r.ok) {
          works = true;
          disableUserns = tryDisable;
          break;
        }
        notes.push(`bubblewrap${tryDisable ? ' with --disable-userns' : ''} failed: ${r.why}`);
      }
      if (!works) this.bwrap = undefined;
    }
    this.disableUserns = disableUserns;

    if (this.bwrap && !opts.noCgroups && (root || existsSync('/sys/fs/cgroup/cgroup.controllers'))) {
      const cg = CgroupManager.detect({ root: opts.cgroupRoot });
      if (cg instanceof CgroupManager) {
        this.cgroups = cg;
        cg.sweep(processAlive);
      } else notes.push(`no cgroup for runs (${cg.reason}): limits fall back to rlimits`);
    } else if (this.bwrap && !opts.noCgroups) notes.push('no cgroup for runs (needs root or a delegated cgroup v2 subtree): limits fall back to rlimits');
    if (this.cgroups && readTrimmed('/sys/kernel/rcu_expedited') === '0') {
      notes.push('moving each run into its cgroup waits for a kernel RCU grace period (about 10 ms of latency per run, no CPU); `echo 1 > /sys/kernel/rcu_expedited` removes most of it at the cost of some cross-CPU interrupts');
    }
    this.rootTmpfs = Boolean(this.bwrap) && root && canMountTmpfs(this.privateDir);
    if (this.bwrap && !this.rootTmpfs) notes.push('workdirs are not size-capped (a tmpfs mount needs root): only RLIMIT_FSIZE bounds each file');

    const isolated = Boolean(this.bwrap);
    const cgv: LimitMechanism = this.cgroups ? (`cgroup-v${this.cgroups.version}` as LimitMechanism) : 'none';
    const limits: IsolationInfo['limits'] = {
      processes: this.cgroups?.controllers.pids ? cgv : 'rlimit',
      memory: this.cgroups?.controllers.memory ? cgv : 'rlimit',
      cpu: this.cgroups?.controllers.cpu ? cgv : 'none',
      disk: this.rootTmpfs ? 'tmpfs' : 'rlimit-per-file',
      wallTime: true,
      output: true,
    };
    if (!isolated) {
      // Without namespaces RLIMIT_NPROC counts every process of the server's user: it is no per-run limit.
      limits.processes = 'none';
    }
    const missing: string[] = [];
    if (!isolated) missing.push('bubblewrap isolation (namespaces, unprivileged uid, no network, read-only root)');
    if (isolated && !this.seccompFile) missing.push('the seccomp filter');
    if (limits.processes === 'none') missing.push('a per-run process limit');
    if (!limits.memory.startsWith('cgroup')) missing.push('a per-run memory limit (a cgroup: run as root or in a delegated cgroup v2 subtree)');
    if (limits.disk !== 'tmpfs') missing.push('a per-run disk cap (tmpfs workdirs: run as root)');
    this.info = {
      mode: isolated ? 'bubblewrap' : 'none',
      ...(version ? { bwrapVersion: version } : {}),
      network: isolated,
      filesystem: isolated,
      pid: isolated,
      parentDeath: isolated,
      unprivileged: isolated,
      noUserNamespaces: isolated && (disableUserns || Boolean(this.seccompFile)),
      seccomp: isolated && Boolean(this.seccompFile),
      limits,
      minimumMet: missing.length === 0,
      missing,
      notes,
    };
  }

  /**
   * The run's own time limit, enforced inside its namespace (coreutils `timeout`, SIGKILL): the server kills a run
   * at its limit, but a run whose server died while it was starting (before bubblewrap's parent-death signal was
   * armed in its child) has nobody left to do so. With this it ends WATCHDOG_GRACE_S after its limit at the
   * latest, and the end of the command ends the whole pid namespace.
   */
  private watchdog(timeoutMs: number): string[] {
    if (!this.timeoutBin || !(timeoutMs > 0)) return [];
    return [this.timeoutBin, '--signal=KILL', `${Math.ceil(timeoutMs / 1000) + this.watchdogGraceS}s`];
  }

  get isolated(): boolean {
    return this.info.mode === 'bubblewrap';
  }

  /** One real run of the full wrapper: proves the options work on this kernel and that the run is confined. */
  private trial(): { ok: boolean; why: string } {
    const dir = mkdtempSync(join(this.privateDir, 'trial-'));
    try {
      const check = [
        '[ "$(id -u)" = ' + SANDBOX_UID + ' ] || { echo "uid is $(id -u)"; exit 3; }',
        'grep -q "^CapEff:\\s*0*$" /proc/self/status || { echo "capabilities left"; exit 3; }',
        'grep -q "^NoNewPrivs:\\s*1" /proc/self/status || { echo "no_new_privs unset"; exit 3; }',
        '! touch /usr/.ideator-probe 2>/dev/null || { echo "/usr writable"; exit 3; }',
        'touch ./inside || { echo "workdir not writable"; exit 3; }',
        '[ "$(grep -c : /proc/net/dev)" -le 1 ] || { echo "network interfaces visible"; exit 3; }',
      ].join('\n');
      const w = this.wrap({ workdir: dir, python: '/bin/sh', limits: { timeoutMs: 15_000, memoryMb: 0, maxOutputBytes: 1 << 20, maxFileMb: 16, shmMb: 16, maxProcesses: 64, diskMb: 16, cpus: 0 } }, ['/bin/sh', '-c', check]);
      try {
        const r = spawnSync(w.argv[0], w.argv.slice(1), { cwd: w.cwd, encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe', ...w.extraFds], env: { PATH: '/usr/bin:/bin' } });
        const ok = r.status === 0;
        return { ok, why: ok ? '' : (r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim().split('\n')[0] };
      } finally {
        w.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * The argv that runs `command` under the sandbox (or bare, with rlimits, when there is none). Throws when the
   * run's cgroup cannot be created: a run never silently goes unconfined.
   */
  wrap(req: WrapRequest, command: string[]): Wrapped {
    const l = req.limits;
    const fds: number[] = [];
    let group: RunGroup | undefined;
    const release = () => {
      for (const fd of fds.splice(0)) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
      return { groupRemoved: group ? group.remove() : true };
    };
    mkdirSync(join(req.workdir, '.tmp'), { recursive: true });
    mkdirSync(join(req.workdir, '.home'), { recursive: true });
    const memBytes = l.memoryMb > 0 ? l.memoryMb * 1024 * 1024 : 0;
    const cg = this.cgroups;
    if (cg && this.bwrap) {
      const limits: CgroupLimits = { pids: l.maxProcesses, memoryBytes: memBytes, cpus: l.cpus };
      group = cg.create(limits);
    }
    const rlimits = [`--core=0`, `--fsize=${Math.max(1, l.maxFileMb) * 1024 * 1024}`];
    if (this.bwrap) rlimits.push(`--nproc=${Math.max(8, l.maxProcesses)}`);
    if (memBytes > 0 && !cg?.controllers.memory) rlimits.push(`--as=${memBytes}`);
    const limitPrefix = this.prlimit ? [this.prlimit, ...rlimits, '--'] : [];
    if (!this.bwrap) {
      return { argv: [...limitPrefix, ...command], cwd: req.workdir, inside: req.workdir, extraFds: [], release };
    }
    const args = bwrapArgs({
      req,
      disableUserns: this.disableUserns,
      devRoot: this.devRoot,
      passwd: join(this.privateDir, 'passwd'),
      group: join(this.privateDir, 'group'),
      pythonRoots: req.python.startsWith('/') ? pythonRoots(req.python, req.privatePaths) : [],
      rootEntries: rootEntries(),
    });
    if (this.seccompFile) {
      const fd = openSync(this.seccompFile, 'r');
      fds.push(fd);
      args.push('--seccomp', String(req.firstFd ?? 3));
    }
    // The first process joins the run's cgroup before anything else starts, then drops to the limits and bwrap.
    const join_ = group?.procFiles.length
      ? ['/bin/sh', '-c', 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"', 'join-cgroup', String(group.procFiles.length), ...group.procFiles]
      : [];
    return {
      argv: [...this.deathPrefix, ...join_, ...limitPrefix, this.bwrap, ...args, '--', ...this.watchdog(l.timeoutMs), ...command],
      cwd: req.workdir,
      inside: WORK_INSIDE,
      extraFds: fds,
      group,
      release,
    };
  }
}

/** How long after its limit the in-sandbox watchdog kills a run the server did not (the server normally does). */
export const WATCHDOG_GRACE_S = 10;

/** What the host's / holds of /bin, /lib… (links on merged-/usr systems, folders elsewhere), read once. */
let rootEntriesCache: RootEntry[] | undefined;
function rootEntries(): RootEntry[] {
  if (rootEntriesCache) return rootEntriesCache;
  const found: RootEntry[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const p = `/${name}`;
    if (!existsSync(p)) continue;
    const st = lstatSync(p);
    if (st.isSymbolicLink()) found.push({ path: p, link: readlinkSync(p) });
    else if (st.isDirectory()) found.push({ path: p });
  }
  return (rootEntriesCache = found);
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function canMountTmpfs(base: string): boolean {
  const dir = mkdtempSync(join(base, 'mount-'));
  try {
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'ideator-probe', dir], { stdio: 'ignore' });
    if (m.status !== 0) return false;
    spawnSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hosts = new Map<string, SandboxHost>();

/** The process's sandbox host (probed once per option set). */
export function sandboxHost(opts: HostOptions = {}): SandboxHost {
  const key = JSON.stringify({ ...opts, env: process.env.IDEATOR_SANDBOX === 'off' });
  let h = hosts.get(key);
  if (!h) {
    h = new SandboxHost(opts);
    hosts.set(key, h);
  }
  return h;
}

/** The syscalls the filter refuses (doctor). */
export { deniedSyscalls };
