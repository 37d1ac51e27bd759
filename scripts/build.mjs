// Builds the two bundles: the extension (cjs, node, 'vscode' external, no native modules) and the CLI/server.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { chmodSync, mkdirSync } from 'node:fs';

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
