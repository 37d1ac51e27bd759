/** The layering rules in eslint.config.mjs catch each forbidden import, zone by zone, and allow the permitted ones. */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const repo = join(__dirname, '..', '..');
const eslint = new ESLint({ cwd: repo });

async function forbidden(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: join(repo, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layers (eslint zones)', () => {
  it('core imports neither host nor tests', async () => {
    const src = ["import * as v from 'vscode';", "import { a } from '../extension/config';", "import { b } from '../../server/src/cli';", "import { c } from '../../test/unit/x';", 'export const q = [v, a, b, c];'].join('\n');
    const found = await forbidden('src/core/probe.ts', src);
    assert.equal(found.length, 4, found.join('\n'));
    assert.deepEqual(await forbidden('src/core/probe.ts', "import { readFileSync } from 'node:fs';\nimport { p } from './providers/server';\nexport const q = [readFileSync, p];"), []);
  });
  it('the extension may import vscode and core, never the server or tests', async () => {
    assert.deepEqual(await forbidden('src/extension/probe.ts', "import * as v from 'vscode';\nimport { s } from '../core/scores';\nexport const q = [v, s];"), []);
    const found = await forbidden('src/extension/probe.ts', "import { b } from '../../server/src/cli';\nimport { c } from '../../test/vscode/lib/x';\nexport const q = [b, c];");
    assert.equal(found.length, 2, found.join('\n'));
  });
  it('the server never imports vscode, the extension or tests', async () => {
    const found = await forbidden('server/src/probe.ts', "import * as v from 'vscode';\nimport { a } from '../../src/extension/settings/config';\nimport { c } from '../../test/unit/x';\nexport const q = [v, a, c];");
    assert.equal(found.length, 3, found.join('\n'));
    assert.deepEqual(await forbidden('server/src/probe.ts', "import { s } from '../../src/core/scores';\nexport const q = [s];"), []);
  });
});
