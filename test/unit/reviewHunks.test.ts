import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEdits, minimalEdits } from '../../src/core/ideaApply';
import { hunksOfEdits, pendingHunks, shiftHunks, undoEdit, type DocumentChange, type ReviewHunk } from '../../src/core/reviewHunks';

const BEFORE = ['import numpy as np', 'import pandas as pd', '', 'def model():', '    return LogisticRegression()', '', 'def main():', '    print("hi")', '    fit()', ''].join('\n');
const AFTER = ['import numpy as np', 'import pandas as pd', 'from sklearn.preprocessing import StandardScaler', '', 'def model():', '    return make_pipeline(StandardScaler(), LogisticRegression())', '', 'def main():', '    fit()', ''].join('\n');

/** The document's text after `change`, as the editor would make it. */
function apply(text: string, c: DocumentChange): string {
  return text.slice(0, c.offset) + c.text + text.slice(c.offset + c.length);
}

function review() {
  const edits = minimalEdits(BEFORE, AFTER);
  const text = applyEdits(BEFORE, edits);
  assert.equal(text, AFTER);
  return { text, hunks: hunksOfEdits(BEFORE, edits) };
}

function undo(text: string, hunks: ReviewHunk[], id: number): { text: string; hunks: ReviewHunk[] } {
  const h = hunks.find((x) => x.id === id)!;
  const e = undoEdit(h);
  const c = { offset: e.start, length: e.end - e.start, text: e.text };
  const next = apply(text, c);
  return { text: next, hunks: pendingHunks(next, shiftHunks(hunks.filter((x) => x.id !== id), [c])) };
}

describe('reviewHunks', () => {
  it('each hunk covers its written text and remembers the original', () => {
    const { text, hunks } = review();
    assert.deepEqual(
      hunks.map((h) => [text.slice(h.start, h.end), h.original]),
      [
        ['from sklearn.preprocessing import StandardScaler\n', ''],
        ['    return make_pipeline(StandardScaler(), LogisticRegression())\n', '    return LogisticRegression()\n'],
        ['', '    print("hi")\n'],
      ],
    );
  });

  it('undoing every hunk, in any order, restores the file exactly', () => {
    for (const order of [[1, 2, 3], [3, 2, 1], [2, 3, 1], [3, 1, 2]]) {
      let { text, hunks } = review();
      for (const id of order) ({ text, hunks } = undo(text, hunks, id));
      assert.equal(text, BEFORE, `order ${order.join(',')}`);
      assert.equal(hunks.length, 0);
    }
  });

  it('undoing one hunk keeps the others: the file is the original plus the kept changes', () => {
    let { text, hunks } = review();
    ({ text, hunks } = undo(text, hunks, 1));
    assert.equal(text, AFTER.replace('from sklearn.preprocessing import StandardScaler\n', ''));
    assert.deepEqual(hunks.map((h) => h.id), [2, 3]);
    ({ text, hunks } = undo(text, hunks, 3));
    assert.equal(text, BEFORE.replace('    return LogisticRegression()\n', '    return make_pipeline(StandardScaler(), LogisticRegression())\n'));
  });

  it('hunks follow edits the user makes above, between and inside them', () => {
    let { text, hunks } = review();
    // A line typed at the top, one inside the second hunk, and one deleted between hunks 2 and 3.
    const top: DocumentChange = { offset: 0, length: 0, text: '# tuned\n' };
    text = apply(text, top);
    hunks = shiftHunks(hunks, [top]);
    const inside = text.indexOf('StandardScaler(), ');
    const typed: DocumentChange = { offset: inside, length: 0, text: 'PCA(), ' };
    text = apply(text, typed);
    hunks = shiftHunks(hunks, [typed]);
    const blank = text.indexOf('\ndef main');
    const del: DocumentChange = { offset: blank, length: 1, text: '' };
    text = apply(text, del);
    hunks = shiftHunks(hunks, [del]);
    assert.equal(text.slice(hunks[1].start, hunks[1].end), '    return make_pipeline(PCA(), StandardScaler(), LogisticRegression())\n');
    ({ text, hunks } = undo(text, hunks, 2));
    ({ text, hunks } = undo(text, hunks, 3));
    ({ text, hunks } = undo(text, hunks, 1));
    // Everything Ideator wrote is gone; the user's own two edits stay.
    assert.equal(text, '# tuned\n' + BEFORE.replace('\n\ndef main', '\ndef main'));
  });

  it('several changes in one event are read against the text before it', () => {
    let { text, hunks } = review();
    const changes: DocumentChange[] = [
      { offset: 0, length: 0, text: '#a\n' },
      { offset: text.indexOf('def main'), length: 0, text: '#b\n' },
    ];
    for (const c of [...changes].sort((a, b) => b.offset - a.offset)) text = apply(text, c);
    hunks = shiftHunks(hunks, changes);
    assert.equal(text.slice(hunks[0].start, hunks[0].end), 'from sklearn.preprocessing import StandardScaler\n');
    assert.equal(text.slice(hunks[2].start, hunks[2].end), '');
    assert.ok(text.slice(hunks[2].start).startsWith('    fit()'));
    ({ text, hunks } = undo(text, hunks, 3));
    assert.match(text, /#b\ndef main\(\):\n {4}print\("hi"\)\n {4}fit\(\)/);
  });

  it("a hunk put back by hand (or by the editor's Undo) is no longer pending", () => {
    const { text, hunks } = review();
    assert.equal(pendingHunks(text, hunks).length, 3);
    assert.equal(pendingHunks(BEFORE, hunksOfEdits(BEFORE, [])).length, 0);
    const c: DocumentChange = { offset: hunks[1].start, length: hunks[1].end - hunks[1].start, text: '    return LogisticRegression()\n' };
    const next = apply(text, c);
    assert.deepEqual(pendingHunks(next, shiftHunks(hunks, [c])).map((h) => h.id), [1, 3]);
  });
});
