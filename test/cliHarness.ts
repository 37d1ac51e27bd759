/**
 * Runs the `ideator` CLI in-process (server/src/cli main) with captured stdout/stderr and a given stdin, for the
 * CLI tests. Same entry point as dist/cli.js, without a process start per call.
 */
import { PassThrough } from 'node:stream';
import { main } from '../server/src/cli';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], stdin = ''): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const input = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  input.end(stdin);
  const code = await main(argv, { stdout, stderr, stdin: input });
  return { code, stdout: out, stderr: err };
}

/** The user-error contract: exit 2, exactly one line on stderr, nothing on stdout, no stack trace. */
export function isOneLineUserError(r: CliResult): boolean {
  return r.code === 2 && r.stdout === '' && /^[^\n]+\n$/.test(r.stderr) && !/\n\s+at /.test(r.stderr);
}
