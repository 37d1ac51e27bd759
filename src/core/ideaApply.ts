/**
 * An idea's ACTION turned into new code — the one definition both hosts use: the editor's "Apply Ideator action"
 * (proposeFromCodeBlocks) and the reward service's implementer (directImplementation for code the idea carries,
 * codeFromAnswer for the implementer model's answer).
 *   - a unified diff is applied to C_t (applyDiff, applyDiffs), tolerant of what models and markdown do to diffs;
 *   - a code block may be a complete script that replaces C_t (isCompleteScript);
 *   - in the editor, a block of definitions (def/class/CONSTANT =) may replace its namesakes in the file;
 *   - a model's answer yields its code from its fenced blocks (fencedBlocks, codeFromAnswer).
 *   - before anything is written: is the idea already in the file (alreadyApplied), does the change delete most of
 *     the file (largeDeletion), and the change as the few edits that make it (minimalEdits, changeCounts).
 * Pure: no 'vscode', nothing of the server.
 */
import { applyPatch, diffLines, parsePatch, reversePatch } from 'diff';
import { isDiffBlock } from './idea';
import type { CodeBlock, ParsedIdea } from './protocol';

/** Fence languages read as Python code ('' = no tag). */
const PYTHON_LANGS = new Set(['', 'python', 'py', 'python3', 'ipython']);
const IMPORT_RE = /^(?:import\s+\S|from\s+\S+\s+import\s)/;

// ---------------------------------------------------------------------------------------------------------------
// Diffs
// ---------------------------------------------------------------------------------------------------------------

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

/**
 * `patch` applied to `current`, or undefined when it does not fit. Exact placement first, then up to 2 mismatched
 * context lines (jsdiff's fuzz; lines the hunk deletes must always be there). A CRLF file takes an LF patch.
 */
export function applyDiff(current: string, patch: string): string | undefined {
  const normalised = normalisePatch(patch);
  for (const fuzzFactor of [0, 2]) {
    try {
      const out = applyPatch(current, normalised, { fuzzFactor, autoConvertLineEndings: true });
      if (typeof out === 'string') return out;
    } catch {
      // malformed patch text; try the next setting, then give up
    }
  }
  return undefined;
}

/** Every patch applied in order (one ACTION's diffs build on each other); undefined when any does not fit. */
export function applyDiffs(current: string, patches: readonly string[]): string | undefined {
  let code: string | undefined = current;
  for (const p of patches) {
    code = applyDiff(code, p);
    if (code === undefined) return undefined;
  }
  return code;
}

// ---------------------------------------------------------------------------------------------------------------
// Python structure: definitions and imports
// ---------------------------------------------------------------------------------------------------------------

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

interface Definition {
  name: string;
  /** First line (decorators included) and one past the last non-blank line of the body. */
  start: number;
  end: number;
  indent: number;
}

/** Top-level-of-their-indent definitions in `lines`: def/class blocks and single-line UPPER_CASE assignments. */
function findDefinitions(lines: string[]): Definition[] {
  const defs: Definition[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const def = /^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/.exec(line);
    const constant = /^(\s*)([A-Z][A-Z0-9_]*)\s*(?::[^=]+)?=(?!=)/.exec(line);
    if (!def && !constant) continue;
    const indent = indentOf(line);
    let start = i;
    while (start > 0 && /^\s*@/.test(lines[start - 1]) && indentOf(lines[start - 1]) === indent) start--;
    let end = i + 1;
    if (def) {
      let lastNonBlank = i;
      for (let j = i + 1; j < lines.length; j++) {
        const l = lines[j];
        if (l.trim() === '') continue;
        const ind = indentOf(l);
        if (ind > indent || (ind === indent && /^\s*[)\]}]/.test(l))) lastNonBlank = j;
        else break;
      }
      end = lastNonBlank + 1;
    } else {
      // A constant may span lines while brackets stay open.
      let depth = 0;
      for (let j = i; j < lines.length; j++) {
        for (const ch of lines[j].replace(/#.*$/, '')) depth += '([{'.includes(ch) ? 1 : ')]}'.includes(ch) ? -1 : 0;
        end = j + 1;
        if (depth <= 0) break;
      }
    }
    defs.push({ name: def ? def[3] : constant![2], start, end, indent });
    // Skip a function's body (nested helpers are its own business) but look inside classes for methods.
    if (def && def[2] === 'def') i = end - 1;
  }
  return defs;
}

function importLines(lines: string[]): string[] {
  return lines.filter((l) => IMPORT_RE.test(l));
}

// ---------------------------------------------------------------------------------------------------------------
// Complete scripts
// ---------------------------------------------------------------------------------------------------------------

/** Non-blank, non-comment lines. */
function codeLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

/** The share of `current`'s non-blank lines that `code` keeps (0 when `current` has none). */
function keptShare(current: string, code: string): number {
  const kept = new Set(code.split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
  const lines = current.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.length === 0 ? 0 : lines.filter((l) => kept.has(l)).length / lines.length;
}

/**
 * Whether running `code` does something: a top-level statement other than imports, definitions (def/class and
 * UPPER_CASE constants, which replace their namesakes instead) and docstrings.
 */
function hasTopLevelStatement(code: string): boolean {
  const lines = code.replace(/[rRbBuUfF]{0,2}("""|''')[\s\S]*?\1/g, "''").split(/\r?\n/);
  const defined = new Set<number>();
  for (const d of findDefinitions(lines)) if (d.indent === 0) for (let i = d.start; i < d.end; i++) defined.add(i);
  return lines.some((l, i) => /^[^\s#@)\]}]/.test(l) && !defined.has(i) && !IMPORT_RE.test(l) && !/^[rRbBuUfF]{0,2}''\s*$/.test(l));
}

/**
 * A block is a complete script when it can stand in place of C_t: C_t is empty; or the block keeps nearly every
 * line of C_t (a rewrite; a lower bar would let a snippet sharing a few lines with a small file wipe the rest); or
 * it is a program of its own: it imports what it uses, runs something at top level (imports and definitions
 * alone are a patch, not a program), is at least half as long as C_t and produces what C_t produced (the
 * submission file, when C_t writes one).
 */
export function isCompleteScript(block: CodeBlock, current: string): boolean {
  if (block.isDiff || !PYTHON_LANGS.has(block.lang) || block.code.trim() === '') return false;
  if (current.trim() === '' || keptShare(current, block.code) >= 0.8) return true;
  const body = codeLines(block.code);
  if (!body.some((l) => IMPORT_RE.test(l.trim())) || !hasTopLevelStatement(block.code)) return false;
  if (body.length < Math.max(1, Math.floor(codeLines(current).length / 2))) return false;
  return !/submission/i.test(current) || /submission/i.test(block.code);
}

/** A file's text ending in exactly one newline. */
function asFile(code: string): string {
  return code.replace(/\s+$/, '') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// The code an idea carries
// ---------------------------------------------------------------------------------------------------------------

export type DirectResult =
  | { kind: 'script' | 'diff'; code: string }
  | { kind: 'none' }
  | { kind: 'error'; error: string };

/**
 * The code C_{t+1} the idea carries itself, without a model: its diffs applied to C_t (diffs win: they say exactly
 * what changes), else its longest complete script. A snippet is neither ('none').
 */
export function directImplementation(idea: Pick<ParsedIdea, 'codeBlocks'>, current: string): DirectResult {
  const diffs = idea.codeBlocks.filter((b) => b.isDiff);
  if (diffs.length) {
    const code = applyDiffs(current, diffs.map((d) => d.code));
    return code === undefined ? { kind: 'error', error: 'the diff in the idea does not apply to the current code' } : { kind: 'diff', code };
  }
  const scripts = idea.codeBlocks.filter((b) => isCompleteScript(b, current));
  if (!scripts.length) return { kind: 'none' };
  const longest = scripts.reduce((a, b) => (b.code.length > a.code.length ? b : a));
  return { kind: 'script', code: asFile(longest.code) };
}

// ---------------------------------------------------------------------------------------------------------------
// The editor's proposal: the code the idea carries, else its definitions replaced in place
// ---------------------------------------------------------------------------------------------------------------

export type ProposalVia = 'diff' | 'full-file' | 'replace-definitions';
export interface Proposal {
  content: string;
  via: ProposalVia;
  /** One line for the UI, e.g. "replaces build_model(), adds 1 import". */
  summary: string;
}

/** Each top-level definition of `code` replaces its namesake in `original` (at the file's indent); new imports are added. */
function replaceDefinitions(original: string, code: string): Proposal | undefined {
  const origLines = original.split('\n');
  const blockLines = code.replace(/\s+$/, '').split('\n');
  if (code.trim() === '') return undefined;
  const origDefs = findDefinitions(origLines);
  const blockDefs = findDefinitions(blockLines);
  const minIndent = Math.min(...blockDefs.map((d) => d.indent));
  const matches = blockDefs
    .filter((d) => d.indent === minIndent)
    .map((d) => ({ block: d, orig: origDefs.find((o) => o.name === d.name) }))
    .filter((m): m is { block: Definition; orig: Definition } => m.orig !== undefined);
  if (matches.length === 0) return undefined;

  const lines = [...origLines];
  // Replace from the bottom up so earlier line numbers stay valid.
  for (const { block, orig } of [...matches].sort((a, b) => b.orig.start - a.orig.start)) {
    const shift = orig.indent - block.indent;
    const replacement = blockLines
      .slice(block.start, block.end)
      .map((l) => (l.trim() === '' ? '' : shift >= 0 ? ' '.repeat(shift) + l : l.slice(Math.min(-shift, indentOf(l)))));
    lines.splice(orig.start, orig.end - orig.start, ...replacement);
  }
  // Imports the block needs that the file lacks go after the file's last import (or at the top).
  const have = new Set(importLines(origLines).map((l) => l.trim()));
  const newImports = importLines(blockLines).filter((l) => !have.has(l.trim()));
  if (newImports.length) {
    let lastImport = -1;
    lines.forEach((l, idx) => {
      if (IMPORT_RE.test(l)) lastImport = idx;
    });
    lines.splice(lastImport + 1, 0, ...newImports);
  }
  const content = lines.join('\n');
  if (content === original) return undefined;
  const names = matches.map((m) => m.block.name + (/^\s*(?:async\s+)?def\b/.test(blockLines[m.block.start].replace(/^\s*@.*$/, '')) ? '()' : ''));
  return {
    content,
    via: 'replace-definitions',
    summary: `replaces ${names.join(', ')}${newImports.length ? `, adds ${newImports.length} import${newImports.length === 1 ? '' : 's'}` : ''}`,
  };
}

/**
 * The editor's edit for an idea: the code it carries (directImplementation: its diffs, else a complete script),
 * else the first Python block whose definitions replace namesakes in `original`. A diff that does not fit falls
 * through to the blocks; a proposal that changes nothing is none. `allowFullFile: false` (notebook cells) takes no
 * complete script.
 */
export function proposeFromCodeBlocks(original: string, blocks: readonly CodeBlock[], options: { allowFullFile?: boolean } = {}): Proposal | undefined {
  const direct = directImplementation({ codeBlocks: [...blocks] }, original);
  if (direct.kind === 'diff' && direct.code !== original) {
    const hunks = blocks.filter((b) => b.isDiff).reduce((n, b) => n + (b.code.match(/^@@/gm) ?? []).length, 0);
    return { content: direct.code, via: 'diff', summary: `applies the idea's diff (${hunks} hunk${hunks === 1 ? '' : 's'})` };
  }
  if (direct.kind === 'script' && (options.allowFullFile ?? true) && direct.code !== original) {
    return { content: direct.code, via: 'full-file', summary: "replaces the whole file with the idea's code" };
  }
  for (const b of blocks.filter((b) => !b.isDiff && PYTHON_LANGS.has(b.lang))) {
    const p = replaceDefinitions(original, b.code);
    if (p) return p;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Before writing: already there? deleting most of the file? which edits exactly?
// ---------------------------------------------------------------------------------------------------------------

/** Lines that say "the rest as before" in a snippet: they separate stretches that must each be in the file. */
const ELISION_RE = /^(?:\.\.\.|…|pass\s*#.*|#.*\.\.\..*)$/;

/** Code lines of a text, untrimmed (blank and comment lines dropped, elisions as '...'). */
function codeLinesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => (ELISION_RE.test(l.trim()) ? '...' : l))
    .filter((l) => l === '...' || !l.trim().startsWith('#'));
}

/**
 * The parts of a snippet that must each be found in the file: every import line on its own (files keep imports
 * together at the top), and the other lines in stretches, cut at "..." elisions and where a new top-level
 * statement (a def, a class, a decorator) starts, since the file may hold them in another order.
 */
function snippetParts(code: string): { imports: string[]; stretches: string[][] } {
  const imports: string[] = [];
  const stretches: string[][] = [[]];
  let inDef = false;
  for (const line of codeLinesOf(code)) {
    const trimmed = line.trim();
    const cut = () => stretches[stretches.length - 1].length > 0 && stretches.push([]);
    if (line === '...') {
      cut();
      continue;
    }
    if (IMPORT_RE.test(line) && !inDef) {
      imports.push(trimmed);
      continue;
    }
    const topLevel = !/^\s/.test(line);
    if (topLevel && /^(?:@|(?:async\s+)?def\s|class\s)/.test(line) && !(stretches[stretches.length - 1].at(-1) ?? '').startsWith('@')) cut();
    if (topLevel) inDef = /^(?:@|(?:async\s+)?def\s|class\s)/.test(line) || (inDef && /^[)\]}]/.test(line));
    stretches[stretches.length - 1].push(trimmed);
  }
  return { imports, stretches: stretches.filter((st) => st.length > 0) };
}

/** Whether `stretch` occurs as consecutive lines of `hay`. */
function containsStretch(hay: readonly string[], stretch: readonly string[]): boolean {
  for (let i = 0; i + stretch.length <= hay.length; i++) if (stretch.every((l, k) => hay[i + k] === l)) return true;
  return false;
}

/** A diff whose result is already in `current`: it does not apply forward, but its reverse does. */
function diffAlreadyApplied(current: string, patch: string): boolean {
  if (applyDiff(current, patch) !== undefined) return false;
  try {
    const reversed = reversePatch(parsePatch(normalisePatch(patch)));
    for (const fuzzFactor of [0, 2]) {
      if (typeof applyPatch(current, reversed[0], { fuzzFactor, autoConvertLineEndings: true }) === 'string') return true;
    }
  } catch {
    // not a patch jsdiff can reverse
  }
  return false;
}

/**
 * Whether the code an idea carries is already in `current` (it was applied before, or the user typed it): every
 * diff's result is there, and every Python block is: each of its imports, and each stretch of its other code lines
 * (cut at "..." elisions and at top-level definitions; blank lines, comments and indentation aside) as consecutive
 * lines of the file. An idea without code, or with a block of fewer than 2 code lines, is never "already applied":
 * there is too little to tell.
 */
export function alreadyApplied(current: string, blocks: readonly CodeBlock[]): boolean {
  const relevant = blocks.filter((b) => b.isDiff || (PYTHON_LANGS.has(b.lang) && b.code.trim() !== ''));
  if (relevant.length === 0) return false;
  const hay = codeLinesOf(current).map((l) => l.trim());
  const have = new Set(hay);
  return relevant.every((b) => {
    if (b.isDiff) return diffAlreadyApplied(current, b.code);
    const { imports, stretches } = snippetParts(b.code);
    const size = imports.length + stretches.reduce((n, st) => n + st.length, 0);
    return size >= 2 && imports.every((l) => have.has(l)) && stretches.every((st) => containsStretch(hay, st));
  });
}

/** Lines added and removed from `before` to `after` (line diff). */
export function changeCounts(before: string, after: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const part of diffLines(before, after)) {
    if (part.added) added += part.count ?? 0;
    else if (part.removed) removed += part.count ?? 0;
  }
  return { added, removed };
}

export interface LargeDeletion {
  /** Non-blank lines of the file before, and how many of them the change deletes. */
  total: number;
  deleted: number;
  /** Non-blank lines of the file after. */
  after: number;
}

/**
 * A change that deletes most of a file: more than half of its non-blank lines, in a file of at least 8 of them
 * (below that, a rewrite is a normal edit). Such a change is usually a snippet taken for the whole file.
 */
export function largeDeletion(before: string, after: string): LargeDeletion | undefined {
  const nonBlank = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== '').length;
  const total = nonBlank(before);
  if (total < 8) return undefined;
  let deleted = 0;
  for (const part of diffLines(before, after, { ignoreWhitespace: false })) if (part.removed) deleted += nonBlank(part.value);
  return deleted * 2 > total ? { total, deleted, after: nonBlank(after) } : undefined;
}

/** One replacement in `before`: characters [start, end) become `text`. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * The change from `before` to `after` as the fewest line-level replacements, in order and not overlapping: each
 * run of removed and added lines becomes one edit. Applying them from the last to the first yields `after`. An
 * editor that applies these instead of replacing the whole document keeps the cursor and the undo stops where
 * the change is (a whole-document replacement puts both at the end of the file).
 */
export function minimalEdits(before: string, after: string): TextEdit[] {
  const edits: TextEdit[] = [];
  let offset = 0;
  let open: TextEdit | undefined;
  for (const part of diffLines(before, after)) {
    if (!part.added && !part.removed) {
      if (open) edits.push(open);
      open = undefined;
      offset += part.value.length;
      continue;
    }
    open ??= { start: offset, end: offset, text: '' };
    if (part.removed) {
      offset += part.value.length;
      open.end = offset;
    } else open.text += part.value;
  }
  if (open) edits.push(open);
  return edits;
}

/** `edits` (from minimalEdits) applied to `text`. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A model's answer
// ---------------------------------------------------------------------------------------------------------------

export interface Fence {
  lang: string;
  code: string;
}

/** Fenced blocks of a model answer (``` or ~~~, any length ≥ 3), in order; an unterminated last one included. */
export function fencedBlocks(text: string): Fence[] {
  const out: Fence[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let open: { marker: string; lang: string; body: string[] } | undefined;
  for (const line of lines) {
    if (!open) {
      const m = /^\s*(`{3,}|~{3,})\s*([\w+.-]*)/.exec(line);
      if (m) open = { marker: m[1], lang: m[2].toLowerCase(), body: [] };
      continue;
    }
    const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1][0] === open.marker[0] && close[1].length >= open.marker.length) {
      out.push({ lang: open.lang, code: open.body.join('\n') });
      open = undefined;
    } else open.body.push(line);
  }
  // An unterminated last fence (the model ran out of tokens) is still the best code we have.
  if (open && open.body.length) out.push({ lang: open.lang, code: open.body.join('\n') });
  return out;
}

/**
 * C_{t+1} from an implementer model's answer: its longest non-diff code block, else its diffs applied to C_t in
 * order. An answer without fences counts as one block when it is bare code (or a bare diff).
 */
export function codeFromAnswer(answer: string, current: string): { code: string } | { error: string } {
  let blocks = fencedBlocks(answer);
  if (!blocks.length) {
    const bare = answer.trim();
    if (/^(?:import |from |#|def |class |"""|[A-Za-z_]\w*\s*=)/.test(bare) || isDiffBlock('', bare)) blocks = [{ lang: '', code: bare }];
  }
  if (!blocks.length) return { error: 'the implementer answered without a code block' };
  const isDiff = (b: Fence) => isDiffBlock(b.lang, b.code);
  const scripts = blocks.filter((b) => !isDiff(b) && b.code.trim() !== '');
  if (scripts.length) return { code: asFile(scripts.reduce((a, b) => (b.code.length > a.code.length ? b : a)).code) };
  const diffs = blocks.filter(isDiff);
  if (!diffs.length) return { error: 'the implementer answered with empty code blocks' };
  const code = applyDiffs(current, diffs.map((d) => d.code));
  return code === undefined ? { error: "the implementer's diff does not apply to the current code" } : { code };
}
