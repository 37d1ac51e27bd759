/**
 * Limits per run, not per process: one cgroup per sandboxed run caps its processes (pids), its total memory
 * (memory, swap included where the host accounts it) and its CPU share (cpu quota), whatever it forks. Both
 * hierarchies exist in the wild: v1 (one mount per controller, as on this project's CI machines) and v2 (unified,
 * most current hosts, where the server must sit in a leaf of its delegated subtree before it may hand controllers
 * to children). Groups are created under the server's own cgroup, named after the server's pid so a restarted
 * server sweeps the groups of a dead one. The run joins its group before exec (see sandbox.ts: the wrapper writes
 * its pid into each `cgroup.procs`), so nothing it starts escapes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupLimits {
  /** Most processes + threads at once. */
  pids: number;
  /** Total memory in bytes; 0 = none. */
  memoryBytes: number;
  /** CPU quota in cores (e.g. 2 = two cores' worth); 0 = none. */
  cpus: number;
}

export interface RunGroupStats {
  /** The kernel's OOM killer ended a process of this run (memory cap hit). */
  oomKilled: boolean;
  /** A fork/clone was refused by pids.max. */
  pidsLimited: boolean;
  /** Peak memory in bytes, where the kernel reports it. */
  memoryPeakBytes?: number;
}

export interface RunGroup {
  /** `cgroup.procs` files the run's first process must write its pid into. */
  procFiles: string[];
  stats(): RunGroupStats;
  /** SIGKILLs every process still in the group. */
  kill(): void;
  /** Kills, then removes the group's folders; false if one could not be removed (left for the start-up sweep). */
  remove(): boolean;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function counter(text: string, key: string): number {
  const m = new RegExp(`(?:^|\\n)${key} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

function pidsIn(dir: string): number[] {
  return read(join(dir, 'cgroup.procs'))
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

function killAll(dirs: string[]): void {
  for (let round = 0; round < 20; round++) {
    let any = false;
    for (const dir of dirs) {
      for (const pid of pidsIn(dir)) {
        any = true;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (!any) return;
  }
}

function rmdirQuiet(dir: string): boolean {
  if (!existsSync(dir)) return true;
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
      killAll([dir]);
      // Exiting processes leave the group a moment after SIGKILL.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
  return false;
}

/** Our own cgroup path per hierarchy, from /proc/self/cgroup ("ID:controllers:/path"). */
export function ownCgroups(text = read('/proc/self/cgroup')): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] === '') out.set('', m[3]);
    for (const c of m[2].split(',')) if (c) out.set(c, m[3]);
  }
  return out;
}

export abstract class CgroupManager {
  abstract readonly version: 1 | 2;
  /** Which limits this manager enforces. */
  abstract readonly controllers: { pids: boolean; memory: boolean; cpu: boolean };
  private seq = 0;
  protected constructor(readonly tag: string) {}
  protected abstract createDirs(name: string, limits: CgroupLimits): { dirs: string[]; procFiles: string[] };
  protected abstract statsOf(dirs: string[]): RunGroupStats;
  protected abstract killDirs(dirs: string[]): void;
  /** Parent folders holding this manager's run groups (one per hierarchy used). */
  protected abstract parents(): string[];

  create(limits: CgroupLimits): RunGroup {
    const name = `run-${++this.seq}-${Date.now().toString(36)}`;
    const { dirs, procFiles } = this.createDirs(name, limits);
    return {
      procFiles,
      stats: () => this.statsOf(dirs),
      kill: () => this.killDirs(dirs),
      remove: () => {
        this.killDirs(dirs);
        return dirs.map(rmdirQuiet).every(Boolean);
      },
    };
  }

  /** Removes run groups left by processes that no longer exist (and their empty parents); returns how many. */
  sweep(alive: (pid: number) => boolean): number {
    let removed = 0;
    for (const parent of this.parents()) {
      const base = join(parent, '..');
      let names: string[] = [];
      try {
        names = readdirSync(base).filter((n) => n.startsWith('ideator-'));
      } catch {
        continue;
      }
      for (const name of names) {
        const pid = Number(name.split('-')[1]);
        if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
        const dir = join(base, name);
        let kids: string[] = [];
        try {
          kids = readdirSync(dir, { withFileTypes: true })
            .filter((d) => d.isDirectory())
            .map((d) => d.name);
        } catch {
          continue;
        }
        for (const k of kids) if (rmdirQuiet(join(dir, k))) removed++;
        rmdirQuiet(dir);
      }
    }
    return removed;
  }

  /**
   * The cgroup manager this host allows, or the reason there is none. `root` is the cgroup mount point (tests
   * point it elsewhere); `self` the contents of /proc/self/cgroup.
   */
  static detect(opts: { root?: string; self?: string; pid?: number } = {}): CgroupManager | { reason: string } {
    const root = opts.root ?? '/sys/fs/cgroup';
    const own = ownCgroups(opts.self);
    const pid = opts.pid ?? process.pid;
    const tag = `ideator-${pid}`;
    try {
      if (existsSync(join(root, 'cgroup.controllers'))) return CgroupV2.open(root, own.get('') ?? '/', tag);
      return CgroupV1.open(root, own, tag);
    } catch (err) {
      return { reason: (err as Error).message };
    }
  }
}

class CgroupV1 extends CgroupManager {
  readonly version = 1 as const;
  constructor(
    tag: string,
    private readonly hier: { pids?: string; memory?: string; cpu?: string },
  ) {
    super(tag);
  }

  get controllers() {
    return { pids: Boolean(this.hier.pids), memory: Boolean(this.hier.memory), cpu: Boolean(this.hier.cpu) };
  }

  static open(root: string, own: Map<string, string>, tag: string): CgroupV1 {
    const hier: { pids?: string; memory?: string; cpu?: string } = {};
    const why: string[] = [];
    for (const c of ['pids', 'memory', 'cpu'] as const) {
      const mount = join(root, c);
      if (!existsSync(join(mount, 'cgroup.procs'))) {
        why.push(`no ${c} hierarchy at ${mount}`);
        continue;
      }
      // Our own group may not be visible in this mount (a container sees its group as the root).
      const path = own.get(c) ?? '/';
      const base = existsSync(join(mount, path)) ? join(mount, path) : mount;
      const parent = join(base, tag);
      try {
        mkdirSync(parent, { recursive: true });
        hier[c] = parent;
      } catch (err) {
        why.push(`cannot create ${parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    if (!hier.pids && !hier.memory) throw new Error(`cgroup v1: ${why.join('; ')}`);
    return new CgroupV1(tag, hier);
  }

  protected parents(): string[] {
    return Object.values(this.hier).filter((d): d is string => Boolean(d));
  }

  protected createDirs(name: string, limits: CgroupLimits) {
    const dirs: string[] = [];
    const make = (parent: string | undefined, files: [string, string][]) => {
      if (!parent) return;
      const dir = join(parent, name);
      mkdirSync(dir);
      dirs.push(dir);
      for (const [f, v] of files) {
        if (existsSync(join(dir, f))) writeFileSync(join(dir, f), v);
      }
    };
    make(this.hier.pids, [['pids.max', String(Math.max(1, limits.pids))]]);
    if (limits.memoryBytes > 0) {
      // memsw (memory + swap) must not be below the memory limit: set memory first.
      make(this.hier.memory, [
        ['memory.limit_in_bytes', String(limits.memoryBytes)],
        ['memory.memsw.limit_in_bytes', String(limits.memoryBytes)],
        ['memory.swappiness', '0'],
      ]);
    } else make(this.hier.memory, []);
    if (limits.cpus > 0) {
      make(this.hier.cpu, [
        ['cpu.cfs_period_us', '100000'],
        ['cpu.cfs_quota_us', String(Math.round(limits.cpus * 100000))],
      ]);
    }
    return { dirs, procFiles: dirs.map((d) => join(d, 'cgroup.procs')) };
  }

  protected statsOf(dirs: string[]): RunGroupStats {
    const mem = dirs.find((d) => this.hier.memory && d.startsWith(this.hier.memory));
    const pids = dirs.find((d) => this.hier.pids && d.startsWith(this.hier.pids));
    const oom = mem ? read(join(mem, 'memory.oom_control')) : '';
    const peak = mem ? Number(read(join(mem, 'memory.max_usage_in_bytes')).trim()) : NaN;
    return {
      oomKilled: counter(oom, 'oom_kill') > 0 || (mem ? Number(read(join(mem, 'memory.failcnt')).trim()) > 0 && counter(oom, 'under_oom') > 0 : false),
      pidsLimited: pids ? counter(read(join(pids, 'pids.events')), 'max') > 0 : false,
      ...(Number.isFinite(peak) && peak > 0 ? { memoryPeakBytes: peak } : {}),
    };
  }

  protected killDirs(dirs: string[]): void {
    // The freezer would make this race-free; the run also lives in its own pid namespace, whose end kills the rest.
    killAll(dirs);
  }
}

class CgroupV2 extends CgroupManager {
  readonly version = 2 as const;
  constructor(
    tag: string,
    private readonly parent: string,
    readonly controllers: { pids: boolean; memory: boolean; cpu: boolean },
  ) {
    super(tag);
  }

  /**
   * Under v2 a group with processes in it cannot hand controllers to children ("no internal processes"): when
   * the server's own group lacks them in cgroup.subtree_control, the server moves itself into a leaf
   * (`<own>/ideator-server`) and enables them — the usual dance in a systemd unit with Delegate=yes.
   */
  static open(root: string, own: string, tag: string): CgroupV2 {
    const base = join(root, own);
    const want = ['pids', 'memory', 'cpu'];
    const available = read(join(base, 'cgroup.controllers')).trim().split(/\s+/);
    const missing = want.filter((c) => !available.includes(c));
    if (missing.includes('pids') && missing.includes('memory')) throw new Error(`cgroup v2: ${base} offers neither pids nor memory (not delegated to this user?)`);
    const enable = want.filter((c) => available.includes(c));
    const enabled = () => read(join(base, 'cgroup.subtree_control')).trim().split(/\s+/);
    if (!enable.every((c) => enabled().includes(c))) {
      try {
        writeFileSync(join(base, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
      } catch {
        const leaf = join(base, 'ideator-server');
        try {
          mkdirSync(leaf, { recursive: true });
          for (const pid of pidsIn(base)) {
            try {
              writeFileSync(join(leaf, 'cgroup.procs'), String(pid));
            } catch {
              // a kernel thread or a process that just exited
            }
          }
          writeFileSync(join(base, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
        } catch (err) {
          throw new Error(`cgroup v2: cannot enable ${enable.join(', ')} in ${base}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
    }
    const parent = join(base, tag);
    mkdirSync(parent, { recursive: true });
    writeFileSync(join(parent, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
    return new CgroupV2(tag, parent, { pids: enable.includes('pids'), memory: enable.includes('memory'), cpu: enable.includes('cpu') });
  }

  protected parents(): string[] {
    return [this.parent];
  }

  protected createDirs(name: string, limits: CgroupLimits) {
    const dir = join(this.parent, name);
    mkdirSync(dir);
    const set = (f: string, v: string) => existsSync(join(dir, f)) && writeFileSync(join(dir, f), v);
    if (this.controllers.pids) set('pids.max', String(Math.max(1, limits.pids)));
    if (this.controllers.memory && limits.memoryBytes > 0) {
      set('memory.max', String(limits.memoryBytes));
      set('memory.swap.max', '0');
      set('memory.oom.group', '1');
    }
    if (this.controllers.cpu && limits.cpus > 0) set('cpu.max', `${Math.round(limits.cpus * 100000)} 100000`);
    return { dirs: [dir], procFiles: [join(dir, 'cgroup.procs')] };
  }

  protected statsOf(dirs: string[]): RunGroupStats {
    const peak = Number(read(join(dirs[0], 'memory.peak')).trim());
    return {
      oomKilled: counter(read(join(dirs[0], 'memory.events')), 'oom_kill') > 0,
      pidsLimited: counter(read(join(dirs[0], 'pids.events')), 'max') > 0,
      ...(Number.isFinite(peak) && peak > 0 ? { memoryPeakBytes: peak } : {}),
    };
  }

  protected killDirs(dirs: string[]): void {
    for (const dir of dirs) {
      try {
        writeFileSync(join(dir, 'cgroup.kill'), '1');
      } catch {
        // cgroup.kill needs Linux 5.14
      }
    }
    killAll(dirs);
  }
}
