import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportData } from '../../server/src/report/data';
import { limitsText, reportHtml } from '../../server/src/report/html';

test('the report header states the agent limits in words, not as a JSON dump', () => {
  const limits = { maxSteps: 10, timeLimitSec: 3600, actionTimeoutSec: 600, observationChars: 10000, oldObservationChars: 1500, keepRecentSteps: 8 };
  assert.equal(
    limitsText(limits),
    '10 steps, 3600 s per run, 600 s per action, observations cut at 10000 chars, older ones at 1500, the last 8 steps kept whole',
  );
  assert.equal(limitsText({ maxSteps: 5, gpu: 'none' }), '5 steps, gpu="none"');
  const plan = { tasks: [{ id: 'churn-binary', dir: '/t' }], configs: [{ name: 'codeact', ideator: null }], runs: 3, implementer: 'impl', limits };
  const html = reportHtml(reportData([], [], [], plan, () => 'log'), 'T');
  assert.match(html, /limits: 10 steps, 3600 s per run/);
  assert.doesNotMatch(html, /maxSteps|&quot;/);
});
