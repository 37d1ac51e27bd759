/**
 * Keeps what a run prints into a terminal we drive ourselves (the `ideator` task's pseudoterminal) within what a
 * terminal can show. A Pseudoterminal has no flow control: every write is queued for the renderer at once, so a
 * program printing 100 MB in three seconds left ~170 MB of queued writes in the extension host while the terminal
 * drew ~1.5 MB/s. The throttle writes at most `charsPerWindow` characters per `windowMs`; beyond that, whole lines
 * are held back and counted, and when the window closes one dim note says how much was not shown, followed by the
 * newest line so progress stays visible. Only display is thinned: the run capture still gets every byte.
 */

export interface DisplayThrottleOptions {
  /** Characters written per window before lines are held back (default 96K per 100 ms: about 1 MB/s). */
  charsPerWindow?: number;
  windowMs?: number;
  /** How much of the held-back text is kept to show its newest line (default 4K characters). */
  tailChars?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface DisplayThrottleStats {
  shownChars: number;
  hiddenChars: number;
  hiddenLines: number;
}

function megabytes(chars: number): string {
  return chars >= 1e6 ? `${(chars / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(chars / 1e3))} KB`;
}

export class DisplayThrottle {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly tailChars: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private windowStart = -Infinity;
  private used = 0;
  /** Held back in this window: counts and the newest text (to show its last line). */
  private heldChars = 0;
  private heldLines = 0;
  private heldTail = '';
  private timer: unknown;
  private readonly totals: DisplayThrottleStats = { shownChars: 0, hiddenChars: 0, hiddenLines: 0 };

  constructor(
    private readonly write: (text: string) => void,
    opts: DisplayThrottleOptions = {},
  ) {
    this.perWindow = opts.charsPerWindow ?? 96 * 1024;
    this.windowMs = opts.windowMs ?? 100;
    this.tailChars = opts.tailChars ?? 4096;
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  get stats(): DisplayThrottleStats {
    return { ...this.totals };
  }

  push(text: string): void {
    if (!text) return;
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) this.newWindow(t);
    if (this.heldChars === 0 && this.used + text.length <= this.perWindow) {
      this.show(text);
      return;
    }
    let rest = text;
    if (this.heldChars === 0) {
      // Show whole lines up to the budget, hold back the rest from a line start.
      const room = this.perWindow - this.used;
      const cut = room > 0 ? text.lastIndexOf('\n', room - 1) + 1 : 0;
      if (cut > 0) this.show(text.slice(0, cut));
      rest = text.slice(cut);
    }
    if (!rest) return;
    this.hold(rest);
    this.timer ??= this.setTimer(() => {
      this.timer = undefined;
      this.newWindow(this.now());
    }, Math.max(1, this.windowMs - (t - this.windowStart)));
  }

  /** Reports what the last window held back, then starts a window at `t` with its whole budget. */
  private newWindow(t: number): void {
    this.flush();
    this.windowStart = t;
    this.used = 0;
  }

  /** Writes the note for anything still held back (call before the run's closing line). */
  flush(): void {
    if (this.timer !== undefined) {
      this.clearTimer(this.timer);
      this.timer = undefined;
    }
    this.release();
  }

  /** Our own lines (the command echo, the exit status): reported held-back output first, then written unthrottled. */
  writeNow(text: string): void {
    this.flush();
    this.show(text);
  }

  private show(text: string): void {
    this.used += text.length;
    this.totals.shownChars += text.length;
    this.write(text);
  }

  private hold(text: string): void {
    this.heldChars += text.length;
    let lines = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
    this.heldLines += lines;
    this.heldTail = text.length >= this.tailChars ? text.slice(-this.tailChars) : (this.heldTail + text).slice(-this.tailChars);
  }

  private release(): void {
    if (this.heldChars === 0) return;
    // The newest complete line of what was held, plus any unfinished line after it (a progress bar being drawn).
    const tail = this.heldTail;
    const lastNl = tail.lastIndexOf('\n', tail.length - 2);
    const newest = lastNl >= 0 ? tail.slice(lastNl + 1) : '';
    const hiddenChars = this.heldChars - newest.length;
    const hiddenLines = Math.max(0, this.heldLines - (newest.includes('\n') ? 1 : 0));
    this.totals.hiddenChars += hiddenChars;
    this.totals.hiddenLines += hiddenLines;
    this.heldChars = 0;
    this.heldLines = 0;
    this.heldTail = '';
    const note = `\x1b[0m\x1b[2m[… ${hiddenLines.toLocaleString('en-US')} line${hiddenLines === 1 ? '' : 's'} (${megabytes(hiddenChars)}) not shown: printed faster than a terminal draws; every line was scored, and the Run History keeps the head and tail …]\x1b[0m\n`;
    this.show(note + newest);
  }
}
