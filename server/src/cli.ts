/**
 * `ideator` — the headless host's command line. Each command lives in ./commands/<name>.ts and is loaded lazily,
 * so `ideator parse-idea` never pays for the HTTP server or SQLite. The build goes further (scripts/build.mjs):
 * dist/cli.js holds this file and the light one-shot tools only, the other commands sit in dist/cli-commands.js,
 * which is not even parsed unless one of them runs.
 *
 * Conventions (contracts other tools rely on): with --json, stdout holds exactly one JSON document; logs and
 * progress go to stderr; user errors print one line on stderr and exit 2.
 */
import { UsageError, type CliIO, type Command } from './commands/common';

/** The headings of `ideator --help`, in the order it lists them. */
const GROUPS = {
  service: 'Reward service (RL training)',
  bench: 'Benchmark and training data',
  tools: 'One-shot tools',
} as const;

interface CommandEntry {
  group: keyof typeof GROUPS;
  summary: string;
  load: () => Promise<Command>;
}

// Listed in `--help` order within each group.
const commands: Record<string, CommandEntry> = {
  serve: { group: 'service', summary: 'run the reward service: HTTP API, SQLite job store, sandboxed worker pool', load: async () => (await import('./commands/serve')).default },
  worker: { group: 'service', summary: 'execute queued reward ideas: from a local `ideator serve`\'s store (same --data-dir), or from Redis (--redis URL --server URL)', load: async () => (await import('./commands/worker')).default },
  reward: { group: 'service', summary: 'rewards for --state STATE.json and IDEA.md files (in-process, or --server URL)', load: async () => (await import('./commands/reward')).default },
  status: { group: 'service', summary: 'a running server at a glance: queue depth, oldest waiting idea, runs per hour, slots, workers', load: async () => (await import('./commands/status')).default },
  doctor: { group: 'service', summary: 'show what the sandbox enforces on this host and run live attack probes through it', load: async () => (await import('./commands/doctor')).default },
  verify: { group: 'service', summary: 'measure ideas by real sandboxed runs of a workspace before one is applied: ranked, gains within the noise told apart', load: async () => (await import('./commands/verify')).default },
  demo: { group: 'service', summary: 'run 8 bundled ideas through the real reward pipeline; print rewards and GRPO advantages', load: async () => (await import('./commands/demo')).default },
  bench: { group: 'bench', summary: 'run the dual-agent benchmark on MLE-bench-format tasks: Avg@K / Best@K table, resumable', load: async () => (await import('./commands/bench')).default },
  report: { group: 'bench', summary: 'write a self-contained HTML report (and --png) of a bench run directory', load: async () => (await import('./commands/report')).default },
  grade: { group: 'bench', summary: 'grade a submission CSV against an MLE-bench-format task: {valid, score, normalized}', load: async () => (await import('./commands/grade')).default },
  collect: { group: 'bench', summary: 'sample train/val sets (per task) from bench state pools, as VeRL parquet or JSONL', load: async () => (await import('./commands/collect')).default },
  export: { group: 'bench', summary: 'write a bench state pool as VeRL parquet (--format verl) or JSONL', load: async () => (await import('./commands/export')).default },
  mcp: { group: 'tools', summary: 'serve the Ideator to coding agents over MCP (stdio): seek_help, list_runs, get_run, record_outcome on a workspace\'s run history', load: async () => (await import('./commands/mcp')).default },
  ask: { group: 'tools', summary: 'ask an Ideator about --state STATE.json and print the parsed idea', load: async () => (await import('./commands/ask')).default },
  prompt: { group: 'tools', summary: 'print the full Ideator prompt for --state STATE.json', load: async () => (await import('./commands/prompt')).default },
  'parse-idea': { group: 'tools', summary: 'parse an Ideator answer (FILE or -) into {ok, analysis, action, rationale, ...}', load: async () => (await import('./commands/parseIdea')).default },
  'extract-scores': { group: 'tools', summary: 'extract metrics and the primary score from run output (FILE or -)', load: async () => (await import('./commands/extractScores')).default },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const sections = Object.entries(GROUPS).map(([group, title]) => {
    const lines = Object.entries(commands)
      .filter(([, c]) => c.group === group)
      .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
    return `${title}:\n${lines.join('\n')}`;
  });
  return `usage: ideator <command> [options]\n\n${sections.join('\n\n')}\n\nRun 'ideator <command> --help' for a command's options.\n`;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr.write(`ideator: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command(rest, io);
  } catch (err) {
    // By name as well: in the build, a heavy command's UsageError is the class of dist/cli-commands.js's copy.
    const errName = (err as Error)?.name;
    if (err instanceof UsageError || errName === 'UsageError' || errName === 'WeakSandboxError') {
      io.stderr.write(`ideator ${name}: ${(err as Error).message}\n`);
      return 2;
    }
    io.stderr.write(`ideator ${name}: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  // `ideator prompt … | head` closes the pipe early: that is the reader being done, not a crash to print.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
