/**
 * Which terminal command lines are training runs, and which script they run.
 *
 * API
 *   DEFAULT_TRAINING_GLOBS: string[]
 *   matchTrainingCommand(commandLine, globs?) -> { segment: string[], glob: string } | null
 *   isTrainingCommand(commandLine, globs?)    -> boolean
 *   extractScriptPath(commandLine, globs?)    -> string | undefined   (as written on the command line)
 *   tokenizeShell(text)                        -> string[][]           (one token list per simple command)
 *
 * A glob is a space-separated list of word patterns matched against the first words of a simple command (after
 * environment assignments and wrappers such as `time`, `nohup`, `env`). `*` matches any run of characters within a
 * word; the first word is also compared by its basename so `.venv/bin/python` matches `python*`.
 * Compound lines (`cd x && python train.py`, `a; b`, `a | tee log`) match when any simple command matches.
 */

export const DEFAULT_TRAINING_GLOBS: readonly string[] = [
  'python*',
  'py',
  'ipython*',
  'accelerate',
  'torchrun',
  'deepspeed',
  'horovodrun',
  'mpirun',
  'bash *.sh',
  'sh *.sh',
  'zsh *.sh',
  './*.sh',
  './*.py',
  'uv run',
  'poetry run python*',
  'pipenv run python*',
  'conda run',
  'pdm run',
  'hatch run',
  'jupyter nbconvert --execute',
  'papermill',
  'Rscript',
];

/** Words that run another command: skipped before matching (`time python train.py`). */
const WRAPPERS = new Set(['time', 'nohup', 'nice', 'exec', 'command', 'env', 'sudo', 'stdbuf', 'ionice', 'xvfb-run']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const SCRIPT_EXT = /\.(py|sh|ipynb|r|R|jl)$/;

/**
 * Splits a shell line into simple commands and words. Handles quotes, backslash escapes and the separators
 * ; && || | & and newlines. Not a full shell parser: enough to find the program and its script.
 */
export function tokenizeShell(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length) commands.push(words);
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === ';' || c === '\n' || c === '|' || c === '&' || c === '(' || c === ')') {
      endCommand();
    } else if (c === '#' && !inWord) {
      // A comment runs to the end of the line.
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function basename(word: string): string {
  const i = Math.max(word.lastIndexOf('/'), word.lastIndexOf('\\'));
  return i >= 0 ? word.slice(i + 1) : word;
}

/** Drops leading `FOO=1`, wrappers and their options (`env -u X`, `nice -n 5`). */
function stripPrefix(words: string[]): string[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i];
    if (ASSIGNMENT.test(w)) {
      i++;
    } else if (WRAPPERS.has(basename(w))) {
      i++;
      while (i < words.length && words[i].startsWith('-')) {
        // Options of wrappers that take a value as the next word.
        const takesValue = /^-(n|u|c|o|e|i)$/.test(words[i]);
        i += takesValue ? 2 : 1;
      }
    } else {
      break;
    }
  }
  return words.slice(i);
}

function wordsMatch(patterns: string[], words: string[]): boolean {
  if (words.length < patterns.length) return false;
  return patterns.every((p, i) => {
    const re = globToRegExp(p);
    return re.test(words[i]) || (i === 0 && re.test(basename(words[i])));
  });
}

export interface TrainingMatch {
  /** The simple command that matched, wrappers and assignments removed. */
  segment: string[];
  glob: string;
}

const DEBUG_LAUNCHER = /debugpy[\\/](launcher|adapter)|pydevd\.py$/;

/** `python -m X` modules that are tools, not runs. */
const TOOL_MODULES = new Set(['pip', 'venv', 'ensurepip', 'http.server', 'pytest', 'unittest', 'jupyter', 'notebook', 'ipykernel', 'json.tool', 'pydoc', 'timeit', 'pdb', 'black', 'ruff', 'mypy', 'pylint', 'flake8', 'isort', 'build', 'twine', 'site', 'tensorboard']);

/**
 * A bare interpreter (a REPL), `python --version`, `python -c ...` and `python -m pip ...` are not runs: an
 * interpreter counts only when it is given a script file or a non-tool module.
 */
function isInterpreterWithoutScript(segment: string[]): boolean {
  if (!/^(python[0-9.]*|py|ipython[0-9.]*)(\.exe)?$/i.test(basename(segment[0]))) return false;
  for (let i = 1; i < segment.length; i++) {
    const w = segment[i];
    if (w === '-c') return true;
    if (w === '-m') return i + 1 >= segment.length || TOOL_MODULES.has(segment[i + 1]) || TOOL_MODULES.has(segment[i + 1].split('.')[0]);
    if (w === '-W' || w === '-X') i++; // options whose value is the next word
    else if (!w.startsWith('-')) return !SCRIPT_EXT.test(w);
  }
  return true;
}

export function matchTrainingCommand(commandLine: string, globs: readonly string[] = DEFAULT_TRAINING_GLOBS): TrainingMatch | null {
  const compiled = globs.map((g) => ({ glob: g, words: g.trim().split(/\s+/).filter(Boolean) })).filter((g) => g.words.length);
  for (const raw of tokenizeShell(commandLine)) {
    const segment = stripPrefix(raw);
    if (!segment.length || isInterpreterWithoutScript(segment)) continue;
    // The debugger's launcher command in the terminal: the debug watcher records that run, not the terminal one.
    if (segment.some((w) => DEBUG_LAUNCHER.test(w))) continue;
    for (const g of compiled) if (wordsMatch(g.words, segment)) return { segment, glob: g.glob };
  }
  return null;
}

export function isTrainingCommand(commandLine: string, globs?: readonly string[]): boolean {
  return matchTrainingCommand(commandLine, globs) !== null;
}

/**
 * The script a training command runs: the first word after the program that names a script file (.py .sh .ipynb
 * .R .jl), or the program itself when it is one (`./train.py`). `python -m pkg.mod` gives `pkg/mod.py` since that
 * is where the module usually lives; `python -c ...` gives nothing.
 */
export function extractScriptPath(commandLine: string, globs?: readonly string[]): string | undefined {
  const m = matchTrainingCommand(commandLine, globs);
  if (!m) return undefined;
  const words = m.segment;
  if (SCRIPT_EXT.test(words[0]) && !/^python/.test(basename(words[0]))) return words[0];
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w === '-c') return undefined;
    if (w === '-m' && i + 1 < words.length) {
      // `accelerate launch -m pkg.train` and `python -m pkg.train`: module name -> path.
      return words[i + 1].replace(/\./g, '/') + '.py';
    }
    if (w.startsWith('-')) continue;
    if (SCRIPT_EXT.test(w)) return w;
  }
  return undefined;
}
