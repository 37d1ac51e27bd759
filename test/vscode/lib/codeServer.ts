/**
 * Starts code-server (VS Code 1.100 in the browser, installed by scripts/install-vscode.sh into .vscode-test/) on
 * 127.0.0.1 with throwaway user-data / extensions / XDG folders, and Chromium through playwright-core.
 * Shared by the extension-host suite runner and the Playwright e2e runner.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = resolve(__dirname, '../../..');
export const VSCODE_TEST_DIR = join(ROOT, '.vscode-test');
export const CODE_SERVER_BIN = join(VSCODE_TEST_DIR, 'node_modules/.bin/code-server');
export const CHROMIUM = process.env.IDEATOR_CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS_DIR = join(ROOT, 'test-results');

export function assertInstalled(): void {
  if (!existsSync(CODE_SERVER_BIN)) throw new Error(`code-server missing at ${CODE_SERVER_BIN}: run bash scripts/install-vscode.sh`);
  if (!existsSync(CHROMIUM)) throw new Error(`chromium missing at ${CHROMIUM}: run bash scripts/install-vscode.sh`);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface CodeServerOptions {
  workspace: string;
  /** User settings.json content. */
  settings?: Record<string, unknown>;
  /** .vsix files to install before starting. */
  vsix?: string[];
  env?: Record<string, string>;
  /** Echo code-server's output (IDEATOR_TEST_VERBOSE=1 also does). */
  verbose?: boolean;
}

export interface CodeServer {
  url: string;
  port: number;
  dirs: { base: string; userData: string; extensions: string };
  logs(): string;
  stop(): Promise<void>;
}

function isolatedEnv(base: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(base, 'xdg-config'),
    XDG_DATA_HOME: join(base, 'xdg-data'),
    XDG_CACHE_HOME: join(base, 'xdg-cache'),
    // No marketplace calls: the gallery points at a closed port.
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9' }),
    ...extra,
  };
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  assertInstalled();
  const base = mkdtempSync(join(tmpdir(), 'ideator-cs-'));
  const dirs = { base, userData: join(base, 'user-data'), extensions: join(base, 'extensions') };
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  mkdirSync(dirs.extensions, { recursive: true });
  mkdirSync(options.workspace, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'chat.disableAIFeatures': true,
    'editor.lightbulb.enabled': 'on',
    'files.autoSave': 'off',
    'window.commandCenter': false,
    ...options.settings,
  };
  writeFileSync(join(dirs.userData, 'User/settings.json'), JSON.stringify(settings, null, 2));
  const env = isolatedEnv(base, options.env);
  for (const vsix of options.vsix ?? []) {
    const r = spawnSync(CODE_SERVER_BIN, ['--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData, '--install-extension', vsix, '--force'], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`installing ${vsix} failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  const port = await freePort();
  const args = [
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    options.workspace,
  ];
  const child: ChildProcess = spawn(CODE_SERVER_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  const verbose = options.verbose ?? process.env.IDEATOR_TEST_VERBOSE === '1';
  const onData = (b: Buffer): void => {
    log += b.toString();
    if (log.length > 2_000_000) log = log.slice(-1_000_000);
    if (verbose) process.stderr.write(b);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer /healthz within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    dirs,
    logs: () => log,
    stop: async () => {
      if (child.exitCode === null && child.pid) {
        // Its own process group (detached): the extension host and watchers go with it.
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              // gone
            }
            r();
          }, 5_000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<{ browser: Browser; page: Page; close(): Promise<void> }> {
  // launch() already uses a fresh, temporary profile (it refuses a --user-data-dir argument).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  // IDEATOR_TEST_CPU_THROTTLE=N runs the workbench page N times slower (Chromium's CPU throttling; webviews in a
  // process of their own are not slowed), to find waits that only hold while the workbench is fast (a loaded CI
  // machine): for hunting flakes, never set in CI.
  const throttle = Number(process.env.IDEATOR_TEST_CPU_THROTTLE ?? 1);
  if (throttle > 1) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    console.log(`browser: workbench CPU throttled ${throttle}x (IDEATOR_TEST_CPU_THROTTLE)`);
  }
  return {
    browser,
    page,
    close: async () => {
      await browser.close().catch(() => undefined);
    },
  };
}
