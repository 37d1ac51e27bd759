/**
 * Compact trajectories (issue #16): per-round metric lines as a table. A run that prints the same line shape round
 * after round ("[10]\ttrain-auc:0.89394\teval-auc:0.86946", Keras' "Epoch 3/10" + its metrics line, HF Trainer's
 * dicts) repeats its words, names and punctuation on every line while only the numbers change. Such a stretch is
 * written once as the line's form, with `{}` where the numbers go, and then one row of numbers per round:
 *
 *   [… printed 12 times, one row of values each, filling the {} in order: "[{}]\ttrain-auc:0{}\teval-auc:0{}" …]
 *   0 .82580 .81523
 *   10 .89394 .86946
 *
 * A record may be 1 to 4 lines ("…" ⏎ "…" in the header); a number that is the same on every round stays in the
 * form, and so does an integer part all of a column's numbers share ("0{}" with ".82580": Qwen3 spends a token on
 * every digit). A later step that prints the same form points to the step showing it:
 *
 *   [… printed 12 times, one row of values each, filling the {} of the form shown in step 1 …]
 *
 * The form is lossless: expandTables(tabulate(lines)) gives the lines back byte for byte (test/unit/compactTable.test.ts
 * checks it on every fixture log and on random outputs; core/compact.ts applies a table only when it does), and the
 * invariant checks of core/compact.ts read the metric values of a compact text from its expansion, so a value a
 * table did not carry, or a table that does not parse, reads as lost. Error lines, markers and lines that already
 * hold `{}` are never put in a table. A table is written only where it is at least 10 % shorter (estimated tokens).
 *
 * When the budget trims a step inside a table (core/trajectory.ts trimToTokens), the kept end starts with the form
 * again, "[… table continued: the last 7 of its 12 rows, filling the {} in order: "…" …]" (tableSpans), never with
 * bare rows.
 */
import { estimateTokens } from './tokens';

/** A number as printed (sign, decimals, exponent) or a non-finite value; not inside a word (valid_1, python3.11). */
const NUM_RE = /(?<![A-Za-z_\d.])(?:[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?|-?(?:inf|nan|NaN|Infinity)(?![A-Za-z_]))/g;
/** One value of a row: exactly one NUM_RE match. */
const VALUE_RE = new RegExp(`^(?:${NUM_RE.source})$`);
const SLOT = '{}';
/** A plain decimal: its integer part, then the point and digits. */
const LEAD_RE = /^(-?\d+)\.\d+$/;
const SEP = '" ⏎ "';
const HEADER_START = '[… printed ';
const HEADER_RE = /^\[… printed (\d+) times, one row of values each, filling the \{\} in order: "(.*)" …\]$/;
/** A header that refers to the form an earlier step shows: "…filling the {} of the 2nd form shown in step 3 …]". */
const REF_RE = /^\[… printed (\d+) times, one row of values each, filling the \{\} of the (?:(\d+)(?:st|nd|rd|th) )?form shown in step (\d+) …\]$/;
const CONT_START = '[… table continued: ';
/**
 * The header core/trajectory.ts writes after its trim marker when the kept end of a trimmed text starts inside a
 * table: the table's form again (or the same pointer to an earlier step's form), so that no row is shown without it.
 * "[… table continued: the last 7 of its 12 rows, filling the {} in order: "…" …]". It shows no new form: steps
 * count only full headers when a later step points to "the 2nd form shown in step K".
 */
const CONT_RE = /^\[… table continued: the last (\d+) of its (\d+) rows, filling the \{\} (?:in order: "(.*)"|of the (?:(\d+)(?:st|nd|rd|th) )?form shown in step (\d+)) …\]$/;
/** Records of this many lines at most. */
const MAX_RECORD = 4;
/** A stretch becomes a table only from this many records on. */
const MIN_ROWS = 3;

interface Parsed {
  /** The line's text between its numbers (numbers + 1 pieces). */
  pieces: string[];
  values: string[];
}

function parseLine(line: string): Parsed {
  const pieces: string[] = [];
  const values: string[] = [];
  let last = 0;
  NUM_RE.lastIndex = 0;
  for (let m = NUM_RE.exec(line); m; m = NUM_RE.exec(line)) {
    pieces.push(line.slice(last, m.index));
    values.push(m[0]);
    last = m.index + m[0].length;
  }
  pieces.push(line.slice(last));
  return { pieces, values };
}

/**
 * Whether a line may be a table row: not an error line or a marker (the caller says), not holding `{}` or the header's
 * separator (which would make the form ambiguous), not over-long.
 */
function eligibleText(line: string): boolean {
  return line.length <= 2000 && !line.includes(SLOT) && !line.includes(SEP) && !line.startsWith('[… ');
}

export interface TableStats {
  tables: number;
  /** Lines written as rows. */
  rows: number;
}

/**
 * `lines` with each stretch of 3+ records of one shape (a record: 1 to 4 lines) written as a table, where that is
 * shorter. `keep(i)`: line i must stay as it is (an error line, say).
 */
export function tabulate(lines: readonly string[], keep: (i: number) => boolean = () => false, stats?: TableStats): string[] {
  // The shape of each line that may be a row (its numbers replaced by {}: the line holds none when unchanged); the
  // numbers themselves are parsed only for the stretches that become tables.
  const shapes = lines.map((l, i) => (eligibleText(l) && !keep(i) ? l.replace(NUM_RE, SLOT) : null));
  const parsed: (Parsed | undefined)[] = [];
  const parse = (j: number): Parsed => (parsed[j] ??= parseLine(lines[j]));
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    let best = { k: 0, r: 0 };
    for (let k = 1; k <= MAX_RECORD && i + k * MIN_ROWS <= lines.length; k++) {
      const first = shapes.slice(i, i + k);
      // A record holds at least one number.
      if (first.some((sh) => sh === null) || first.every((sh, x) => sh === lines[i + x])) continue;
      let r = 1;
      while (i + (r + 1) * k <= lines.length) {
        let same = true;
        for (let x = 0; x < k && same; x++) same = shapes[i + r * k + x] === first[x];
        if (!same) break;
        r++;
      }
      if (r >= MIN_ROWS && r * k > best.r * best.k) best = { k, r };
    }
    if (!best.k) {
      out.push(lines[i++]);
      continue;
    }
    const n = best.k * best.r;
    const table = tableFor(lines.slice(i, i + n), Array.from({ length: n }, (_, x) => parse(i + x)), best.k, best.r);
    if (!table) {
      // Not worth a table (short lines): the whole stretch stays, and is not tried again from each of its lines.
      for (let x = 0; x < n; x++) out.push(lines[i++]);
      continue;
    }
    out.push(...table);
    if (stats) {
      stats.tables++;
      stats.rows += n;
    }
    i += n;
  }
  return out;
}

/**
 * The integer part every value of a column shares, when all are plain decimals with it ("0.65081", "0.47977": "0"):
 * it moves into the form ("0{}") and the rows hold ".65081", ".47977". Empty when there is none.
 */
function commonLead(parsed: Parsed[], k: number, r: number, x: number, c: number): string {
  let lead: string | null = null;
  for (let row = 0; row < r; row++) {
    const m = LEAD_RE.exec(parsed[row * k + x].values[c]);
    if (!m || (lead !== null && m[1] !== lead)) return '';
    lead = m[1];
  }
  return lead ?? '';
}

/** The table for r records of k lines (`parsed`, in order), or null when it would not be shorter than the lines. */
function tableFor(stretch: readonly string[], parsed: Parsed[], k: number, r: number): string[] | null {
  // Columns (one per number of the record) whose value is the same in every row stay in the form.
  const forms: string[] = [];
  const varying: boolean[][] = [];
  /** Characters of each column's shared integer part, moved into the form. */
  const leads: number[][] = [];
  for (let x = 0; x < k; x++) {
    const first = parsed[x];
    const vary = first.values.map((v, c) => {
      for (let row = 1; row < r; row++) if (parsed[row * k + x].values[c] !== v) return true;
      return false;
    });
    varying.push(vary);
    leads.push([]);
    let form = first.pieces[0];
    for (let c = 0; c < first.values.length; c++) {
      const lead = vary[c] ? commonLead(parsed, k, r, x, c) : '';
      leads[x].push(lead.length);
      form += (vary[c] ? lead + SLOT : first.values[c]) + first.pieces[c + 1];
    }
    forms.push(form);
  }
  if (!varying.some((v) => v.some(Boolean))) return null; // the same lines again: the repeat collapsing handles it
  const rows: string[] = [];
  for (let row = 0; row < r; row++) {
    const vals: string[] = [];
    for (let x = 0; x < k; x++) {
      const p = parsed[row * k + x];
      p.values.forEach((v, c) => {
        if (varying[x][c]) vals.push(v.slice(leads[x][c]));
      });
    }
    rows.push(vals.join(' '));
  }
  const header = `[… printed ${r} times, one row of values each, filling the {} in order: "${forms.join(SEP)}" …]`;
  const table = [header, ...rows];
  const before = stretch.join('\n');
  if (estimateTokens(table.join('\n')) >= estimateTokens(before) * 0.9) return null;
  return table;
}

/** Says which earlier step shows a form in full: (step, nth form shown there) -> the header's quoted part. */
export type FormLookup = (step: number, nth: number) => string | undefined;

interface Header {
  rows: number;
  /** A continuation after a trim (CONT_RE): the form again, not a form shown anew. */
  cont?: boolean;
  /** The quoted part: the forms joined with SEP. */
  key: string;
  /** Where a referring header points, as written; absent for a full header. */
  ref?: { step: number; nth: number };
}

function parseHeader(line: string, lookup?: FormLookup): (Header & { resolved: string | undefined }) | null {
  const h = HEADER_RE.exec(line);
  if (h) return { rows: Number(h[1]), key: h[2], resolved: h[2] };
  const c = CONT_RE.exec(line);
  if (c) {
    if (c[3] !== undefined) return { rows: Number(c[1]), key: c[3], resolved: c[3], cont: true };
    const ref = { step: Number(c[5]), nth: c[4] ? Number(c[4]) : 1 };
    return { rows: Number(c[1]), key: '', ref, resolved: lookup?.(ref.step, ref.nth), cont: true };
  }
  const r = REF_RE.exec(line);
  if (!r) return null;
  const ref = { step: Number(r[3]), nth: r[2] ? Number(r[2]) : 1 };
  return { rows: Number(r[1]), key: '', ref, resolved: lookup?.(ref.step, ref.nth) };
}

/** The lines a table stands for; null when `lines` from `at` is not a well-formed table. */
function expandAt(lines: readonly string[], at: number, lookup?: FormLookup): { lines: string[]; used: number; header: Header } | null {
  const h = parseHeader(lines[at], lookup);
  if (!h || h.resolved === undefined) return null;
  const r = h.rows;
  const forms = h.resolved.split(SEP);
  const slots = forms.map((f) => f.split(SLOT).length - 1);
  const total = slots.reduce((a, b) => a + b, 0);
  if (r < 1 || at + r > lines.length - 1 || total === 0) return null;
  const out: string[] = [];
  for (let row = 0; row < r; row++) {
    const vals = lines[at + 1 + row].split(' ');
    if (vals.length !== total || !vals.every((v) => VALUE_RE.test(v))) return null;
    let c = 0;
    for (let x = 0; x < forms.length; x++) {
      const parts = forms[x].split(SLOT);
      let line = parts[0];
      for (let s = 1; s < parts.length; s++) line += vals[c++] + parts[s];
      out.push(line);
    }
  }
  return { lines: out, used: r + 1, header: h };
}

/**
 * `text` with every table written back as the lines it stands for (the inverse of tabulate). A table that refers
 * to a form shown in an earlier step is expanded with `lookup`; `shown` receives the forms this text shows in full,
 * in order.
 */
export function expandTables(text: string, lookup?: FormLookup, shown?: string[]): string {
  if (!text.includes(HEADER_START) && !text.includes(CONT_START)) return text;
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const e = isTableHeaderLike(lines[i]) ? expandAt(lines, i, lookup) : null;
    if (!e) {
      out.push(lines[i++]);
      continue;
    }
    if (!e.header.ref && !e.header.cont) shown?.push(e.header.key);
    out.push(...e.lines);
    i += e.used;
  }
  return out.join('\n');
}

/** Each step's text (in step order, step 1 first) with its tables expanded, references to earlier steps included. */
export function expandStepTexts(texts: readonly string[]): string[] {
  const shown = new Map<number, string[]>();
  const lookup: FormLookup = (step, nth) => shown.get(step)?.[nth - 1];
  return texts.map((t, i) => {
    const mine: string[] = [];
    const out = expandTables(t, lookup, mine);
    shown.set(i + 1, mine);
    return out;
  });
}

/** The forms shown in full so far in a trajectory, for referForms. */
export interface FormsShown {
  where: Map<string, { step: number; nth: number }>;
  /** Forms each step shows in full. */
  count: Map<number, number>;
}

export function newFormsShown(): FormsShown {
  return { where: new Map(), count: new Map() };
}

const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;

/**
 * Step `step`'s text with each table whose form an earlier step shows in full written with a short header that
 * points there ("… filling the {} of the form shown in step 3 …"); its other tables' forms are recorded in `shown`.
 */
export function referForms(text: string, step: number, shown: FormsShown, stats?: { formsReferred: number }): string {
  if (!text.includes(HEADER_START)) return text;
  const lines = text.split('\n');
  let mine = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith(HEADER_START)) continue;
    const e = expandAt(lines, i);
    if (!e || e.header.ref || e.header.cont) continue;
    const at = shown.where.get(e.header.key);
    if (at) {
      const several = (shown.count.get(at.step) ?? 1) > 1;
      lines[i] = `${HEADER_START}${e.header.rows} times, one row of values each, filling the {} of the ${several ? `${ordinal(at.nth)} ` : ''}form shown in step ${at.step} …]`;
      if (stats) stats.formsReferred++;
    } else shown.where.set(e.header.key, { step, nth: ++mine });
    i += e.used - 1;
  }
  shown.count.set(step, mine);
  return lines.join('\n');
}

/** The forms that the table headers of `text` refer to: step, and which of the forms that step shows (1-based). */
export function formReferences(text: string): { step: number; nth: number }[] {
  const refs = [...text.matchAll(new RegExp(REF_RE.source, 'gm'))].map((m) => ({ step: Number(m[3]), nth: m[2] ? Number(m[2]) : 1 }));
  for (const m of text.matchAll(new RegExp(CONT_RE.source, 'gm'))) if (m[5]) refs.push({ step: Number(m[5]), nth: m[4] ? Number(m[4]) : 1 });
  return refs;
}

/** A header that shows its form in full, anywhere in a text (with the g and m flags, for counting). */
export const FULL_HEADER_RE = new RegExp(HEADER_RE.source, 'gm');

/** A line that reads as a table's header (what expandTables would expand). */
export function isTableHeaderLike(line: string): boolean {
  return line.startsWith(HEADER_START) || line.startsWith(CONT_START);
}

/** A line that reads as a table row: numbers separated by single spaces. */
export function isTableRowLike(line: string): boolean {
  return line !== '' && line.split(' ').every((v) => VALUE_RE.test(v));
}

/** A table in a text's lines: its header at `start`, its rows up to `end` (exclusive). */
export interface TableSpan {
  start: number;
  end: number;
  /** The header that shows the table's last `kept` rows after a trim (CONT_RE). */
  continuation(kept: number): string;
}

/**
 * The tables of `lines` as written (header, then its rows: as many as it says, each of the same count of numbers,
 * the count its form's {} give when it shows the form), for core/trajectory.ts's trimming. A pointer to an earlier
 * step's form is not followed: the table is read by its header alone.
 */
export function tableSpans(lines: readonly string[]): TableSpan[] {
  const out: TableSpan[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isTableHeaderLike(lines[i])) continue;
    const h = parseHeader(lines[i]);
    if (!h || h.rows < 1 || i + h.rows >= lines.length) continue;
    const slots = h.ref ? -1 : h.key.split(SEP).reduce((a, f) => a + f.split(SLOT).length - 1, 0);
    let width = slots;
    let ok = true;
    for (let r = 1; r <= h.rows && ok; r++) {
      const row = lines[i + r];
      if (!isTableRowLike(row)) ok = false;
      else {
        const n = row.split(' ').length;
        if (width < 0) width = n;
        ok = n === width;
      }
    }
    if (!ok) continue;
    const total = h.cont ? Number(CONT_RE.exec(lines[i])![2]) : h.rows;
    const how = h.ref
      ? `of the ${h.ref.nth > 1 || /of the \d/.test(lines[i]) ? `${ordinal(h.ref.nth)} ` : ''}form shown in step ${h.ref.step}`
      : `in order: "${h.key}"`;
    out.push({ start: i, end: i + 1 + h.rows, continuation: (kept) => `${CONT_START}the last ${kept} of its ${total} rows, filling the {} ${how} …]` });
    i += h.rows;
  }
  return out;
}
