/** Where `ideator mcp` looks for the editor's run history (server/src/mcp/historyLocation.ts). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EXTENSION_STORAGE_ID, fileUriString, findHistory, globalStorageRoots, historyKey } from '../../server/src/mcp/historyLocation';

const tmp = mkdtempSync(join(tmpdir(), 'ideator-mcp-location-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('run history location', () => {
  test('file URIs as VS Code writes them: unreserved characters and / kept, the rest percent-encoded as UTF-8', () => {
    assert.equal(fileUriString('/home/me/proj', 'linux'), 'file:///home/me/proj');
    assert.equal(fileUriString('/home/me/my proj (v2)', 'linux'), 'file:///home/me/my%20proj%20%28v2%29');
    assert.equal(fileUriString('/srv/a+b@c,d;e=f&g#h', 'linux'), 'file:///srv/a%2Bb%40c%2Cd%3Be%3Df%26g%23h');
    assert.equal(fileUriString('/home/me/données/ü~_.-x', 'linux'), 'file:///home/me/donn%C3%A9es/%C3%BC~_.-x');
    assert.equal(fileUriString('C:\\Users\\Me\\My Proj', 'win32'), 'file:///c%3A/Users/Me/My%20Proj');
    assert.equal(historyKey('/home/me/proj', 'linux'), createHash('sha256').update('file:///home/me/proj').digest('hex').slice(0, 16));
  });

  test('the editors\' global storage folders, per platform', () => {
    const linux = globalStorageRoots({}, 'linux', '/home/me').map((r) => r.dir);
    assert.ok(linux.includes(`/home/me/.config/Code/User/globalStorage/${EXTENSION_STORAGE_ID}`));
    assert.ok(linux.includes(`/home/me/.config/Cursor/User/globalStorage/${EXTENSION_STORAGE_ID}`));
    assert.ok(linux.includes(`/home/me/.local/share/code-server/User/globalStorage/${EXTENSION_STORAGE_ID}`));
    assert.ok(linux.includes(`/home/me/.vscode-server/data/User/globalStorage/${EXTENSION_STORAGE_ID}`));
    assert.ok(globalStorageRoots({ XDG_CONFIG_HOME: '/cfg' }, 'linux', '/home/me').some((r) => r.dir === `/cfg/VSCodium/User/globalStorage/${EXTENSION_STORAGE_ID}`));
    const mac = globalStorageRoots({}, 'darwin', '/Users/me').map((r) => r.dir);
    assert.ok(mac.includes(`/Users/me/Library/Application Support/Code - Insiders/User/globalStorage/${EXTENSION_STORAGE_ID}`));
    const win = globalStorageRoots({ APPDATA: 'C:\\Users\\me\\AppData\\Roaming' }, 'win32', 'C:\\Users\\me').map((r) => r.editor);
    assert.ok(win.includes('VS Code') && win.includes('Cursor'));
  });

  test('of several editors with a history for the workspace, the one written last; none: every path tried', () => {
    const roots = [
      { editor: 'A', dir: join(tmp, 'a') },
      { editor: 'B', dir: join(tmp, 'b') },
      { editor: 'C', dir: join(tmp, 'c') },
    ];
    const ws = '/work/churn';
    const key = historyKey(ws);
    const none = findHistory(ws, roots);
    assert.equal(none.found, undefined);
    assert.deepEqual(none.tried, roots.map((r) => join(r.dir, 'run-history', key)));
    for (const [name, age] of [['a', 100], ['b', 10]] as const) {
      const dir = join(tmp, name, 'run-history', key);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'history.jsonl'), '');
      const t = Date.now() / 1000 - age;
      utimesSync(join(dir, 'history.jsonl'), t, t);
    }
    assert.deepEqual(findHistory(ws, roots).found, { dir: join(tmp, 'b', 'run-history', key), editor: 'B' });
    assert.equal(findHistory('/work/other', roots).found, undefined, 'another workspace has another key');
  });
});
