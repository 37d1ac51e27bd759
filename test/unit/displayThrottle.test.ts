import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DisplayThrottle } from '../../src/core/displayThrottle';

/** A throttle on a hand-driven clock: timers fire only when the test advances time. */
function harness(opts: { charsPerWindow?: number; windowMs?: number; tailChars?: number } = {}) {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const written: string[] = [];
  const throttle = new DisplayThrottle((t) => written.push(t), {
    ...opts,
    now: () => now,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimer: (h) => {
      const i = timers.findIndex((t) => t.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  const advance = (ms: number) => {
    now += ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      due.fn();
    }
  };
  return { throttle, written, advance, text: () => written.join('') };
}

const line = (i: number) => `step ${String(i).padStart(6, '0')} loss: 0.123\n`; // 24 chars

describe('DisplayThrottle', () => {
  it('passes output through unchanged while it stays under the budget', () => {
    const h = harness({ charsPerWindow: 1000, windowMs: 100 });
    let all = '';
    for (let i = 0; i < 200; i++) {
      h.throttle.push(line(i));
      all += line(i);
      h.advance(10); // 24 chars per 10 ms: 240 per window
    }
    h.throttle.flush();
    assert.equal(h.text(), all);
    assert.deepEqual(h.throttle.stats, { shownChars: all.length, hiddenChars: 0, hiddenLines: 0 });
  });

  it('holds back whole lines beyond the budget and says how many, then shows the newest line', () => {
    const h = harness({ charsPerWindow: 100, windowMs: 100 });
    let all = '';
    for (let i = 0; i < 50; i++) all += line(i);
    h.throttle.push(all); // 1200 chars at once
    // Whole lines up to the budget: 4 lines (96 chars), nothing cut mid-line.
    assert.equal(h.text(), all.slice(0, 96));
    h.advance(100);
    const out = h.text();
    assert.match(out, /\[… 45 lines \(1 KB\) not shown: printed faster than a terminal draws;/);
    assert.ok(out.endsWith(line(49)), 'the newest line follows the note');
    const s = h.throttle.stats;
    assert.equal(s.hiddenLines, 45);
    assert.equal(s.hiddenChars, 45 * 24);
    assert.equal(s.shownChars, out.length);
  });

  it('keeps an unfinished progress line visible after the note', () => {
    const h = harness({ charsPerWindow: 50, windowMs: 100 });
    h.throttle.push('a'.repeat(40) + '\n' + 'b'.repeat(200) + '\n' + 'epoch 3  42%|████      | 42/100');
    h.throttle.flush();
    assert.ok(h.text().startsWith('a'.repeat(40) + '\n'));
    assert.ok(h.text().endsWith('\nepoch 3  42%|████      | 42/100'));
  });

  it('memory stays bounded however much is held back (only the tail is kept)', () => {
    const h = harness({ charsPerWindow: 1000, windowMs: 100, tailChars: 256 });
    const block = line(1).repeat(40_000); // ~1 MB per push, all within one window
    for (let i = 0; i < 20; i++) h.throttle.push(block);
    const held = (h.throttle as unknown as { heldTail: string }).heldTail;
    assert.ok(held.length <= 256, `tail ${held.length}`);
    h.advance(100);
    assert.ok(h.text().length < 2000, `wrote ${h.text().length} chars for 20 MB in one window`);
    assert.ok(h.throttle.stats.hiddenChars > 19_000_000);
  });

  it('writes at most about one budget per window over a long flood', () => {
    const h = harness({ charsPerWindow: 1000, windowMs: 100 });
    const block = line(7).repeat(100); // 2400 chars every 10 ms = 24,000 per window
    for (let i = 0; i < 1000; i++) {
      h.throttle.push(block);
      h.advance(10);
    }
    h.throttle.flush();
    const windows = 100;
    // Per window: up to the budget plus one note and one newest line.
    assert.ok(h.text().length <= windows * (1000 + 200 + 24) + 1200, `wrote ${h.text().length}`);
    const { shownChars, hiddenChars } = h.throttle.stats;
    assert.equal(shownChars, h.text().length);
    assert.ok(hiddenChars > 2_000_000, `hidden ${hiddenChars}`);
  });

  it('writeNow reports what was held back, then writes the closing line unthrottled', () => {
    const h = harness({ charsPerWindow: 11, windowMs: 100 });
    h.throttle.push('0123456789\nabcdefghij\nlast line\n');
    h.throttle.writeNow('[exit 0]\n');
    const out = h.text();
    assert.ok(out.startsWith('0123456789\n'));
    assert.match(out, /\[… 1 line \(1 KB\)/);
    assert.ok(out.indexOf('last line') < out.indexOf('[exit 0]'));
    h.advance(1000); // the cancelled timer does not write again
    assert.equal(h.text(), out);
  });
});
