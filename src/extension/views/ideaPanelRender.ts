/**
 * Turns what the Idea panel shows (an idea, a stream in progress, an error) into HTML. Every string that came from a
 * model, a file or a setting passes through escapeHtml; the only markup is our own. Pure (no 'vscode'), so the
 * escaping is unit-tested.
 */
import { FOLLOW_UPS, isProse, MAX_FOLLOW_UP_CHARS } from '../../core/followUp';
import { stripThinking } from '../../core/idea';
import type { IdeaRecord } from '../../core/protocol';
import { escapeHtml, highlight } from './ideaPanelHighlight';
import { formatDollars } from '../../core/promptCost';

/** Inline markdown the panel understands: `code` and **bold**. Everything else stays literal (escaped). */
function renderInline(text: string): string {
  return text
    .split(/(`[^`\n]+`|\*\*[^*\n]+\*\*)/)
    .map((part) => {
      if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
      if (part.length > 4 && part.startsWith('**') && part.endsWith('**')) return `<strong>${escapeHtml(part.slice(2, -2))}</strong>`;
      return escapeHtml(part);
    })
    .join('');
}

function renderParagraphs(text: string): string {
  const blocks = text.split(/\n\s*\n/).map((b) => b.replace(/^\n+|\n+$/g, '')).filter((b) => b.trim() !== '');
  return blocks
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((l) => /^\s*(?:[-*•]|\d+[.)])\s+/.test(l) || /^\s{2,}\S/.test(l))) {
        const ordered = /^\s*\d+[.)]/.test(lines[0]);
        const items: string[] = [];
        for (const l of lines) {
          const m = /^\s*(?:[-*•]|\d+[.)])\s+(.*)$/.exec(l);
          if (m) items.push(m[1]);
          else if (items.length) items[items.length - 1] += ' ' + l.trim();
        }
        const tag = ordered ? 'ol' : 'ul';
        return `<${tag}>${items.map((i) => `<li>${renderInline(i)}</li>`).join('')}</${tag}>`;
      }
      return `<p>${lines.map(renderInline).join('<br>')}</p>`;
    })
    .join('');
}

/** Light markdown: fenced code blocks (highlighted), paragraphs, lists, inline code and bold. */
export function renderMarkdown(text: string): string {
  const out: string[] = [];
  const lines = text.split('\n');
  let prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)/.exec(lines[i]);
    if (!open) {
      prose.push(lines[i]);
      continue;
    }
    out.push(renderParagraphs(prose.join('\n')));
    prose = [];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j].trim().startsWith(open[1]) && lines[j].trim().replace(/[`~]/g, '') === '')) body.push(lines[j++]);
    i = j; // skips the closing fence (or runs to the end when the block is unterminated)
    const code = body.join('\n');
    const lang = open[2] ?? '';
    const looksDiff = /^@@/m.test(code) && /^[-+]/m.test(code);
    out.push(
      `<div class="code"><div class="code-lang">${escapeHtml(lang || (looksDiff ? 'diff' : 'code'))}</div>` +
        `<pre><code>${highlight(code, lang, looksDiff)}</code></pre></div>`,
    );
  }
  out.push(renderParagraphs(prose.join('\n')));
  return out.join('');
}

/** A failed request as the panel shows it; each fix label becomes a button whose index the page sends back. */
export interface Problem {
  message: string;
  hint?: string;
  fixLabels?: string[];
}

export interface IdeaView {
  idea: IdeaRecord;
  /** Whether an apply is possible right now (a target file exists). */
  canApply: boolean;
  /** A request that failed after this idea arrived: shown above it, the idea kept. */
  problem?: Problem;
  /** What became of the idea, in words ("Applied to train.py · Improved: val_auc 0.91 → 0.93"). */
  outcome?: string;
  /** Show the follow-up buttons and box (the editor-area panel; the sidebar summary links to it instead). */
  followUps?: boolean;
  /** The idea this one follows up on, by its ACTION's first line, for the "Follow-up on …" line. */
  parentTitle?: string;
}

/** The first line(s) of an idea's ACTION without its code, clipped: the summary the sidebar and the history show. */
export function ideaTitle(idea: Pick<IdeaRecord, 'parsed' | 'raw'>, max = 200): string {
  const source = idea.parsed.action.trim() || idea.parsed.analysis.trim() || idea.raw.trim();
  const prose = source.replace(/^\s*(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^\s*\1\s*$|$(?![\s\S]))/gm, ' ').trim();
  const lines = prose.split('\n').map((l) => l.trim()).filter((l) => l && !/^(`{3,}|~{3,})/.test(l));
  let text = lines.slice(0, 2).join(' ').replace(/\*\*/g, '').replace(/\s+/g, ' ').replace(/:$/, '');
  if (!text) {
    const code = idea.parsed.codeBlocks[0]?.code.split('\n').find((l) => l.trim()) ?? '';
    text = code ? `Code change: ${code.trim()}` : '(empty answer)';
  }
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** What a follow-up kind is called in the panel and the history. */
export function followUpLabel(kind: NonNullable<IdeaRecord['followUp']>['kind']): string {
  return kind === 'free' ? 'Your question' : FOLLOW_UPS[kind].label;
}

function followUpBar(idea: IdeaRecord): string {
  // Follow-ups on an explanation ask about the idea it explained.
  const target = escapeHtml(isProse(idea) && idea.followUp ? idea.followUp.of : idea.id);
  const buttons = (Object.keys(FOLLOW_UPS) as (keyof typeof FOLLOW_UPS)[])
    .map((k) => `<button class="secondary" data-followup="${k}" data-idea="${target}">${escapeHtml(FOLLOW_UPS[k].label)}</button>`)
    .join('');
  return (
    `<section class="followups" aria-label="Follow-up questions"><h2>ASK ABOUT THIS IDEA</h2><div class="actions">${buttons}</div>` +
    `<div class="ask-box"><textarea id="followup-text" rows="2" maxlength="${MAX_FOLLOW_UP_CHARS}" placeholder="Ask anything about this idea, e.g. would it still help with half the data?"></textarea>` +
    `<button data-followup="free" data-idea="${target}">Ask</button></div><p class="field-error" id="followup-error" hidden></p></section>`
  );
}

function formatTokens(usage: IdeaRecord['usage'], cost?: IdeaRecord['cost']): string {
  if (!usage) return 'tokens: n/a';
  // #16: the prompt cache's share and the price, when the provider reported them and the price is known.
  const cached = usage.cacheReadTokens ? ` (${usage.cacheReadTokens.toLocaleString('en-US')} from cache)` : '';
  const dollars = cost?.dollars == null ? '' : cost.dollars === 0 ? ' · free' : ` · ${formatDollars(cost.dollars)}`;
  return `${usage.inputTokens.toLocaleString('en-US')} tokens in${cached} · ${usage.outputTokens.toLocaleString('en-US')} out${dollars}`;
}

function section(id: string, title: string, body: string): string {
  const content = body.trim() ? renderMarkdown(body) : '<p class="missing">(missing in the answer)</p>';
  return `<section class="field" id="${id}"><h2>${title}</h2><div class="body">${content}</div></section>`;
}

function fixButtons(problem: Problem): string {
  // The first fix is the likely one; the others are secondary.
  return (problem.fixLabels ?? []).map((label, i) => `<button data-fix="${i}"${i > 0 ? ' class="secondary"' : ''}>${escapeHtml(label)}</button>`).join('');
}

/** The failure box: what went wrong, what to do, buttons that do it. */
function problemBox(problem: Problem, title: string, note = ''): string {
  return (
    `<div class="error" role="alert"><h2>${escapeHtml(title)}</h2><p>${escapeHtml(problem.message)}</p>` +
    (problem.hint ? `<p class="hint">${escapeHtml(problem.hint)}</p>` : '') +
    `<div class="actions">${fixButtons(problem)}<button class="secondary" data-command="ask">Try again</button><button class="secondary" data-command="log">Show log</button></div>` +
    note +
    '</div>'
  );
}

export function renderIdea({ idea, canApply, problem, outcome, followUps, parentTitle }: IdeaView): string {
  const p = idea.parsed;
  const prose = isProse(idea);
  const meta = [
    idea.model ? `<span class="chip" title="model">${escapeHtml(idea.model)}</span>` : '',
    idea.provider ? `<span class="chip" title="provider">${escapeHtml(idea.provider)}</span>` : '',
    `<span class="chip" title="tokens used${idea.cost ? ` (price: ${escapeHtml(idea.cost.source)})` : ''}">${escapeHtml(formatTokens(idea.usage, idea.cost))}</span>`,
    idea.targetPath ? `<span class="chip" title="file the idea is about">${escapeHtml(idea.targetPath)}</span>` : '',
  ].join('');
  // A well-formed answer needs no badge; a malformed one says what is off, in words.
  const badge = p.ok || prose
    ? ''
    : `<details class="badge-wrap"><summary><span class="badge warn" title="The answer did not have the expected parts (analysis, action, rationale); it is shown as well as it could be read">⚠ answer not in the expected layout</span></summary><ul class="errors">${p.errors
        .map((e) => `<li>${escapeHtml(e)}</li>`)
        .join('')}</ul></details>`;
  const thinking = p.thinking?.trim()
    ? `<details class="thinking"><summary>Thinking (${p.thinking.length.toLocaleString('en-US')} chars)</summary><pre>${escapeHtml(p.thinking)}</pre></details>`
    : '';
  const fallbackRaw =
    !prose && !p.analysis.trim() && !p.action.trim() && !p.rationale.trim()
      ? `<section class="field" id="raw"><h2>Raw answer</h2><div class="body">${renderMarkdown(idea.raw)}</div></section>`
      : '';
  const actions = canApply && !prose
    ? `<div class="actions"><button id="apply" data-command="apply" data-idea="${escapeHtml(idea.id)}">Apply this change…</button><button class="secondary" data-command="ask">Ask again</button></div>`
    : `<div class="actions"><button class="secondary" data-command="ask">Ask again</button></div>`;
  const origin = idea.followUp
    ? `<div class="origin"><span class="chip" title="follow-up">${escapeHtml(followUpLabel(idea.followUp.kind))}${idea.followUp.part ? ` · ${idea.followUp.part}` : ''}</span>` +
      `<span>on <a href="#" data-command="open" data-idea="${escapeHtml(idea.followUp.of)}">${escapeHtml(parentTitle ?? 'the earlier idea')}</a></span></div>` +
      (idea.followUp.kind === 'free' ? `<p class="question">${escapeHtml(idea.followUp.question)}</p>` : '')
    : idea.origin === 'agent'
      ? '<div class="origin"><span class="chip" title="asked by an agent">asked by an agent</span></div>'
      : '';
  const outcomeLine = outcome ? `<p class="outcome">${escapeHtml(outcome)}</p>` : '';
  const body = prose
    ? section('answer', 'ANSWER', stripThinking(idea.raw).answer)
    : section('analysis', 'ANALYSIS', p.analysis) + section('action', 'ACTION', p.action) + section('rationale', 'RATIONALE', p.rationale) + fallbackRaw;
  const failed = problem
    ? problemBox(problem, 'The last request failed', '<p class="kept">The idea below is the last one that arrived; Apply still uses it.</p>')
    : '';
  return (
    `${failed}<div class="idea" data-idea-id="${escapeHtml(idea.id)}">${origin}<div class="meta">${meta}${badge}</div>${outcomeLine}${thinking}` +
    body +
    actions +
    (followUps ? followUpBar(idea) : '') +
    '</div>'
  );
}

/** The sidebar's summary of the idea shown in the editor-area panel: its ACTION's first lines, outcome, buttons. */
export function renderSummary({ idea, canApply, problem, outcome }: IdeaView): string {
  const prose = isProse(idea);
  const label = idea.followUp ? `${followUpLabel(idea.followUp.kind)}: ` : '';
  const failed = problem ? problemBox(problem, 'The last request failed') : '';
  const apply = canApply && !prose ? `<button class="secondary" data-command="apply" data-idea="${escapeHtml(idea.id)}">Apply…</button>` : '';
  return (
    `${failed}<div class="summary" data-idea-id="${escapeHtml(idea.id)}"><h2>${prose ? 'ANSWER' : 'NEXT CHANGE'}</h2>` +
    `<p class="title">${escapeHtml(label + ideaTitle(idea))}</p>` +
    (outcome ? `<p class="outcome">${escapeHtml(outcome)}</p>` : prose ? '' : '<p class="outcome pending">Not applied yet</p>') +
    `<div class="actions"><button data-command="open" data-idea="${escapeHtml(idea.id)}">Open idea</button>${apply}<button class="secondary" data-command="ask">Ask again</button></div></div>`
  );
}

/** The sidebar while the editor-area panel streams an answer. */
export function renderSummaryStreaming(label: string): string {
  return (
    `<div class="streaming"><div class="meta"><span class="spinner"></span><span class="chip">${escapeHtml(label)}</span></div>` +
    '<p>The answer is being written in the Idea editor.</p>' +
    '<div class="actions"><button class="secondary" data-command="open">Show it</button><button class="secondary" data-command="cancel">Cancel</button></div></div>'
  );
}

export function renderEmpty(): string {
  return (
    '<div class="empty"><p>No idea yet. Open your training script, then ask the Ideator for the next high-impact change.</p>' +
    '<div class="actions"><button data-command="ask">Ask Ideator</button></div></div>'
  );
}

/** The panel while a request streams; the live text is appended by the webview script with textContent. */
export function renderStreaming(label: string, query: string): string {
  return (
    `<div class="streaming"><div class="meta"><span class="spinner"></span><span class="chip">${escapeHtml(label)}</span></div>` +
    `<details class="query"><summary>What was asked</summary><pre>${escapeHtml(query)}</pre></details>` +
    '<details class="thinking" id="live-thinking-wrap" hidden><summary>Thinking…</summary><pre id="live-thinking"></pre></details>' +
    '<pre id="live" class="live"></pre>' +
    '<div class="actions"><button class="secondary" data-command="cancel">Cancel</button></div></div>'
  );
}

export function renderError(problem: Problem): string {
  return problemBox(problem, 'Ask Ideator failed');
}
