/** Shared assertion for provider tests: the promise rejects with a ProviderError of this kind (and message). */
import assert from 'node:assert/strict';
import { ProviderError } from '../src/core/providers/types';

export async function rejectsWith(p: Promise<unknown>, kind: string, pattern?: RegExp): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}
