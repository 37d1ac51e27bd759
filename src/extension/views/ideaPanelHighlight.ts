/**
 * A small syntax highlighter for the code blocks in Ideator answers (Python, shell, diffs; anything else gets the
 * generic rules). Output is HTML in which every character of the input is escaped; only our own <span class="tok-*">
 * tags are added. No 'vscode' import: it runs in unit tests as well as in the extension host.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PY_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from global if ' +
    'import in is lambda nonlocal not or pass raise return try while with yield match case'
  ).split(' '),
);
const PY_BUILTINS = new Set(
  'print len range enumerate zip map filter sorted list dict set tuple int float str bool open sum min max abs round isinstance super self'.split(' '),
);
const SH_KEYWORDS = new Set('if then else elif fi for in do done while case esac function export cd echo pip python python3 uv conda'.split(' '));

/** Token rules, tried in order at each position; the first match wins. */
const RULES: { cls: string; re: RegExp }[] = [
  { cls: 'comment', re: /#[^\n]*/y },
  { cls: 'string', re: /("""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|[rbfuRBFU]{0,2}"(?:\\.|[^"\\\n])*"?|[rbfuRBFU]{0,2}'(?:\\.|[^'\\\n])*'?)/y },
  { cls: 'number', re: /\b(?:0[xob][\da-f_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)j?\b/iy },
  { cls: 'decorator', re: /@[A-Za-z_][\w.]*/y },
  { cls: 'word', re: /[A-Za-z_][\w]*/y },
];

function highlightCode(code: string, keywords: Set<string>, builtins: Set<string>): string {
  let out = '';
  let plain = '';
  let i = 0;
  const flush = (): void => {
    if (plain) out += escapeHtml(plain);
    plain = '';
  };
  outer: while (i < code.length) {
    for (const rule of RULES) {
      rule.re.lastIndex = i;
      const m = rule.re.exec(code);
      if (!m || m[0].length === 0) continue;
      const text = m[0];
      let cls: string | undefined = rule.cls;
      if (cls === 'word') {
        cls = keywords.has(text) ? 'keyword' : builtins.has(text) ? 'builtin' : code[i + text.length] === '(' ? 'function' : undefined;
      }
      if (cls) {
        flush();
        out += `<span class="tok-${cls}">${escapeHtml(text)}</span>`;
      } else {
        plain += text;
      }
      i += text.length;
      continue outer;
    }
    plain += code[i];
    i += 1;
  }
  flush();
  return out;
}

function highlightDiff(code: string): string {
  return code
    .split('\n')
    .map((line) => {
      const cls = line.startsWith('+++') || line.startsWith('---') ? 'diff-file' : line.startsWith('@@') ? 'diff-hunk' : line.startsWith('+') ? 'diff-add' : line.startsWith('-') ? 'diff-del' : undefined;
      return cls ? `<span class="tok-${cls}">${escapeHtml(line)}</span>` : escapeHtml(line);
    })
    .join('\n');
}

/** Highlights `code` written in `lang` (a fence tag); unknown languages use the Python-like generic rules. */
export function highlight(code: string, lang: string, isDiff = false): string {
  const l = lang.toLowerCase();
  if (isDiff || l === 'diff' || l === 'patch') return highlightDiff(code);
  if (l === 'bash' || l === 'sh' || l === 'shell' || l === 'console' || l === 'zsh') return highlightCode(code, SH_KEYWORDS, new Set());
  if (l === 'text' || l === 'txt' || l === 'plaintext' || l === 'csv' || l === 'json' || l === 'yaml') {
    return l === 'json' ? highlightCode(code, new Set(['true', 'false', 'null']), new Set()) : escapeHtml(code);
  }
  return highlightCode(code, PY_KEYWORDS, PY_BUILTINS);
}
