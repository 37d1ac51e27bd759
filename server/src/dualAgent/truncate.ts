/**
 * Observation truncation the way CodeAct agents do it: keep the head and the tail of a long output and say in
 * the middle how much was cut, so the agent sees both the command's start and its final error/metric lines.
 */
export const DEFAULT_OBSERVATION_CHARS = 10_000;

export function truncateMiddle(text: string, maxChars: number = DEFAULT_OBSERVATION_CHARS): string {
  if (text.length <= maxChars) return text;
  const keep = Math.max(0, maxChars - 80);
  const head = Math.ceil(keep * 0.4);
  const tail = keep - head;
  const cut = text.length - head - tail;
  const lines = text.slice(head, text.length - tail).split('\n').length - 1;
  return `${text.slice(0, head)}\n[... ${cut} characters (${lines} lines) omitted ...]\n${text.slice(text.length - tail)}`;
}
