/**
 * Separates a raw `<think>…</think>` prefix from the answer, for servers that run a reasoning model without a
 * reasoning parser (vLLM / SGLang without `--reasoning-parser`, some Ollama builds): the model's thinking then
 * arrives inside `content`. Works on a stream of deltas, so thinking tokens can go to the 'thinking' channel as
 * they arrive — including an unclosed `<think>` (the answer was cut off, or is still being thought).
 */

const OPEN = '<think>';
const CLOSE = '</think>';

export type ThinkChannel = 'text' | 'thinking';
export type ThinkEmit = (delta: string, channel: ThinkChannel) => void;

/** Length of the longest suffix of `s` that is a proper prefix of `tag` (a tag possibly split across deltas). */
function partialTagSuffix(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) {
    if (tag.startsWith(s.slice(s.length - n))) return n;
  }
  return 0;
}

/**
 * Streaming splitter. Feed content deltas with push(); call end() once. Deltas are re-emitted on the right channel;
 * the only text held back is what could still be the start of a tag. Only a `<think>` at the very start of the
 * content (after whitespace) counts: a `<think>` in the middle of an answer is the answer's own text.
 */
export class ThinkSplitter {
  private state: 'start' | 'thinking' | 'afterThink' | 'text' = 'start';
  private pending = '';
  text = '';
  thinking = '';

  constructor(private readonly emit: ThinkEmit = () => {}) {}

  push(delta: string): void {
    if (!delta) return;
    this.pending += delta;
    this.drain(false);
  }

  /** Flushes what is held back. An unclosed `<think>` leaves everything after it as thinking. */
  end(): void {
    this.drain(true);
  }

  private out(delta: string, channel: ThinkChannel): void {
    if (!delta) return;
    if (channel === 'text') this.text += delta;
    else this.thinking += delta;
    this.emit(delta, channel);
  }

  private drain(final: boolean): void {
    for (;;) {
      if (this.state === 'start') {
        const trimmed = this.pending.trimStart();
        if (trimmed.startsWith(OPEN)) {
          this.pending = trimmed.slice(OPEN.length);
          this.state = 'thinking';
          continue;
        }
        // Still undecided: nothing but whitespace, or a prefix of "<think>" so far.
        if (!final && (trimmed === '' || OPEN.startsWith(trimmed))) return;
        this.state = 'text';
        continue;
      }
      if (this.state === 'thinking') {
        const close = this.pending.indexOf(CLOSE);
        if (close >= 0) {
          this.out(this.pending.slice(0, close), 'thinking');
          this.pending = this.pending.slice(close + CLOSE.length);
          this.state = 'afterThink';
          continue;
        }
        const keep = final ? 0 : partialTagSuffix(this.pending, CLOSE);
        this.out(this.pending.slice(0, this.pending.length - keep), 'thinking');
        this.pending = this.pending.slice(this.pending.length - keep);
        return;
      }
      if (this.state === 'afterThink') {
        // The blank lines between "</think>" and the answer belong to neither.
        const trimmed = this.pending.trimStart();
        if (trimmed === '' && !final) {
          this.pending = '';
          return;
        }
        this.pending = trimmed;
        this.state = 'text';
        continue;
      }
      this.out(this.pending, 'text');
      this.pending = '';
      return;
    }
  }
}

/**
 * Splits a whole content string. Also handles a lone `</think>` with no opening tag: Qwen3 chat templates that
 * open the think block inside the prompt make the model's output start directly with the reasoning.
 */
export function splitThink(content: string): { text: string; thinking?: string } {
  const splitter = new ThinkSplitter();
  splitter.push(content);
  splitter.end();
  if (splitter.thinking === '' && !content.trimStart().startsWith(OPEN)) {
    const close = content.indexOf(CLOSE);
    if (close >= 0 && !content.slice(0, close).includes(OPEN)) {
      const thinking = content.slice(0, close).trim();
      return { text: content.slice(close + CLOSE.length).trimStart(), thinking: thinking || undefined };
    }
  }
  return { text: splitter.text, thinking: splitter.thinking.trim() || undefined };
}
