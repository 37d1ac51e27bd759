/**
 * Property-based fuzzing of the real server from its own OpenAPI document (GET /openapi.json, generated from the
 * zod schemas): schemathesis (from the project venv) sends a bounded number of generated requests per operation,
 * valid and invalid. No request may produce a 5xx, every status and content type must be documented, every
 * response must match its schema, and schema-violating requests must be rejected.
 *
 * Not checked: positive_data_acceptance (a schema-valid body can still name a task this server does not have — and
 * one naming no graded task is refused, 400 no_grader, unless it sets allowPrintedScore — and POST /v1/ideate's
 * "exactly one of state or messages" rule is a zod refinement OpenAPI cannot express) and unsupported_method for the
 * QUERY method (fastify answers 400 before routing). For the same reason the validation_mismatch warning (the
 * warning form of positive_data_acceptance: "most schema-valid bodies were refused") is not displayed; every other
 * default warning is, and any of them fails the run ("No issues found" is required).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removeDir, REPO, serverForSuite, tempDir } from './serverHarness';

const SCHEMATHESIS = join(REPO, '.venv', 'bin', 'schemathesis');
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'ignored_auth',
].join(',');
// schemathesis' default warnings (all but the opt-in low_valid_rate) without validation_mismatch, see above.
const WARNINGS = [
  'missing_auth',
  'missing_test_data',
  'base_url_mismatch',
  'missing_deserializer',
  'unused_openapi_auth',
  'unsupported_regex',
  'method_not_allowed',
  'constants_extraction',
  'unmatched_filter',
  'unresolvable_reference',
  'rate_limited',
  'dictionary_mismatch',
  'timeout_units',
].join(',');

describe('schemathesis against GET /openapi.json', { skip: existsSync(SCHEMATHESIS) ? false : 'schemathesis is not installed in .venv (scripts/setup-python.sh)' }, () => {
  // A template Ideator makes POST /v1/ideate answerable offline (without one it is a documented 503).
  const server = serverForSuite({ args: ['--slots', '1', '--ideator', '{"kind":"template-vague"}'] });

  it('finds no server error or contract violation in a bounded run', { timeout: 240_000 }, () => {
    const reports = tempDir('ideator-st-');
    try {
      const r = spawnSync(
        SCHEMATHESIS,
        ['run', `${server.url}/openapi.json`, '--checks', CHECKS, '--max-examples', '15', '--generation-deterministic', '--warnings', WARNINGS, '--report-dir', reports],
        { cwd: reports, encoding: 'utf8', timeout: 230_000, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } },
      );
      const out = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, out.slice(-6000));
      // Generated states name no task this server grades, so POST /v1/rewards mostly answers 400 no_grader (a
      // documented answer): schemathesis then warns that data was mostly rejected, which is not an issue found.
      assert.match(out, /No issues found|(\d+) generated, \1 passed/);
      assert.doesNotMatch(out, /\b[1-9]\d* failed\b|Failures:/);
      // POST /v1/rewards, GET /v1/jobs/{id}, POST /v1/states, GET /v1/states/{ref}, POST /get_reward, GET /v1/status,
      // POST /v1/ideate, GET /healthz, GET /metrics, PUT and GET /v1/workspaces/{sha256}, DELETE /v1/verifications/{id}.
      assert.match(out, /Selected: 12\/12/);
    } finally {
      removeDir(reports);
    }
  });
});
