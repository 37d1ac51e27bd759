/** server/src/commands/common.ts: flag errors as one line naming the flag, defineCommand's --help, and the grouped `ideator --help`. */
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from '../../server/src/cli';
import { defineCommand, parseFlags, UsageError, type CliIO } from '../../server/src/commands/common';

const OPTIONS = {
  name: { type: 'string', short: 'n' },
  tag: { type: 'string', multiple: true },
  force: { type: 'boolean', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The UsageError parseFlags throws for argv, or a failure when it parses. */
function flagError(argv: string[], allowPositionals = false, options: Parameters<typeof parseFlags>[1] = OPTIONS): string {
  try {
    parseFlags(argv, options, allowPositionals);
  } catch (err) {
    assert.ok(err instanceof UsageError, `not a UsageError: ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.fail(`parsed: ${argv.join(' ')}`);
}

function captureIO(): { io: CliIO; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d) => (text += String(d)));
  return { io: { stdout, stderr: new PassThrough(), stdin: new PassThrough() }, out: () => text };
}

describe('parseFlags errors', () => {
  it('an unknown option is named, with the -- hint only where bare arguments are allowed', () => {
    assert.equal(flagError(['--bogus']), "Unknown option '--bogus' (see --help)");
    assert.equal(flagError(['-x']), "Unknown option '-x' (see --help)");
    assert.equal(flagError(['--bogus'], true), "Unknown option '--bogus' (see --help; an argument that starts with '-' goes after '--')");
  });

  it('points at --help only where the options have one', () => {
    const bare = (argv: string[], allowPositionals: boolean) => flagError(argv, allowPositionals, { name: { type: 'string' } });
    assert.equal(bare(['--bogus'], false), "Unknown option '--bogus'");
    assert.equal(bare(['--bogus'], true), "Unknown option '--bogus' (an argument that starts with '-' goes after '--')");
    assert.equal(bare(['x'], false), "Unexpected argument 'x': this command takes only options");
  });

  it('a string option at the end, without its value, says it needs one (long name, also when typed short)', () => {
    assert.equal(flagError(['--name']), "Option '--name' needs a value");
    assert.equal(flagError(['-n']), "Option '--name' needs a value");
    assert.equal(flagError(['--force', '--tag']), "Option '--tag' needs a value");
  });

  it('a string option followed by another option names both and how to pass a dash value (Node says only "ambiguous")', () => {
    assert.equal(flagError(['--name', '--force']), "Option '--name' needs a value but is followed by '--force' (write --name=--force if that is the value)");
    assert.equal(flagError(['-n', '-f']), "Option '--name' needs a value but is followed by '-f' (write --name=-f if that is the value)");
    assert.equal(flagError(['--name', '--']), "Option '--name' needs a value but is followed by '--' (write --name=-- if that is the value)");
    assert.deepEqual({ ...parseFlags(['--name=--force'], OPTIONS).values }, { name: '--force' }, 'the suggested form parses');
  });

  it('a value given to a boolean switch is named with what was typed', () => {
    assert.equal(flagError(['--force=yes']), "Option '--force' is a switch and takes no value (got '--force=yes')");
  });

  it('a bare argument to a command that takes none', () => {
    assert.equal(flagError(['notes.md']), "Unexpected argument 'notes.md': this command takes only options (see --help)");
    assert.equal(flagError(['--force', '--', '-x']), "Unexpected argument '-x': this command takes only options (see --help)");
    assert.deepEqual(parseFlags(['--force', '--', '-x'], OPTIONS, true).positionals, ['-x']);
  });

  it('valid flags parse as node:util parseArgs does', () => {
    const { values, positionals } = parseFlags(['-n', 'a', '--tag', 'x', '--tag=y', '-f', 'file'], OPTIONS, true);
    assert.deepEqual({ ...values }, { name: 'a', tag: ['x', 'y'], force: true });
    assert.deepEqual(positionals, ['file']);
  });
});

describe('defineCommand', () => {
  const seen: unknown[] = [];
  const command = defineCommand({ help: 'usage: test [--name N]', options: OPTIONS }, async ({ values, positionals }) => {
    seen.push({ values: { ...values }, positionals });
    return 7;
  });

  it('--help and -h print the help text with one final newline and exit 0 without running the body', async () => {
    for (const flag of ['--help', '-h']) {
      const { io, out } = captureIO();
      assert.equal(await command(['--name', 'a', flag], io), 0);
      assert.equal(out(), 'usage: test [--name N]\n');
    }
    const { io, out } = captureIO();
    await defineCommand({ help: 'ends\n', options: {} }, async () => 1)(['-h'], io);
    assert.equal(out(), 'ends\n', 'no second newline');
    assert.deepEqual(seen, []);
  });

  it('otherwise runs the body with the parsed flags and returns its exit code', async () => {
    assert.equal(await command(['-n', 'a'], captureIO().io), 7);
    assert.deepEqual(seen.pop(), { values: { name: 'a' }, positionals: [] });
  });

  it('bare arguments are a usage error unless the spec allows them', async () => {
    await assert.rejects(command(['file'], captureIO().io), (err: Error) => err instanceof UsageError && /Unexpected argument 'file'/.test(err.message));
    const withFiles = defineCommand({ help: '', options: {}, positionals: true }, async ({ positionals }) => positionals.length);
    assert.equal(await withFiles(['a', 'b'], captureIO().io), 2);
  });
});

describe('ideator --help', () => {
  it('lists every command once, under its group heading, with a one-line summary', async () => {
    const { io, out } = captureIO();
    assert.equal(await main(['--help'], io), 0);
    const text = out();
    const headings = [...text.matchAll(/^(\S[^\n]*):$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, ['Reward service (RL training)', 'Benchmark and training data', 'One-shot tools']);
    const names = [...text.matchAll(/^ {2}(\S+) {2,}\S/gm)].map((m) => m[1]);
    assert.deepEqual(names, ['serve', 'worker', 'reward', 'status', 'doctor', 'verify', 'demo', 'bench', 'report', 'grade', 'collect', 'export', 'mcp', 'ask', 'prompt', 'parse-idea', 'extract-scores']);
  });

  it('every listed command answers its own --help with exit 0', async () => {
    const { io, out } = captureIO();
    await main(['--help'], io);
    for (const [, name] of out().matchAll(/^ {2}(\S+) {2,}\S/gm)) {
      const r = captureIO();
      assert.equal(await main([name, '--help'], r.io), 0, name);
      assert.match(r.out(), new RegExp(`^usage: ideator ${name}\\b`), name);
    }
  });
});
