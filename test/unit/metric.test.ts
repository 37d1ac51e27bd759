/** "Better than", defined once: isBetter, improves (the paper's Eq. 1 test), betterOf, compareBestFirst. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { betterOf, compareBestFirst, improves, isBetter } from '../../src/core/metric';

describe('isBetter (a better than b, strict)', () => {
  it('is direction-aware; a tie is not better', () => {
    assert.equal(isBetter(0.81, 0.8, 'higher'), true);
    assert.equal(isBetter(0.8, 0.8, 'higher'), false);
    assert.equal(isBetter(0.79, 0.8, 'higher'), false);
    assert.equal(isBetter(0.4, 0.5, 'lower'), true);
    assert.equal(isBetter(0.5, 0.5, 'lower'), false);
    assert.equal(isBetter(0.6, 0.5, 'lower'), false);
  });
  it('NaN is never better, and any number is better than NaN', () => {
    assert.equal(isBetter(NaN, 0.5, 'higher'), false);
    assert.equal(isBetter(NaN, 0.5, 'lower'), false);
    assert.equal(isBetter(NaN, NaN, 'higher'), false);
    assert.equal(isBetter(0.5, NaN, 'higher'), true);
    assert.equal(isBetter(-Infinity, NaN, 'higher'), true);
  });
  it('infinities compare as numbers', () => {
    assert.equal(isBetter(Infinity, 1e308, 'higher'), true);
    assert.equal(isBetter(-Infinity, -1e308, 'lower'), true);
    assert.equal(isBetter(Infinity, Infinity, 'higher'), false);
  });
});

describe('improves (prev → next; ties are not improvements)', () => {
  it('higher is better', () => {
    assert.equal(improves(0.8, 0.81, 'higher'), true);
    assert.equal(improves(0.8, 0.8, 'higher'), false);
    assert.equal(improves(0.8, 0.79, 'higher'), false);
  });
  it('lower is better', () => {
    assert.equal(improves(0.5, 0.4, 'lower'), true);
    assert.equal(improves(0.5, 0.5, 'lower'), false);
    assert.equal(improves(0.5, 0.6, 'lower'), false);
  });
  it('no score after never improves; first valid score improves on no baseline', () => {
    assert.equal(improves(0.5, null, 'higher'), false);
    assert.equal(improves(0.5, undefined, 'lower'), false);
    assert.equal(improves(null, 0.1, 'higher'), true);
    assert.equal(improves(null, 0.1, 'lower'), true);
    assert.equal(improves(undefined, 0.1, 'lower'), true);
    assert.equal(improves(null, null, 'lower'), false);
    assert.equal(improves(0.5, Number.NaN, 'higher'), false);
    assert.equal(improves(NaN, NaN, 'lower'), false);
    assert.equal(improves(NaN, 0.3, 'lower'), true);
    assert.equal(improves(0.5, Infinity, 'higher'), false);
    assert.equal(improves(0.5, -Infinity, 'lower'), false);
  });
  it('a non-finite previous score counts as no score', () => {
    assert.equal(improves(Infinity, 0.3, 'higher'), true);
    assert.equal(improves(-Infinity, 0.3, 'lower'), true);
    assert.equal(improves(-Infinity, 0.3, 'higher'), true);
    assert.equal(improves(Infinity, Infinity, 'higher'), false);
  });
});

describe('betterOf', () => {
  it('picks the better value; a NaN loses', () => {
    assert.equal(betterOf(0.3, 0.4, 'higher'), 0.4);
    assert.equal(betterOf(0.3, 0.4, 'lower'), 0.3);
    assert.equal(betterOf(NaN, 0.4, 'lower'), 0.4);
    assert.equal(betterOf(0.2, NaN, 'higher'), 0.2);
    assert.ok(Number.isNaN(betterOf(NaN, NaN, 'higher')));
    assert.equal(betterOf(0.5, 0.5, 'lower'), 0.5);
  });
});

describe('compareBestFirst', () => {
  it('sorts best first in either direction, NaN last', () => {
    assert.deepEqual([0.2, NaN, 0.9, 0.5].sort((a, b) => compareBestFirst(a, b, 'higher')), [0.9, 0.5, 0.2, NaN]);
    assert.deepEqual([0.2, NaN, 0.9, 0.5].sort((a, b) => compareBestFirst(a, b, 'lower')), [0.2, 0.5, 0.9, NaN]);
    assert.equal(compareBestFirst(0.5, 0.5, 'higher'), 0);
  });
});
