/**
 * The sandbox's seccomp filter, assembled here as classic BPF (the format bubblewrap's `--seccomp FD` loads), so no
 * native library or compiler is needed. It is a deny list on top of bubblewrap's own confinement (no capabilities,
 * no_new_privs): the calls below either need privileges the run does not have anyway or widen the kernel's attack
 * surface, and a few would undo the confinement if a kernel bug let them through.
 *
 * - namespaces: `clone`/`unshare` with CLONE_NEWUSER and `setns` → EPERM; `clone3` → ENOSYS (its flags live in
 *   memory BPF cannot read; glibc then falls back to `clone`, as under Docker's profile);
 * - mounts and roots: mount, umount2, pivot_root, chroot, the new mount API (open_tree … mount_setattr);
 * - other processes: ptrace, process_vm_readv/writev;
 * - kernel state: keyctl/add_key/request_key, bpf, perf_event_open, userfaultfd, io_uring, kexec, modules,
 *   reboot, swap, acct, syslog, quotactl, iopl/ioperm, open_by_handle_at, fanotify, vhangup;
 * - terminals: ioctl TIOCSTI / TIOCLINUX (typing into a terminal outside);
 * - a foreign architecture (32-bit x86 syscalls on x86_64, x32) kills the process.
 *
 * Supported: x86_64 and aarch64; elsewhere `seccompProgram` returns undefined and the probe reports seccomp off.
 */

// Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;

/** Offsets in struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64), args[6] (u64, little-endian). */
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;

const CLONE_NEWUSER = 0x10000000;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const X32_SYSCALL_BIT = 0x40000000;

interface ArchTable {
  audit: number;
  x32: boolean;
  clone: number;
  clone3: number;
  unshare: number;
  ioctl: number;
  /** Denied with EPERM, by name (for the doctor's table and the tests). */
  deny: Record<string, number>;
}

const COMMON_NEW_MOUNT_API = { open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427 };

export const ARCHES: Record<string, ArchTable> = {
  x64: {
    audit: 0xc000003e,
    x32: true,
    clone: 56,
    clone3: 435,
    unshare: 272,
    ioctl: 16,
    deny: {
      ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, mount: 165, umount2: 166, pivot_root: 155, chroot: 161,
      setns: 308, swapon: 167, swapoff: 168, reboot: 169, sethostname: 170, setdomainname: 171, iopl: 172, ioperm: 173,
      init_module: 175, finit_module: 313, delete_module: 176, quotactl: 179, acct: 163, kexec_load: 246, kexec_file_load: 320,
      add_key: 248, request_key: 249, keyctl: 250, bpf: 321, perf_event_open: 298, userfaultfd: 323, syslog: 103,
      open_by_handle_at: 304, name_to_handle_at: 303, lookup_dcookie: 212, fanotify_init: 300, vhangup: 153,
      ...COMMON_NEW_MOUNT_API,
    },
  },
  arm64: {
    audit: 0xc00000b7,
    x32: false,
    clone: 220,
    clone3: 435,
    unshare: 97,
    ioctl: 29,
    deny: {
      ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, mount: 40, umount2: 39, pivot_root: 41, chroot: 51,
      setns: 268, swapon: 224, swapoff: 225, reboot: 142, sethostname: 161, setdomainname: 162,
      init_module: 105, finit_module: 273, delete_module: 106, quotactl: 60, acct: 89, kexec_load: 104, kexec_file_load: 294,
      add_key: 217, request_key: 218, keyctl: 219, bpf: 280, perf_event_open: 241, userfaultfd: 282, syslog: 116,
      open_by_handle_at: 265, name_to_handle_at: 264, lookup_dcookie: 18, fanotify_init: 262, vhangup: 58,
      ...COMMON_NEW_MOUNT_API,
    },
  },
};

type Insn = { code: number; jt: number | string; jf: number | string; k: number; label?: string };

/** The filter for `arch` (Node's process.arch), as the bytes of a sock_filter array; undefined if unsupported. */
export function seccompProgram(arch: string = process.arch): Buffer | undefined {
  const t = ARCHES[arch];
  if (!t) return undefined;
  const p: Insn[] = [];
  const stmt = (code: number, k: number, label?: string) => p.push({ code, jt: 0, jf: 0, k, label });
  const jump = (code: number, k: number, jt: number | string, jf: number | string) => p.push({ code, jt, jf, k });

  stmt(LD_W_ABS, OFF_ARCH);
  jump(JEQ_K, t.audit, 0, 'kill');
  stmt(LD_W_ABS, OFF_NR);
  if (t.x32) jump(JGE_K, X32_SYSCALL_BIT, 'kill', 0);
  for (const nr of Object.values(t.deny)) jump(JEQ_K, nr, 'eperm', 0);
  jump(JEQ_K, t.clone3, 'enosys', 0);
  jump(JEQ_K, t.clone, 'flags', 0);
  jump(JEQ_K, t.unshare, 'flags', 0);
  jump(JEQ_K, t.ioctl, 'ioctl', 0);
  stmt(RET_K, RET_ALLOW);
  stmt(LD_W_ABS, argLow(0), 'flags');
  jump(JSET_K, CLONE_NEWUSER, 'eperm', 0);
  stmt(RET_K, RET_ALLOW);
  stmt(LD_W_ABS, argLow(1), 'ioctl');
  jump(JEQ_K, TIOCSTI, 'eperm', 0);
  jump(JEQ_K, TIOCLINUX, 'eperm', 0);
  stmt(RET_K, RET_ALLOW);
  stmt(RET_K, RET_ERRNO | EPERM, 'eperm');
  stmt(RET_K, RET_ERRNO | ENOSYS, 'enosys');
  stmt(RET_K, RET_KILL_PROCESS, 'kill');

  const at = new Map<string, number>();
  p.forEach((insn, i) => insn.label && at.set(insn.label, i));
  const buf = Buffer.alloc(p.length * 8);
  p.forEach((insn, i) => {
    const rel = (target: number | string) => {
      if (typeof target === 'number') return target;
      const off = at.get(target)! - i - 1;
      if (off < 0 || off > 255) throw new Error(`seccomp: jump to ${target} out of range`);
      return off;
    };
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(rel(insn.jt), i * 8 + 2);
    buf.writeUInt8(rel(insn.jf), i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The names of the calls the filter refuses outright (for the doctor's table). */
export function deniedSyscalls(arch: string = process.arch): string[] {
  const t = ARCHES[arch];
  return t ? [...Object.keys(t.deny), 'clone3', 'clone/unshare(CLONE_NEWUSER)', 'ioctl(TIOCSTI/TIOCLINUX)'] : [];
}
