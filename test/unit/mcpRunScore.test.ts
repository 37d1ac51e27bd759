/** How `ideator mcp` reads ideator.runScore without the editor (server/src/mcp/runScore.ts). */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseJsonc, resolveRunScore, runScoreIn, workspaceSettingsFile } from '../../server/src/mcp/runScore';

const tmp = mkdtempSync(join(tmpdir(), 'ideator-mcp-runscore-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('settings files as JSONC', () => {
  test('line and block comments and trailing commas go; strings stay as written', () => {
    const text = `\uFEFF{
      // a comment with "quotes", and a comma,
      "a": "http://x//y /* not a comment */", /* a block
      comment */ "b": [1, 2, /* c */ ],
      "c": "escaped \\" quote // still the string, ",
      "d": { "e": "}", },
    }`;
    assert.deepEqual(parseJsonc(text), { a: 'http://x//y /* not a comment */', b: [1, 2], c: 'escaped " quote // still the string, ', d: { e: '}' } });
    assert.deepEqual(parseJsonc('[1, // one\n 2, // two\n]'), [1, 2]);
    assert.deepEqual(parseJsonc('{}'), {});
  });

  test('what is not JSONC throws', () => {
    assert.throws(() => parseJsonc('{ "a": best }'), SyntaxError);
    assert.throws(() => parseJsonc('{ "a": 1 /* open'), /unterminated/);
    assert.throws(() => parseJsonc('{ "a": 1,, }'), SyntaxError);
    assert.throws(() => parseJsonc(''), SyntaxError);
  });
});

describe('ideator.runScore', () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);

  test('read from a settings file or a .code-workspace file; absent, wrong or unreadable: undefined (with a warning but for absent)', () => {
    const file = join(tmp, 'settings.json');
    writeFileSync(file, '{ "ideator.runScore": "best", }');
    assert.equal(runScoreIn(file, undefined, warn), 'best');
    writeFileSync(file, '{ "ideator.model": "x" }');
    assert.equal(runScoreIn(file, undefined, warn), undefined);
    assert.equal(runScoreIn(join(tmp, 'absent.json'), undefined, warn), undefined);
    assert.deepEqual(warnings, []);
    writeFileSync(file, '{ "ideator.runScore": 2 }');
    assert.equal(runScoreIn(file, undefined, warn), undefined);
    writeFileSync(file, '["ideator.runScore", "best"]');
    assert.equal(runScoreIn(file, undefined, warn), undefined);
    assert.equal(runScoreIn(tmp, undefined, warn), undefined, 'a folder');
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.match(warnings[0], /must be last or best, got 2/);
    assert.match(warnings[1], /is not a settings file \(not an object\)/);
    assert.match(warnings[2], /cannot read .* EISDIR/);

    const ws = join(tmp, 'team.code-workspace');
    writeFileSync(ws, '{ "folders": [{ "path": "." }], "settings": { "ideator.runScore": "best" } }');
    assert.deepEqual(workspaceSettingsFile(ws), { file: ws, key: 'settings' });
    assert.equal(runScoreIn(ws, 'settings', warn), 'best');
    // A .code-workspace file's own top-level key is not its setting.
    writeFileSync(ws, '{ "folders": [], "ideator.runScore": "best" }');
    assert.equal(runScoreIn(ws, 'settings', warn), undefined);
  });

  test('the flag, then the workspace, then the user settings, then last', () => {
    const ws = join(tmp, 'proj');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    const user = join(tmp, 'user-settings.json');
    writeFileSync(user, '{ "ideator.runScore": "best" }');
    assert.deepEqual(resolveRunScore({ workspace: ws, warn }), { choice: 'last', from: 'the default of ideator.runScore' });
    assert.deepEqual(resolveRunScore({ workspace: ws, userSettings: user, warn }), { choice: 'best', from: `ideator.runScore in ${user}` });
    writeFileSync(join(ws, '.vscode', 'settings.json'), '{ "ideator.runScore": "last" }');
    assert.deepEqual(resolveRunScore({ workspace: ws, userSettings: user, warn }), { choice: 'last', from: `ideator.runScore in ${join(ws, '.vscode', 'settings.json')}` });
    assert.deepEqual(resolveRunScore({ flag: 'best', workspace: ws, userSettings: user, warn }), { choice: 'best', from: '--run-score' });
  });
});
