/**
 * `ideator doctor` — what the sandbox enforces on this host, as a table, then live attack probes run through it
 * (probes.ts), so an operator sees the sandbox's real strength before training. Exit 0 when the reward service's
 * minimum is met and every probe was blocked, 1 otherwise.
 */
import { sandboxHost } from '../exec/isolation';
import { runProbes } from '../exec/probes';
import { absolutePython } from '../queue/runtime';
import { resolvePython } from '../tasks/python';
import { defineCommand, printJson } from './common';

const HELP = `usage: ideator doctor [--python PATH] [--no-probes] [--json]
Prints what the sandbox enforces on this host (bubblewrap, seccomp, cgroup v1/v2 or rlimits, tmpfs disk cap) and
runs live attack probes through it: regain privileges, read a server-side file, reach the network, write outside
the workdir, exceed the process / memory / disk caps, leave a daemon behind. Exit 0 when the reward service's
minimum is met and every probe was blocked, else 1. --json prints {isolation, probes, ok}.`;

const FLAGS = { python: { type: 'string' }, 'no-probes': { type: 'boolean' }, json: { type: 'boolean' } } as const;

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  const host = sandboxHost();
  const info = host.info;
  const python = absolutePython(values.python ?? resolvePython());
  const probes = values['no-probes'] ? [] : await runProbes(host, python);
  const ok = info.minimumMet && probes.every((p) => p.ok);
  if (values.json) {
    printJson(io, { isolation: info, probes, ok });
    return ok ? 0 : 1;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'NO');
  const rows: [string, string][] = [
    ['sandbox', info.mode === 'bubblewrap' ? `bubblewrap ${info.bwrapVersion ?? ''}`.trim() : 'NONE: runs are not isolated'],
    ['unprivileged uid, no capabilities', yes(info.unprivileged)],
    ['no user namespaces', yes(info.noUserNamespaces)],
    ['seccomp filter', yes(info.seccomp)],
    ['own pid / network / ipc namespaces', yes(info.pid && info.network)],
    ['read-only root, private files absent', yes(info.filesystem)],
    ['processes per run', info.limits.processes],
    ['memory per run', info.limits.memory],
    ['CPU per run', info.limits.cpu],
    ['disk per run', info.limits.disk],
    ['wall time, output', 'yes'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length), ...probes.map((p) => p.name.length));
  io.stdout.write(`What the sandbox enforces here\n${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`);
  io.stdout.write(`  ${'reward service minimum'.padEnd(w)}  ${info.minimumMet ? 'met' : `NOT met: ${info.missing.join('; ')}`}\n`);
  for (const n of info.notes) io.stdout.write(`  note: ${n}\n`);
  if (probes.length) {
    io.stdout.write(`\nAttack probes (python ${python})\n`);
    for (const p of probes) io.stdout.write(`  ${p.name.padEnd(w)}  ${p.ok ? 'blocked' : 'NOT BLOCKED'}  ${p.detail}\n`);
  }
  io.stdout.write(`\n${ok ? 'ok: safe to serve rewards on this host' : 'not ok: see SECURITY.md before serving rewards here'}\n`);
  return ok ? 0 : 1;
});
