/**
 * Where the editor keeps a workspace's run history, found without the editor: VS Code's global storage of this
 * extension, `run-history/<key>`, where key = the first 16 hex digits of sha256(workspace URI as VS Code writes it)
 * (src/extension/runs/service.ts RunRecorder.storageFor). The URI is the .code-workspace file's when the window has
 * one, else the first folder's; both are `file:` URIs (remote and code-server extension hosts see `file:` URIs too).
 *
 *   fileUriString(absPath, platform?)           -> "file:///home/me/my%20proj"  (vscode-uri's Uri.file(p).toString())
 *   historyKey(workspace)                      -> 16 hex digits
 *   globalStorageRoots(env?, platform?, home?) -> the editors' globalStorage folders for this extension, by editor
 *   findHistory(workspace, roots)              -> {dir, editor} of the newest existing history, and every path tried
 *   userSettingsFile(editor, roots)            -> that editor's user settings.json (beside its globalStorage)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

/** publisher.name of the extension (package.json), lower-cased as VS Code names its storage folder. */
export const EXTENSION_STORAGE_ID = 'mle-ideator.mle-ideator';

const UNRESERVED = /[A-Za-z0-9\-._~/]/;

/**
 * VS Code's `Uri.file(p).toString()`: every character but the unreserved ones and '/' percent-encoded (UTF-8,
 * upper-case hex); a Windows drive letter lower-cased with its colon encoded (`file:///c%3A/Users/...`).
 */
export function fileUriString(absPath: string, platform: NodeJS.Platform = process.platform): string {
  let p = absPath;
  if (platform === 'win32') p = p.replace(/\\/g, '/');
  if (!p.startsWith('/')) p = `/${p}`;
  const drive = /^\/([A-Za-z]):/.exec(p);
  if (drive) p = `/${drive[1].toLowerCase()}:${p.slice(3)}`;
  let out = '';
  for (const ch of p) {
    if (UNRESERVED.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `file://${out}`;
}

/** The run history's folder name for a workspace folder (or .code-workspace file), as the extension computes it. */
export function historyKey(workspace: string, platform: NodeJS.Platform = process.platform): string {
  return createHash('sha256').update(fileUriString(workspace, platform)).digest('hex').slice(0, 16);
}

export interface StorageRoot {
  editor: string;
  /** …/User/globalStorage/mle-ideator.mle-ideator */
  dir: string;
}

/** The global storage folders of this extension in the editors that can run it, per platform. */
export function globalStorageRoots(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): StorageRoot[] {
  const userData: [string, string][] = [];
  const apps: [string, string][] = [
    ['VS Code', 'Code'],
    ['VS Code Insiders', 'Code - Insiders'],
    ['VSCodium', 'VSCodium'],
    ['Cursor', 'Cursor'],
    ['Windsurf', 'Windsurf'],
  ];
  if (platform === 'darwin') {
    for (const [editor, dir] of apps) userData.push([editor, path.join(home, 'Library', 'Application Support', dir, 'User')]);
  } else if (platform === 'win32') {
    const appData = env.APPDATA ?? path.join(home, 'AppData', 'Roaming');
    for (const [editor, dir] of apps) userData.push([editor, path.join(appData, dir, 'User')]);
  } else {
    const config = env.XDG_CONFIG_HOME || path.join(home, '.config');
    for (const [editor, dir] of apps) userData.push([editor, path.join(config, dir, 'User')]);
  }
  // code-server, and the remote servers of VS Code / Cursor (Remote-SSH, WSL, dev containers).
  const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  userData.push(['code-server', path.join(dataHome, 'code-server', 'User')]);
  userData.push(['VS Code server', path.join(home, '.vscode-server', 'data', 'User')]);
  userData.push(['VS Code Insiders server', path.join(home, '.vscode-server-insiders', 'data', 'User')]);
  userData.push(['Cursor server', path.join(home, '.cursor-server', 'data', 'User')]);
  return userData.map(([editor, dir]) => ({ editor, dir: path.join(dir, 'globalStorage', EXTENSION_STORAGE_ID) }));
}

export interface HistoryLookup {
  /** The history to use; undefined when none of `tried` exists. */
  found?: { dir: string; editor: string };
  /** Every folder looked at, in order. */
  tried: string[];
}

/** Newest modification time of a history folder's journal segments (0 when it has none). */
function journalMtime(dir: string): number {
  let newest = 0;
  try {
    for (const f of readdirSync(dir)) {
      if (!/^history(\.\d+)?\.jsonl$/.test(f)) continue;
      newest = Math.max(newest, statSync(path.join(dir, f)).mtimeMs);
    }
  } catch {
    return 0;
  }
  return newest;
}

/**
 * The run history of `workspace` (an absolute folder or .code-workspace file): among the editors that have one, the
 * one written to last (a user with both VS Code and Cursor works in the one they used last).
 */
export function findHistory(workspace: string, roots: readonly StorageRoot[], platform: NodeJS.Platform = process.platform): HistoryLookup {
  const key = historyKey(workspace, platform);
  const tried: string[] = [];
  let found: { dir: string; editor: string; mtime: number } | undefined;
  for (const root of roots) {
    const dir = path.join(root.dir, 'run-history', key);
    tried.push(dir);
    if (!existsSync(dir)) continue;
    const mtime = journalMtime(dir);
    if (!found || mtime > found.mtime) found = { dir, editor: root.editor, mtime };
  }
  return { found: found && { dir: found.dir, editor: found.editor }, tried };
}

/** The user settings file of the editor named `editor` in `roots`: …/User/settings.json, beside …/User/globalStorage. */
export function userSettingsFile(editor: string, roots: readonly StorageRoot[]): string | undefined {
  const root = roots.find((r) => r.editor === editor);
  return root && path.join(path.dirname(path.dirname(root.dir)), 'settings.json');
}
