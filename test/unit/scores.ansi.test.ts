/** TerminalTextCleaner / stripAnsi: escape sequences, "\r" redraws, CRLF, chunk boundaries, bounded lines. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { stripAnsi, TerminalTextCleaner } from '../../src/core/ansi';

/** Feeds text one chunk size at a time and returns what the cleaner produced. */
function clean(text: string, size = text.length || 1): string {
  const c = new TerminalTextCleaner();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += c.push(text.slice(i, i + size));
  return out + c.end();
}

describe('TerminalTextCleaner', () => {
  it('strips SGR colours and other CSI sequences', () => {
    assert.equal(stripAnsi('\x1b[1;32mTest accuracy: 81.33%\x1b[0m\n'), 'Test accuracy: 81.33%\n');
    assert.equal(stripAnsi('a\x1b[Kb\x1b[?25lc\x1b[?25h\x1b[38;5;196md'), 'abcd');
    // The 8-bit CSI is a C1 control: removed, not interpreted (UTF-8 terminals do not treat U+009B as CSI).
    assert.equal(stripAnsi('x\x9b31my'), 'x31my');
  });

  it('strips VS Code OSC 633 and OSC 133 shell-integration marks (BEL and ST terminated)', () => {
    const raw = '\x1b]633;A\x07$ \x1b]633;B\x07python train.py\r\n\x1b]633;E;python train.py;nonce\x07\x1b]633;C\x07loss: 0.3\r\n\x1b]133;D;0\x1b\\\x1b]633;D;0\x07';
    assert.equal(stripAnsi(raw), '$ python train.py\nloss: 0.3\n');
  });

  it('keeps only the final state of a line redrawn with \\r (tqdm)', () => {
    const raw = 'Epoch 1:  10%|#  | 1/10 [loss=0.9]\rEpoch 1:  50%|###| 5/10 [loss=0.5]\rEpoch 1: 100%|###| 10/10 [loss=0.2]\r\nnext\n';
    assert.equal(stripAnsi(raw), 'Epoch 1: 100%|###| 10/10 [loss=0.2]\nnext\n');
  });

  it('erases with backspaces and with CSI 2K, as Keras and rich do', () => {
    assert.equal(stripAnsi('1/8 [=>...]\b\b\b\b\b\b\b\b\b\b\b\r8/8 [=====] - loss: 0.1\n'), '8/8 [=====] - loss: 0.1\n');
    assert.equal(stripAnsi('progress 40%\x1b[2Kdone\n'), 'done\n');
    assert.equal(stripAnsi('progress 40%\x1b[1Gdone\n'), 'done\n');
  });

  it('a trailing \\r keeps what is on screen; an erased line (leave=False) ends empty', () => {
    assert.equal(stripAnsi('50% done\r'), '50% done');
    assert.equal(stripAnsi('eval 100%\r          \r'), '          ');
    assert.equal(stripAnsi('eval 100%\r          \rval_loss: 0.3\n'), 'val_loss: 0.3\n');
  });

  it('normalizes CRLF, also when \\r and \\n arrive in different chunks', () => {
    const raw = 'a: 1\r\nb: 2\r\n';
    for (const size of [1, 2, 3, 5]) assert.equal(clean(raw, size), 'a: 1\nb: 2\n');
  });

  it('gives the same text whatever the chunk boundaries (escapes split anywhere)', () => {
    const raw = '\x1b]633;C\x07\x1b[32mval_loss: 0.45\x1b[0m\r\n\x1b]133;D;0\x1b\\50%\r100% loss=0.2\n\x1b(Bend';
    const whole = clean(raw);
    assert.equal(whole, 'val_loss: 0.45\n100% loss=0.2\nend');
    for (let size = 1; size < 12; size++) assert.equal(clean(raw, size), whole, `chunk size ${size}`);
  });

  it('an unterminated OSC ends at the newline instead of swallowing the rest of the output', () => {
    assert.equal(stripAnsi('\x1b]0;title without end\nloss: 0.3\n'), '\nloss: 0.3\n');
  });

  it('bounds one line: a 50 MB line without newline keeps only maxLineLength characters', () => {
    const c = new TerminalTextCleaner({ maxLineLength: 1000 });
    const chunk = 'x'.repeat(1 << 20);
    for (let i = 0; i < 50; i++) assert.equal(c.push(chunk), '');
    assert.equal(c.push('\nauc: 0.9\n'), 'x'.repeat(1000) + '\nauc: 0.9\n');
  });

  it('stays linear on a long coloured progress line pushed as one chunk', () => {
    // Coloured tqdm bars (colour='green') put escape codes in every redraw, so redraws cannot be skipped wholesale.
    const redraw = (k: number) => `\r\x1b[32m${k}%|${'#'.repeat(k % 10)}\x1b[0m| ${k}/15000 [loss=0.${k}]`;
    let text = '';
    for (let k = 0; k < 15000; k++) text += redraw(k);
    const started = Date.now();
    assert.equal(stripAnsi(text + '\n'), '14999%|#########| 14999/15000 [loss=0.14999]\n');
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  it('push returns completed lines only; end returns the rest', () => {
    const c = new TerminalTextCleaner();
    assert.equal(c.push('loss: 0.'), '');
    assert.equal(c.push('3\nacc'), 'loss: 0.3\n');
    assert.equal(c.end(), 'acc');
    assert.equal(c.end(), '');
  });

  it('drops other control characters but keeps tabs', () => {
    assert.equal(stripAnsi('[10]\tvalid_0\'s auc: 0.9\x07\x00\n'), "[10]\tvalid_0's auc: 0.9\n");
  });
});

describe('TerminalTextCleaner against a reference model', () => {
  /** The intended semantics, written the slow obvious way: per line, drop SGR codes, keep the last non-empty "\r" segment. */
  function reference(text: string): string {
    return text
      .split('\n')
      .map((line) => {
        const segments = line.replace(/\x1b\[[0-9;]*m/g, '').split('\r');
        for (let i = segments.length - 1; i >= 0; i--) if (segments[i] !== '') return segments[i];
        return '';
      })
      .join('\n');
  }

  it('agrees on random mixes of text, \\r redraws, CRLF and colours, whatever the chunking', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pieces = ['loss=0.3', ' 50%|###|', '\r', '\r\n', '\n', '\x1b[32m', '\x1b[0m', 'val_acc: 0.9', '  ', 'x'];
    for (let trial = 0; trial < 3000; trial++) {
      let text = '';
      const count = 1 + Math.floor(rand() * 40);
      for (let k = 0; k < count; k++) text += pieces[Math.floor(rand() * pieces.length)];
      const expected = reference(text);
      assert.equal(stripAnsi(text), expected, JSON.stringify(text));
      const size = 1 + Math.floor(rand() * 9);
      assert.equal(clean(text, size), expected, `${JSON.stringify(text)} in chunks of ${size}`);
    }
  });
});
