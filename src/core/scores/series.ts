/**
 * One metric's running state: last, min and max (so "best" can follow whichever direction is decided later, e.g.
 * a --direction flag), the true count, and a bounded series.
 *
 * The series stays a *uniform* sample of the whole run however long it is: when it reaches the cap we keep every
 * other point and from then on record every 2nd, 4th, ... value. A chart of a million-iteration run still shows its
 * whole shape, memory stays O(cap), and the cost per value is O(1) amortised. The last value is always appended
 * on output so a chart ends where the run ended.
 */
import type { Direction, Metric } from '../protocol';

export class MetricSeries {
  /**
   * The latest value; add() runs right after construction, so NaN is never seen. It starts as a double rather than
   * 0 because V8 would store a small-integer field differently and change the object's shape at the first 0.93.
   */
  last = NaN;
  min = Infinity;
  max = -Infinity;
  count = 0;
  /** Global order of the latest update, used to find the metric printed last. */
  seq = 0;
  /** NaN / infinite values printed (kept out of last/min/max/series). */
  nonFinite = 0;
  /** The latest value printed was NaN or infinite: the run diverged after `last`. */
  diverged = false;
  private series: number[] = [];
  private stride = 1;
  /** Values to skip before the next one is sampled (a countdown instead of a modulo on every value). */
  private skip = 0;

  constructor(
    readonly name: string,
    readonly direction: Direction,
    readonly validation: boolean,
    private readonly cap: number,
  ) {}

  add(value: number, seq: number): void {
    if (this.skip === 0) {
      this.series.push(value);
      this.skip = this.stride;
      if (this.series.length >= this.cap) {
        // Keep the even-indexed samples (values 0, 2s, 4s, ... of the run, s the old stride); the next sample is
        // due at the next multiple of the new stride after the value just added (index `count`).
        let w = 0;
        for (let r = 0; r < this.series.length; r += 2) this.series[w++] = this.series[r];
        this.series.length = w;
        const lastKept = (w - 1) * 2 * this.stride;
        this.stride *= 2;
        this.skip = lastKept + this.stride - this.count;
      }
    }
    this.skip--;
    this.count++;
    this.diverged = false;
    this.last = value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.seq = seq;
  }

  /** A NaN / infinity printed for this metric: counted and remembered, never a value to compare. */
  addNonFinite(seq: number): void {
    this.nonFinite++;
    this.diverged = true;
    this.seq = seq;
  }

  best(direction: Direction = this.direction): number {
    return direction === 'higher' ? this.max : this.min;
  }

  toMetric(direction: Direction = this.direction): Metric {
    const series = this.series.slice();
    // The last value is in the sample only when its index falls on the stride.
    if ((this.count - 1) % this.stride !== 0) series.push(this.last);
    return {
      name: this.name,
      last: this.last,
      best: this.best(direction),
      series,
      count: this.count,
      direction,
      validation: this.validation,
      ...(this.nonFinite > 0 ? { nonFinite: this.nonFinite, diverged: this.diverged } : {}),
    };
  }
}
