/**
 * Parses an Ideator answer into its three fields.
 *
 * Two jobs at once, kept apart on purpose:
 *  - display is tolerant: whatever the model wrote, the three fields are filled as well as they can be
 *    (bold or `##` headers, other case, short names like `ANALYSIS:`, a wrapping fence, an unclosed fence);
 *  - `ok` is strict: it is the paper's format check that turns into a reward of -1 when it fails. The answer must
 *    hold ANALYSIS_ON_CURRENT_PROGRESS, ACTION and RATIONALE, each exactly once, in that order (the order the prompt
 *    asks for), each non-empty, and nothing else once thinking and markdown decoration are set aside: no preamble,
 *    no extra sections, no alternatives, no closing remarks. Every reason it fails is listed in `errors`.
 *
 * Decoration that does not count against `ok`: `**bold**`, `__bold__`, `# headings`, list markers in front of a
 * header, other letter case, spaces/hyphens for the underscores, a colon or none (when the header stands alone),
 * trailing spaces, horizontal rules, and one fence wrapping the whole answer.
 *
 * The parser never throws: any input (binary noise, megabytes, broken fences) gives a ParsedIdea.
 */
import type { CodeBlock, ParsedIdea } from './protocol';

export type FieldKey = 'analysis' | 'action' | 'rationale';

/** The paper's field names, in the order the prompt asks for them. */
export const FIELD_NAMES: Record<FieldKey, string> = {
  analysis: 'ANALYSIS_ON_CURRENT_PROGRESS',
  action: 'ACTION',
  rationale: 'RATIONALE',
};
const FIELD_ORDER: FieldKey[] = ['analysis', 'action', 'rationale'];

// ---------------------------------------------------------------------------------------------------------------
// Thinking
// ---------------------------------------------------------------------------------------------------------------

export interface ThinkingSplit {
  /** The text after the reasoning. */
  answer: string;
  /** The reasoning, when there was any non-empty reasoning. */
  thinking?: string;
  /** True when a leading <think> was never closed (output cut off inside the reasoning). */
  unclosed: boolean;
}

const OPEN_THINK = /^\s*<(think|thinking)>/i;

/**
 * Splits reasoning from the answer: leading `<think>…</think>` blocks (also `<thinking>`), a leading `<think>` that
 * is never closed, and a stray `</think>` with no opening tag before it (Qwen3 chat templates put the `<think>` in
 * the prompt, so the completion starts inside the reasoning).
 */
export function stripThinking(raw: string): ThinkingSplit {
  let s = String(raw ?? '')
    .replace(/\r\n?/g, '\n')
    .replace(/^\uFEFF/, '');
  const parts: string[] = [];
  let unclosed = false;

  const firstClose = s.search(/<\/think(?:ing)?>/i);
  if (firstClose >= 0 && !/<think(?:ing)?>/i.test(s.slice(0, firstClose))) {
    const closeLen = s.slice(firstClose).match(/^<\/think(?:ing)?>/i)![0].length;
    parts.push(s.slice(0, firstClose));
    s = s.slice(firstClose + closeLen);
  }
  for (let guard = 0; guard < 100; guard++) {
    const open = OPEN_THINK.exec(s);
    if (!open) break;
    const rest = s.slice(open[0].length);
    const closeRe = new RegExp(`</${open[1]}>`, 'i');
    const close = closeRe.exec(rest);
    if (!close) {
      parts.push(rest);
      s = '';
      unclosed = true;
      break;
    }
    parts.push(rest.slice(0, close.index));
    s = rest.slice(close.index + close[0].length);
  }
  const thinking = parts
    .map((p) => p.trim())
    .filter(Boolean)
    .join('\n\n');
  return { answer: s, thinking: thinking || undefined, unclosed };
}

// ---------------------------------------------------------------------------------------------------------------
// Line classification
// ---------------------------------------------------------------------------------------------------------------

const SEP = '[\\s_-]*';
// Exact names (modulo case and separators) first, then the short or near forms that are shown but fail `ok`.
const NAME_ALTERNATIVES = [
  `analysis${SEP}on${SEP}current${SEP}progress`,
  `analysis(?:${SEP}of${SEP}(?:the${SEP})?current${SEP}progress)?`,
  `current${SEP}progress(?:${SEP}analysis)?`,
  `progress${SEP}analysis`,
  `next${SEP}action`,
  `recommended${SEP}action`,
  'actions?',
  'rationale',
  'rational',
  'reasoning',
  'justification',
].join('|');

/**
 * A field header: optional `#`s, an optional list marker, optional emphasis, the name, optional emphasis, then
 * either a colon followed by inline content, or nothing at all (a header alone on its line may omit the colon).
 */
const HEADER_RE = new RegExp(
  `^ {0,3}(#{1,6}[ \\t]*)?(?:(?:[-*+]|\\d{1,2}[.)])[ \\t]+)?[*_]{0,3}[ \\t]*(${NAME_ALTERNATIVES})[ \\t]*[*_]{0,3}[ \\t]*(?:([:：])(.*)|[*_]{0,3}[ \\t]*)$`,
  'i',
);

interface HeaderMatch {
  key: FieldKey;
  /** True when the name is the paper's (modulo case/separators). */
  exact: boolean;
  /** The name as written, for error messages. */
  written: string;
  /** `#` count of a markdown heading, 0 when not a heading. */
  level: number;
  /** Content on the header's own line after the colon. */
  inline: string;
}

function keyOfName(name: string): { key: FieldKey; exact: boolean } {
  const n = name.toLowerCase().replace(/[\s_-]+/g, '_');
  if (n === 'analysis_on_current_progress') return { key: 'analysis', exact: true };
  if (n === 'action') return { key: 'action', exact: true };
  if (n === 'rationale') return { key: 'rationale', exact: true };
  if (n.includes('analysis') || n.includes('progress')) return { key: 'analysis', exact: false };
  if (n.includes('action')) return { key: 'action', exact: false };
  return { key: 'rationale', exact: false };
}

function matchHeader(line: string): HeaderMatch | null {
  // Headers are short at their start; skip the regex for long lines that cannot begin with a name.
  if (line.length > 20_000) return null;
  const m = HEADER_RE.exec(line);
  if (!m) return null;
  const { key, exact } = keyOfName(m[2]);
  return {
    key,
    exact,
    written: m[2],
    level: m[1] ? m[1].trim().length : 0,
    inline: m[3] ? stripEdgeEmphasis(m[4] ?? '') : '',
  };
}

/** Removes emphasis markers and spaces around inline header content ("** text**" -> "text"). */
function stripEdgeEmphasis(s: string): string {
  return s.replace(/^[\s*_]+/, '').replace(/[\s*_]+$/, '');
}

const FENCE_RE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HR_RE = /^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;
/** An ALL-CAPS label in the style of the paper's own field names (e.g. `NOTES:` alone, or `EXPECTED_GAIN: …`). */
const CAPS_LABEL_RE = /^ {0,3}(?:#{1,6}[ \t]*)?[*_]{0,3}[ \t]*([A-Z][A-Z0-9]*(?:[ _][A-Z0-9]+)*)[ \t]*[*_]{0,3}[ \t]*:[ \t]*[*_]{0,3}[ \t]*(.*)$/;
const ATX_RE = /^ {0,3}(#{1,6})[ \t]+(\S.*)$/;
const ALTERNATIVE_RES: RegExp[] = [
  /\balternatively\b/i,
  /^\W{0,8}(?:option|approach|alternative|idea|plan)[ \t]*(?:#[ \t]*)?(?:[1-9]|a|b|one|two)\b[ \t]*[:.)-]/i,
  /^\W{0,8}(?:plan[ \t]+b|alternatives?)\b[ \t]*[:(-]/i,
  /^\W{0,8}(?:another|other)[ \t]+(?:options?|approach(?:es)?|alternatives?|ideas?)[ \t]*:/i,
  /^\W{0,4}(?:or|otherwise),?[ \t]+(?:you[ \t]+(?:could|can|might)|try|use|consider|switch)\b/i,
  /\byou[ \t]+(?:could|can|might)[ \t]+also[ \t]+(?:try|use|consider|switch)\b/i,
];
/**
 * A commentary section written as a bold or heading label ("**Expected impact:**", "### Notes"): the answer is
 * adding an item beyond the three fields. Plain sentences that start with "Note:" are left alone.
 */
const COMMENTARY_LABEL_RE =
  /^ {0,3}(?:#{1,6}[ \t]+[*_]{0,3}|[*_]{2,3})[ \t]*(notes?|expected[ \t]+(?:impact|improvement|gain|outcome|results?)|impact|risks?|caveats?|summary|conclusion|next[ \t]+steps|bonus|tips?|warning|background|assumptions?|confidence|implementation[ \t]+notes?|alternatives?)\b[^\n]{0,40}$/i;
const CLOSING_REMARK_RE = /^\W{0,4}(?:let me know|hope this helps|i hope|good luck|feel free|happy to help|if you (?:need|have|want|'d like)|happy (?:coding|modeling|kaggling))/i;
const PLACEHOLDER_RE = /^<[^<>\n]{3,200}>$/;

// ---------------------------------------------------------------------------------------------------------------
// Scanning
// ---------------------------------------------------------------------------------------------------------------

interface Section {
  header: HeaderMatch;
  lines: string[];
  blocks: CodeBlock[];
}

interface ScanResult {
  preamble: string[];
  sections: Section[];
  /** Lines (outside fences) that look like extra sections / alternatives, with what they are. */
  extraLabels: string[];
  alternatives: string[];
  unterminatedFences: number;
  /** Each fenced block, with the index of the section it sits in (-1: preamble). */
  blocks: { block: CodeBlock; section: number; startLine: number; endLine: number }[];
}

/** Whether a fenced block is a unified diff: its language tag, a hunk header, or a pair of file headers. */
export function isDiffBlock(lang: string, code: string): boolean {
  if (lang === 'diff' || lang === 'patch' || lang === 'udiff') return true;
  if (/^@@ [^\n]*@@/m.test(code)) return true;
  return /^--- \S/m.test(code) && /^\+\+\+ \S/m.test(code);
}

/**
 * Walks the lines once, tracking fences the CommonMark way (closing fence: same character, at least as long, no
 * info string). `implicitClose` holds start lines of fences known to be unterminated: inside those, a field header
 * ends the fence, so a forgotten closing ``` does not swallow RATIONALE.
 */
function scan(lines: string[], implicitClose: Set<number>): ScanResult & { openFenceAt: number } {
  const res: ScanResult = { preamble: [], sections: [], extraLabels: [], alternatives: [], unterminatedFences: 0, blocks: [] };
  let fence: { char: string; len: number; lang: string; start: number; body: string[] } | null = null;
  let current: Section | null = null;
  let headerLevel = 0; // smallest `#` level used by field headers, 0 when none used headings

  const push = (line: string) => (current ? current.lines.push(line) : res.preamble.push(line));
  const closeFence = (endLine: number, unterminated: boolean) => {
    if (!fence) return;
    // An implicitly closed fence ends where the next field starts: the blank lines before it are not code.
    const body = unterminated ? fence.body.join('\n').replace(/\s+$/, '') : fence.body.join('\n');
    const block: CodeBlock = { lang: fence.lang, code: body, isDiff: isDiffBlock(fence.lang, body) };
    res.blocks.push({ block, section: current ? res.sections.length - 1 : -1, startLine: fence.start, endLine });
    current?.blocks.push(block);
    if (unterminated) res.unterminatedFences++;
    fence = null;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (fence) {
      const f = FENCE_RE.exec(line);
      if (f && f[1][0] === fence.char && f[1].length >= fence.len && f[2].trim() === '') {
        push(line);
        closeFence(i, false);
        continue;
      }
      if (implicitClose.has(fence.start)) {
        const h = matchHeader(line);
        if (h) {
          closeFence(i - 1, true);
          // fall through: the header is handled below
        } else {
          fence.body.push(line);
          push(line);
          continue;
        }
      } else {
        fence.body.push(line);
        push(line);
        continue;
      }
    }
    const f = FENCE_RE.exec(line);
    if (f && !(f[1][0] === '`' && f[2].includes('`'))) {
      fence = { char: f[1][0], len: f[1].length, lang: (f[2].trim().split(/\s+/)[0] ?? '').toLowerCase().replace(/^\{|\}$/g, ''), start: i, body: [] };
      push(line);
      continue;
    }
    const h = matchHeader(line);
    if (h) {
      current = { header: h, lines: h.inline ? [h.inline] : [], blocks: [] };
      res.sections.push(current);
      if (h.level > 0) headerLevel = headerLevel === 0 ? h.level : Math.min(headerLevel, h.level);
      continue;
    }
    classifyProse(line, headerLevel, res);
    push(line);
  }
  const openFenceAt = fence ? (fence as { start: number }).start : -1;
  if (fence) closeFence(lines.length - 1, true);
  return { ...res, openFenceAt };
}

/** Records lines outside fences that add sections or alternatives the format forbids. */
function classifyProse(line: string, headerLevel: number, res: ScanResult): void {
  if (line.length > 20_000) return;
  const caps = CAPS_LABEL_RE.exec(line);
  if (caps && caps[1].length >= 3 && (caps[2].trim() === '' || caps[1].includes('_'))) {
    res.extraLabels.push(caps[1]);
    return;
  }
  const commentary = COMMENTARY_LABEL_RE.exec(line);
  if (commentary && /[:：]|^ {0,3}#/.test(line)) {
    res.extraLabels.push(commentary[1].replace(/\s+/g, ' '));
    return;
  }
  if (headerLevel > 0) {
    const atx = ATX_RE.exec(line);
    if (atx && atx[1].length <= headerLevel) {
      res.extraLabels.push(atx[2].replace(/[*_:]+/g, '').trim().slice(0, 60));
      return;
    }
  }
  for (const re of ALTERNATIVE_RES) {
    if (re.test(line)) {
      res.alternatives.push(snippet(line));
      return;
    }
  }
}

function snippet(s: string, max = 60): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** Joins a field's lines: code indentation kept, blank/rule lines at the edges dropped. */
function fieldText(lines: string[]): string {
  let a = 0;
  let b = lines.length;
  const edge = (l: string) => l.trim() === '' || HR_RE.test(l) || /^[\s*_]+$/.test(l);
  while (a < b && edge(lines[a])) a++;
  while (b > a && edge(lines[b - 1])) b--;
  return lines.slice(a, b).join('\n').trimEnd();
}

function isDecorationOnly(lines: string[]): boolean {
  return lines.every((l) => l.trim() === '' || HR_RE.test(l) || /^[\s*_#>]+$/.test(l));
}

function scanWithRecovery(lines: string[]): ScanResult {
  const implicit = new Set<number>();
  let r = scan(lines, implicit);
  // Re-scan while an unterminated fence may hide later headers (bounded: each pass marks one more fence).
  for (let pass = 0; pass < 8 && r.openFenceAt >= 0 && !implicit.has(r.openFenceAt); pass++) {
    implicit.add(r.openFenceAt);
    const again = scan(lines, implicit);
    r = again;
  }
  return r;
}

/** One fence around the whole answer (```markdown … ```) is decoration: returns the inner lines, else null. */
function unwrapWholeFence(lines: string[]): string[] | null {
  let a = 0;
  let b = lines.length - 1;
  while (a <= b && lines[a].trim() === '') a++;
  while (b >= a && lines[b].trim() === '') b--;
  if (b - a < 2) return null;
  const open = FENCE_RE.exec(lines[a]);
  const close = FENCE_RE.exec(lines[b]);
  if (!open || !close || close[2].trim() !== '' || open[1][0] !== close[1][0] || close[1].length < open[1].length) return null;
  const lang = open[2].trim().toLowerCase();
  if (!['', 'text', 'txt', 'markdown', 'md', 'plaintext'].includes(lang)) return null;
  return lines.slice(a + 1, b);
}

// ---------------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------------

/** Parses an Ideator answer. Never throws. */
export function parseIdea(raw: string): ParsedIdea {
  try {
    return parseUnsafe(raw);
  } catch (err) {
    // Defensive only: the code paths above are total, but a reward must never crash on a model's output.
    return { ok: false, analysis: '', action: '', rationale: '', codeBlocks: [], errors: [`parser failure: ${String((err as Error)?.message ?? err)}`] };
  }
}

function parseUnsafe(raw: string): ParsedIdea {
  const errors: string[] = [];
  const split = stripThinking(typeof raw === 'string' ? raw : String(raw ?? ''));
  let answer = split.answer;
  if (split.unclosed) {
    errors.push('<think> is never closed: the answer is missing or still inside the reasoning (output cut off?)');
    // For display only: if the reasoning already drafted the fields, show the last draft.
    const t = split.thinking ?? '';
    const idx = lastHeaderStart(t);
    if (idx >= 0) answer = t.slice(idx);
  }

  let lines = answer.split('\n');
  let r = scanWithRecovery(lines);
  if (r.sections.length === 0) {
    const inner = unwrapWholeFence(lines);
    if (inner) {
      lines = inner;
      r = scanWithRecovery(lines);
    }
  }

  const result: ParsedIdea = { ok: false, analysis: '', action: '', rationale: '', codeBlocks: [], errors };
  if (split.thinking !== undefined) result.thinking = split.thinking;

  if (answer.trim() === '' && !split.unclosed) {
    errors.push('empty answer: no ANALYSIS_ON_CURRENT_PROGRESS, ACTION or RATIONALE');
    return result;
  }

  if (!isDecorationOnly(r.preamble) && r.sections.length > 0) {
    const first = r.preamble.find((l) => l.trim() !== '' && !HR_RE.test(l)) ?? '';
    errors.push(`text before the first field: "${snippet(first)}"`);
  }

  const byKey: Record<FieldKey, Section[]> = { analysis: [], action: [], rationale: [] };
  for (const s of r.sections) byKey[s.header.key].push(s);

  for (const s of r.sections) {
    if (!s.header.exact) errors.push(`"${s.header.written.trim()}" is not a field name: write ${FIELD_NAMES[s.header.key]}`);
  }
  for (const key of FIELD_ORDER) {
    const list = byKey[key];
    if (list.length === 0) errors.push(`missing ${FIELD_NAMES[key]}`);
    else if (list.length > 1) errors.push(`${FIELD_NAMES[key]} appears ${list.length} times (exactly once expected)`);
  }
  // Order is judged on first occurrences of the fields that are present.
  const seen = r.sections.map((s) => s.header.key).filter((k, i, a) => a.indexOf(k) === i);
  const expected = FIELD_ORDER.filter((k) => seen.includes(k));
  if (seen.join() !== expected.join()) {
    errors.push(`fields out of order (${seen.map((k) => FIELD_NAMES[k]).join(', ')}); expected ${FIELD_ORDER.map((k) => FIELD_NAMES[k]).join(', ')}`);
  }

  for (const key of FIELD_ORDER) {
    const s = byKey[key][0];
    if (!s) continue;
    const text = fieldText(s.lines);
    result[key] = text;
    if (text.trim() === '' || isDecorationOnly(text.split('\n'))) errors.push(`${FIELD_NAMES[key]} is empty`);
    else if (PLACEHOLDER_RE.test(text.trim())) errors.push(`${FIELD_NAMES[key]} still holds a template placeholder "${snippet(text.trim(), 40)}"`);
  }

  for (const label of unique(r.extraLabels)) errors.push(`extra section "${label}": only the three fields are allowed`);
  if (r.alternatives.length > 0) errors.push(`offers alternatives ("${r.alternatives[0]}"): give a single action`);
  if (r.unterminatedFences > 0) errors.push(`${r.unterminatedFences} code fence(s) never closed`);

  const lastSection = r.sections[r.sections.length - 1];
  if (lastSection) {
    const tail = lastParagraph(lastSection.lines);
    if (tail && CLOSING_REMARK_RE.test(tail)) errors.push(`closing remark after the fields: "${snippet(tail)}"`);
  }

  const actionSection = byKey.action[0];
  result.codeBlocks = actionSection ? actionSection.blocks : [];
  result.ok = errors.length === 0;
  return result;
}

function unique<T>(a: T[]): T[] {
  return [...new Set(a)];
}

/**
 * The closing words of the last section: its last paragraph (after a blank line) or, failing that, its last line,
 * provided it is not the section's only content and not inside a code block. '' when there is none.
 */
function lastParagraph(lines: string[]): string {
  const text = fieldText(lines);
  const paras = text.split(/\n[ \t]*\n/);
  const last = paras.length > 1 ? paras[paras.length - 1] : '';
  if (last && !/(^|\n) {0,3}(```|~~~)/.test(last)) return last.trim();
  const ls = text.split('\n');
  const tail = ls.length > 1 ? ls[ls.length - 1].trim() : '';
  return /^(```|~~~)/.test(tail) ? '' : tail;
}

/** Index of the start of the last line that is an exact ANALYSIS_ON_CURRENT_PROGRESS header, or -1. */
function lastHeaderStart(text: string): number {
  let idx = -1;
  let pos = 0;
  for (const line of text.split('\n')) {
    const h = matchHeader(line);
    if (h && h.key === 'analysis') idx = pos;
    pos += line.length + 1;
  }
  return idx;
}

/** The canonical three-field text (what a well-formed answer looks like). */
export function formatIdea(idea: { analysis: string; action: string; rationale: string }): string {
  return [
    `${FIELD_NAMES.analysis}:`,
    idea.analysis.trim(),
    '',
    `${FIELD_NAMES.action}:`,
    idea.action.replace(/^\n+|\s+$/g, ''),
    '',
    `${FIELD_NAMES.rationale}:`,
    idea.rationale.trim(),
  ].join('\n');
}
