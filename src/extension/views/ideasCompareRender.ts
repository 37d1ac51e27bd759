/**
 * The "N ideas" view as HTML: the ideas side by side, one column each — the idea (its ACTION, the analysis and
 * rationale folded), the diff its code makes to the file, and the verification column (measured score, Δ vs the
 * baseline ± its noise, status, time), then Apply. Every string from a model, a file or a run passes through
 * escapeHtml (or the highlighter, which escapes); the only markup is ours. Pure (no 'vscode'), so it is unit-tested.
 */
import { createTwoFilesPatch } from 'diff';
import { alreadyApplied, changeCounts, proposeFromCodeBlocks, type Proposal } from '../../core/ideaApply';
import type { CodeBlock } from '../../core/protocol';
import { escapeHtml, highlight } from './ideaPanelHighlight';
import { renderMarkdown } from './ideaPanelRender';

/** Where an idea stands: not verified yet, or what its verification run found. */
export type CompareStatus = 'not-verified' | 'queued' | 'running' | 'improved' | 'within_noise' | 'worse' | 'failed' | 'timed_out';

export interface CompareVerify {
  status: CompareStatus;
  /** The idea's measured score. */
  score?: number;
  /** Score − the baseline's mean (in the metric's units). */
  delta?: number;
  /** The threshold a gain must pass to count (± noise). */
  noise?: number;
  seconds?: number;
  error?: string;
  /** 1 = best measured score. */
  rank?: number;
}

export interface CompareCard {
  /** The idea record's id (what Apply names); absent while its answer is still arriving. */
  ideaId?: string;
  /** The answer's number among the N (1-based). */
  number: number;
  /** The ACTION (markdown); empty while streaming. */
  action: string;
  analysis?: string;
  rationale?: string;
  /** Unified diff of the file with the idea's code applied, and its one-line summary. */
  diff?: { text: string; summary: string };
  /** Why there is no diff (no code in the idea; already in the file; a notebook). */
  codeNote?: string;
  /** Its code is in the file as it is now (applied, or typed by the user). */
  inFile?: boolean;
  verify: CompareVerify;
  applied?: boolean;
  /** While the answers arrive: characters so far, or the failure. */
  streaming?: { chars: number; failed?: string };
  /** The answer did not keep the layout (analysis / action / rationale). */
  parseProblem?: string;
}

export interface CompareView {
  phase: 'asking' | 'ready' | 'verifying' | 'verified' | 'cancelled' | 'error';
  /** The file the ideas are about (workspace-relative). */
  target: string;
  provider: string;
  requested: number;
  cards: CompareCard[];
  /** Notes in words: duplicates dropped, a server that ignored n, token use. */
  notes: string[];
  message?: string;
  /** The metric's name and direction, for the status column's labels. */
  metric?: string;
  direction?: 'higher' | 'lower';
  /** The baseline the deltas are against (mean of k runs, the noise threshold). */
  baseline?: { mean: number; noise: number; runs: number };
  /** Whether a Verify button is offered (the verification backend is there). */
  verifyAvailable: boolean;
  /** Why verification is not offered, in words (shown in place of the button). */
  verifyNote?: string;
  /** The Verify button's words, e.g. "Verify (2 parallel, budget 10 min)…". */
  verifyLabel?: string;
}

/** The file a card's change is shown against: its path, its text now, whether it is a notebook. */
export interface ChangeTarget {
  relativePath: string;
  code: string;
  isNotebook: boolean;
}

/**
 * A card's change against the file as it is now: the diff its code makes (and its one-line summary), or why there
 * is none (already in the file, no code, a notebook, code that does not fit). Computed when the ideas arrive and
 * again after each edit of the file (an Apply, the user typing), so a card never shows a diff against an older file.
 * `proposal` is the one already computed for exactly `target.code`, if any.
 */
export function cardChange(target: ChangeTarget, blocks: readonly CodeBlock[], proposal?: Proposal): Pick<CompareCard, 'diff' | 'codeNote' | 'inFile'> {
  if (!target.isNotebook && blocks.length && alreadyApplied(target.code, blocks)) {
    return { codeNote: `Its code is already in ${target.relativePath}: nothing to apply.`, inFile: true };
  }
  const p = proposal ?? (!target.isNotebook && target.code.trim() && blocks.length ? proposeFromCodeBlocks(target.code, blocks) : undefined);
  if (p) {
    const text = createTwoFilesPatch(`a/${target.relativePath}`, `b/${target.relativePath}`, target.code, p.content, '', '', { context: 2 })
      .split('\n')
      // The file is named on the card already: no separator or ---/+++ header lines.
      .filter((l, i) => !/^={5,}$/.test(l) && !(i < 3 && /^(---|\+\+\+) [ab]\//.test(l)))
      .join('\n')
      .trimEnd();
    const { added, removed } = changeCounts(target.code, p.content);
    return { diff: { text, summary: `${p.summary} (+${added} −${removed} line${added + removed === 1 ? '' : 's'})` } };
  }
  if (target.isNotebook) return { codeNote: blocks.length ? 'Apply puts its code into the notebook cell it fits, with a preview first.' : 'No code in this idea.' };
  if (blocks.length) return { codeNote: `Its code does not fit ${target.relativePath} as it is: Apply asks the implementer model to write the change, with a preview first.` };
  return { codeNote: 'No code in this idea: Apply asks the implementer model to write the change, with a preview first.' };
}

const STATUS_WORDS: Record<CompareStatus, string> = {
  'not-verified': 'not verified',
  queued: 'waiting for a slot',
  running: 'running…',
  improved: 'improved',
  within_noise: 'within noise',
  worse: 'worse',
  failed: 'failed',
  timed_out: 'timed out',
};

const num = (v: number) => String(Number(v.toPrecision(5)));
const signed = (v: number) => (v > 0 ? `+${num(v)}` : v < 0 ? `−${num(-v)}` : '0');

function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

function statusColumn(v: CompareVerify, metric: string): string {
  const row = (label: string, value: string, cls = '') => `<div class="row${cls ? ` ${cls}` : ''}"><dt>${label}</dt><dd>${value}</dd></div>`;
  const dash = '<span class="muted">—</span>';
  return (
    `<dl class="verify" data-status="${v.status}">` +
    row('Status', `<span class="status status-${v.status}">${escapeHtml(STATUS_WORDS[v.status])}</span>${v.rank ? ` <span class="rank">#${v.rank}</span>` : ''}`) +
    row(escapeHtml(metric), v.score !== undefined ? escapeHtml(num(v.score)) : dash) +
    row('Δ vs baseline', v.delta !== undefined ? `${escapeHtml(signed(v.delta))}${v.noise !== undefined ? ` <span class="muted">± ${escapeHtml(num(v.noise))}</span>` : ''}` : dash) +
    row('Time', v.seconds !== undefined ? escapeHtml(seconds(v.seconds)) : dash) +
    `</dl>` +
    (v.error ? `<p class="verify-error">${escapeHtml(v.error)}</p>` : '')
  );
}

function folded(title: string, body: string | undefined): string {
  if (!body?.trim()) return '';
  return `<details class="more"><summary>${title}</summary><div class="body">${renderMarkdown(body)}</div></details>`;
}

const FENCED = /^[ \t]*(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^[ \t]*\1[ \t]*$|(?![\s\S]))/gm;

/** The ACTION without its code blocks (the card shows that code as the diff it makes). */
export function actionProse(action: string): string {
  return action.replace(FENCED, '').replace(/\n{3,}/g, '\n\n').trim();
}

function card(c: CompareCard, view: CompareView): string {
  const metric = view.metric?.trim() || 'Score';
  const badge = c.applied || c.inFile ? `<span class="badge applied">${c.applied ? 'applied' : 'already applied'}</span>` : '';
  if (!c.ideaId) {
    const body = c.streaming?.failed
      ? `<p class="verify-error">${escapeHtml(c.streaming.failed)}</p>`
      : `<p class="muted" role="status">writing… ${(c.streaming?.chars ?? 0).toLocaleString('en-US')} characters</p>`;
    return `<article class="card pending" data-number="${c.number}"><header><h2>Idea ${c.number}</h2></header>${body}</article>`;
  }
  // With a diff, the ACTION's code is shown once: as the change it makes.
  const prose = c.diff ? actionProse(c.action) : c.action;
  const action = prose.trim()
    ? renderMarkdown(prose) + (c.diff && prose !== c.action.trim() ? '<p class="muted">Its code: the change below.</p>' : '')
    : c.action.trim()
      ? '<p class="muted">Code only: the change below.</p>'
      : '<p class="missing">(no ACTION in the answer)</p>';
  const diff = c.diff
    ? `<section class="diff"><h3>Change</h3><p class="muted">${escapeHtml(c.diff.summary)}</p><pre><code>${highlight(c.diff.text, 'diff', true)}</code></pre></section>`
    : `<section class="diff"><h3>Change</h3><p class="muted">${escapeHtml(c.codeNote ?? 'No code in this idea.')}</p></section>`;
  const apply = `<button class="apply" data-apply="${escapeHtml(c.ideaId)}"${view.phase === 'asking' || view.phase === 'verifying' ? ' disabled' : ''}>${c.applied ? 'Apply Again' : 'Apply'}</button>`;
  // The measured result first, so the cards compare at a glance; then the idea, its change, the reasons.
  return (
    `<article class="card" data-idea="${escapeHtml(c.ideaId)}" data-number="${c.number}">` +
    `<header><h2>Idea ${c.number}</h2>${badge}${apply}</header>` +
    `<section class="result">${statusColumn(c.verify, metric)}</section>` +
    (c.parseProblem ? `<p class="warn">${escapeHtml(c.parseProblem)}</p>` : '') +
    `<section class="action"><h3>Action</h3>${action}</section>` +
    diff +
    folded('Analysis', c.analysis) +
    folded('Rationale', c.rationale) +
    `</article>`
  );
}

/** The cards in the order shown: by measured rank once there is one (unranked after), else by answer number. */
export function orderCards(cards: CompareCard[]): CompareCard[] {
  return [...cards].sort((a, b) => (a.verify.rank ?? Infinity) - (b.verify.rank ?? Infinity) || a.number - b.number);
}

/** The whole page body. */
export function renderCompare(view: CompareView): string {
  const phaseLine: Record<CompareView['phase'], string> = {
    asking: `Asking ${escapeHtml(view.provider)} for ${view.requested} ideas…`,
    ready: `${view.cards.length} idea${view.cards.length === 1 ? '' : 's'} from ${escapeHtml(view.provider)}`,
    verifying: 'Verifying: each idea runs in its own copy of the project…',
    verified: 'Verified: ranked by measured score',
    cancelled: 'Cancelled',
    error: 'Failed',
  };
  const busy = view.phase === 'asking' || view.phase === 'verifying';
  const verify =
    view.phase === 'ready' || view.phase === 'verified' || view.phase === 'cancelled'
      ? view.verifyAvailable
        ? `<button class="secondary" data-verify="1">${escapeHtml(view.verifyLabel ?? 'Verify by running them…')}</button>`
        : view.verifyNote
          ? `<span class="muted">${escapeHtml(view.verifyNote)}</span>`
          : ''
      : '';
  const toolbar =
    `<div class="toolbar"><p class="phase" role="status">${phaseLine[view.phase]} <span class="muted">· ${escapeHtml(view.target)}</span></p>` +
    `<div class="buttons">${busy ? '<button class="secondary" data-cancel="1">Cancel</button>' : ''}${verify}</div></div>`;
  const baseline = view.baseline
    ? `<p class="baseline">Baseline: ${escapeHtml(view.metric ?? 'score')} ${escapeHtml(num(view.baseline.mean))} <span class="muted">± ${escapeHtml(num(view.baseline.noise))} over ${view.baseline.runs} run${view.baseline.runs === 1 ? '' : 's'}${view.direction ? ` (${view.direction} is better)` : ''}</span></p>`
    : '';
  const message = view.message ? `<p class="${view.phase === 'error' ? 'verify-error' : 'muted'}">${escapeHtml(view.message)}</p>` : '';
  const notes = view.notes.length ? `<ul class="notes">${view.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  const cards = view.cards.length ? `<div class="cards cols-${Math.min(view.cards.length, 4)}">${orderCards(view.cards).map((c) => card(c, view)).join('')}</div>` : '';
  return `<div class="compare" data-phase="${view.phase}">${toolbar}${message}${baseline}${notes}${cards}</div>`;
}
