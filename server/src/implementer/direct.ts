/**
 * The implementer's shortcut: when an idea's ACTION already carries the new code — a unified diff against C_t or
 * a complete script — apply it directly instead of asking a model. A snippet (a few changed lines without the
 * rest of the program) is neither, and is left to the LLM implementer.
 */
import { applyPatch } from 'diff';
import type { CodeBlock, ParsedIdea } from '../../../src/core/protocol';

export type DirectResult =
  | { kind: 'script' | 'diff'; code: string }
  | { kind: 'none' }
  | { kind: 'error'; error: string };

const SCRIPT_LANGS = new Set(['', 'python', 'py', 'python3']);

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

/**
 * A block is a complete script when it could run on its own in place of C_t: it imports what it uses and it
 * produces what C_t produced (the submission file, when C_t writes one), or — for code that writes nothing —
 * it is at least half as long as C_t.
 */
export function isCompleteScript(block: CodeBlock, current: string): boolean {
  if (block.isDiff || !SCRIPT_LANGS.has(block.lang)) return false;
  const body = lines(block.code);
  if (!body.some((l) => /^\s*(import\s+\w|from\s+[\w.]+\s+import\s)/.test(l))) return false;
  const writesSubmission = /submission/i.test(current);
  if (writesSubmission) return /submission/i.test(block.code);
  return body.length >= Math.max(1, Math.floor(lines(current).length / 2));
}

/**
 * Normalises a diff so jsdiff accepts it: headers optional, CRLF tolerated, blank lines inside a hunk read as
 * blank context lines (markdown and models strip the single space `diff -u` writes), and each hunk header's line
 * counts recomputed from its body (models miscount, and trailing blank context lines get trimmed).
 */
function normalisePatch(patch: string): string {
  let text = patch.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  if (!/^(---|\+\+\+) /m.test(text)) text = `--- a/solution\n+++ b/solution\n${text}`;
  const lines = text.split('\n');
  const out: string[] = [];
  let header = -1;
  let oldCount = 0;
  let newCount = 0;
  const closeHunk = () => {
    if (header < 0) return;
    out[header] = out[header].replace(/^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/, (_m, a: string, b: string) => `@@ -${a},${oldCount} +${b},${newCount} @@`);
    header = -1;
  };
  for (const raw of lines) {
    if (raw.startsWith('@@')) {
      closeHunk();
      header = out.length;
      oldCount = 0;
      newCount = 0;
      out.push(raw);
      continue;
    }
    if (raw.startsWith('--- ') || raw.startsWith('diff ')) closeHunk();
    if (header < 0) {
      out.push(raw);
      continue;
    }
    const line = raw === '' ? ' ' : raw;
    if (line.startsWith('\\')) {
      out.push(line);
      continue;
    }
    if (line[0] === '-') oldCount++;
    else if (line[0] === '+') newCount++;
    else {
      oldCount++;
      newCount++;
    }
    out.push(line[0] === '-' || line[0] === '+' || line[0] === ' ' ? line : ` ${line}`);
  }
  closeHunk();
  return `${out.join('\n')}\n`;
}

export function applyDiff(current: string, patch: string): string | undefined {
  const normalised = normalisePatch(patch);
  for (const fuzzFactor of [0, 2]) {
    try {
      const out = applyPatch(current, normalised, { fuzzFactor });
      if (typeof out === 'string') return out;
    } catch {
      // malformed patch text; try the next setting, then give up
    }
  }
  return undefined;
}

/** The code C_{t+1} the idea carries itself, if any. Diffs win over scripts (they say exactly what changes). */
export function directImplementation(idea: ParsedIdea, current: string): DirectResult {
  const diffs = idea.codeBlocks.filter((b) => b.isDiff);
  if (diffs.length) {
    let code = current;
    for (const d of diffs) {
      const next = applyDiff(code, d.code);
      if (next === undefined) return { kind: 'error', error: 'the diff in the idea does not apply to the current code' };
      code = next;
    }
    return { kind: 'diff', code };
  }
  const scripts = idea.codeBlocks.filter((b) => isCompleteScript(b, current));
  if (!scripts.length) return { kind: 'none' };
  const longest = scripts.reduce((a, b) => (b.code.length > a.code.length ? b : a));
  return { kind: 'script', code: longest.code.endsWith('\n') ? longest.code : `${longest.code}\n` };
}
