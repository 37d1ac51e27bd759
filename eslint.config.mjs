// Layering is enforced here (docs/architecture.md): each zone lists what it may not import.
//   src/core/**       the shared logic: neither host (no 'vscode', nothing of src/extension or server), no tests
//   src/extension/**  the VS Code host: 'vscode' and core; never the server, never tests
//   server/**         the headless host: core and itself; never 'vscode' or src/extension, never tests
//   bench/**          speed figures: core and server; never 'vscode' or src/extension
import tseslint from 'typescript-eslint';

const VSCODE = { name: 'vscode', message: "Only src/extension/** may import 'vscode' (core and server stay host-free)." };
const noTests = { regex: '(^|/)test/', message: 'Product code never imports from test/.' };
const noExtension = { regex: '(^|/)extension/', message: 'Only the VS Code host imports src/extension (core and server stay host-free).' };
const noServer = { regex: '(^|/)server/', message: 'src/ never imports the server: shared logic belongs in src/core.' };

const zone = (files, { paths = [], patterns = [] }) => ({ files, rules: { 'no-restricted-imports': ['error', { paths, patterns }] } });

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', '.venv/**', 'test-results/**', 'media/**/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [VSCODE] }],
    },
  },
  zone(['src/core/**/*.ts'], { paths: [VSCODE], patterns: [noExtension, noServer, noTests] }),
  zone(['src/extension/**/*.ts'], { patterns: [noServer, noTests] }),
  zone(['server/**/*.ts'], { paths: [VSCODE], patterns: [noExtension, noTests] }),
  zone(['bench/**/*.ts'], { paths: [VSCODE], patterns: [noExtension] }),
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
