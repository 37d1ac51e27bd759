/** `ideator extract-scores`: in-process through main(argv, io), and once as a real spawned process. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { runCli as runCliAs } from '../cliHarness';
import { DirectionSchema, PrimaryScoreSchema } from '../../src/core/protocol';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'logs');

const OutputSchema = z.object({
  primary: PrimaryScoreSchema.nullable(),
  metrics: z.array(z.object({ name: z.string(), last: z.number(), best: z.number(), direction: DirectionSchema, count: z.number().int() })),
});

const runCli = (argv: string[], stdin = '') => runCliAs(['extract-scores', ...argv], stdin);

describe('ideator extract-scores', () => {
  it('--json on a real LightGBM log: one JSON document with the primary score and every metric', async () => {
    const r = await runCli([join(FIXTURES, 'lightgbm_binary.log'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = OutputSchema.parse(JSON.parse(r.stdout));
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'lightgbm_binary.expected.json'), 'utf8'));
    assert.equal(doc.primary?.name, 'valid_1 binary_logloss');
    assert.ok(Math.abs(doc.primary!.value - expected.primary.value) < 1e-6);
    assert.deepEqual(doc.metrics.map((m) => m.name).sort(), Object.keys(expected.metrics).sort());
    assert.equal(r.stderr, '');
  });

  it('--metric (suffix match) and --direction', async () => {
    const r = await runCli([join(FIXTURES, 'xgboost_train.log'), '--metric', 'logloss', '--direction', 'higher', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = OutputSchema.parse(JSON.parse(r.stdout));
    assert.equal(doc.primary?.name, 'eval-logloss');
    assert.equal(doc.primary?.direction, 'higher');
    // best follows the overridden direction: the largest eval-logloss XGBoost printed.
    const printed = [...readFileSync(join(FIXTURES, 'xgboost_train.log'), 'utf8').matchAll(/eval-logloss:([\d.]+)/g)].map((x) => Number(x[1]));
    const m = doc.metrics.find((x) => x.name === 'eval-logloss')!;
    assert.equal(m.best, Math.max(...printed));
    assert.equal(m.count, printed.length);
  });

  it('a --metric that matches nothing says so and lists what was found (not "no metric found")', async () => {
    const log = 'epoch 1 loss: 0.5 - val_accuracy: 0.81\n';
    const text = await runCli(['-', '--metric', 'f1'], log);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^primary: none \(no metric matches --metric f1; found: loss, val_accuracy\)/);
    const json = await runCli(['-', '--metric', 'f1', '--json'], log);
    assert.equal(JSON.parse(json.stdout).primary, null);
    assert.match(json.stderr, /no metric matches --metric f1; found: loss, val_accuracy/);
    const none = await runCli(['-', '--metric', 'f1'], 'nothing here\n');
    assert.match(none.stdout, /^primary: none \(no metric found\)/);
  });

  it('a file is decoded as UTF-8 across its 64 KB reads: a BOM, bad bytes and a character cut in two by a read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scores-cli-'));
    const file = join(dir, 'run.log');
    const head = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Epoch 1/2\nnoise \xff\xfe\n', 'latin1')]);
    const key = Buffer.from("{'pr", 'utf8');
    // 'é' is two bytes: the first ends the first 64 KB read, the second starts the next.
    const filler = Buffer.from(`${'#'.repeat(65_536 - head.length - key.length - 2)}\n`, 'utf8');
    const text = Buffer.concat([head, filler, key, Buffer.from("écision': 0.9, 'loss': 0.25}\nEpoch 2/2\n", 'utf8')]);
    assert.equal(head.length + filler.length + key.length, 65_535);
    writeFileSync(file, text);
    const r = await runCli([file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse((await runCli(['--json'], text.toString('utf8'))).stdout));
    assert.deepEqual(
      JSON.parse(r.stdout).metrics.map((m: { name: string }) => m.name),
      ['précision', 'loss'],
    );
  });

  it('reads stdin when FILE is - or absent', async () => {
    for (const argv of [['-', '--json'], ['--json']]) {
      const r = await runCli(argv, '\x1b[32mval_acc: 0.9\x1b[0m\r\n');
      assert.equal(r.code, 0);
      assert.deepEqual(JSON.parse(r.stdout).primary, { name: 'val_acc', value: 0.9, direction: 'higher' });
    }
  });

  it('prints a short table without --json, and null primary when nothing was found', async () => {
    const r = await runCli([join(FIXTURES, 'tqdm_postfix.log')]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^primary: val_acc = 0\.9 \(higher is better\)/);
    assert.match(r.stdout, /val_loss\s+0\.3008\s+0\.3008\s+lower\s+3/);
    const empty = await runCli(['--json'], 'hello world\n');
    assert.deepEqual(JSON.parse(empty.stdout), { primary: null, metrics: [] });
    assert.match((await runCli([], 'nothing here\n')).stdout, /primary: none/);
  });

  it('bad input is a usage error: exit 2, one line on stderr, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scores-cli-'));
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.log')], /no such file/],
      [[dir], /is a directory/],
      [['--direction', 'up', '-'], /--direction must be 'higher' or 'lower'/],
      [['--metric', ' ', '-'], /--metric needs a metric name/],
      [['--bogus'], /Unknown option/],
      [['a.log', 'b.log'], /at most one input file/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('works as a spawned process (node --import tsx server/src/cli.ts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scores-cli-'));
    const file = join(dir, 'run.log');
    writeFileSync(file, "Epoch 1/2\n8/8 [====] - 1s 9ms/step - loss: 0.5 - val_loss: 0.6\nEpoch 2/2\n8/8 [====] - 1s 9ms/step - loss: 0.4 - val_loss: 0.55\n");
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'src', 'cli.ts'), 'extract-scores', file, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const doc = OutputSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(doc.primary, { name: 'val_loss', value: 0.55, direction: 'lower' });
    assert.deepEqual(doc.metrics.find((m) => m.name === 'val_loss'), { name: 'val_loss', last: 0.55, best: 0.55, direction: 'lower', count: 2 });
    const bad = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'src', 'cli.ts'), 'extract-scores', join(dir, 'nope.log')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /no such file/);
  });
});
