/**
 * Renders an implementer trajectory (the paper's tau_1:t) as the TRAJECTORY text of the Ideator prompt, under a
 * token budget (default 32,000, the paper's).
 *
 * What survives a cut, and why:
 *  - the head (task head given by the caller, then the first steps, up to ~15% of the budget): how the work began;
 *  - the newest steps, as many as fit: what the Ideator must react to;
 *  - between them one marker per removed stretch, saying how many steps and about how many tokens went;
 *  - a single huge action/observation is trimmed head + tail (the tail weighs more: final metrics and
 *    tracebacks are at the end) at line boundaries, with a marker. A fenced code block is never left unbalanced:
 *    a cut snaps to the block's edge, or, when the block alone exceeds the room, the block is closed before the
 *    marker and reopened after it. The one exception to "never split a line": a single line larger than the
 *    whole allowance (a minified blob), which is cut in its middle with a marker naming the characters removed.
 *    A table of a compact output (core/compactTable.ts: its form, then rows of numbers) is never left without its
 *    form: when the kept tail starts inside one, the form is written again after the marker ("[… table continued:
 *    the last 7 of its 12 rows, filling the {} in order: …]"), and the head does not end on a table's header alone.
 *
 * Only the steps that can be kept are rendered and counted, so 5,000 steps cost about as much as the ~100 that
 * fit; removed stretches are sized from character counts at the ratio measured on the kept text.
 */
import { tableSpans } from './compactTable';
import type { Step } from './protocol';
import { estimateTokens, type TokenCounter } from './tokens';

export const DEFAULT_TRAJECTORY_BUDGET = 32_000;

export interface RenderTrajectoryOptions {
  budgetTokens?: number;
  countTokens?: TokenCounter;
  /** Text that always leads (e.g. the task head); trimmed to half the budget when longer. */
  head?: string;
}

export interface RenderedTrajectory {
  text: string;
  /** countTokens(text), always <= the budget. */
  tokens: number;
  /** Markers inserted: removed stretches of steps plus trimmed actions/observations/head. */
  cuts: number;
  /** Steps removed entirely. */
  omittedSteps: number;
}

const MIN_BUDGET = 64;
const FRONT_SHARE = 0.15;
const STEP_SHARE = 0.25;
const STEP_SEPARATOR = '\n\n';

// ---------------------------------------------------------------------------------------------------------------
// Text hygiene
// ---------------------------------------------------------------------------------------------------------------

const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/** Drops ANSI colours and keeps only the last redraw of `\r`-rewritten lines (tqdm, Keras progress bars). */
export function cleanOutput(text: string): string {
  let s = text.includes('\x1b') ? text.replace(ANSI_RE, '') : text;
  if (s.includes('\r')) {
    s = s
      .replace(/\r\n/g, '\n')
      .split('\n')
      .map((line) => {
        if (!line.includes('\r')) return line;
        const parts = line.split('\r').filter((p) => p !== '');
        return parts.length ? parts[parts.length - 1] : '';
      })
      .join('\n');
  }
  return s;
}

function formatNumber(n: number): string {
  return n.toLocaleString('en-US');
}

function formatScore(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number(v.toPrecision(6)).toString();
}

// ---------------------------------------------------------------------------------------------------------------
// Trimming one text at line boundaries
// ---------------------------------------------------------------------------------------------------------------

const FENCE_RE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

interface OpenFence {
  line: number;
  marker: string;
  info: string;
}

/** The fence open after lines[0..upTo), or null. Fences follow CommonMark: same character, at least as long. */
function fenceOpenAt(lines: string[], upTo: number): OpenFence | null {
  let open: OpenFence | null = null;
  for (let i = 0; i < upTo; i++) {
    const line = lines[i];
    if (line.length > 4000 || (line.indexOf('```') < 0 && line.indexOf('~~~') < 0)) continue;
    const m = FENCE_RE.exec(line);
    if (!m) continue;
    if (open) {
      if (m[1][0] === open.marker[0] && m[1].length >= open.marker.length && m[2].trim() === '') open = null;
    } else if (!(m[1][0] === '`' && m[2].includes('`'))) {
      open = { line: i, marker: m[1], info: m[2].trim() };
    }
  }
  return open;
}

/** Index of the line closing `fence`, searching from `from`; -1 when it is never closed. */
function fenceCloseFrom(lines: string[], fence: OpenFence, from: number): number {
  for (let i = from; i < lines.length; i++) {
    const m = FENCE_RE.exec(lines[i]);
    if (m && m[1][0] === fence.marker[0] && m[1].length >= fence.marker.length && m[2].trim() === '') return i;
  }
  return -1;
}

/** The marker trimToTokens writes where it removed lines ("[… 1,204 lines omitted (~9,800 tokens) …]"). */
export const TRIM_MARKER_RE = /^\[… [\d,]+ lines omitted \(~[\d,]+ tokens\) …\]$/;

export interface TrimResult {
  text: string;
  trimmed: boolean;
}

/**
 * Trims `text` to at most about `maxTokens`, keeping its head (40%) and tail (60%) at line boundaries, with a
 * marker saying how many lines and about how many tokens were removed.
 */
export function trimToTokens(text: string, maxTokens: number, count: TokenCounter = estimateTokens): TrimResult {
  const max = Math.max(16, Math.floor(maxTokens));
  // Tokens never exceed ~1.2 per character with Qwen3-like counters, so very long text is over budget for sure:
  // skip counting it whole.
  if (text.length <= max * 20 && count(text) <= max) return { text, trimmed: false };
  const lines = text.split('\n');
  const room = max - 24; // what the marker line costs, roughly
  const headRoom = Math.floor(room * 0.4);
  const tailRoom = room - headRoom;

  if (lines.length === 1) return cutLongLine(text, room, count);

  let h = 0;
  let used = 0;
  let keptChars = 0;
  let firstLine: string | null = null; // set when the first line alone is too big and had to be cut
  for (; h < lines.length; h++) {
    const t = count(lines[h]) + 1;
    if (used + t > headRoom) {
      if (h === 0) {
        firstLine = cutLongLine(lines[0], headRoom, count).text;
        used = count(firstLine) + 1;
        keptChars = firstLine.length + 1;
        h = 1;
      }
      break;
    }
    used += t;
    keptChars += lines[h].length + 1;
  }
  let t = lines.length;
  let tailUsed = 0;
  let lastLine: string | null = null; // same for the last line
  for (; t > h; t--) {
    const c = count(lines[t - 1]) + 1;
    if (tailUsed + c > tailRoom) {
      if (t === lines.length) {
        lastLine = cutLongLine(lines[t - 1], tailRoom, count).text;
        tailUsed = count(lastLine) + 1;
        keptChars += lastLine.length + 1;
        t--;
      }
      break;
    }
    tailUsed += c;
    keptChars += lines[t - 1].length + 1;
  }
  if (h >= t && firstLine === null && lastLine === null) return { text, trimmed: false }; // it all fit line by line

  // Keep fenced code blocks balanced.
  const headLines = lines.slice(0, h);
  const tailLines = lines.slice(t);
  if (firstLine !== null) headLines[0] = firstLine;
  if (lastLine !== null) tailLines[tailLines.length - 1] = lastLine;
  const openAtHead = fenceOpenAt(lines, h);
  if (openAtHead) {
    if (openAtHead.line > 0) {
      headLines.length = openAtHead.line; // drop the partial block into the removed middle
      h = openAtHead.line;
    } else {
      headLines.push(openAtHead.marker); // the block is the head: close it before the marker
    }
  }
  const openAtTail = fenceOpenAt(lines, t);
  if (openAtTail) {
    const close = fenceCloseFrom(lines, openAtTail, t);
    if (close >= 0 && close + 1 < lines.length && close + 1 - t < tailLines.length) {
      tailLines.splice(0, close + 1 - t); // start the tail after the block ends
      t = close + 1;
    } else {
      tailLines.unshift(`${openAtTail.marker}${openAtTail.info}`); // reopen the block after the marker
    }
  }

  if (h < t && text.includes('[… ')) {
    const tables = keepTablesReadable(lines, h, t, headLines, tailLines, count, tailRoom - tailUsed, lastLine !== null);
    h = tables.h;
    t = tables.t;
  }

  const removed = lines.slice(h, t);
  const removedChars = removed.reduce((a, l) => a + l.length + 1, 0);
  const ratio = (used + tailUsed) / Math.max(1, keptChars);
  const marker = `[… ${formatNumber(removed.length)} lines omitted (~${formatNumber(Math.round(removedChars * ratio))} tokens) …]`;
  const middle = removed.length > 0 ? [marker] : [];
  return { text: [...headLines, ...middle, ...tailLines].join('\n'), trimmed: true };
}

/**
 * Tables of compact outputs across the cut between the head (lines[0..h)) and the tail (lines[t..)), whose kept lines
 * are headLines and tailLines (changed in place): a head that ends on a table's header gives the header up, and a
 * tail that starts with a table's rows gets the table's form again first (core/compactTable.ts TableSpan.continuation),
 * its first rows given up as far as the header needs room beyond `spare` tokens; no rows left, no header. Returns
 * the new h and t.
 */
function keepTablesReadable(
  lines: string[],
  h: number,
  t: number,
  headLines: string[],
  tailLines: string[],
  count: TokenCounter,
  spare: number,
  lastCut: boolean,
): { h: number; t: number } {
  const tables = tableSpans(lines);
  if (tables.length === 0) return { h, t };
  const atHead = tables.find((s) => s.start === h - 1 && s.end > h);
  if (atHead && h > 1 && headLines.length === h) {
    headLines.pop();
    h--;
  }
  // The tail as lines[t..] (a reopened fence may lead it; a last line cut in its middle ends it, and stays).
  const lead = tailLines.length > lines.length - t ? 1 : 0;
  const last = lastCut ? lines.length - 1 : lines.length;
  const inTable = tables.find((s) => s.start < t && s.end > t);
  if (!inTable || t >= last) return { h, t };
  let room = spare;
  let header = inTable.continuation(inTable.end - t);
  while (t < inTable.end && t < last && count(header) + 1 > room) {
    room += count(lines[t]) + 1;
    tailLines.splice(lead, 1);
    t++;
    header = inTable.continuation(inTable.end - t);
  }
  if (t < inTable.end) tailLines.splice(lead, 0, header);
  return { h, t };
}

function cutLongLine(line: string, room: number, count: TokenCounter): TrimResult {
  const sample = line.slice(0, 4000);
  const tokensPerChar = Math.max(0.05, count(sample) / Math.max(1, sample.length));
  const keepChars = Math.max(16, Math.floor((room - 16) / tokensPerChar));
  const head = Math.floor(keepChars * 0.4);
  const tail = keepChars - head;
  if (line.length <= keepChars) return { text: line, trimmed: false };
  const cut = line.length - head - tail;
  return { text: `${line.slice(0, head)} [… ${formatNumber(cut)} characters cut from this line …] ${line.slice(line.length - tail)}`, trimmed: true };
}

// ---------------------------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------------------------

/** The header line of a step: number, kind, exit code and score when known. */
export function stepHeader(step: Step, number: number): string {
  const bits: string[] = [step.kind ?? 'execute'];
  if (step.exitCode !== undefined && step.exitCode !== null) bits.push(`exit code ${step.exitCode}`);
  if (step.score !== undefined && step.score !== null) bits.push(`score ${formatScore(step.score)}`);
  return `--- Step ${number} (${bits.join(', ')}) ---`;
}

interface RenderedStep {
  text: string;
  tokens: number;
  cuts: number;
}

/** Renders one step, trimming its action and observation so that the step stays within `maxTokens`. */
function renderStepWithin(step: Step, number: number, maxTokens: number, count: TokenCounter): RenderedStep {
  const header = stepHeader(step, number);
  const action = cleanOutput(step.action ?? '').replace(/\s+$/, '');
  const observation = cleanOutput(step.observation ?? '').replace(/\s+$/, '');
  const assemble = (a: string, o: string) => `${header}\nAction:\n${a}${o ? `\nObservation:\n${o}` : ''}`;
  let text = assemble(action, observation);
  let tokens = count(text);
  if (tokens <= maxTokens) return { text, tokens, cuts: 0 };

  // Share the room: the action gets up to a third (commands are short; edits can be long), the observation the rest.
  const room = maxTokens - count(header) - 8;
  const actionTokens = count(action);
  const actionRoom = Math.min(actionTokens, Math.max(32, Math.floor(room / 3)));
  const a = trimToTokens(action, actionRoom, count);
  const obsRoom = Math.max(32, room - Math.min(actionTokens, count(a.text)));
  const o = trimToTokens(observation, obsRoom, count);
  text = assemble(a.text, o.text);
  tokens = count(text);
  return { text, tokens, cuts: (a.trimmed ? 1 : 0) + (o.trimmed ? 1 : 0) };
}

/** Renders one step as it appears in the prompt (no trimming). */
export function renderStep(step: Step, number: number): string {
  return renderStepWithin(step, number, Number.POSITIVE_INFINITY, () => 0).text;
}

function gapMarker(from: number, to: number, approxTokens: number): string {
  const n = to - from + 1;
  const which = n === 1 ? `step ${formatNumber(from)}` : `steps ${formatNumber(from)}–${formatNumber(to)}`;
  return `[… ${which} omitted: ${formatNumber(n)} step${n === 1 ? '' : 's'}, ~${formatNumber(approxTokens)} tokens …]`;
}

// ---------------------------------------------------------------------------------------------------------------
// Whole trajectory
// ---------------------------------------------------------------------------------------------------------------

/** Renders `steps` under the token budget: head + first steps + marker + newest steps. */
export function renderTrajectory(steps: Step[], opts: RenderTrajectoryOptions = {}): RenderedTrajectory {
  const budget = Math.max(MIN_BUDGET, Math.floor(opts.budgetTokens ?? DEFAULT_TRAJECTORY_BUDGET));
  const count = opts.countTokens ?? estimateTokens;
  let cuts = 0; // head trims; step trims and the gap marker are added when the text is assembled

  let head = (opts.head ?? '').replace(/\s+$/, '');
  if (head) {
    const t = trimToTokens(head, Math.floor(budget / 2), count);
    head = t.text;
    if (t.trimmed) cuts++;
  }
  const headTokens = head ? count(head) + 1 : 0;

  if (steps.length === 0) {
    const text = head || '(no steps yet)';
    return finish(text, budget, count, cuts, 0);
  }

  const markerReserve = 40;
  const room = budget - headTokens - markerReserve;
  const stepCap = Math.max(48, Math.floor(room * STEP_SHARE));
  const cache = new Map<number, RenderedStep>();
  const render = (i: number, cap = stepCap): RenderedStep => {
    const hit = cache.get(i);
    if (hit && cap >= stepCap) return hit;
    const r = renderStepWithin(steps[i], i + 1, cap, count);
    if (cap >= stepCap) cache.set(i, r);
    return r;
  };
  const sepTokens = 1;

  // First steps, up to FRONT_SHARE of the room (the first step even when it alone needs more, within stepCap).
  const front: RenderedStep[] = [];
  let used = 0;
  const frontRoom = Math.floor(room * FRONT_SHARE);
  for (let i = 0; i < steps.length; i++) {
    const r = render(i);
    if (used + r.tokens + sepTokens > frontRoom && !(i === 0 && r.tokens <= stepCap)) break;
    if (used + r.tokens + sepTokens > room) break;
    front.push(r);
    used += r.tokens + sepTokens;
  }

  // Newest steps, backwards, as many as fit.
  const back: RenderedStep[] = [];
  let j = steps.length - 1;
  for (; j >= front.length; j--) {
    const r = render(j);
    if (used + r.tokens + sepTokens > room) {
      // The step that does not fit whole may still fit trimmed, keeping the newest stretch contiguous.
      const left = room - used - sepTokens;
      if (left >= 160) {
        const small = render(j, left);
        if (used + small.tokens + sepTokens <= room) {
          back.push(small);
          used += small.tokens + sepTokens;
          j--;
        }
      }
      break;
    }
    back.push(r);
    used += r.tokens + sepTokens;
  }
  back.reverse();
  const gapFrom = front.length; // 0-based first omitted
  const gapTo = j; // 0-based last omitted (j < gapFrom: no gap)

  const assemble = (backSkip: number) => {
    const parts: string[] = [];
    if (head) parts.push(head);
    for (const r of front) parts.push(r.text);
    const lastOmitted = gapTo + backSkip;
    let gapCuts = 0;
    if (lastOmitted >= gapFrom) {
      parts.push(gapMarker(gapFrom + 1, lastOmitted + 1, approxTokens(steps, gapFrom, lastOmitted, front, back)));
      gapCuts = 1;
    }
    for (const r of back.slice(backSkip)) parts.push(r.text);
    return { text: parts.join(STEP_SEPARATOR), omitted: Math.max(0, lastOmitted - gapFrom + 1), gapCuts };
  };

  // Counting piece by piece is close to counting the whole, not equal: drop the oldest kept new steps until the
  // whole text fits.
  for (let skip = 0; skip <= back.length; skip++) {
    const a = assemble(skip);
    const tokens = count(a.text);
    if (tokens <= budget || skip === back.length) {
      const keptCuts = back.slice(skip).reduce((s, r) => s + r.cuts, 0) + front.reduce((s, r) => s + r.cuts, 0);
      return finish(a.text, budget, count, cuts + keptCuts + a.gapCuts, a.omitted);
    }
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

/** Tokens of the omitted steps i..j, from their characters at the ratio seen on the kept steps. */
function approxTokens(steps: Step[], i: number, j: number, front: RenderedStep[], back: RenderedStep[]): number {
  let keptChars = 0;
  let keptTokens = 0;
  for (const r of [...front, ...back]) {
    keptChars += r.text.length;
    keptTokens += r.tokens;
  }
  const ratio = keptChars > 0 ? keptTokens / keptChars : 0.3;
  let chars = 0;
  for (let k = i; k <= j; k++) chars += (steps[k].action?.length ?? 0) + (steps[k].observation?.length ?? 0) + 40;
  return Math.round(chars * ratio);
}

/** Last guard: whatever happened above, the returned text is within the budget. */
function finish(text: string, budget: number, count: TokenCounter, cuts: number, omittedSteps: number): RenderedTrajectory {
  let tokens = count(text);
  if (tokens > budget) {
    const t = trimToTokens(text, Math.floor(budget * 0.95), count);
    text = t.text;
    tokens = count(text);
    cuts++;
  }
  return { text, tokens, cuts, omittedSteps };
}
