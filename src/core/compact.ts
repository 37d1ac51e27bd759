/**
 * Compact trajectory mode (issue #16, "Cheaper prompts"): the same steps with the bulk the Ideator does not need
 * taken out, before the trajectory is rendered under its token budget (core/trajectory.ts).
 *
 * Kept, always:
 *  - every metric value the score extractor (core/scores.ts) reads in a step's output: a compacted output is
 *    checked with the extractor and, when any (metric, value) pair would be lost, the output is compacted less
 *    (without the progress rewrite) or left as it was;
 *  - every error line (tracebacks' headers and final lines, `…Error:` / `…Exception:` lines, `error:` / `fatal:`,
 *    CUDA out-of-memory, Killed; not XGBoost's "eval-error:0.19" columns, which are metric values) and every frame of
 *    the user's own files in a traceback;
 *  - the final version of every file the trajectory writes whole (`cat > F << 'EOF'`, `%%writefile F`), in full.
 *  - step headers (number, kind, exit code, score), commands, the seek-help exchanges and every changed line of
 *    edit diffs.
 *
 * Collapsed:
 *  - progress output: tqdm / Keras / pip bars lose the bar, the ETA and the rate ("12/250 - loss: 0.4312"); a run of
 *    progress lines that print no value keeps its last line, with "[… N progress lines …]";
 *  - repeated log lines: a run of 3+ lines of the same shape (digits aside) that hold no value keeps its first and
 *    last line with "[… N similar lines …]" between; a value-free line printed 3+ times in one output keeps its first
 *    occurrence, with "[… repeated N more times below …]";
 *  - library frames of a Python traceback (site-packages, dist-packages, the standard library) between the user's
 *    frames: "[… N library frames …]" (the last frame and the error line stay);
 *  - superseded code versions: a whole-file write that a later step writes again shows as a unified diff against the
 *    file's previous version (the first version as a one-line note); the last write of each file stays whole;
 *  - an edit step's diff: one line of context around an insertion or a deletion, none around lines replaced one for
 *    one, and no ---/+++ header;
 *  - per-round lines (the same line printed round after round with other numbers: LightGBM/XGBoost rounds, Keras
 *    epochs, HF Trainer dicts, JSON lines) as a table: the line's form once with `{}` where the numbers go, then one
 *    row of numbers per round (core/compactTable.ts; lossless: the table expands back to the lines byte for byte);
 *    a later step printing the same form points to the step that shows it. The header says how to read it:
 *    `[… printed 12 times, one row of values each, filling the {} in order: "[{}]\teval-auc:0{}" …]`.
 *
 * The checks read a compact text through its tables (expandedOutputs): a value is kept when the extractor reads it
 * in the lines the tables stand for.
 *
 * `full` mode is the rendering of the steps as given (trajectory.ts), byte for byte what it was before this module.
 */
import { createTwoFilesPatch } from 'diff';
import { TrajectoryModeSchema, type Step, type TrajectoryMode } from './protocol';
import {
  expandStepTexts,
  expandTables,
  formReferences,
  FULL_HEADER_RE,
  isTableHeaderLike,
  isTableRowLike,
  newFormsShown,
  referForms,
  tabulate,
  type TableStats,
} from './compactTable';
import { extractScores } from './scores';
import { cleanOutput, renderTrajectory, TRIM_MARKER_RE } from './trajectory';

export { TrajectoryModeSchema, type TrajectoryMode };
export const TRAJECTORY_MODES = TrajectoryModeSchema.options;

/**
 * The default everywhere (editor setting, CLI, server, exports): compact. Justified by test/unit/compact.test.ts
 * (no metric value, error line or final-code line lost on generated and real logs) and bench/prompt-tokens.ts
 * (the saving on realistic trajectories).
 */
export const DEFAULT_TRAJECTORY_MODE: TrajectoryMode = 'compact';

/** Parses a mode given by a user (flag, setting, request field); a clear one-line error names the accepted values. */
export function parseTrajectoryMode(value: unknown, where = 'trajectory mode'): TrajectoryMode {
  const r = TrajectoryModeSchema.safeParse(value);
  if (!r.success) throw new Error(`${where} must be full or compact, got '${String(value)}'`);
  return r.data;
}

export interface CompactStats extends TableStats {
  /** Tables that point to the form an earlier step shows instead of repeating it. */
  formsReferred: number;
  /** Lines removed from outputs (progress, repeats, library frames). */
  linesCollapsed: number;
  /** Progress lines rewritten without their bar / ETA / rate. */
  progressRewritten: number;
  /** Whole-file writes shown as a diff or a note because a later step writes the file again. */
  codeVersionsSuperseded: number;
  /** Outputs left less compacted (or as they were) because compacting them would have lost a metric value. */
  fallbacks: number;
  // tables, rows (TableStats): per-round lines written as tables of their values (core/compactTable.ts).
}

// ---------------------------------------------------------------------------------------------------------------
// Line classes
// ---------------------------------------------------------------------------------------------------------------

/** What reads as an error in a line (see isErrorLine). */
export const ERROR_LINE_RE =
  /Traceback \(most recent call last\)|\b[A-Z]\w*(?:Error|Exception|Interrupt)\b(?::|$)|^\s*(?:error|fatal|FAILED)\b|\bERROR\b|CUDA out of memory|\bout of memory\b|^\s*Killed\b|Segmentation fault|core dumped|^\s*E\s{2,}\S/i;

/**
 * XGBoost's evaluation columns "validation_0-error:0.19867", "train-merror:0.1", "eval-error@0.6:0.2": a metric
 * named error with its value (the score extractor reads it as one, and the invariant keeps it), not an error message.
 */
const XGB_ERROR_METRIC_RE = /-m?error(?:@[\d.]+)?:[-+]?(?:\d|\.\d)/gi;

/** A line that reports an error: never removed, never put in a table. */
export function isErrorLine(line: string): boolean {
  return ERROR_LINE_RE.test(line.includes('rror') ? line.replace(XGB_ERROR_METRIC_RE, '-value:0') : line);
}

/** "name: 0.5", "name=0.5", "'loss': 0.5": a line carrying a value. */
const VALUE_PAIR_RE = /[A-Za-z_][\w.'\-]*['"]?\s*[:=]\s*[-+]?(?:\d|\.\d)|[A-Za-z_][\w.'\-]* [-+]?\d*\.\d/;
/** A decimal or exponent number: lines holding one are never collapsed (table rows, bare prints of values). */
const DECIMAL_RE = /\d\.\d|\d[eE][-+]?\d/;

const TQDM_BAR_RE = /\d{1,3}%\|[^|\n]{0,200}\|/;
const KERAS_BAR_RE = /^\s*\d+\/\d+\s+\[[=>.]*\]/;
const GLYPH_BAR_RE = /[━█▉▊▋▌▍▎▏╸╺#]{4,}/;

export function isProgressLine(line: string): boolean {
  return TQDM_BAR_RE.test(line) || KERAS_BAR_RE.test(line) || GLYPH_BAR_RE.test(line);
}

/** The progress line without its bar, ETA, elapsed/remaining time and rate. */
export function stripProgress(line: string): string {
  return line
    .replace(/\|[^|\n]{0,200}\|/, ' ')
    .replace(/\[[=>.]{2,}\]/, ' ')
    .replace(/[━█▉▊▋▌▍▎▏╸╺#]{2,}/g, ' ')
    .replace(/\bETA:?\s*(?:\d+:)*\d+(?:s|ms)?\b/g, ' ')
    .replace(/\beta\s+(?:\d+:)*\d+\b/g, ' ')
    .replace(/(?:\d+:)?\d+:\d\d<(?:(?:\d+:)?\d+:\d\d|\?)/g, '')
    .replace(/[?\d.]+\s*(?:it\/s|s\/it|ms\/step|s\/step|us\/step|MB\/s|kB\/s|GB\/s)\b/g, '')
    .replace(/\[\s*(?:,\s*)*/g, '[')
    .replace(/(?:,\s*)*\]/g, ']')
    .replace(/\[\]/g, '')
    .replace(/\s+-\s+(?=-|$)/g, ' ')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/\s+$/, '');
}

const LIBRARY_FRAME_RE = /^\s*File "([^"]*)", line \d+/;
function isLibraryPath(path: string): boolean {
  return /[\\/](?:site-packages|dist-packages)[\\/]|[\\/]lib[\\/]python\d[\d.]*[\\/]|^<frozen /.test(path);
}

function shape(line: string): string {
  return line.replace(/\d+/g, '#').trim();
}

// ---------------------------------------------------------------------------------------------------------------
// One output
// ---------------------------------------------------------------------------------------------------------------

interface Line {
  text: string;
  /** Never removed: errors and lines with values. */
  keep: boolean;
}

/** Library frames of tracebacks (frame line + its source line) between user frames: one marker per stretch. */
function collapseFrames(lines: string[], stats: CompactStats): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const m = LIBRARY_FRAME_RE.exec(lines[i]);
    if (!m || !isLibraryPath(m[1])) {
      out.push(lines[i++]);
      continue;
    }
    // A stretch of library frames: each a File line plus, usually, one indented source line.
    const start = i;
    const frames: number[] = [];
    while (i < lines.length) {
      const f = LIBRARY_FRAME_RE.exec(lines[i]);
      if (!f || !isLibraryPath(f[1])) break;
      frames.push(i);
      i++;
      while (i < lines.length && /^\s{4,}\S/.test(lines[i]) && !LIBRARY_FRAME_RE.test(lines[i]) && !isErrorLine(lines[i])) i++;
    }
    // The last frame before the error line stays (where it broke); so does a stretch of one frame.
    const nextIsFrame = i < lines.length && LIBRARY_FRAME_RE.test(lines[i]);
    const keepLast = !nextIsFrame;
    const dropUntil = keepLast ? frames[frames.length - 1] : i;
    const dropped = frames.filter((f) => f < dropUntil).length;
    if (dropped < 2) {
      for (let k = start; k < i; k++) out.push(lines[k]);
      continue;
    }
    const indent = /^\s*/.exec(lines[start])![0];
    out.push(`${indent}[… ${dropped} library frames …]`);
    stats.linesCollapsed += dropUntil - start - 1;
    for (let k = dropUntil; k < i; k++) out.push(lines[k]);
  }
  return out;
}

function compactLines(raw: string[], rewriteProgress: boolean, stats: CompactStats): string[] {
  const lines: Line[] = raw.map((text) => {
    let t = text;
    if (rewriteProgress && isProgressLine(t) && !isErrorLine(t)) {
      const s = stripProgress(t);
      if (s !== t) stats.progressRewritten++;
      t = s;
    }
    return { text: t, keep: isErrorLine(t) || VALUE_PAIR_RE.test(t) || DECIMAL_RE.test(t) };
  });
  const progress = raw.map((t) => rewriteProgress && isProgressLine(t));

  // 1. Runs of value-free progress lines: the last line of the run stays.
  const pass1: Line[] = [];
  for (let i = 0; i < lines.length; ) {
    if (!progress[i] || lines[i].keep) {
      pass1.push(lines[i++]);
      continue;
    }
    let j = i;
    while (j < lines.length && progress[j] && !lines[j].keep) j++;
    const n = j - i;
    if (n >= 3) {
      pass1.push({ text: `[… ${n - 1} progress lines …]`, keep: true }, lines[j - 1]);
      stats.linesCollapsed += n - 2;
    } else for (let k = i; k < j; k++) pass1.push(lines[k]);
    i = j;
  }

  // 2. Runs of 3+ value-free lines of one shape: first, marker, last (identical lines: first and marker).
  const pass2: Line[] = [];
  for (let i = 0; i < pass1.length; ) {
    const l = pass1[i];
    if (l.keep || l.text.trim() === '') {
      pass2.push(pass1[i++]);
      continue;
    }
    const s = shape(l.text);
    let j = i + 1;
    while (j < pass1.length && !pass1[j].keep && shape(pass1[j].text) === s) j++;
    const n = j - i;
    if (n >= 3) {
      const identical = pass1.slice(i, j).every((x) => x.text === l.text);
      if (identical) {
        pass2.push(l, { text: `[… repeated ${n - 1} more times …]`, keep: true });
        stats.linesCollapsed += n - 2;
      } else {
        pass2.push(l, { text: `[… ${n - 2} similar lines …]`, keep: true }, pass1[j - 1]);
        stats.linesCollapsed += n - 3;
      }
    } else for (let k = i; k < j; k++) pass2.push(pass1[k]);
    i = j;
  }

  // 3. A value-free line printed 3+ times in all (not only in a row): its first occurrence stays, with a count.
  const counts = new Map<string, number>();
  for (const l of lines) if (!l.keep && l.text.trim().length >= 12) counts.set(l.text, (counts.get(l.text) ?? 0) + 1);
  const seen = new Set<string>();
  const out: string[] = [];
  const REPEATED = /^\[… repeated (\d+) more times …\]$/;
  for (let i = 0; i < pass2.length; i++) {
    const l = pass2[i];
    const c = l.keep ? 0 : counts.get(l.text) ?? 0;
    if (c < 3) {
      out.push(l.text);
      continue;
    }
    const run = REPEATED.exec(pass2[i + 1]?.text ?? '');
    if (seen.has(l.text)) {
      stats.linesCollapsed += run ? 2 : 1;
      if (run) i++;
      continue;
    }
    seen.add(l.text);
    out.push(l.text);
    let here = 1;
    if (run) {
      out.push(pass2[++i].text);
      here += Number(run[1]);
    }
    if (c - here > 0) {
      out.push(`[… printed ${c - here} more times below, omitted …]`);
      stats.linesCollapsed--;
    }
  }
  return out;
}

/** Every (metric, value) pair the score extractor reads in `text`, as "name\u0000value" keys. */
export function metricValues(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of extractScores(text, { maxSeries: 1_000_000 }).metrics) for (const v of m.series) out.add(`${m.name}\u0000${v}`);
  return out;
}

function keepsValues(before: Set<string>, after: string): boolean {
  if (before.size === 0) return true;
  const now = metricValues(after);
  for (const k of before) if (!now.has(k)) return false;
  return true;
}

/** Error lines of a text, trimmed (the invariant compaction keeps). */
export function errorLines(text: string): string[] {
  return cleanOutput(text)
    .split('\n')
    .filter((l) => isErrorLine(l))
    .map((l) => l.trim());
}

/**
 * One step's output, compacted: collapsed (see the module comment), then its per-round lines as tables
 * (tabulateOutput). Never loses a metric value the extractor reads in it (checked; falls back to less compaction,
 * then to the output as it was) nor an error line.
 */
export function compactOutput(text: string, stats: CompactStats = newStats()): string {
  return tabulateOutput(collapseOutput(text, stats), stats);
}

/** compactOutput without the tables. */
function collapseOutput(text: string, stats: CompactStats): string {
  const clean = cleanOutput(text);
  if (clean.length < 200 && !clean.includes('\n')) return text;
  const raw = clean.split('\n');
  const before = metricValues(clean);
  for (const rewrite of [true, false]) {
    const trial = newStats();
    const lines = compactLines(collapseFrames(raw, trial), rewrite, trial);
    const out = lines.join('\n');
    if (out.length >= clean.length) break;
    if (keepsValues(before, out)) {
      addStats(stats, trial);
      return out;
    }
    stats.fallbacks++;
  }
  return text;
}

/**
 * An output with its stretches of same-shaped lines written as tables (core/compactTable.ts), only when the result
 * expands back to exactly the output: lossless or not at all. Error lines are never put in a table. An output that
 * already holds a line like a table's header (printed by the run) gets none: expanding it would be ambiguous.
 */
export function tabulateOutput(text: string, stats: CompactStats = newStats()): string {
  const clean = cleanOutput(text);
  const lines = clean.split('\n');
  if (lines.length < 3 || lines.some(isTableHeaderLike)) return text;
  const trial: TableStats = { tables: 0, rows: 0 };
  const out = tabulate(lines, (i) => isErrorLine(lines[i]), trial).join('\n');
  if (trial.tables === 0 || expandTables(out) !== clean) return text;
  stats.tables += trial.tables;
  stats.rows += trial.rows;
  return out;
}

/** Lines of 12+ characters, never error lines nor markers: what an earlier step's output can stand in for. */
function referable(line: string): boolean {
  return line.trim().length >= 12 && !isErrorLine(line) && !line.startsWith('[… ');
}

/**
 * Runs of 3+ lines that an earlier step printed verbatim and still shows (`earlier`: line -> the latest such step,
 * 1-based) become "[… N lines as printed in step K …]". Then this output's visible lines are added to `earlier`.
 */
function dedupAgainstEarlier(text: string, step: number, earlier: Map<string, number>, stats: CompactStats): string {
  const lines = text.split('\n');
  const ok = (i: number) => referable(lines[i]);
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const k = ok(i) ? earlier.get(lines[i]) : undefined;
    if (k === undefined) {
      out.push(lines[i++]);
      continue;
    }
    let j = i + 1;
    while (j < lines.length && ok(j) && earlier.get(lines[j]) === k) j++;
    // Two long lines (a warning and its source line, say) are worth a reference too.
    if (j - i >= 3 || (j - i === 2 && lines[i].length + lines[i + 1].length >= 120)) {
      out.push(`[… ${j - i} lines as printed in step ${k} …]`);
      stats.linesCollapsed += j - i - 1;
    } else for (let x = i; x < j; x++) out.push(lines[x]);
    i = j;
  }
  for (const l of out) if (referable(l)) earlier.set(l, step);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Code versions
// ---------------------------------------------------------------------------------------------------------------

/**
 * `cat > F << 'EOF'` or `cat << EOF > F`, the body, the closing tag alone on its line. Exactly one of the two tag
 * groups matched; a backreference to the other matches nothing, so `\4\6` is the tag.
 */
const HEREDOC_RE = /^([ \t]*cat\s+(?:>\s*(\S+)\s+<<-?\s*(['"]?)(\w+)\3|<<-?\s*(['"]?)(\w+)\5\s*>\s*(\S+))[^\n]*)\n([\s\S]*?)\n\t*\4\6[ \t]*$/gm;
const WRITEFILE_RE = /^(%%writefile(?:\s+-a)?\s+(\S+)[^\n]*)\n([\s\S]*)$/;

export interface FileWrite {
  step: number;
  path: string;
  content: string;
  /** Where the content sits in the step's action. */
  start: number;
  end: number;
}

function unquote(p: string): string {
  return p.replace(/^['"]|['"]$/g, '');
}

/** Whole-file writes in an action: heredocs (`cat > F << 'EOF'`, `cat << EOF > F`) and `%%writefile F`. */
export function fileWrites(action: string, step: number): FileWrite[] {
  const out: FileWrite[] = [];
  const wf = WRITEFILE_RE.exec(action);
  if (wf && !/\s-a\b/.test(wf[1])) {
    out.push({ step, path: unquote(wf[2]), content: wf[3], start: wf[1].length + 1, end: action.length });
    return out;
  }
  HEREDOC_RE.lastIndex = 0;
  for (let m = HEREDOC_RE.exec(action); m; m = HEREDOC_RE.exec(action)) {
    const path = unquote(m[2] ?? m[7]);
    const start = m.index + m[1].length + 1;
    out.push({ step, path, content: m[8], start, end: start + m[8].length });
  }
  return out;
}

function versionDiff(path: string, prev: string, next: string, version: number): string {
  const patch = createTwoFilesPatch(`${path} (version ${version - 1})`, `${path} (version ${version})`, prev + '\n', next + '\n', '', '', { context: 2 });
  const body = patch.split('\n').slice(2).join('\n').replace(/\n+$/, ''); // drop the "====" and "Index" lines
  return `[… version ${version} of ${path}, superseded by a later step: shown as its diff against version ${version - 1} …]\n${body}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Whole trajectory
// ---------------------------------------------------------------------------------------------------------------

/** An edit's unified diff without the "Index:" and "=====" lines jsdiff writes above the ---/+++ header. */
function diffHeaderless(diff: string): string {
  return diff.replace(/^(?:Index: [^\n]*\n)?={20,}\n(?=--- )/gm, '');
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

/**
 * An edit step's diff, shorter: without the ---/+++ header of a single-file diff (the step names the file) and
 * with one line of context around each hunk's changes instead of three, none when the hunk replaces lines one for
 * one (the hunk header's numbers adjusted, so it is still a valid patch). Every added and removed line stays, and so does a context line that reads as an error. Anything that is not a plain unified diff is left
 * as it was.
 */
export function tightenDiff(diff: string, keepLine: (line: string) => boolean = isErrorLine): string {
  const lines = diffHeaderless(diff).split('\n');
  const headers = lines.filter((l) => l.startsWith('--- ')).length;
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (headers === 1 && l.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ') && HUNK_RE.test(lines[i + 2] ?? '')) {
      i += 2;
      continue;
    }
    const h = HUNK_RE.exec(l);
    if (!h) {
      out.push(l);
      i++;
      continue;
    }
    let j = i + 1;
    while (j < lines.length && /^[ +\-\\]/.test(lines[j]) && !HUNK_RE.test(lines[j]) && !lines[j].startsWith('--- ')) j++;
    const body = lines.slice(i + 1, j);
    let lead = 0;
    while (lead < body.length && body[lead].startsWith(' ')) lead++;
    let tail = 0;
    while (tail < body.length - lead && body[body.length - 1 - tail].startsWith(' ')) tail++;
    // Lines replaced by as many new ones ("-x = 1" then "+x = 2") say what changed by themselves: no context. An
    // insertion or a deletion keeps one line of it, to show where.
    const changed = body.slice(lead, body.length - tail);
    const half = changed.length / 2;
    const replaced = half >= 1 && changed.every((l, n) => l[0] === (n < half ? '-' : '+'));
    const ctx = replaced ? 0 : 1;
    // A context line that reads as an error line stays (the invariant: no error line of the outputs is lost).
    const cutLead = body.slice(0, Math.max(0, lead - ctx)).some(keepLine) ? 0 : Math.max(0, lead - ctx);
    const cutTail = body.slice(body.length - Math.max(0, tail - ctx)).some(keepLine) ? 0 : Math.max(0, tail - ctx);
    const oldCount = h[2] === undefined ? 1 : Number(h[2]);
    const newCount = h[4] === undefined ? 1 : Number(h[4]);
    if (lead === body.length || cutLead + cutTail === 0 || oldCount < cutLead + cutTail || newCount < cutLead + cutTail) {
      out.push(...lines.slice(i, j));
    } else {
      const oldStart = Number(h[1]) + cutLead;
      const newStart = Number(h[3]) + cutLead;
      out.push(`@@ -${oldStart},${oldCount - cutLead - cutTail} +${newStart},${newCount - cutLead - cutTail} @@${h[5]}`, ...body.slice(cutLead, body.length - cutTail));
    }
    i = j;
  }
  return out.join('\n');
}

/**
 * An edit step's output: its diff tightened (tightenDiff) when that keeps every value the score extractor reads in
 * it (a context line such as `tol=0.005` reads as one), else tightened only where the cut lines hold no value, else
 * only without the Index/==== lines.
 */
function compactEdit(diff: string, stats: CompactStats): string {
  const plain = diffHeaderless(diff);
  const before = metricValues(cleanOutput(plain));
  // Then, when that loses a value: the context cut only where the lines cut carry no value at all.
  const keepValued = (l: string) => isErrorLine(l) || VALUE_PAIR_RE.test(l) || DECIMAL_RE.test(l);
  for (const tight of [tightenDiff(diff), tightenDiff(diff, keepValued)]) {
    if (tight.length >= plain.length) return plain;
    if (keepsValues(before, cleanOutput(tight))) return tight;
    stats.fallbacks++;
  }
  return plain;
}

export function newStats(): CompactStats {
  return { linesCollapsed: 0, progressRewritten: 0, codeVersionsSuperseded: 0, fallbacks: 0, tables: 0, rows: 0, formsReferred: 0 };
}

function addStats(a: CompactStats, b: CompactStats): void {
  a.linesCollapsed += b.linesCollapsed;
  a.progressRewritten += b.progressRewritten;
  a.codeVersionsSuperseded += b.codeVersionsSuperseded;
  a.fallbacks += b.fallbacks;
  a.tables += b.tables;
  a.rows += b.rows;
  a.formsReferred += b.formsReferred;
}

/** The steps in compact form (see the module comment). Pure: the input is not changed. */
export function compactSteps(steps: readonly Step[], opts: { crossStep?: boolean } = {}): { steps: Step[]; stats: CompactStats } {
  const crossStep = opts.crossStep ?? true;
  const stats = newStats();
  const earlier = new Map<string, number>();
  const forms = newFormsShown();
  // Versions of each written file, in order.
  const writes = steps.map((s, i) => fileWrites(s.action ?? '', i));
  const versions = new Map<string, FileWrite[]>();
  for (const ws of writes) for (const w of ws) versions.set(w.path, [...(versions.get(w.path) ?? []), w]);
  const out = steps.map((step, i): Step => {
    let action = step.action ?? '';
    const mine = writes[i];
    // Replace superseded writes from the last to the first so that offsets stay valid.
    for (const w of [...mine].reverse()) {
      const all = versions.get(w.path)!;
      const k = all.indexOf(w);
      if (k === all.length - 1) continue; // the final version stays whole
      const lines = w.content.split('\n').length;
      const diff = k === 0 ? '' : versionDiff(w.path, all[k - 1].content, w.content, k + 1);
      // A diff is worth showing when it is clearly shorter than the version (small edits); a rewrite gets a note.
      const replacement =
        k === 0 || diff.length > w.content.length * 0.6
          ? `[… version ${k + 1} of ${w.path} (${lines} lines), superseded by a later step: not shown; later versions appear as diffs against the one before, the last in full …]`
          : diff;
      action = action.slice(0, w.start) + replacement + action.slice(w.end);
      stats.codeVersionsSuperseded++;
    }
    const kind = step.kind ?? 'execute';
    let observation =
      kind === 'seek_help' ? step.observation ?? '' : kind === 'edit' ? compactEdit(step.observation ?? '', stats) : collapseOutput(step.observation ?? '', stats);
    const output = kind !== 'seek_help' && kind !== 'edit' && observation !== '';
    if (crossStep && output) observation = dedupAgainstEarlier(cleanOutput(observation), i + 1, earlier, stats);
    // Tables last: the references above work on the lines as printed (a line an earlier step printed is referred to
    // it, shown there in a table or not), and what is left is tabulated.
    if (output) observation = tabulateOutput(observation, stats);
    // A table whose form an earlier step shows in full points there instead of repeating it.
    if (crossStep && output) observation = referForms(observation, i + 1, forms, stats);
    if (action === step.action && observation === step.observation) return step;
    return { ...step, action, observation };
  });
  if (crossStep && (stats.linesCollapsed > 0 || stats.formsReferred > 0)) {
    // A line's values can depend on the lines around it (a report's header, an epoch context): the whole text is
    // checked, read through its tables, and the steps are compacted without the cross-step references when anything
    // would be lost.
    const full = steps.map((s) => s.observation ?? '').join('\n');
    if (!keepsValues(metricValues(cleanOutput(full)), expandedOutputs(out))) {
      const again = compactSteps(steps, { crossStep: false });
      again.stats.fallbacks++;
      return again;
    }
  }
  return { steps: out, stats };
}

/** The steps' outputs as one text, each table written back as the lines it stands for (compactTable.ts). */
export function expandedOutputs(steps: readonly Step[]): string {
  return expandStepTexts(steps.map((s) => cleanOutput(s.observation ?? ''))).join('\n');
}

/**
 * Whether a rendered compact trajectory (or a prompt holding one) refers to what it does not show: "[… N lines as
 * printed in step K …]" with step K cut by the budget, or a table "… of the 2nd form shown in step K …]" where step
 * K (cut, or trimmed inside) shows fewer forms. Such a prompt is built without the references (core/promptCost.ts).
 * A step trimmed inside its output may have lost forms with the lines removed, so that its 2nd form shown is another
 * one: there, only the forms above the trim marker (the head of the output, as it was) are pointed to safely.
 */
export function danglingReferences(text: string): boolean {
  const shown = new Map<number, string>();
  for (const part of text.split(/^(?=--- Step \d+ \()/m)) {
    const m = /^--- Step (\d+) \(/.exec(part);
    if (m) shown.set(Number(m[1]), part);
  }
  for (const m of text.matchAll(/\[… \d+ lines as printed in step (\d+) …\]/g)) if (!shown.has(Number(m[1]))) return true;
  for (const { step, nth } of formReferences(text)) {
    const part = shown.get(step);
    if (!part) return true;
    const obs = part.indexOf('\nObservation:\n');
    const lines = part.slice(Math.max(0, obs)).split('\n');
    const trim = lines.findIndex((l) => TRIM_MARKER_RE.test(l));
    const safe = trim < 0 ? part : lines.slice(0, trim).join('\n');
    if ((safe.match(FULL_HEADER_RE) ?? []).length < nth) return true;
  }
  return false;
}

/**
 * Table rows shown without their form in a rendered trajectory: trim markers (core/trajectory.ts trimToTokens)
 * followed by a line of bare numbers. Zero is what the trimming guarantees for the tables of compact outputs
 * (tested; measured by bench/prompt-tokens.ts); a run that prints bare numbers right where a trim ends counts too.
 */
export function orphanTableRows(text: string): number {
  const lines = text.split('\n');
  let n = 0;
  for (let i = 0; i + 1 < lines.length; i++) if (TRIM_MARKER_RE.test(lines[i]) && isTableRowLike(lines[i + 1])) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// The invariants, checked (tests and bench/prompt-tokens.ts)
// ---------------------------------------------------------------------------------------------------------------

export interface LostInvariants {
  /** "metric=value" pairs the extractor reads in the full text and not in the compact one. */
  values: string[];
  /** Error lines of the full text missing from the compact one. */
  errors: string[];
  /** Files whose final whole-file write is not in the compact text verbatim. */
  finalCode: string[];
}

/**
 * What the compact steps lost of the steps: metric values the extractor reads in the outputs and the outputs' error
 * lines (the code in actions is no output: an assignment there is no score, a variable named error no error), and
 * the final version of each file written whole, in the rendered compact text.
 */
export function lostInvariants(steps: readonly Step[], compacted: readonly Step[]): LostInvariants {
  const outputs = (ss: readonly Step[]) => cleanOutput(ss.map((s) => s.observation ?? '').join('\n'));
  // The compact outputs are read through their tables (core/compactTable.ts: a table is the lines it stands for).
  const after = metricValues(expandedOutputs(compacted));
  const values = [...metricValues(outputs(steps))].filter((k) => !after.has(k)).map((k) => k.replace('\u0000', '='));
  const compactText = renderTrajectory(compacted as Step[], { budgetTokens: 1e9 }).text;
  const compactLineSet = new Set(compactText.split('\n').map((l) => l.trim()));
  const errors = [...new Set(errorLines(outputs(steps)))].filter((l) => !compactLineSet.has(l));
  const finals = new Map<string, string>();
  steps.forEach((s, i) => {
    for (const w of fileWrites(s.action ?? '', i)) finals.set(w.path, w.content);
  });
  // The rendering drops an action's trailing whitespace (in both modes): compare without it.
  const finalCode = [...finals].filter(([, content]) => !compactText.includes(content.replace(/\s+$/, ''))).map(([p]) => p);
  return { values, errors, finalCode };
}
