/**
 * Turns raw terminal output into the plain text a person would read on screen, one chunk at a time.
 *
 * Why a state machine and not a regex over the whole text: terminal output arrives in arbitrary chunks (a pty
 * read, a VS Code shell-integration event), so an escape sequence or a "\r\n" can be split across two chunks, and
 * a progress bar (tqdm, Keras) redraws one line hundreds of times with "\r". We keep only the final state of each
 * line, drop every CSI / OSC / DCS sequence (colours, cursor moves, VS Code's OSC 633 and the FinalTerm OSC 133
 * shell-integration marks), and never hold more than `maxLineLength` characters of one line, so memory stays
 * bounded even for a 50 MB "line" with no newline.
 *
 * Simplification (documented, deliberate): "\r" followed by text *replaces* the line instead of overwriting it
 * column by column. Progress bars pad their redraws, so on screen the two agree, and replacing avoids keeping
 * stale tails like "Doneress 50%".
 */

/** Escape-parser states. Plain text is TEXT; the others are inside a sequence that started with ESC. */
const enum State {
  Text,
  /** Saw ESC; the next character picks the sequence kind. */
  Esc,
  /** ESC followed by intermediate bytes (0x20-0x2f), waiting for the final byte, e.g. ESC ( B. */
  EscIntermediate,
  /** Control Sequence Introducer: ESC [ params intermediates final. */
  Csi,
  /** OSC / DCS / SOS / PM / APC string, ended by BEL or ST (ESC \). */
  Str,
  /** Saw ESC inside a string: a backslash ends the string, anything else starts a new escape. */
  StrEsc,
}

/**
 * Control characters with no visible effect (BEL, NUL, form feed, DEL, the C1 range). The hot path does not look
 * for them: a regex scan of every chunk would cost as much as the rest of the cleaning, and they cannot form a
 * metric name or value anyway. pushLines() and pushJoined() leave them in; push(), end() and stripAnsi() remove them.
 * The 8-bit CSI (U+009B) is removed, not interpreted: terminals reading UTF-8 do not treat it as CSI either.
 */
const INVISIBLE = /[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]/g;
/**
 * Every INVISIBLE character, plus the backspace, "\r" and ESC the cleaner never leaves in a line: a wider class with
 * fewer ranges, which a regex tests faster. A text with none of these is returned as it is by removeInvisible(), so
 * withoutInvisible() tests first: cheaper than replacing with nothing to replace (V8 runs a global replace() through
 * a slower path than test()).
 */
const MAYBE_INVISIBLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
/** Characters that end (or abort) an OSC-like string. A newline inside one means it was never terminated. */
const STRING_END = /[\x07\x1b\n]/g;
/** A CSI this long is garbage, not a sequence; give up on it rather than swallow text. */
const MAX_CSI = 64;

export interface CleanerOptions {
  /** Characters kept per line; the rest of an over-long line is dropped (default 65,536). */
  maxLineLength?: number;
}

export class TerminalTextCleaner {
  private readonly maxLine: number;
  private line = '';
  /** A "\r" was seen; the next text replaces the line unless it is "\n" (then it was a CRLF). */
  private pendingCR = false;
  private state = State.Text;
  private csiParams = '';
  private csiLength = 0;
  /** skipRedraws() cache for the chunk being pushed: end of the stretch last examined, and its jump (-1: none). */
  private stretchEnd = -1;
  private stretchJump = -1;
  /** The cursors simpleLine() leaves (see there). */
  protected crOut = -1;
  protected escOut = -1;
  /** push()'s lines of the chunk being pushed, reused from push to push. */
  private readonly pushed: string[] = [];
  private readonly collect = (line: string) => {
    this.pushed.push(line);
  };

  constructor(opts: CleanerOptions = {}) {
    this.maxLine = Math.max(1, opts.maxLineLength ?? 65_536);
  }

  /**
   * Cleans a chunk and returns the completed lines in it, each ending with "\n".
   *
   * A chunk with nothing for the escape parser to do (no "\r", ESC or backspace, and the parser between sequences)
   * is a plain log's: its complete lines are already clean, so they are cut out in one piece instead of one line at a
   * time and joined again. Taken only when no line can reach the line cap (see plainLines()); the invisible control
   * characters are removed from both paths' text alike.
   */
  push(chunk: string): string {
    return withoutInvisible(this.pushJoined(chunk));
  }

  /**
   * push() before the invisible control characters are removed: withoutInvisible(pushJoined(chunk)) is push(chunk).
   * Lets a caller do the removal elsewhere (the capture thread, see captureThread.ts).
   */
  pushJoined(chunk: string): string {
    const text = this.plainLines(chunk);
    if (text !== undefined) return text;
    const lines = this.pushed;
    lines.length = 0;
    this.pushLines(chunk, this.collect);
    if (lines.length === 0) return '';
    lines.push(''); // the text ends with "\n": joining it in is cheaper than appending to a long string
    const joined = lines.join('\n');
    lines.length = 0;
    return joined;
  }

  /**
   * push()'s fast path: the completed lines of a chunk with no "\r", ESC or backspace, as pushLines() would give them
   * joined (the pending line first, then the chunk up to its last "\n"); undefined when it does not apply. Every
   * line is shorter than the cap: the first because it is checked, the others because the chunk itself is no longer
   * than the cap, so nothing would be cut. Three memchr-speed searches of a plain chunk; a chunk with a control
   * character usually has one near its start, so the slow path is hardly delayed.
   */
  private plainLines(chunk: string): string | undefined {
    if (this.state !== State.Text || this.pendingCR || chunk.length > this.maxLine) return undefined;
    const first = chunk.indexOf('\n');
    if (first < 0 || this.line.length + first > this.maxLine) return undefined;
    if (chunk.indexOf('\r') >= 0 || chunk.indexOf('\x1b') >= 0 || chunk.indexOf('\b') >= 0) return undefined;
    const last = chunk.lastIndexOf('\n');
    const text = last === chunk.length - 1 ? chunk : chunk.slice(0, last + 1);
    const lines = this.line.length === 0 ? text : this.line + text;
    this.line = last === chunk.length - 1 ? '' : chunk.slice(last + 1);
    return lines;
  }

  /** Ends the stream: returns the last, unterminated line (no trailing "\n"), or ''. */
  end(): string {
    const rest = removeInvisible(this.line);
    this.line = '';
    this.pendingCR = false;
    this.state = State.Text;
    return rest;
  }

  /**
   * Like push(), but hands each completed line (without "\n") to onLine: no joining, no re-splitting. For speed
   * the lines may still hold invisible control characters (BEL, NUL, ...); see INVISIBLE.
   */
  pushLines(chunk: string, onLine: (line: string) => void): void {
    const n = chunk.length;
    let i = 0;
    // Next position of each kind of special character at or after i (-1: none left in this chunk). Each is searched
    // again only once i has passed it, so a chunk costs a few linear scans, not one search per character.
    let nl = -2;
    let cr = -2;
    let esc = -2;
    let bs = -2;
    this.stretchEnd = -1;
    /** Where the next fresh line may be taken whole by simpleLine(): past the end of a line it declined. */
    let tryFrom = 0;
    while (i < n) {
      if (this.state !== State.Text) {
        i = this.escape(chunk, i);
        continue;
      }
      if (nl !== -1 && nl < i) nl = chunk.indexOf('\n', i);
      if (cr !== -1 && cr < i) cr = chunk.indexOf('\r', i);
      if (esc !== -1 && esc < i) esc = chunk.indexOf('\x1b', i);
      if (bs !== -1 && bs < i) bs = chunk.indexOf('\b', i);
      if (i >= tryFrom && nl >= 0 && !this.pendingCR && this.line.length === 0 && (bs < 0 || bs > nl)) {
        // A fresh line, complete in this chunk, with no backspace: most lines of a log. Taken whole when its shape
        // allows (see simpleLine()); the cursors it moved are taken only then (a declined line is read from i again).
        const line = this.simpleLine(chunk, i, nl, cr, esc);
        if (line !== undefined) {
          cr = this.crOut;
          esc = this.escOut;
          onLine(line);
          i = nl + 1;
          continue;
        }
        tryFrom = nl + 1;
      }
      let stop = n;
      if (nl >= 0) stop = nl;
      if (cr >= 0 && cr < stop) stop = cr;
      if (esc >= 0 && esc < stop) stop = esc;
      if (bs >= 0 && bs < stop) stop = bs;
      const c = stop < n ? chunk.charCodeAt(stop) : -1;
      if (c === 0x0d && stop + 1 < n && chunk.charCodeAt(stop + 1) !== 0x0a) {
        // A redraw. When it can be jumped over, the text before this "\r" is overwritten too: skip appending it.
        // (stop < esc here, so the caller's esc cursor is still valid for stop + 1.)
        const to = this.skipRedraws(chunk, stop + 1, nl, esc);
        if (to === stop + 1 && stop > i) this.append(chunk, i, stop);
        this.pendingCR = true;
        // The jump may land on the stretch's last "\r", right before the ESC that ends the stretch (the bench's
        // "bar\r ESC[32m epoch ..."): taking it here is what the next round would do (nothing to append, no jump
        // from it, a pending "\r"), without searching for that "\r" again.
        i = to > stop + 1 && to + 1 === esc && chunk.charCodeAt(to) === 0x0d ? to + 1 : to;
        continue;
      }
      if (stop > i) this.append(chunk, i, stop);
      if (stop === n) break;
      i = stop + 1;
      if (c === 0x0a) {
        onLine(this.line);
        this.line = '';
        this.pendingCR = false;
      } else if (c === 0x0d) {
        this.pendingCR = true; // a CRLF's "\r", or the chunk's last character
      } else if (c === 0x1b) {
        // Most escapes are colour codes: start the CSI at once rather than go through the ESC state; the loop's first
        // statement scans it. That is the call which resumes a sequence a chunk ended inside, so it has run from the
        // first colour code on: V8 no longer throws this optimised loop away (and compiles it again) the first time a
        // chunk ends inside a colour code or right after an ESC, as it did when each case had code of its own here.
        const csi = i < n && chunk.charCodeAt(i) === 0x5b /* [ */;
        this.state = csi ? State.Csi : State.Esc;
        if (csi) {
          this.csiParams = '';
          this.csiLength = 0;
          i++;
        }
      } else {
        // Backspace: the cursor moves left; drop the last character. Keras erases its bar with runs of a hundred,
        // so take the whole run at once.
        let run = 1;
        while (i < n && chunk.charCodeAt(i) === 0x08) {
          run++;
          i++;
        }
        if (!this.pendingCR && this.line.length) this.line = this.line.slice(0, Math.max(0, this.line.length - run));
      }
    }
  }

  /**
   * The visible text of the fresh line chunk[i, nl) (nl its "\n"; no backspace in it; the parser between sequences,
   * no line pending, no pending "\r"), as the loop of pushLines() would leave it, capped; undefined when the line
   * has a shape this does not read, and the loop then takes it as usual. The shape read:
   *   pieces separated by "\r" (redraws), then colour codes and other CSIs (not K or G, which change the line)
   *   between runs of text with no "\r"
   * such as "bar\r bar\r ESC[32m epoch 3 ESC[0m loss: 0.4". By the loop's rules: text after a "\r" replaces the line,
   * a "\r" followed by nothing visible leaves it (a CRLF, a "\r" before the line's colour codes), CSIs other than K
   * and G change no text, and the line keeps its first maxLine characters. cr and esc are the caller's cursors (the
   * first "\r" / ESC at or after i, -1 for none); the ones moved while reading the line are left in crOut / escOut.
   * Reads only the line's end beyond the cursors: the last redraw, and the codes and text after the first ESC.
   */
  protected simpleLine(chunk: string, i: number, nl: number, cr: number, esc: number): string | undefined {
    this.crOut = cr;
    this.escOut = esc;
    // The redraws end at the line's first ESC; after it, no "\r" may come.
    const e = esc >= 0 && esc < nl ? esc : nl;
    let lastCr = -1;
    if (cr >= 0 && cr < e) {
      if (e < nl) {
        this.crOut = cr = chunk.indexOf('\r', e);
        if (cr >= 0 && cr < nl) return undefined;
      }
      lastCr = e - 1;
      while (chunk.charCodeAt(lastCr) !== 0x0d) lastCr--;
    } else if (cr >= 0 && cr < nl) return undefined;
    // The codes and text after the first ESC: CSIs ESC [ params final, params in 0x20-0x3f, final in 0x40-0x7e.
    let text = '';
    for (let j = e; j < nl; ) {
      if (chunk.charCodeAt(j + 1) !== 0x5b /* [ */) return undefined;
      let k = j + 2;
      let c = chunk.charCodeAt(k);
      while (c >= 0x20 && c <= 0x3f) c = chunk.charCodeAt(++k);
      if (k >= nl || c < 0x40 || c > 0x7e || c === 0x4b || c === 0x47 || k - j - 2 > MAX_CSI) return undefined;
      j = k + 1;
      this.escOut = esc = chunk.indexOf('\x1b', j);
      const t = esc >= 0 && esc < nl ? esc : nl;
      if (t > j) text = text.length === 0 ? chunk.slice(j, t) : text + chunk.slice(j, t);
      j = t;
    }
    let line: string;
    if (lastCr < 0) line = text.length === 0 ? chunk.slice(i, e) : chunk.slice(i, e) + text;
    else if (lastCr + 1 < e) line = text.length === 0 ? chunk.slice(lastCr + 1, e) : chunk.slice(lastCr + 1, e) + text;
    else if (text.length > 0) line = text;
    else {
      // Nothing visible after the last "\r": the line is the last redraw that had text.
      let end = lastCr;
      let start = end - 1;
      for (;;) {
        while (start >= i && chunk.charCodeAt(start) !== 0x0d) start--;
        if (start + 1 < end || start < i) break;
        end = start;
        start--;
      }
      line = chunk.slice(start + 1, end);
    }
    return line.length > this.maxLine ? line.slice(0, this.maxLine) : line;
  }

  /**
   * Progress bars redraw one line hundreds of times ("\r" + bar, "\r" + bar, ...). Everything before the last
   * "\r" of a stretch of plain text is overwritten, so jump straight to it instead of walking every redraw.
   *
   * The stretch ends at the next "\n" or the next ESC, whichever comes first: an OSC/DCS string must be parsed to
   * know where it ends (a "\r" inside one is not a redraw), and a CSI such as "2K" changes the line. Stopping at the
   * ESC rather than refusing to skip when the line holds one matters for the common shape
   *   bar\r bar\r ... bar\r ESC[32m epoch 3 ESC[0m loss: 0.4 \n
   * (uncoloured tqdm bars followed by a coloured log line): the redraws before the colour code are skipped too.
   * Backspaces and invisible control characters inside the stretch need no parsing: whatever they do to the line
   * is overwritten by the text after the last "\r". Returns the new index.
   */
  private skipRedraws(chunk: string, i: number, nl: number, esc: number): number {
    // nl and esc come from the caller's cursors (next "\n" / ESC at or after i, -1 for none): searching here again
    // on every "\r" of a colourised bar that cannot be skipped would be quadratic in the chunk size.
    let limit = nl < 0 ? chunk.length : nl;
    if (esc >= 0 && esc < limit) limit = esc;
    // The answer depends on the stretch only, not on i, so it is worked out once per stretch: when a jump is
    // refused, the caller comes back on every "\r" of the same stretch.
    if (limit !== this.stretchEnd) {
      this.stretchEnd = limit;
      this.stretchJump = redrawJump(chunk, i, limit);
    }
    return this.stretchJump > i ? this.stretchJump : i;
  }

  /** Characters kept per line. */
  get maxLineLength(): number {
    return this.maxLine;
  }

  /** A complete line cut to this cleaner's line cap, exactly as pushLines() would have stored it. */
  capLine(line: string): string {
    return line.length > this.maxLine ? line.slice(0, this.maxLine) : line;
  }

  /** Adds chunk[from, to) to the current line, honouring a pending "\r" and the line cap. */
  private append(chunk: string, from: number, to: number): void {
    if (this.pendingCR) {
      this.line = '';
      this.pendingCR = false;
    }
    const room = this.maxLine - this.line.length;
    if (room <= 0) return;
    const end = to - from > room ? from + room : to;
    this.line = this.line.length === 0 ? chunk.slice(from, end) : this.line + chunk.slice(from, end);
  }

  private startCsi(): void {
    this.state = State.Csi;
    this.csiParams = '';
    this.csiLength = 0;
  }

  /** Consumes escape-sequence characters from chunk[i]; returns the index of the first unconsumed one. */
  private escape(chunk: string, i: number): number {
    const c = chunk.charCodeAt(i);
    switch (this.state) {
      case State.Esc:
        if (c === 0x5b /* [ */) this.startCsi();
        else if (c === 0x5d /* ] */ || c === 0x50 /* P */ || c === 0x58 /* X */ || c === 0x5e /* ^ */ || c === 0x5f /* _ */)
          this.state = State.Str;
        else if (c >= 0x20 && c <= 0x2f) this.state = State.EscIntermediate;
        else if (c < 0x20) {
          // A control character cancels the escape and is processed as usual.
          this.state = State.Text;
          return i;
        } else this.state = State.Text; // two-character sequence such as ESC 7, ESC =, ESC M
        return i + 1;
      case State.EscIntermediate:
        if (c >= 0x30 && c <= 0x7e) this.state = State.Text;
        else if (!(c >= 0x20 && c <= 0x2f)) {
          this.state = State.Text;
          return i;
        }
        return i + 1;
      case State.Csi: {
        // Colours arrive by the thousand: scan the whole sequence here rather than one call per character.
        const n = chunk.length;
        const from = i;
        for (; i < n; i++) {
          const ch = chunk.charCodeAt(i);
          if (ch >= 0x40 && ch <= 0x7e) {
            this.state = State.Text;
            if (ch === 0x4b || ch === 0x47) this.csiFinal(ch, this.csiParams + chunk.slice(from, i));
            return i + 1;
          }
          if (ch < 0x20 || ch > 0x3f || ++this.csiLength > MAX_CSI) {
            // Not a CSI after all (or an absurdly long one): abandon it and treat this character as text.
            this.state = State.Text;
            return i;
          }
        }
        // The sequence continues in the next chunk; keep the few parameter characters that matter.
        this.csiParams = (this.csiParams + chunk.slice(from)).slice(0, 8);
        return n;
      }
      case State.Str: {
        STRING_END.lastIndex = i;
        const m = STRING_END.exec(chunk);
        if (!m) return chunk.length; // still inside the string; its content is never stored
        const e = m.index;
        const ch = chunk.charCodeAt(e);
        if (ch === 0x07) {
          this.state = State.Text;
          return e + 1;
        }
        if (ch === 0x1b) {
          this.state = State.StrEsc;
          return e + 1;
        }
        // A newline inside an OSC: it was never terminated. End it here and keep the newline as text.
        this.state = State.Text;
        return e;
      }
      case State.StrEsc:
        if (c === 0x5c /* \ */) {
          this.state = State.Text;
          return i + 1;
        }
        // ESC that is not ST ends the string and begins a new escape sequence.
        this.state = State.Esc;
        return i;
      default:
        this.state = State.Text;
        return i;
    }
  }

  /** Applies the few CSI sequences that change which text is visible on the current line. */
  private csiFinal(final: number, params: string): void {
    if (final === 0x4b /* K: erase in line */ && params === '2') {
      this.line = '';
      this.pendingCR = false;
    } else if (final === 0x47 /* G: cursor to column */ && (params === '' || params === '1')) {
      this.pendingCR = true; // like "\r": the next text redraws the line
    }
  }
}

/**
 * Where the last redraw of chunk[from, limit) starts: just after its last "\r", or after the one before when the
 * last "\r" ends the stretch (a CRLF, a "\r" right before a colour code, the chunk's end: the text before it is what
 * stays on screen). -1 when there is nothing to jump to, or when what follows that "\r" is not visible text.
 * A backward charCodeAt walk rather than lastIndexOf(): V8 runs lastIndexOf() in its runtime, which costs more than
 * the few characters a redraw usually has.
 * No walk at all for "bar\r bar\r ESC[32m epoch 3 ...", where the stretch ends with "\r" right before colour codes
 * and then text: that text replaces the line, so the last bar never shows and the jump goes to that "\r" itself.
 */
function redrawJump(chunk: string, from: number, limit: number): number {
  if (limit - 1 > from && chunk.charCodeAt(limit - 1) === 0x0d && textAfterColours(chunk, limit)) return limit - 1;
  let last = limit - 1;
  while (last >= from && chunk.charCodeAt(last) !== 0x0d) last--;
  if (last === limit - 1) {
    last--;
    while (last >= from && chunk.charCodeAt(last) !== 0x0d) last--;
  }
  if (last < from || chunk.charCodeAt(last + 1) < 0x20) return -1;
  return last + 1;
}

/**
 * True when chunk[i] starts one or more SGR colour codes (ESC [ digits/';' m, which change no text) followed, in the
 * same chunk, by a character pushLines() appends to the line: anything but "\n", "\r", ESC and backspace.
 */
function textAfterColours(chunk: string, i: number): boolean {
  const n = chunk.length;
  for (let codes = 0; codes < 4 && i + 2 < n && chunk.charCodeAt(i) === 0x1b && chunk.charCodeAt(i + 1) === 0x5b; codes++) {
    let j = i + 2;
    while (j < n && j - i < 16 && chunk.charCodeAt(j) >= 0x30 && chunk.charCodeAt(j) <= 0x3f) j++;
    if (j >= n || chunk.charCodeAt(j) !== 0x6d /* m */) return false;
    i = j + 1;
    if (i >= n) return false;
    const c = chunk.charCodeAt(i);
    if (c !== 0x0a && c !== 0x0d && c !== 0x1b && c !== 0x08) return true;
  }
  return false;
}

/** Removes the invisible control characters that pushLines() leaves in its lines (see INVISIBLE). */
export function removeInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/** removeInvisible(), tested first: most texts have none, and a test is cheaper than a replace with nothing to do. */
export function withoutInvisible(text: string): string {
  return MAYBE_INVISIBLE.test(text) ? removeInvisible(text) : text;
}

/** Strips escape sequences and resolves "\r" redraws in a complete text (see TerminalTextCleaner). */
export function stripAnsi(text: string): string {
  const cleaner = new TerminalTextCleaner({ maxLineLength: Number.MAX_SAFE_INTEGER });
  return cleaner.push(text) + cleaner.end();
}
