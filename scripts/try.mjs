#!/usr/bin/env node
// `npm run try`: MLE Ideator in VS Code without installing VS Code. Builds and packages the extension, installs
// code-server (scripts/install-vscode.sh, once), starts it on 127.0.0.1 with the extension and a demo workspace
// (a small training script + TASK.md), and prints the URL. Ctrl+C stops it.
//   npm run try [-- --port 8080] [--provider anthropic|openai|template-null|template-vague|server] [--base-url URL] [--model M]
// Without flags the provider is anthropic when ANTHROPIC_API_KEY is set, openai when OPENAI_BASE_URL is set,
// else the offline template-vague baseline (answers without a model; good for a first look at the flow).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: { port: { type: 'string' }, provider: { type: 'string' }, 'base-url': { type: 'string' }, model: { type: 'string' }, 'no-build': { type: 'boolean' } },
});

function step(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`try: '${cmd} ${args.join(' ')}' failed`);
    process.exit(1);
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function pickPort() {
  if (values.port) return Number(values.port);
  for (let p = 8080; p < 8100; p++) if (await portFree(p)) return p;
  return 0;
}

step('bash', ['scripts/install-vscode.sh']);
if (!values['no-build'] || !existsSync(join(root, 'dist/mle-ideator.vsix'))) step('npm', ['run', '--silent', 'package']);

const base = join(root, '.vscode-test/try');
const workspace = join(base, 'demo-workspace');
const dirs = { userData: join(base, 'user-data'), extensions: join(base, 'extensions'), xdg: join(base, 'xdg') };
if (!existsSync(workspace)) cpSync(join(root, 'test/vscode/demo-workspace'), workspace, { recursive: true });
mkdirSync(join(dirs.userData, 'User'), { recursive: true });

const env = process.env;
const provider = values.provider ?? (env.ANTHROPIC_API_KEY ? 'anthropic' : env.OPENAI_BASE_URL ? 'openai' : 'template-vague');
const venvPython = join(root, '.venv/bin/python');
const venv = existsSync(venvPython) ? join(root, '.venv') : undefined;
const settings = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  // The demo workspace lives inside this repository: no "open the repository in the parent folder?" prompt.
  'git.openRepositoryInParentFolders': 'never',
  // The demo's terminal runs the project's .venv (scikit-learn and the rest of requirements.txt), as an activated
  // venv would: `python train.py` works without the Python extension. PATH is set at spawn; a ~/.bashrc that puts
  // its own directories first (pyenv) would undo that, so VS Code's shell integration prepends it again after the
  // rc files (VSCODE_ENV_PREPEND, the variable it uses for extensions' environment changes; ':' written \x3a).
  ...(venv
    ? {
        'terminal.integrated.env.linux': {
          PATH: `${join(venv, 'bin')}:\${env:PATH}`,
          VIRTUAL_ENV: venv,
          VSCODE_ENV_PREPEND: `PATH=${join(venv, 'bin')}\\x3a`,
        },
        'ideator.pythonPath': venvPython,
      }
    : {}),
  'ideator.provider': provider,
  ...(values['base-url'] ?? (provider === 'openai' ? env.OPENAI_BASE_URL : undefined) ? { 'ideator.baseUrl': values['base-url'] ?? env.OPENAI_BASE_URL } : {}),
  ...(values.model ? { 'ideator.model': values.model } : {}),
  ...(venv ? { 'python.defaultInterpreterPath': venvPython } : {}),
};
writeFileSync(join(dirs.userData, 'User/settings.json'), JSON.stringify(settings, null, 2));

const codeServer = join(root, '.vscode-test/node_modules/.bin/code-server');
const csEnv = {
  ...env,
  XDG_CONFIG_HOME: join(dirs.xdg, 'config'),
  XDG_DATA_HOME: join(dirs.xdg, 'data'),
  XDG_CACHE_HOME: join(dirs.xdg, 'cache'),
  EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9' }),
};
const common = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
const inst = spawnSync(codeServer, [...common, '--install-extension', join(root, 'dist/mle-ideator.vsix'), '--force'], { env: csEnv, encoding: 'utf8' });
if (inst.status !== 0) {
  console.error(`try: installing the extension failed:\n${inst.stdout}\n${inst.stderr}`);
  process.exit(1);
}

const port = await pickPort();
const child = spawn(
  codeServer,
  ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ...common, workspace],
  { env: csEnv, stdio: ['ignore', 'pipe', 'pipe'] },
);
let announced = false;
const onLine = (buf) => {
  const text = buf.toString();
  const m = /HTTP server listening on (http:\/\/\S+)/.exec(text);
  if (m && !announced) {
    announced = true;
    const url = `${m[1].replace(/\/$/, '')}/?folder=${encodeURIComponent(workspace)}`;
    console.log(`\nMLE Ideator is running in VS Code (code-server) with a demo workspace:\n\n  ${url}\n`);
    console.log(`Provider: ${provider}${provider.startsWith('template') ? ' (offline baseline; set ANTHROPIC_API_KEY or OPENAI_BASE_URL, or pass --provider, for a real Ideator)' : ''}`);
    console.log(`Try: open a terminal and run \`python train.py\`${venv ? ` (the terminal uses ${venv})` : ''}; the run lands in the Run History. Then F1 → "Ideator: Ask Ideator", and the lightbulb → "Apply Ideator action".`);
    console.log(`Over SSH: ssh -L ${port}:127.0.0.1:${port} this-host, then open the URL locally. Ctrl+C stops.\n`);
  }
  if (process.env.IDEATOR_TRY_VERBOSE) process.stderr.write(buf);
};
child.stdout.on('data', onLine);
child.stderr.on('data', onLine);
child.on('exit', (code) => process.exit(code ?? 0));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill('SIGTERM'));
