/**
 * Parses one implementer turn into one action (CodeAct executes exactly one per turn). Accepted forms, first
 * one in the text wins: <execute_bash>…</execute_bash>, <execute_ipython>…</execute_ipython> (also
 * <execute_python>), <seek_help>…</seek_help>, <submit/> (also <submit></submit>, <finish/>); and, when the
 * model forgot the tags, a fenced ```bash / ```python block.
 */
export type Action =
  | { kind: 'bash'; code: string }
  | { kind: 'python'; code: string }
  | { kind: 'seek_help'; text: string }
  | { kind: 'submit' }
  | { kind: 'none'; reason: string };

const TAGS: { re: RegExp; make: (body: string) => Action }[] = [
  { re: /<execute_bash>([\s\S]*?)<\/execute_bash>/, make: (b) => ({ kind: 'bash', code: b }) },
  { re: /<execute_(?:ipython|python)>([\s\S]*?)<\/execute_(?:ipython|python)>/, make: (b) => ({ kind: 'python', code: b }) },
  { re: /<seek_help>([\s\S]*?)<\/seek_help>/, make: (b) => ({ kind: 'seek_help', text: b }) },
  { re: /<(?:submit|finish)\s*\/>|<(?:submit|finish)>[\s\S]*?<\/(?:submit|finish)>/, make: () => ({ kind: 'submit' }) },
];

const FENCE = /```(bash|sh|shell|python|py)[^\n]*\n([\s\S]*?)```/;

/** Strips one level of fencing inside a tag body (models often write <execute_bash>```bash … ```</execute_bash>). */
function unfence(body: string): string {
  const m = body.trim().match(/^```[^\n]*\n([\s\S]*?)\n?```$/);
  return (m ? m[1] : body).replace(/^\n+|\s+$/g, '');
}

export function parseAction(text: string): Action {
  let first: { index: number; action: Action } | undefined;
  for (const { re, make } of TAGS) {
    const m = re.exec(text);
    if (m && (!first || m.index < first.index)) first = { index: m.index, action: make(unfence(m[1] ?? '')) };
  }
  if (first) {
    const a = first.action;
    if ((a.kind === 'bash' || a.kind === 'python') && !a.code.trim()) return { kind: 'none', reason: `empty <execute_${a.kind}> block` };
    if (a.kind === 'seek_help' && !a.text.trim()) return { kind: 'none', reason: 'empty <seek_help> block' };
    return a;
  }
  const fenced = FENCE.exec(text);
  if (fenced) {
    const lang = fenced[1];
    const code = fenced[2].replace(/\s+$/, '');
    if (code.trim()) return lang.startsWith('py') ? { kind: 'python', code } : { kind: 'bash', code };
  }
  return { kind: 'none', reason: 'no action found' };
}

/** The correction an agent gets when its turn held no runnable action. */
export function noActionObservation(reason: string, seekHelp: boolean): string {
  const forms = ['<execute_bash>COMMAND</execute_bash>', '<execute_ipython>CODE</execute_ipython>'];
  if (seekHelp) forms.push('<seek_help>QUESTION</seek_help>');
  forms.push('<submit/>');
  return `ERROR: ${reason}. Reply with exactly one action: ${forms.join(', ')}.`;
}
