/**
 * Shared plumbing for CLI commands: argument parsing, input reading, validated JSON files, and the
 * user-error convention (one clear line on stderr, exit code 2, never a stack trace).
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';

/** A mistake the user can fix (bad flag, missing file, invalid JSON, schema violation). Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export type Command = (argv: string[], io: CliIO) => Promise<number>;

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with our error wording; unknown flags are user errors. */
export function parseFlags<T extends FlagOptions>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(flagErrorMessage(err, argv, options, allowPositionals));
  }
}

/**
 * One line that names the flag and says what is wrong with it. Node's own parseArgs messages run to three lines
 * for a flag missing its value, and their first line then says only "argument is ambiguous"; the user-error
 * contract allows one line on stderr.
 */
export function flagErrorMessage(err: unknown, argv: string[], options: FlagOptions, allowPositionals: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const quoted = /'([^']*)'/.exec(message)?.[1];
  // Point at --help only where there is one.
  const seeHelp = 'help' in options ? 'see --help' : undefined;
  if (quoted !== undefined) {
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const hints = [seeHelp, allowPositionals ? "an argument that starts with '-' goes after '--'" : undefined].filter(Boolean);
      return `Unknown option '${quoted}'${hints.length ? ` (${hints.join('; ')})` : ''}`;
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `Unexpected argument '${quoted}': this command takes only options${seeHelp ? ` (${seeHelp})` : ''}`;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = longFlag(quoted, options);
      if (/argument missing/.test(message)) return `Option '${flag}' needs a value`;
      if (/ambiguous/.test(message)) {
        // Node only rejects a value that starts with '-' here: say which word it was, and how to pass it anyway.
        const at = argv.findIndex((a, i) => a === quoted && argv[i + 1]?.startsWith('-'));
        const next = at >= 0 ? argv[at + 1] : undefined;
        return next === undefined
          ? `Option '${flag}' needs a value`
          : `Option '${flag}' needs a value but is followed by '${next}' (write ${flag}=${next} if that is the value)`;
      }
      if (/does not take an argument/.test(message)) {
        const given = argv.find((a) => a.startsWith(`${flag}=`));
        return `Option '${flag}' is a switch and takes no value${given !== undefined ? ` (got '${given}')` : ''}`;
      }
    }
  }
  // A wording this does not know (another Node version): all of it, on one line.
  return message.replace(/\s*\n\s*/g, ' ');
}

/** Node names an option as '--name', '-n', '-n, --name' or '-n, --name <value>'; the long form reads best. */
function longFlag(named: string, options: FlagOptions): string {
  const last = named.replace(/ <value>$/, '').split(', ').pop() ?? named;
  if (last.startsWith('--')) return last;
  const name = Object.keys(options).find((key) => options[key].short === last.slice(1));
  return name !== undefined ? `--${name}` : last;
}

const helpFlag = { help: { type: 'boolean', short: 'h' } } as const;

/** What a command's body gets: parseArgs' {values, positionals} for its options (plus help). */
export type ParsedFlags<T extends FlagOptions> = ReturnType<typeof parseFlags<T & typeof helpFlag>>;

export interface CommandSpec<T extends FlagOptions> {
  /** Printed on stdout by --help / -h (exit 0), with a final newline. */
  help: string;
  /** The command's flags; --help / -h is added to them. */
  options: T;
  /** Whether the command takes bare arguments (files, run directories); default false: one is a usage error. */
  positionals?: boolean;
}

/**
 * A CLI command from its flags, its help text and its body: parses argv (user errors on bad flags), answers
 * --help, and otherwise runs the body with the parsed flags.
 */
export function defineCommand<T extends FlagOptions>(spec: CommandSpec<T>, run: (flags: ParsedFlags<T>, io: CliIO) => Promise<number>): Command {
  return async (argv, io) => {
    const flags = parseFlags(argv, { ...spec.options, ...helpFlag }, spec.positionals ?? false);
    if ((flags.values as { help?: boolean }).help) {
      io.stdout.write(spec.help.endsWith('\n') ? spec.help : spec.help + '\n');
      return 0;
    }
    return run(flags, io);
  };
}

/** Resolves on the first SIGINT or SIGTERM, after calling onStop: how long-running commands (serve, worker) wait. */
export function untilStopSignal(onStop: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      onStop();
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Reads a file path, or stdin for '-' / undefined. */
export async function readInput(file: string | undefined, io: CliIO): Promise<string> {
  if (file === undefined || file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Parses JSON text and validates it; errors name the file and the failing path. */
export function parseJsonAs<S extends z.ZodType>(text: string, schema: S, label: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${label} is not valid JSON: ${(err as Error).message}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    throw new UsageError(`${label} does not match the expected shape at ${where}: ${issue.message}`);
  }
  return result.data;
}

export async function readJsonFile<S extends z.ZodType>(file: string | undefined, schema: S, io: CliIO): Promise<z.infer<S>> {
  return parseJsonAs(await readInput(file, io), schema, file && file !== '-' ? file : 'stdin');
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Logs go to stderr so that stdout holds exactly one JSON document with --json. */
export function log(io: CliIO, message: string): void {
  io.stderr.write(message + '\n');
}
