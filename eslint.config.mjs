// Layering is enforced here: only src/extension/** may import 'vscode'.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', '.venv/**', 'test-results/**', 'media/**/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: "Only src/extension/** may import 'vscode' (core and server stay host-free)." }],
        },
      ],
    },
  },
  {
    files: ['src/extension/**/*.ts', 'test/vscode/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
