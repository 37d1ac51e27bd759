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

/** node:util parseArgs with our error wording; unknown flags are user errors. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
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
