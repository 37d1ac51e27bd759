/**
 * Turns an idea's own code into a proposed new file, without a model: a unified diff is applied with a little fuzz;
 * a code block is either the whole file or definitions (def/class/CONSTANT =) that replace their namesakes, with new
 * imports added. When nothing fits, the caller asks the implementer model instead. Pure: no 'vscode' import.
 */
import { applyPatch } from 'diff';
import type { CodeBlock } from './protocol';

export type ProposalVia = 'diff' | 'full-file' | 'replace-definitions';
export interface Proposal {
  content: string;
  via: ProposalVia;
  /** One line for the UI, e.g. "replaces build_model(), adds 1 import". */
  summary: string;
}

const CODE_LANGS = new Set(['', 'python', 'py', 'python3', 'ipython']);

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
  return lines.filter((l) => /^(?:import\s+\S|from\s+\S+\s+import\s)/.test(l));
}

function similarity(a: string[], b: string[]): number {
  const setB = new Set(b.map((l) => l.trim()).filter(Boolean));
  const nonBlank = a.map((l) => l.trim()).filter(Boolean);
  if (nonBlank.length === 0) return 0;
  return nonBlank.filter((l) => setB.has(l)).length / nonBlank.length;
}

function tryDiff(original: string, patch: string): Proposal | undefined {
  let text = patch.endsWith('\n') ? patch : patch + '\n';
  // Models often omit the file headers; the parser needs them to find the hunks.
  if (!/^---\s/m.test(text)) text = `--- a/file\n+++ b/file\n${text}`;
  try {
    const out = applyPatch(original, text, { fuzzFactor: 2, autoConvertLineEndings: true });
    if (out === false || out === original) return undefined;
    const hunks = (text.match(/^@@/gm) ?? []).length;
    return { content: out, via: 'diff', summary: `applies the idea's diff (${hunks} hunk${hunks === 1 ? '' : 's'})` };
  } catch {
    return undefined;
  }
}

function tryCodeBlock(original: string, code: string, allowFullFile: boolean): Proposal | undefined {
  const origLines = original.split('\n');
  const blockLines = code.replace(/\s+$/, '').split('\n');
  if (blockLines.length === 0 || code.trim() === '') return undefined;

  // Whole file: the block keeps nearly every line of the file (the model rewrote it), or the file is empty. A lower
  // bar would let a snippet that happens to share a few lines with a small file wipe the rest of it.
  if (allowFullFile && (original.trim() === '' || similarity(origLines, blockLines) >= 0.8)) {
    const content = code.replace(/\s+$/, '') + '\n';
    return content === original ? undefined : { content, via: 'full-file', summary: 'replaces the whole file with the idea\'s code' };
  }

  // Definitions: replace each namesake in the file (same indent), keep the rest of the file untouched.
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
      if (/^(?:import\s+\S|from\s+\S+\s+import\s)/.test(l)) lastImport = idx;
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
 * The first of the idea's code blocks that applies cleanly to `original`; diffs are tried first.
 * `allowFullFile: false` (notebook cells) takes only diffs and definition replacements.
 */
export function proposeFromCodeBlocks(original: string, blocks: readonly CodeBlock[], options: { allowFullFile?: boolean } = {}): Proposal | undefined {
  for (const b of blocks.filter((b) => b.isDiff)) {
    const p = tryDiff(original, b.code);
    if (p) return p;
  }
  for (const b of blocks.filter((b) => !b.isDiff && CODE_LANGS.has(b.lang))) {
    const p = tryCodeBlock(original, b.code, options.allowFullFile ?? true);
    if (p) return p;
  }
  return undefined;
}

/** The code in an implementer answer: the longest fenced block, else the whole answer when it looks like code. */
export function extractImplementerCode(answer: string): string | undefined {
  const blocks = [...answer.matchAll(/```[\w+-]*[^\n]*\n([\s\S]*?)\n```/g)].map((m) => m[1]);
  if (blocks.length) return blocks.sort((a, b) => b.length - a.length)[0] + '\n';
  const trimmed = answer.trim();
  return /^(?:import |from |#|def |class |"""|[A-Za-z_]\w*\s*=)/.test(trimmed) ? trimmed + '\n' : undefined;
}
