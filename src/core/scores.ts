/**
 * Streaming metric extraction from run output (terminal, task, notebook, sandbox): every metric printed, with its
 * last and best value, a bounded series and a direction, plus the *primary* score the run is judged by.
 *
 * Pipeline: raw chunks → TerminalTextCleaner (ANSI, OSC 633/133, "\r" redraws, CRLF; bounded per line) → one clean
 * line at a time → a few line-shape handlers (Keras "Epoch 3/10", LightGBM/XGBoost "[50]", classification_report
 * tables) → the pair scanner ("name: value" / "name=value" in every format we know) → for a short line with no
 * pair, "name number" when the name holds a well-known metric word (print("accuracy", acc)).
 *
 * Decisions worth knowing:
 * - Percentages keep the number as printed: "acc: 93.5%" records 93.5 (not 0.935), so a script that always
 *   prints percentages compares with itself; we do not guess a unit for bare numbers.
 * - Counters and settings (epoch, step, iteration, learning_rate, grad_norm, runtime, *_per_second, sizes, counts)
 *   are context, not metrics; the latest epoch/step/iteration is kept in context().
 * - Arrays ("CV scores: [0.81 0.83]") are not recorded. NaN and infinities are never values: printed for a metric
 *   that already has values they are counted (nonFinite), and when one is the latest printed the metric, and a
 *   primary score on it, is marked diverged: the run blew up after its last finite value.
 * - A LightGBM "best iteration is:" block re-prints the best iteration's scores; they are recorded like any other
 *   line, so `last` is the score of the model the library returned.
 * - A configured primary metric that never appears gives primary() === null rather than silently judging the run
 *   by another metric.
 * - Names are lower-cased as printed ("valid_0's auc" → "valid_0 auc", "ROC AUC" → "roc auc"); one-letter names,
 *   call arguments ("Model(C=1)"), hyper-parameter lines ("Best params: {...}"), Python warnings, LightGBM's own
 *   "[LightGBM] [Info]" lines and the parameter half of GridSearchCV "[CV]" lines are never metrics.
 * - Unknown names default to 'higher'; pass primaryDirection when that guess is wrong (e.g. CatBoost's bare
 *   "learn:"/"test:" columns, whose direction depends on the loss).
 */
import { TerminalTextCleaner } from './ansi';
import type { Direction, Metric, PrimaryScore } from './protocol';
import { CodeUnits, cursorOut, NameMemo, scanPairs, scanPairsIn } from './scores/lineScanner';
import { contextKey, guessDirection, isContextName, isKnownMetricName, isValidationName } from './scores/names';
import { ClassificationReportReader } from './scores/report';
import { MetricSeries } from './scores/series';

export { guessDirection, isValidationName } from './scores/names';

/**
 * Module-local names for the two imports read on every line. Where modules are compiled to CommonJS one by one (tsx
 * in the benches and tests) each read of an imported binding is a getter call on the other module's exports, which
 * also keeps the call from being inlined; a local constant is read once. (Bundles, as shipped, hoist the names.)
 */
const scanLineIn = scanPairsIn;
const lineCursors = cursorOut;

export interface ScoreOptions {
  /** Name of the metric the run is judged by: exact, then case-insensitive, then suffix match. */
  primaryMetric?: string;
  /** Overrides the guessed direction of the primary metric. */
  primaryDirection?: Direction;
  /** Points kept per series (default 1000); longer series are uniformly subsampled. */
  maxSeries?: number;
  /** Characters kept per line (default 65,536). */
  maxLineLength?: number;
}

/** Distinct metric names kept; output that invents a new name on every line cannot grow memory without bound. */
const MAX_METRICS = 512;
/** Raw-name → classification cache entries (cleared when full). */
const MAX_CACHE = 4096;

/**
 * What a raw printed name turned out to be; a metric's series is attached once it exists (the field is there from
 * the start, so attaching it does not give the object a new shape under code already optimised for the old one).
 */
type NameInfo = { kind: 'metric'; name: string; series: MetricSeries | undefined } | { kind: 'context'; key: string } | { kind: 'skip' };

/** Slots of the allocation-free cache of recently printed names (a power of two). */
const RECENT_SLOTS = 256;
/** Characters a slot holds; a longer name (rare: the scanner stops names at 64) is looked up in the Map each time. */
const SLOT_CHARS = 64;

/**
 * A copy of a short slice that does not keep its line alive. V8 makes a substring of 13+ characters a view into the
 * whole line (up to 64K characters); the name caches hold thousands of names, so they must not pin thousands of
 * lines. Concatenating flattens into a new small string, which the slice then refers to. Runs on cache misses only.
 */
function detach(name: string): string {
  return name.length < 13 ? name : (' ' + name).slice(1);
}

/** Lower-case, "valid_0's auc" → "valid_0 auc", trailing punctuation dropped. */
function normalizeName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/'s\b/g, '')
    .replace(/[\s'._-]+$/, '')
    .replace(/\s+/g, ' ');
}

function classify(raw: string): NameInfo {
  const name = normalizeName(raw);
  // One-letter names ("C=1", "k: 5") are variables and hyper-parameters, not metrics; a bare "best" repeats
  // another metric's best with no way to tell which.
  if (name.length < 2 || !/[a-z]/.test(name[0]) || name === 'best') return { kind: 'skip' };
  const key = contextKey(name);
  if (key) return { kind: 'context', key };
  if (isContextName(name)) return { kind: 'skip' };
  return { kind: 'metric', name, series: undefined };
}

/** Lines that may be vetoed hold one of these; see vetoed(). */
const VETO_HINT = /aram|Warning:/;
/** VETO_HINT searching a whole text from a line on (see hintIn()). */
const VETO_HINT_ON = /aram|Warning:/g;
const KERAS_EPOCH = /^Epoch (\d+)\/\d+\s*$/;
/** A whole line that is only "name number", as print("accuracy", acc) writes it: "accuracy 0.95", "Val AUC 0.91". */
const NAME_SPACE_NUMBER = /^\s*([A-Za-z][A-Za-z0-9_.@'-]*(?: [A-Za-z][A-Za-z0-9_.@'-]*){0,3})\s+([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(%?)\s*$/;

/** The words of a line holding VETO_HINT that make it a hyper-parameter dump or a Python warning. */
function vetoWords(line: string): boolean {
  return (line.indexOf('aram') >= 0 && /param/i.test(line)) || line.indexOf('Warning:') >= 0;
}

export class ScoreExtractor {
  private readonly cleaner: TerminalTextCleaner;
  private readonly byName = new Map<string, MetricSeries>();
  private readonly names = new Map<string, NameInfo>();
  private readonly ctx = new Map<string, number>();
  /** The "[50]" iteration of LightGBM/XGBoost lines: a field, not a Map entry, since every eval line sets it. */
  private bracketIteration: number | undefined;
  private bracketIterationSeq = 0;
  /** Line of the latest "iteration: N" pair, so context() reports whichever iteration was printed last. */
  private ctxIterationSeq = 0;
  private readonly report = new ClassificationReportReader();
  private readonly cap: number;
  private seq = 0;
  private lineCount = 0;
  private readonly onLine = (line: string) => this.line(line);
  /**
   * Recently seen raw names by a cheap hash of their shape: most lines repeat the names of the previous ones. A slot
   * keeps the name's characters in a typed array (its length in recentLen, -1 when empty), so checking a hit reads one
   * string, not two: this runs on every pair, and V8 re-checks a string's representation on each charCodeAt().
   * (text.startsWith(name, start) would go to V8's runtime for sliced strings, as lines are: dearer still.)
   */
  private readonly recentLen = new Int32Array(RECENT_SLOTS).fill(-1);
  private readonly recentCodes = new Uint16Array(RECENT_SLOTS * SLOT_CHARS);
  private readonly recentInfo: (NameInfo | undefined)[] = new Array(RECENT_SLOTS);
  /** The names at each place of recent lines, with what each stands for (see NameMemo). */
  private readonly memo = new NameMemo<NameInfo>();
  private readonly onPair = (text: string, start: number, end: number, value: number, _percent: boolean, place = -1, known = false) => {
    if (this.vetoChecked ? this.veto : this.inRange ? this.vetoedIn(text) : this.vetoed(text)) return;
    if (known) {
      this.recordValue(this.memo.values[place]!, value);
      return;
    }
    const info = this.nameInfo(text, start, end);
    this.memo.set(place, text, start, end, info);
    this.recordValue(info, value);
  };
  private vetoChecked = false;
  private veto = false;
  /**
   * pushText() state. While inRange, the pairs come from the line text[rangeFrom, rangeTo) of the text being pushed
   * (the sink gets the whole text). textSeq numbers the texts; colonAt / equalsAt are the scanner's separator
   * cursors in the current one, hintAt the start of the first VETO_HINT match at or after some earlier line of it.
   */
  private inRange = false;
  private rangeFrom = 0;
  private rangeTo = 0;
  private textSeq = 0;
  private hintSeq = -1;
  private hintAt = -1;
  private readonly maxLine: number;
  /** The code units of the text being pushed (its own scratch: a line cut out of it is scanned with scanPairs()'s). */
  private readonly textCodes = new CodeUnits();

  constructor(private readonly opts: ScoreOptions = {}) {
    this.cap = Math.max(2, Math.floor(opts.maxSeries ?? 1000));
    this.cleaner = new TerminalTextCleaner({ maxLineLength: opts.maxLineLength });
    this.maxLine = this.cleaner.maxLineLength;
  }

  /** Lines seen so far (complete lines, plus the final partial one after end()). */
  get lines(): number {
    return this.lineCount;
  }

  push(chunk: string): void {
    this.cleaner.pushLines(chunk, this.onLine);
  }

  /**
   * Feeds one complete line of text that is already clean (no "\n", "\r", escape sequence or backspace), such as a
   * line BoundedCapture's own cleaner produced: the same as push(line + "\n"), without cleaning and splitting the
   * text a second time. Only between lines: never after a push() that left a partial line pending.
   */
  pushLine(line: string): void {
    this.line(this.cleaner.capLine(line));
  }

  /**
   * pushLine() for every line of a clean text in which each line ends with "\n" (the text BoundedCapture keeps), but
   * the lines are read in place: no splitting, no substring per line, and the scanner searches the whole text for
   * each separator once rather than once per line. Lines of a shape the fast path does not read (a report table,
   * "[CV", "Epoch 3/10", a line over the cap, a possible "name number" line) are cut out and go through line().
   */
  pushText(text: string): void {
    const n = text.length;
    this.textSeq++;
    const codes = this.textCodes.of(text);
    let colon = text.indexOf(':');
    let equals = text.indexOf('=');
    for (let from = 0; from < n; ) {
      const to = text.indexOf('\n', from);
      if (to < 0) throw new Error('pushText: the text must end with a newline');
      if (colon >= 0 && colon < from) colon = text.indexOf(':', from);
      if (equals >= 0 && equals < from) equals = text.indexOf('=', from);
      if (to - from > this.maxLine) this.line(text.slice(from, from + this.maxLine));
      else if (this.lineIn(text, codes, from, to, colon, equals)) {
        colon = lineCursors[0];
        equals = lineCursors[1];
      }
      from = to + 1;
    }
  }

  end(): void {
    const rest = this.cleaner.end();
    if (rest) this.line(rest);
  }

  /** Every metric seen, in first-seen order; `best` follows the configured direction for the primary metric. */
  metrics(): Metric[] {
    const primary = this.primarySeries();
    const out: Metric[] = [];
    for (const m of this.byName.values()) {
      out.push(m.toMetric(m === primary && this.opts.primaryDirection ? this.opts.primaryDirection : m.direction));
    }
    return out;
  }

  primary(): PrimaryScore | null {
    const m = this.primarySeries();
    if (!m) return null;
    const direction = this.opts.primaryDirection ?? m.direction;
    return m.diverged ? { name: m.name, value: m.last, direction, diverged: true } : { name: m.name, value: m.last, direction };
  }

  /** Latest counters seen (epoch, step, iteration, ...): context for a chart or a trajectory, never scored. */
  context(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.ctx);
    if (this.bracketIteration !== undefined && this.bracketIterationSeq > this.ctxIterationSeq) out.iteration = this.bracketIteration;
    return out;
  }

  private primarySeries(): MetricSeries | undefined {
    const wanted = this.opts.primaryMetric?.trim();
    if (wanted) return this.findConfigured(wanted);
    let lastValidation: MetricSeries | undefined;
    let lastAny: MetricSeries | undefined;
    for (const m of this.byName.values()) {
      if (!lastAny || m.seq > lastAny.seq) lastAny = m;
      if (m.validation && (!lastValidation || m.seq > lastValidation.seq)) lastValidation = m;
    }
    return lastValidation ?? lastAny;
  }

  private findConfigured(wanted: string): MetricSeries | undefined {
    const exact = this.byName.get(wanted);
    if (exact) return exact;
    const norm = normalizeName(wanted);
    const folded = this.byName.get(norm);
    if (folded) return folded;
    // Suffix on a word boundary: "auc" finds "valid_0 auc" and "validation_1-auc", not "aucpr" or "prauc".
    let found: MetricSeries | undefined;
    for (const m of this.byName.values()) {
      if (!m.name.endsWith(norm)) continue;
      const before = m.name.charCodeAt(m.name.length - norm.length - 1);
      if (before >= 0x61 && before <= 0x7a) continue;
      if (before >= 0x30 && before <= 0x39) continue;
      if (!found || (m.validation && !found.validation) || (m.validation === found.validation && m.seq > found.seq)) found = m;
    }
    return found;
  }

  /**
   * line(text.slice(from, to)) for a line that ends with "\n" (text[to]), read in place when its shape allows.
   * Returns true when it scanned the line for pairs: then cursorOut holds the separator cursors it left.
   */
  private lineIn(text: string, codes: Uint16Array, from: number, to: number, colon: number, equals: number): boolean {
    if (to - from < 3) {
      this.lineCount++;
      return false;
    }
    const first = text.charCodeAt(from);
    if (first === 0x20 || this.report.isActive() || (first === 0x5b && text.startsWith('[CV', from)) || (first === 0x45 && text.startsWith('Epoch ', from))) {
      this.line(text.slice(from, to));
      return false;
    }
    this.lineCount++;
    this.vetoChecked = false;
    if (first === 0x5b /* [ */) {
      if (text.startsWith('[LightGBM]', from)) return false;
      // As in line(): the character after the digits is text[to] = "\n" at the latest, so the loops stop there.
      let k = from + 1;
      let iteration = 0;
      for (let d = text.charCodeAt(k) - 0x30; d >= 0 && d <= 9 && k < from + 12; d = text.charCodeAt(++k) - 0x30) iteration = iteration * 10 + d;
      if (k > from + 1 && text.charCodeAt(k) === 0x5d /* ] */) {
        this.bracketIteration = iteration;
        this.bracketIterationSeq = this.lineCount;
      }
    }
    const before = this.seq;
    this.inRange = true;
    this.rangeFrom = from;
    this.rangeTo = to;
    scanLineIn(text, codes, from, to, colon, equals, this.onPair, this.memo);
    this.inRange = false;
    if (this.seq === before && to - from <= 80) {
      const last = text.charCodeAt(to - 1);
      if ((last >= 0x30 && last <= 0x39) || last === 0x25 || last === 0x20 || last === 0x2e) this.spacedPair(text.slice(from, to));
    }
    return true;
  }

  private line(line: string): void {
    this.lineCount++;
    this.vetoChecked = false;
    if (line.length < 3) return;
    if (this.report.wants(line) && this.report.line(line, this.onPair)) return;
    const first = line.charCodeAt(0);
    if (first === 0x5b /* [ */) {
      // LightGBM's own chatter ("[LightGBM] [Info] Number of positive: 10") is never a score.
      if (line.startsWith('[LightGBM]')) return;
      // GridSearchCV verbose: "[CV 1/5] END C=0.1, gamma=0.01;, score=0.823 total time=0.1s". The hyper-parameters
      // come before the ';', the result after it.
      if (line.startsWith('[CV')) {
        const semi = line.lastIndexOf(';');
        scanPairs(semi >= 0 ? line.slice(semi + 1) : line, this.onPair, this.memo);
        return;
      }
      // "[50]\t..." (LightGBM / XGBoost): the iteration is context. Parsed by hand: this runs on every eval line.
      let k = 1;
      let iteration = 0;
      for (let d = line.charCodeAt(k) - 0x30; d >= 0 && d <= 9 && k < 12; d = line.charCodeAt(++k) - 0x30) iteration = iteration * 10 + d;
      if (k > 1 && line.charCodeAt(k) === 0x5d /* ] */) {
        this.bracketIteration = iteration;
        this.bracketIterationSeq = this.lineCount;
      }
    } else if (first === 0x45 /* E */) {
      const ep = KERAS_EPOCH.exec(line);
      if (ep) {
        this.ctx.set('epoch', Number(ep[1]));
        return;
      }
    }
    const before = this.seq;
    scanPairs(line, this.onPair, this.memo);
    if (this.seq === before && line.length <= 80) this.spacedPair(line);
  }

  /**
   * "accuracy 0.95" with no ':' or '=': accepted only as a whole short line whose name holds a well-known metric
   * word, because "Epoch 3", "shard 3 of 64" or "Total Bins 5100" have the same shape.
   */
  private spacedPair(line: string): void {
    const last = line.charCodeAt(line.length - 1);
    if (!((last >= 0x30 && last <= 0x39) || last === 0x25 || last === 0x20 || last === 0x2e)) return;
    const m = NAME_SPACE_NUMBER.exec(line);
    if (!m || !isKnownMetricName(m[1]) || this.vetoed(line)) return;
    const value = Number(m[2]);
    if (Number.isFinite(value)) this.recordValue(this.nameInfo(m[1], 0, m[1].length), value);
  }

  /**
   * Lines whose pairs are never results. Checked only once a line has produced a pair, since most lines do not.
   * Hyper-parameter dumps ("Best params: {'C': 1.0, 'gamma': 0.1}") look exactly like metric dicts, and Python
   * warnings quote source lines and values.
   */
  private vetoed(line: string): boolean {
    if (!this.vetoChecked) {
      this.vetoChecked = true;
      // One regex pass rules out nearly every line: V8's indexOf() of a multi-character string costs several times
      // more than this regex, and most lines hold neither word.
      this.veto = VETO_HINT.test(line) && vetoWords(line);
    }
    return this.veto;
  }

  /** vetoed() for the line text[rangeFrom, rangeTo) of the text being pushed. */
  private vetoedIn(text: string): boolean {
    if (!this.vetoChecked) {
      this.vetoChecked = true;
      const from = this.rangeFrom;
      const to = this.rangeTo;
      this.veto = this.hintIn(text, from, to) && vetoWords(text.slice(from, to));
    }
    return this.veto;
  }

  /**
   * VETO_HINT.test(text.slice(from, to)) for a line that ends with "\n" (neither word holds one, so a match that
   * starts in the line ends in it), lines asked about in order: the first match at or after a line is searched for
   * only when the one found for an earlier line lies before it, so a text is searched once in all.
   */
  private hintIn(text: string, from: number, to: number): boolean {
    if (this.hintSeq !== this.textSeq || (this.hintAt >= 0 && this.hintAt < from)) {
      this.hintSeq = this.textSeq;
      VETO_HINT_ON.lastIndex = from;
      if (VETO_HINT_ON.test(text)) {
        const e = VETO_HINT_ON.lastIndex;
        this.hintAt = text.charCodeAt(e - 1) === 0x3a /* Warning: */ ? e - 8 : e - 4;
      } else this.hintAt = -1;
    }
    return this.hintAt >= 0 && this.hintAt < to;
  }

  /** What the name text.slice(start, end) is: from the recent-name cache, the name Map, or classified now. */
  private nameInfo(text: string, start: number, end: number): NameInfo {
    const len = end - start;
    const slot = (len * 31 + text.charCodeAt(start) * 7 + text.charCodeAt(end - 1) * 13 + text.charCodeAt(start + (len >> 1))) & (RECENT_SLOTS - 1);
    let info: NameInfo | undefined;
    const codes = this.recentCodes;
    const base = slot * SLOT_CHARS;
    let same = this.recentLen[slot] === len;
    for (let k = 0; same && k < len; k++) same = text.charCodeAt(start + k) === codes[base + k];
    if (same) {
      info = this.recentInfo[slot]!;
    } else {
      const raw = detach(start === 0 && end === text.length ? text : text.slice(start, end));
      info = this.names.get(raw);
      if (!info) {
        info = classify(raw);
        if (this.names.size >= MAX_CACHE) this.names.clear();
        this.names.set(raw, info);
      }
      if (len <= SLOT_CHARS) {
        for (let k = 0; k < len; k++) codes[base + k] = raw.charCodeAt(k);
        this.recentLen[slot] = len;
      } else this.recentLen[slot] = -1;
      this.recentInfo[slot] = info;
    }
    return info;
  }

  private recordValue(info: NameInfo, value: number): void {
    if (!Number.isFinite(value)) {
      // NaN / inf marks a metric that already has values as diverged; it never starts a metric or sets a counter.
      if (info.kind === 'metric') {
        const m = info.series ?? this.byName.get(info.name);
        if (m) m.addNonFinite(++this.seq);
      }
      return;
    }
    if (info.kind === 'metric') {
      let m = info.series;
      if (!m) {
        m = this.byName.get(info.name);
        if (!m) {
          if (this.byName.size >= MAX_METRICS) return;
          m = new MetricSeries(info.name, guessDirection(info.name), isValidationName(info.name), this.cap);
          this.byName.set(info.name, m);
        }
        info.series = m;
      }
      m.add(value, ++this.seq);
    } else if (info.kind === 'context') {
      this.ctx.set(info.key, value);
      if (info.key === 'iteration') this.ctxIterationSeq = this.lineCount;
    }
  }
}

/** Extracts metrics from a complete text (a finished run's output, a log file already in memory). */
export function extractScores(text: string, opts?: ScoreOptions): { primary: PrimaryScore | null; metrics: Metric[] } {
  const extractor = new ScoreExtractor(opts);
  extractor.push(text);
  extractor.end();
  return { primary: extractor.primary(), metrics: extractor.metrics() };
}
