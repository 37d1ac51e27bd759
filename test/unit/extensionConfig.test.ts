import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_KEYS, ExtensionConfigSchema, parseConfig, parseWatchConfig, scoreOptionsOf, WATCH_KEYS, WatchConfigSchema } from '../../src/extension/settings/configSchema';

const manifest = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
const properties: Record<string, { default?: unknown; enum?: unknown[] }> = manifest.contributes.configuration.properties;

test('defaults: no settings is a valid configuration', () => {
  const r = parseConfig({});
  assert.equal(r.ok, true);
  assert.equal(r.config.provider, 'anthropic');
  assert.equal(r.config.trajectoryTokenBudget, 32_000);
  assert.equal(r.config.reviewQueryBeforeSending, true);
  assert.equal(r.config.thinking, 'default');
  assert.equal(r.config.baseUrl, undefined);
});

test('blank strings mean "not set"; URLs lose trailing slashes; booleans are accepted for thinking', () => {
  const r = parseConfig({ baseUrl: ' http://127.0.0.1:8000/v1/ ', model: '  ', thinking: true });
  assert.equal(r.ok, true);
  assert.equal(r.config.baseUrl, 'http://127.0.0.1:8000/v1');
  assert.equal(r.config.model, undefined);
  assert.equal(r.config.thinking, 'on');
  assert.equal(parseConfig({ thinking: false }).config.thinking, 'off');
});

test('bad values: one message per setting, naming it and the value; the rest keeps working', () => {
  const r = parseConfig({ provider: 'gpt', trajectoryTokenBudget: 10, baseUrl: 'ftp://x', model: 'qwen' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 3);
  assert.match(r.errors.find((e) => e.includes('ideator.provider'))!, /has value "gpt"/);
  assert.match(r.errors.find((e) => e.includes('ideator.trajectoryTokenBudget'))!, /at least 1000 tokens/);
  assert.match(r.errors.find((e) => e.includes('ideator.baseUrl'))!, /http:\/\/ or https:\/\//);
  // Bad keys fall back to their defaults, good ones are kept.
  assert.equal(r.config.provider, 'anthropic');
  assert.equal(r.config.trajectoryTokenBudget, 32_000);
  assert.equal(r.config.model, 'qwen');
});

test('package.json declares every setting the schema reads, with the same defaults and choices', () => {
  const defaults = ExtensionConfigSchema.parse({});
  for (const key of CONFIG_KEYS) {
    const prop = properties[`ideator.${key}`];
    assert.ok(prop, `package.json lacks ideator.${key}`);
    const declared = parseConfig({ [key]: prop.default }).config[key];
    assert.deepEqual(declared, defaults[key], `ideator.${key}: package.json default ${JSON.stringify(prop.default)} differs from the schema's`);
    for (const choice of prop.enum ?? []) assert.equal(parseConfig({ [key]: choice }).ok, true, `ideator.${key}: choice ${String(choice)} rejected`);
  }
});

test('watch settings go through the same validation: a bad value is named, reported once and replaced by its default', () => {
  const ok = parseWatchConfig({});
  assert.equal(ok.ok, true);
  assert.equal(ok.config.plateauRuns, 3);
  const r = parseWatchConfig({ plateauRuns: -2, notebookRun: 'kernel', maxHistoryMB: 128 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 2);
  assert.match(r.errors.find((e) => e.includes('ideator.watch.plateauRuns'))!, /has value -2: .*; using the default/);
  assert.match(r.errors.find((e) => e.includes('ideator.watch.notebookRun'))!, /has value "kernel"/);
  assert.equal(r.config.plateauRuns, 3);
  assert.equal(r.config.notebookRun, 'cell');
  assert.equal(r.config.maxHistoryMB, 128);
});

test('package.json declares every watch setting with the schema’s defaults', () => {
  const defaults = WatchConfigSchema.parse({});
  for (const key of WATCH_KEYS) {
    const prop = properties[`ideator.watch.${key}`];
    assert.ok(prop, `package.json lacks ideator.watch.${key}`);
    assert.deepEqual(parseWatchConfig({ [key]: prop.default }).config[key], defaults[key], `ideator.watch.${key}`);
  }
});

test('score options come from the validated settings: "auto" and a blank metric mean "not set"', () => {
  assert.deepEqual(scoreOptionsOf(parseConfig({}).config), { primaryMetric: undefined, primaryDirection: undefined });
  assert.deepEqual(scoreOptionsOf(parseConfig({ primaryMetric: ' val_auc ', metricDirection: 'lower' }).config), { primaryMetric: 'val_auc', primaryDirection: 'lower' });
  // An invalid direction is reported by parseConfig and falls back to auto.
  const bad = parseConfig({ metricDirection: 'up' });
  assert.equal(bad.ok, false);
  assert.equal(scoreOptionsOf(bad.config).primaryDirection, undefined);
});
