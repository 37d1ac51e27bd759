import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_KEYS, ExtensionConfigSchema, parseConfig } from '../../src/extension/configSchema';

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
