/**
 * The bubblewrap command line of one run, as a pure function of the request and the host's facts (so it is
 * unit-tested without bubblewrap): a user namespace mapping the run to uid 65534 with no capabilities and no way
 * to create another, its own pid/net/ipc/uts namespaces, and a root assembled from read-only binds — /usr and the
 * /bin,/lib… links, a few /etc basics with a synthetic passwd/group, a fresh /proc with its host-writable corners
 * read-only, a minimal /dev (plus only the run's own /dev/nvidiaN and the NVIDIA control devices), the
 * interpreter's prefixes, the workdir at /sandbox (its .tmp at /tmp) and the caller's binds — then remounted
 * read-only at /. isolation.ts probes the host, adds the seccomp fd and the cgroup/rlimit wrapper.
 */
import { join } from 'node:path';

export const SANDBOX_UID = 65534;
/** Where the run's workdir appears inside the sandbox. */
export const WORK_INSIDE = '/sandbox';

export interface RunLimits {
  timeoutMs: number;
  /** Total memory of the run in MiB (cgroup), or RLIMIT_AS per process without one; 0 = none. */
  memoryMb: number;
  maxOutputBytes: number;
  /** RLIMIT_FSIZE: the largest single file. */
  maxFileMb: number;
  /** Size of the run's /dev/shm. */
  shmMb: number;
  /** Processes + threads of the whole run. */
  maxProcesses: number;
  /** Size of the workdir (tmpfs, as root). */
  diskMb: number;
  /** CPU quota in cores (0 = none). */
  cpus: number;
}

export interface Bind {
  host: string;
  inside: string;
  /** Read-write (only workdirs are). */
  rw?: boolean;
  /**
   * An empty read-only folder at `inside` (a tmpfs; `host` unused), hiding what an earlier bind shows there (ideator
   * verify: a .git inside a data folder bound whole; a file is hidden by binding an empty file over it).
   */
  emptyDir?: boolean;
}

export interface WrapRequest {
  /** Host folder bound read-write at /sandbox (the cwd). */
  workdir: string;
  /** More binds, read-only unless rw. */
  binds?: Bind[];
  /** The interpreter the command runs (its prefixes are bound read-only). */
  python: string;
  /** GPU ids whose /dev/nvidiaN is bound in. */
  gpus?: string[];
  /**
   * Host folders that must stay out of the run: an interpreter folder (pythonRoots) holding one of them is not bound
   * (ideator verify: the workspace, with its .env and .git, and the home folder, which an editable install's .pth can
   * put on sys.path).
   */
  privatePaths?: string[];
  limits: RunLimits;
  /** The fd number the seccomp program gets (after the caller's own extra fds); default 3. */
  firstFd?: number;
}

/** An entry of the host's / that the run needs: a symlink (merged /usr) or a folder bound read-only. */
export interface RootEntry {
  path: string;
  link?: string;
}

const ETC_BASICS = ['ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives', 'ssl/certs', 'ca-certificates', 'localtime', 'timezone', 'nsswitch.conf', 'hosts', 'mime.types', 'os-release', 'fonts', 'matplotlibrc'];
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs', '/proc/acpi', '/proc/scsi'];
export const NVIDIA_CONTROL = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset', 'nvidia-caps'];

export interface BwrapArgsInput {
  req: WrapRequest;
  /** --disable-userns works on this kernel (bubblewrap ≥ 0.8). */
  disableUserns: boolean;
  /** Where the GPU device nodes are (/dev). */
  devRoot: string;
  /** The synthetic /etc/passwd and /etc/group files. */
  passwd: string;
  group: string;
  /** The interpreter's folders outside /usr (pythonRoots in isolation.ts). */
  pythonRoots: string[];
  rootEntries: RootEntry[];
}

/** bubblewrap's options for one run (without --seccomp, which needs an fd, and without the command). */
export function bwrapArgs(o: BwrapArgsInput): string[] {
const { req } = o;
const l = req.limits;
const args: string[] = [
    '--unshare-user',
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    ...(o.disableUserns ? ['--disable-userns'] : []),
    // No cgroup namespace: on cgroup v1 a new one for a process already moved into the run's cgroup costs about
    // 9 ms per run (measured, bench/sandbox.ts), and all it would hide is the run's own cgroup path (no /sys is
    // mounted; the run cannot write to cgroupfs without capabilities).
    '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts',
    '--hostname', 'ideator-sandbox',
    '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
    '--ro-bind', '/usr', '/usr',
  ];
  for (const e of o.rootEntries) {
    if (e.link !== undefined) args.push('--symlink', e.link, e.path);
    else args.push('--ro-bind', e.path, e.path);
  }
  for (const name of ETC_BASICS) args.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);
  args.push('--ro-bind', o.passwd, '/etc/passwd', '--ro-bind', o.group, '/etc/group');
  args.push('--proc', '/proc');
  // The run's uid maps to the server's uid outside (root, for a root server). It has no capabilities, but the
  // kernel checks /proc/sys and a few /proc files by owner only: they must be read-only (core_pattern would
  // otherwise run a program of the run's choosing as root on the host).
  for (const p of PROC_READ_ONLY) args.push('--ro-bind-try', p, p);
  args.push('--dev', '/dev', '--size', String(Math.max(1, l.shmMb) * 1024 * 1024), '--tmpfs', '/dev/shm');
  const gpus = (req.gpus ?? []).filter((id) => /^\d+$/.test(id));
  for (const id of gpus) args.push('--dev-bind-try', join(o.devRoot, `nvidia${id}`), `/dev/nvidia${id}`);
  if (gpus.length) {
    for (const c of NVIDIA_CONTROL) args.push('--dev-bind-try', join(o.devRoot, c), `/dev/${c}`);
    // CUDA's driver reads PCI topology from /sys; read-only.
    args.push('--ro-bind-try', '/sys', '/sys');
  }
  // /tmp first: an interpreter that lives under /tmp (a checkout there) is bound over it, not hidden by it.
  args.push('--bind', join(req.workdir, '.tmp'), '/tmp');
  for (const dir of o.pythonRoots) args.push('--ro-bind', dir, dir);
  args.push('--bind', req.workdir, WORK_INSIDE);
  for (const b of req.binds ?? []) {
    const target = b.inside.startsWith('/') ? b.inside : join(WORK_INSIDE, b.inside);
    if (b.emptyDir) args.push('--tmpfs', target, '--remount-ro', target);
    else args.push(b.rw ? '--bind' : '--ro-bind', b.host, target);
  }
  // The assembled root itself (a tmpfs) is read-only too: only /sandbox, /tmp (a folder of it) and /dev/shm take writes.
  args.push('--remount-ro', '/', '--chdir', WORK_INSIDE);
  return args;
}
