/**
 * The seek-help query (the paper's PROBLEM_STATEMENT / ATTEMPTS_SO_FAR / GOAL block inside <seek_help>).
 *
 * `draftQuery` writes one from the trajectory without an LLM, for when the user (not an implementer agent) asks
 * for an idea: the facts an implementer would have put there — best and latest score, how long since the last
 * improvement, what was changed and run, what failed and with which error.
 * `renderSeekHelp` / `parseSeekHelp` convert between the block and the SeekHelpQuery shape; renderSeekHelp is the
 * only renderer (the Ideator prompt, the panel, the bench and the history's trajectory all write this block).
 */
import { parseIdea } from './idea';
import { isBetter } from './metric';
import { SeekHelpQuerySchema, type ScoreState, type SeekHelpQuery, type Step } from './protocol';
import { formatScore } from './format';

const MAX_BULLETS = 8;
const MAX_BULLET_CHARS = 160;

// ---------------------------------------------------------------------------------------------------------------
// Facts from the trajectory
// ---------------------------------------------------------------------------------------------------------------

/** Scores in the drafted query are written as everywhere else in the UI (it is shown for review). */
const fmt = formatScore;

/**
 * Collapses whitespace and shortens to `max` characters. The cut never falls inside a number or a name: a
 * shortened `n_estimators=200` must not read as `n_estimators=20…` to the Ideator. It backs off to the last
 * boundary unless that would drop more than half the text.
 */
function oneLine(s: string, max = MAX_BULLET_CHARS): string {
  const t = s.replace(/\s+/g, ' ').trim();
  if (t.length <= max) return t;
  let cut = max - 1;
  const word = /[\w.]/;
  if (word.test(t[cut - 1]) && word.test(t[cut])) {
    let b = cut;
    while (b > 0 && word.test(t[b - 1])) b--;
    if (b >= max / 2) cut = b;
  }
  return `${t.slice(0, cut).trimEnd()}…`;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

/**
 * The line that names the error in a failed step's output: the last line of a Python traceback
 * (`ValueError: …`), else the last line that looks like an error, else the last non-empty line.
 */
export function errorLine(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/\s+$/, ''));
  const tb = lines.map((l) => l.startsWith('Traceback (most recent call last)')).lastIndexOf(true);
  const from = tb >= 0 ? tb + 1 : 0;
  for (let i = lines.length - 1; i >= from; i--) {
    const l = lines[i].trim();
    if (/^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b/.test(l) || /^(error|fatal|killed)\b/i.test(l)) return l;
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (/\b(error|exception|failed|killed|out of memory|oom)\b/i.test(l)) return l;
  }
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i].trim()) return lines[i].trim();
  return '';
}

function failed(step: Step): boolean {
  return typeof step.exitCode === 'number' && step.exitCode !== 0;
}

/** A short description of what a step did, as an implementer would list it. */
function describe(step: Step, number: number): string {
  const action = firstLine(step.action ?? '');
  switch (step.kind) {
    case 'edit': {
      const lines = (step.action ?? '').split('\n').length;
      return `Step ${number}: edited the code (${oneLine(action, 70)}${lines > 1 ? `, ${lines} lines` : ''})`;
    }
    case 'seek_help': {
      const idea = parseIdea(step.observation ?? '');
      const what = idea.action ? firstLine(idea.action.replace(/^```.*$/gm, '')) : firstLine(step.observation ?? '');
      return `Step ${number}: asked for an idea; suggested: ${oneLine(what, 100)}`;
    }
    case 'submit':
      return `Step ${number}: submitted${step.score != null ? ` (score ${fmt(step.score)})` : ''}`;
    case 'note':
      return `Step ${number}: ${oneLine(action, 120)}`;
    default: {
      let s = `Step ${number}: ran \`${oneLine(action, 70)}\``;
      if (failed(step)) s += ` — failed (exit ${step.exitCode}): ${oneLine(errorLine(step.observation ?? ''), 80)}`;
      else if (step.score != null) s += ` → score ${fmt(step.score)}`;
      return s;
    }
  }
}

interface ScoreFacts {
  best: number | null;
  bestStep: number; // 1-based, 0 when unknown
  latest: number | null;
  latestStep: number;
  scored: number;
  /** Steps since the best score was first reached (0 when the last scored step set it). */
  sinceBest: number;
}

function scoreFacts(steps: Step[], score: ScoreState): ScoreFacts {
  const f: ScoreFacts = { best: null, bestStep: 0, latest: null, latestStep: 0, scored: 0, sinceBest: 0 };
  steps.forEach((s, i) => {
    if (typeof s.score !== 'number' || !Number.isFinite(s.score)) return;
    f.scored++;
    f.latest = s.score;
    f.latestStep = i + 1;
    if (f.best === null || isBetter(s.score, f.best, score.direction)) {
      f.best = s.score;
      f.bestStep = i + 1;
    }
  });
  // p_t from the state counts even when no step carries it (e.g. the extension knows the last run's score).
  if (score.value !== null && Number.isFinite(score.value) && (f.best === null || isBetter(score.value, f.best, score.direction))) {
    f.best = score.value;
    f.bestStep = f.bestStep || steps.length;
  }
  if (f.latest === null && score.value !== null) f.latest = score.value;
  f.sinceBest = f.bestStep ? steps.length - f.bestStep : 0;
  return f;
}

// ---------------------------------------------------------------------------------------------------------------
// Drafting
// ---------------------------------------------------------------------------------------------------------------

/**
 * Drafts PROBLEM_STATEMENT / ATTEMPTS_SO_FAR / GOAL from the trajectory and score, without an LLM. `unit` is what
 * the counts are about: an agent's 'step's (default), or the 'run's of someone training in an editor, where only
 * runs are counted and named. `submission` (default true): the task is judged on a submission file to keep valid.
 */
export function draftQuery(input: { trajectory: Step[]; score: ScoreState; taskDescription?: string; unit?: 'step' | 'run'; submission?: boolean }): SeekHelpQuery {
  const steps = input.trajectory ?? [];
  const runs = input.unit === 'run';
  const runCount = steps.filter((s) => s.kind === 'execute').length;
  /** "3 steps" / "3 runs": how much was tried, in the unit the reader thinks in. */
  const tried = (n: number, nRuns: number) => (runs ? `${nRuns} run${nRuns === 1 ? '' : 's'}` : `${n} step${n === 1 ? '' : 's'}`);
  const { score } = input;
  const metric = score.metric?.trim() || 'score';
  const dirWord = score.direction === 'higher' ? 'higher is better' : 'lower is better';
  const f = scoreFacts(steps, score);
  const last = steps[steps.length - 1];
  const lastFailed = last ? failed(last) : false;
  const failures = steps.filter(failed).length;
  const task = firstLine(input.taskDescription ?? '').replace(/^#+\s*/, '');

  let problem: string;
  if (steps.length === 0 && f.best === null) {
    problem = `No run has produced a ${metric} yet${task ? ` for the task "${oneLine(task, 80)}"` : ''}.`;
  } else if (lastFailed) {
    const err = oneLine(errorLine(last.observation ?? ''), 100) || `exit code ${last.exitCode}`;
    problem =
      f.best === null
        ? `The latest run failed (${err}) and no valid ${metric} has been produced after ${tried(steps.length, runCount)}.`
        : `The latest run failed (${err}); the best ${metric} so far is ${fmt(f.best)} (${dirWord}).`;
  } else if (f.best === null) {
    problem = `No valid ${metric} has been produced after ${tried(steps.length, runCount)}${failures ? ` (${failures} failed)` : ''}.`;
  } else if (f.sinceBest === 0 && f.scored > 1) {
    problem = `The ${metric} just improved to ${fmt(f.best)} (${dirWord}) and the next gain is not obvious.`;
  } else if (f.scored === 0) {
    problem = `The current ${metric} is ${fmt(f.best)} (${dirWord}) and no ${runs ? 'run' : 'step'} has improved on it yet.`;
  } else if (f.scored === 1) {
    problem = `There is one baseline ${metric} of ${fmt(f.best)} (${dirWord}) and no improvement on it yet.`;
  } else {
    const latest = f.latest !== null && f.latest !== f.best ? `; the latest is ${fmt(f.latest)}` : '';
    const runsSince = steps.slice(f.bestStep).filter((s) => s.kind === 'execute').length;
    problem = runs && runsSince === 0
      ? `The ${metric} is at its best of ${fmt(f.best)} (${dirWord}) and the next gain is not obvious.`
      : runs
      ? `The ${metric} has not improved on its best of ${fmt(f.best)} (${dirWord}) in the last ${runsSince === 1 ? 'run' : tried(f.sinceBest, runsSince)}${latest}.`
      : `The ${metric} has not improved on its best of ${fmt(f.best)} (${dirWord}, step ${f.bestStep}) for ${tried(f.sinceBest, runsSince)}${latest}.`;
  }

  // Attempts: meaningful steps, consecutive repeats collapsed, the newest kept when there are too many.
  const bullets: string[] = [];
  let prevKey = '';
  let repeat = 1;
  let groupStart = 0;
  steps.forEach((s, i) => {
    if (s.kind === 'execute' && !failed(s) && s.score == null && !/\b(python|train|fit|run|\.py)\b/.test(s.action ?? '')) return; // ls, head, pip…
    const d = describe(s, i + 1);
    const key = `${s.kind}|${firstLine(s.action ?? '')}|${failed(s)}`;
    if (key === prevKey && bullets.length > 0) {
      // The same command again: one bullet for the stretch, showing its latest result.
      repeat++;
      bullets[bullets.length - 1] = d.replace(/^Step \d+:/, `Steps ${groupStart}–${i + 1} (×${repeat}):`);
      return;
    }
    prevKey = key;
    groupStart = i + 1;
    repeat = 1;
    bullets.push(d);
  });
  let attempts = bullets;
  if (bullets.length > MAX_BULLETS) {
    const dropped = bullets.length - (MAX_BULLETS - 1);
    attempts = [`${dropped} earlier attempt${dropped === 1 ? '' : 's'} not listed`, ...bullets.slice(-(MAX_BULLETS - 1))];
  }
  if (f.best !== null && f.scored > 1) attempts.push(`Best ${metric} ${fmt(f.best)}${runs ? '' : ` at step ${f.bestStep}`}; ${f.scored} scored runs, ${failures} failed`);
  attempts = attempts.map((b) => oneLine(b));

  let goal: string;
  const beat = score.direction === 'higher' ? 'above' : 'below';
  if (f.best === null) goal = `Get a run that finishes and reports a valid ${metric}.`;
  else if (lastFailed) goal = `Fix the failure and bring the ${metric} ${beat} ${fmt(f.best)}.`;
  else goal = `Bring the ${metric} ${beat} ${fmt(f.best)} with the next change${input.submission === false ? '' : ', keeping the submission valid'}.`;

  return { problemStatement: problem, attemptsSoFar: attempts, goal };
}

// ---------------------------------------------------------------------------------------------------------------
// The <seek_help> block
// ---------------------------------------------------------------------------------------------------------------

/** The paper's block: PROBLEM_STATEMENT, ATTEMPTS_SO_FAR as "- " bullets, GOAL, inside <seek_help> tags. */
export function renderSeekHelp(q: SeekHelpQuery): string {
  const attempts = q.attemptsSoFar.length ? q.attemptsSoFar.map((a) => `- ${oneLine(a, 10_000)}`).join('\n') : '- (nothing yet)';
  return `<seek_help>\nPROBLEM_STATEMENT:\n${q.problemStatement.trim()}\n\nATTEMPTS_SO_FAR:\n${attempts}\n\nGOAL:\n${q.goal.trim()}\n</seek_help>`;
}

const SECTION_RE = /^ {0,3}(?:#{1,6}\s*)?[*_]{0,3}\s*(problem[\s_-]*statement|attempts[\s_-]*so[\s_-]*far|goal)\s*[*_]{0,3}\s*(?::\s*[*_]{0,3}\s*(.*?)\s*[*_]{0,3}\s*)?$/i;

/**
 * Extracts the query from an implementer's message: the last <seek_help> block (or, without tags, the three
 * headers). Tolerates bold/heading decoration, case, `*`/`•`/numbered bullets. Null when the block is absent or
 * lacks a problem statement or goal.
 */
export function parseSeekHelp(text: string): SeekHelpQuery | null {
  const s = String(text ?? '').replace(/\r\n?/g, '\n');
  const open = s.toLowerCase().lastIndexOf('<seek_help>');
  let body: string;
  if (open >= 0) {
    const after = s.slice(open + '<seek_help>'.length);
    const close = after.toLowerCase().indexOf('</seek_help>');
    body = close >= 0 ? after.slice(0, close) : after;
  } else {
    body = s;
  }
  const parts: Record<'problem' | 'attempts' | 'goal', string[]> = { problem: [], attempts: [], goal: [] };
  let current: keyof typeof parts | null = null;
  let seen = 0;
  for (const line of body.split('\n')) {
    const m = line.length < 2000 ? SECTION_RE.exec(line) : null;
    if (m) {
      const name = m[1].toLowerCase();
      current = name.startsWith('problem') ? 'problem' : name.startsWith('attempts') ? 'attempts' : 'goal';
      seen++;
      if (m[2]) parts[current].push(m[2]);
      continue;
    }
    if (current) parts[current].push(line);
  }
  if (seen === 0) return null;
  const join = (ls: string[]) => ls.join('\n').replace(/^\s+|\s+$/g, '').replace(/\s*\n\s*/g, ' ');
  const attempts: string[] = [];
  for (const line of parts.attempts) {
    const t = line.trim();
    if (!t) continue;
    const bullet = /^(?:[-*•+]|\d{1,2}[.)])\s+(.*)$/.exec(t);
    if (bullet) attempts.push(bullet[1].trim());
    else if (attempts.length) attempts[attempts.length - 1] += ` ${t}`; // wrapped bullet
    else attempts.push(t);
  }
  const parsed = SeekHelpQuerySchema.safeParse({
    problemStatement: join(parts.problem),
    attemptsSoFar: attempts.filter((a) => a && !/^\(nothing yet\)$/i.test(a)),
    goal: join(parts.goal),
  });
  return parsed.success ? parsed.data : null;
}
