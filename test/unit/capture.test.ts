import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCapture } from '../../src/core/capture';

test('small output is kept whole, cleaned of ANSI and \\r redraws, and scored', () => {
  const c = new BoundedCapture();
  const raw = '\x1b]633;C\x07Epoch 1/2\r\n\x1b[32mloss: 0.9 - val_accuracy: 0.61\x1b[0m\r\n10%|#   \r100%|####\r\nEpoch 2/2\nloss: 0.5 - val_accuracy: 0.74\n';
  // Split at every position class: inside escapes and between \r and \n.
  for (let i = 0; i < raw.length; i += 3) c.push(raw.slice(i, i + 3));
  const r = c.end();
  assert.equal(r.head + r.tail, 'Epoch 1/2\nloss: 0.9 - val_accuracy: 0.61\n100%|####\nEpoch 2/2\nloss: 0.5 - val_accuracy: 0.74\n');
  assert.equal(r.droppedChars, 0);
  assert.equal(r.bytes, Buffer.byteLength(raw));
  assert.deepEqual(r.primary, { name: 'val_accuracy', value: 0.74, direction: 'higher' });
  assert.ok(r.metrics.some((m) => m.name === 'loss' && m.last === 0.5));
});

test('large output keeps exactly head and tail caps, scores over the whole stream', () => {
  const c = new BoundedCapture({ headChars: 100, tailChars: 200 });
  let all = '';
  for (let i = 0; i < 5000; i++) {
    const line = `step ${i} val_loss: ${(1 / (i + 1)).toFixed(6)}\n`;
    all += line;
    c.push(line);
  }
  c.push('final line without newline');
  all += 'final line without newline';
  const r = c.end();
  assert.equal(r.head, all.slice(0, 100));
  assert.equal(r.tail, all.slice(all.length - 200));
  assert.equal(r.droppedChars, all.length - 300);
  const m = r.metrics.find((x) => x.name === 'val_loss');
  assert.equal(m?.count, 5000);
  assert.equal(m?.best, 0.0002);
  assert.equal(r.primary?.name, 'val_loss');
});

test('one chunk bigger than the tail cap and many tiny chunks both stay bounded and exact', () => {
  const a = new BoundedCapture({ headChars: 10, tailChars: 50 });
  const big = 'x'.repeat(1000) + '\n' + 'y'.repeat(30);
  a.push(big);
  const ra = a.end();
  assert.equal(ra.head, 'x'.repeat(10));
  assert.equal(ra.tail, big.slice(big.length - 50));
  assert.equal(ra.head.length + ra.tail.length + ra.droppedChars, big.length);

  const b = new BoundedCapture({ headChars: 0, tailChars: 7 });
  const text = 'abcdefghijklmnopqrstuvwxyz\n'.repeat(200);
  for (const ch of text) b.push(ch);
  const rb = b.end();
  assert.equal(rb.head, '');
  assert.equal(rb.tail, text.slice(text.length - 7));
  // push after end is ignored; end is idempotent.
  b.push('more');
  assert.equal(b.end(), rb);
});

test('live() reports bytes and the primary score while running', () => {
  const c = new BoundedCapture();
  c.push('val_acc=0.5\n');
  assert.equal(c.live().primary?.value, 0.5);
  c.push('val_acc=0.6\n');
  assert.equal(c.live().primary?.value, 0.6);
  assert.equal(c.live().bytes, 24);
});
