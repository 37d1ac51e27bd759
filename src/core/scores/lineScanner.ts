/**
 * Finds "name <sep> number" pairs in one clean line of output, where <sep> is ':' or '='.
 *
 * One scanner covers Keras ("- loss: 0.41 - val_loss: 0.45"), LightGBM ("valid_0's auc: 0.93"), XGBoost
 * ("validation_0-logloss:0.31"), HF Trainer dicts ("{'eval_loss': 0.52}"), JSON lines ({"auc": 0.9}), tqdm
 * postfixes ("loss=0.312]"), sklearn-style prints ("ROC AUC = 0.9", "CV score: 0.82 +/- 0.01") and key=value logs.
 *
 * It is hand-written rather than one big regex because it runs on every line of a 100 MB log: it jumps from
 * separator to separator with indexOf, reads the number after it first (most separators are not followed by one,
 * so most candidates die after a character or two), and only then walks back to read the name.
 *
 * False positives it rejects by shape: times and clocks ("12:30:45", "00:01<00:00": a digit name or a number
 * followed by ':'), versions ("4.7.0"), fractions and counters ("3/10"), paths and URLs ("train.py:42",
 * "http://host:8080"), units ("2s", "15ms/step"), call arguments ("LGBMClassifier(n_estimators=100)") and
 * comparisons ("a == 1").
 */

/**
 * Receives each pair: the name as printed is text.slice(start, end) (passed as positions so the hot path can look
 * names up without allocating a substring), the value, and percent when printed as "93.5%". With a NameMemo,
 * scanPairs() also passes the pair's place in the line (0, 1, ...; -1 for a quoted key or past the memo's places)
 * and whether the memo knew the name there (then the memo's value for that place is the name's).
 */
export type PairSink = (text: string, start: number, end: number, value: number, percent: boolean, place?: number, known?: boolean) => void;

/** Preceding words that end a multi-word name ("the best epoch", "INFO loss"). */
const STOP_WORDS = [
  'the', 'a', 'an', 'of', 'at', 'in', 'on', 'for', 'to', 'from', 'with', 'and', 'or', 'is', 'was', 'are', 'were', 'be',
  'by', 'as', 'after', 'before', 'than', 'when', 'has', 'have', 'had', 'this', 'that', 'our', 'my', 'your', 'its',
  'info', 'debug', 'warning', 'warn', 'note', 'error', 'critical', 'improved', 'set', 'got', 'reached', 'new',
];
/** STOP_WORDS grouped by length, so the check compares a handful of candidates in place without a substring. */
const STOP_BY_LENGTH: string[][] = [];
for (const w of STOP_WORDS) (STOP_BY_LENGTH[w.length] ??= []).push(w);

/** Case-insensitive: is line[from, to) a stop word? */
function isStopWord(codes: Uint16Array, from: number, to: number): boolean {
  const candidates = STOP_BY_LENGTH[to - from];
  if (!candidates) return false;
  outer: for (const w of candidates) {
    for (let k = 0; k < w.length; k++) {
      if ((codes[from + k] | 0x20) !== w.charCodeAt(k)) continue outer;
    }
    return true;
  }
  return false;
}

/** Words allowed in one name; more is prose, not a metric label. */
const MAX_WORDS = 4;
const MAX_NAME = 64;

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
/** Characters of one word of a name: letters, digits, _ - . @ and the apostrophe of "valid_0's". */
const NAME_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (isLetter(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x40 || c === 0x27) NAME_CHARS[c] = 1;
}
/** A table lookup: names are walked backwards one character at a time on every pair of every line. */
function isNameChar(c: number): boolean {
  return c < 128 && NAME_CHARS[c] === 1;
}

/** Characters that may directly follow a value: separators, closers, quotes, "+/-", "±", "(". */
function isValueEnd(c: number): boolean {
  return (
    c === 0x20 || c === 0x09 || c === 0x2c || c === 0x3b || c === 0x29 || c === 0x5d || c === 0x7d || c === 0x7c ||
    c === 0x27 || c === 0x22 || c === 0x28 || c === 0x2b || c === 0xb1
  );
}

/** 'infinity', any case, at codes[i] (8 code units there). */
function isInfinity(codes: Uint16Array, i: number): boolean {
  for (let k = 0; k < 8; k++) if ((codes[i + k] | 0x20) !== INFINITY.charCodeAt(k)) return false;
  return true;
}
const INFINITY = 'infinity';

/** Exact powers of ten (10^0 … 10^22 are all exactly representable as doubles). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

// parseValue() results, kept in module variables so the hot path allocates nothing: the value in a typed array, since
// storing a double in a plain module variable allocates a heap number every time.
const valueOut = new Float64Array(1);
let percentOut = false;

/**
 * End of a NaN / infinity token at i ("nan", "NaN", "inf", "Infinity", any case), or -1. The token must end where a
 * value ends, so words such as "nanny" or "info" are not values.
 */
function nonFiniteEnd(codes: Uint16Array, i: number, n: number): number {
  if (i + 3 > n) return -1;
  const c = codes[i] | 0x20;
  let len = 0;
  if (c === 0x6e /* n */ && (codes[i + 1] | 0x20) === 0x61 && (codes[i + 2] | 0x20) === 0x6e) len = 3;
  else if (c === 0x69 /* i */ && (codes[i + 1] | 0x20) === 0x6e && (codes[i + 2] | 0x20) === 0x66) {
    len = i + 8 <= n && isInfinity(codes, i) ? 8 : 3;
  } else return -1;
  const end = i + len;
  return end >= n || isValueEnd(codes[end]) || codes[end] === 0x2e ? end : -1;
}

/**
 * After a wrapped value ('0.52', np.float64(0.93), tensor(0.93, device='cuda:0')): the index past the wrapper's
 * closer, or -1 when it is not there.
 */
function closeWrapper(codes: Uint16Array, i: number, n: number, close: number): number {
  if (i >= n) return -1;
  const w = codes[i];
  if (w === close) return i + 1;
  if (close === 0x29 && w === 0x2c) {
    // The first ')' of the line (a loop bounded by the line's end: indexOf() could run on through later lines).
    for (let paren = i + 1; paren < n; paren++) if (codes[paren] === 0x29) return paren + 1;
  }
  return -1;
}

/** The tail of parseValue() for a NaN / infinity token ending at i: the wrapper's closer, then a value end. */
function finishNonFinite(codes: Uint16Array, i: number, n: number, close: number, negative: boolean): number {
  const isNan = (codes[i - 1] | 0x20) === 0x6e;
  if (close !== 0 && (i = closeWrapper(codes, i, n, close)) < 0) return -1;
  if (i < n && !isValueEnd(codes[i]) && codes[i] !== 0x2e) return -1;
  valueOut[0] = isNan ? NaN : negative ? -Infinity : Infinity;
  percentOut = false;
  return i;
}

/**
 * Reads a number starting at i (after optional spaces and a numpy/torch wrapper) in a line that ends at n; returns
 * its end or -1.
 */
function parseValue(line: string, codes: Uint16Array, i: number, n: number): number {
  let spaces = 0;
  while (i < n && (codes[i] === 0x20 || codes[i] === 0x09)) {
    if (++spaces > 8) return -1;
    i++;
  }
  if (i >= n) return -1;
  let c = codes[i];
  /** Closing character a wrapper needs after the number: ')' for np.float64(…) / tensor(…), the quote for '0.52'. */
  let close = 0;
  if (!isDigit(c) && c !== 0x2d && c !== 0x2b && c !== 0x2e) {
    if (c === 0x27 || c === 0x22) {
      // Recent HF Trainer progress logs format floats as strings: {'eval_loss': '0.5234', 'epoch': '1'}.
      close = c;
      i++;
    } else if (c === 0x6e /* n */ && line.startsWith('np.float', i)) {
      // numpy 2 scalars print as np.float64(0.93); torch tensors as tensor(0.93) or tensor(0.93, device='cuda:0').
      close = 0x29;
      let open = i + 8;
      const last = Math.min(n - 1, i + 12);
      while (open <= last && codes[open] !== 0x28) open++;
      if (open > last) return -1;
      i = open + 1;
    } else if (c === 0x74 /* t */ && line.startsWith('tensor(', i)) {
      close = 0x29;
      i += 7;
    } else if ((c | 0x20) !== 0x6e && (c | 0x20) !== 0x69) return -1; // n / i: maybe nan / inf, read below
    if (i >= n) return -1;
    c = codes[i];
  }
  const start = i;
  // "loss: nan", "val_loss=-inf", tensor(nan): a value that diverged, recorded as such (never as a score).
  const nf = nonFiniteEnd(codes, c === 0x2d || c === 0x2b ? i + 1 : i, n);
  if (nf >= 0) return finishNonFinite(codes, nf, n, close, c === 0x2d);
  const negative = c === 0x2d;
  if (c === 0x2d || c === 0x2b) i++;
  // Digits are accumulated as we go: for up to 15 significant digits and a power of ten within ±22, mantissa and
  // power are exact doubles and one IEEE multiplication/division rounds correctly, so no substring and no
  // Number() call is needed on the hot path (Clinger's fast path).
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  while (i < n) {
    const d = codes[i] - 0x30;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
    digits++;
    i++;
  }
  if (i < n && codes[i] === 0x2e) {
    i++;
    while (i < n) {
      const d = codes[i] - 0x30;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      digits++;
      fraction++;
      i++;
    }
  }
  if (digits === 0) return -1;
  let exponent = 0;
  if (i < n && (codes[i] === 0x65 || codes[i] === 0x45)) {
    let j = i + 1;
    const expNegative = j < n && codes[j] === 0x2d;
    if (j < n && (codes[j] === 0x2d || codes[j] === 0x2b)) j++;
    const expStart = j;
    let e = 0;
    while (j < n && isDigit(codes[j])) e = e * 10 + (codes[j++] - 0x30);
    if (j > expStart) {
      i = j; // "1e-3" is a number; "3epochs" is not an exponent
      exponent = expNegative ? -e : e;
    }
  }
  const end = i;
  if (close !== 0 && (i = closeWrapper(codes, i, n, close)) < 0) return -1;
  percentOut = false;
  if (i < n) {
    let t = codes[i];
    if (t === 0x25 /* % */) {
      percentOut = true;
      i++;
      t = i < n ? codes[i] : 0x20;
      if (!isValueEnd(t) && t !== 0x2e) return -1;
    } else if (t === 0x2e /* . */) {
      // A sentence may end right after the number ("accuracy: 0.95."); "4.7.0" is a version, not a value.
      const after = i + 1 < n ? codes[i + 1] : 0x20;
      if (after !== 0x20 && after !== 0x09) return -1;
    } else if (!isValueEnd(t)) return -1;
  }
  const p10 = exponent - fraction;
  let v: number;
  if (digits <= 15 && p10 >= -22 && p10 <= 22) {
    v = p10 < 0 ? mantissa / POW10[-p10] : mantissa * POW10[p10];
    if (negative) v = -v;
  } else {
    v = Number(line.slice(start, end));
  }
  valueOut[0] = v; // 1e999 overflows to Infinity: as diverged as a printed "inf"
  return i;
}

/**
 * Start of the name that ends just before index `end` (exclusive) in the line that starts at `from` and ends at n,
 * or -1 when there is no acceptable name.
 */
function nameStart(codes: Uint16Array, from: number, end: number, n: number): number {
  let ws = end;
  while (ws > from && isNameChar(codes[ws - 1])) ws--;
  if (ws === end || !isLetter(codes[ws])) return -1;
  if (ws > from) {
    const before = codes[ws - 1];
    if (before === 0x2f || before === 0x5c) return -1; // a path or URL component ("/src/train.py:42")
  }
  let start = ws;
  for (let words = 1; words < MAX_WORDS; words++) {
    // Another word joins the name only across exactly one space ("ROC AUC", "valid_0's auc", "CV score").
    if (start - from < 2 || codes[start - 1] !== 0x20 || !isNameChar(codes[start - 2])) break;
    let p = start - 1;
    while (p > from && isNameChar(codes[p - 1])) p--;
    if (!isLetter(codes[p])) break;
    if (p > from && (codes[p - 1] === 0x2f || codes[p - 1] === 0x5c)) break;
    if (isStopWord(codes, p, start - 1)) break;
    // "loss=nan val_loss=nan": the previous word is the last pair's value, not part of this name.
    if (nonFiniteEnd(codes, p, n) === start - 1) break;
    start = p;
  }
  return start;
}

/** Places remembered by a NameMemo: the first pairs of a line. */
const MEMO_PLACES = 16;

/**
 * The names found at each place of the lines scanned before, with a value the sink attaches to each (what the name
 * stands for). Logs print the same line shapes over and over ("[50]\ttraining's auc: 0.9\tvalid_1's auc: 0.8"): when
 * the place's name is there again, with nothing before it that could extend it, scanPairs() skips walking back to the
 * name's start and the sink skips looking it up.
 */
export class NameMemo<T> {
  private readonly lengths = new Int32Array(MEMO_PLACES).fill(-1);
  private readonly codes = new Uint16Array(MEMO_PLACES * MAX_NAME);
  readonly values: (T | undefined)[] = new Array(MEMO_PLACES);

  /** Remembers the name line[start, end) at `place` (scanPairs() passed these positions), standing for `value`. */
  set(place: number, line: string, start: number, end: number, value: T): void {
    if (place < 0 || place >= MEMO_PLACES || end - start > MAX_NAME) return;
    const base = place * MAX_NAME;
    for (let k = start; k < end; k++) this.codes[base + k - start] = line.charCodeAt(k);
    this.lengths[place] = end - start;
    this.values[place] = value;
  }

  /**
   * Where the name remembered at `place` starts when it ends just before `end` in `line` and nameStart() would find
   * exactly it there; -1 otherwise. Inside the name every decision of nameStart() is the one taken when it was
   * remembered (same characters); what remains is that the name cannot extend to the left: no name character and no
   * path separator just before it, and before a space no word that joins it (none, or one that does not start with
   * a letter: "- val_loss", "epoch 3 loss"; any other word is left to nameStart()).
   */
  find(place: number, codes: Uint16Array, end: number, from = 0): number {
    if (place >= MEMO_PLACES) return -1;
    const len = this.lengths[place];
    const start = end - len;
    if (len <= 0 || start < from) return -1;
    if (start > from) {
      const c = codes[start - 1];
      if (c === 0x20) {
        if (start - from >= 2 && isNameChar(codes[start - 2])) {
          let p = start - 1;
          while (p > from && isNameChar(codes[p - 1])) p--;
          if (isLetter(codes[p])) return -1;
        }
      } else if (isNameChar(c) || c === 0x2f || c === 0x5c) return -1;
    }
    const base = place * MAX_NAME;
    for (let k = 0; k < len; k++) if (codes[start + k] !== this.codes[base + k]) return -1;
    return start;
  }
}

/**
 * A text's UTF-16 code units in a typed array, the same values charCodeAt() gives. The scanner reads characters from
 * here: V8 checks a string's representation (flat, sliced, cons, one- or two-byte) on every charCodeAt(), which made
 * reading characters most of the scanner's time; a typed-array read is a bounds check and a load. Writing a text
 * here costs about as much as copying it. One scratch array per user, grown to the longest text up to MAX_KEPT code
 * units (a longer text gets an array of its own, not kept), with a 0 after the text: read at the text's end it stops
 * every loop and matches no test, as the NaN of charCodeAt() past the end does.
 */
export class CodeUnits {
  private static readonly MAX_KEPT = 1 << 20;
  private scratch = new Uint16Array(1024);
  private buf = Buffer.from(this.scratch.buffer);

  of(text: string): Uint16Array {
    const need = text.length + 1;
    let codes = this.scratch;
    let buf = this.buf;
    if (need > codes.length) {
      codes = new Uint16Array(Math.max(need, Math.min(CodeUnits.MAX_KEPT, codes.length * 2)));
      buf = Buffer.from(codes.buffer);
      if (codes.length <= CodeUnits.MAX_KEPT) {
        this.scratch = codes;
        this.buf = buf;
      }
    }
    if (LITTLE_ENDIAN) buf.write(text, 0, 'utf16le');
    else for (let k = 0; k < text.length; k++) codes[k] = text.charCodeAt(k);
    codes[text.length] = 0;
    return codes;
  }
}

/** Uint16Array reads the host's byte order; Buffer writes 'utf16le'. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The scratch of scanPairs(), for lines scanned on their own. */
const lineCodes = new CodeUnits();

/**
 * Where scanPairsIn() left its separator cursors: the first ':' and the first '=' at or after the end of the line it
 * scanned (-1: none in the rest of the text), ready to be passed in for the next line of the same text.
 */
export const cursorOut = new Int32Array(2);

/** Calls sink for every name/number pair in the line; with a memo, see NameMemo. */
export function scanPairs(line: string, sink: PairSink, memo?: NameMemo<unknown>): void {
  const codes = lineCodes.of(line);
  scanPairsIn(line, codes, 0, line.length, line.indexOf(':'), line.indexOf('='), sink, memo);
}

/**
 * scanPairs() for the line text[from, to) of a longer text, without cutting it out: the sink gets positions in text.
 * colon and equals are the first ':' and '=' at or after `from` (-1: none in the rest of the text); scanning a text
 * line after line with the cursors left in cursorOut searches it for each separator once in all. Every decision is
 * the one scanPairs(text.slice(from, to)) takes: nothing before `from` or from `to` on is looked at.
 */
export function scanPairsIn(
  line: string,
  codes: Uint16Array,
  from: number,
  n: number,
  colon: number,
  equals: number,
  sink: PairSink,
  memo?: NameMemo<unknown>,
): void {
  let place = 0;
  for (;;) {
    const c = colon >= 0 && colon < n ? colon : -1;
    const e = equals >= 0 && equals < n ? equals : -1;
    if (c < 0 && e < 0) break;
    let p: number;
    if (e < 0 || (c >= 0 && c < e)) {
      p = c;
      colon = line.indexOf(':', p + 1);
    } else {
      p = e;
      equals = line.indexOf('=', p + 1);
      const prev = p > from ? codes[p - 1] : 0;
      const next = p + 1 < n ? codes[p + 1] : 0;
      // "==", "!=", "<=", ">=", "=>" are comparisons, not assignments.
      if (next === 0x3d || next === 0x3e || prev === 0x3d || prev === 0x21 || prev === 0x3c || prev === 0x3e) continue;
    }
    const end = parseValue(line, codes, p + 1, n);
    if (end < 0) continue;
    const value = valueOut[0];
    const percent = percentOut;

    // Walk back from the separator to the name.
    let k = p - 1;
    while (k >= from && codes[k] === 0x20) k--;
    if (k < from) continue;
    const q = codes[k];
    if (q === 0x27 || q === 0x22) {
      // Quoted key of a Python dict or JSON object: {'eval_loss': 0.52} / {"auc": 0.9}.
      let open = k - 1;
      while (open >= from && codes[open] !== q) open--;
      if (open < from || k - open - 1 < 1 || k - open - 1 > MAX_NAME) continue;
      if (!isLetter(codes[open + 1])) continue;
      sink(line, open + 1, k, value, percent, -1, false);
      continue;
    }
    if (codes[p] === 0x3d) {
      // Keyword arguments of a call or a repr ("LGBMClassifier(learning_rate=0.05)") are settings, not results: the
      // nearest '(' or ')' before the '=' is an open '(' right after a name.
      let b = p - 1;
      while (b >= from && codes[b] !== 0x28 && codes[b] !== 0x29) b--;
      if (b > from && codes[b] === 0x28 && isNameChar(codes[b - 1])) continue;
    }
    const known = memo === undefined ? -1 : memo.find(place, codes, k + 1, from);
    if (known >= 0) {
      sink(line, known, k + 1, value, percent, place++, true);
      continue;
    }
    const s = nameStart(codes, from, k + 1, n);
    if (s < 0 || k + 1 - s > MAX_NAME) continue;
    sink(line, s, k + 1, value, percent, place++, false);
  }
  cursorOut[0] = colon;
  cursorOut[1] = equals;
}
