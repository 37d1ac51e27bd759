/**
 * How a score is written for people, defined once: the status bar, the Run History rows and tooltips, the chart's
 * axes and tooltips, the compare view, notifications, outcome text and the drafted query all call formatScore.
 * Five significant digits; exponent notation below 0.001 and from 100,000 up. Imports nothing.
 */
export function formatScore(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
}

/** A signed difference in the same precision: "+0.012", "−0.002", "0". */
export function formatDelta(d: number): string {
  if (!Number.isFinite(d)) return String(d);
  if (d === 0) return '0';
  return d > 0 ? `+${formatScore(d)}` : `−${formatScore(-d)}`;
}
