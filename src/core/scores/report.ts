/**
 * scikit-learn's classification_report is a table, not "name: value" pairs, so the pair scanner cannot read it:
 *
 *                   precision    recall  f1-score   support
 *              0       0.95      0.97      0.96        50
 *       accuracy                           0.95       100
 *      macro avg       0.95      0.95      0.95       100
 *   weighted avg       0.95      0.95      0.95       100
 *
 * Decision: we keep the summary rows only ("accuracy", "macro avg f1-score", "weighted avg recall", ...). Per-class
 * rows are skipped: their labels are arbitrary and a 1,000-class report would flood the metric list.
 */
import type { PairSink } from './lineScanner';

const HEADER = /^\s*precision\s+recall\s+f1-score\s+support\s*$/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/i;
const COLUMNS = ['precision', 'recall', 'f1-score'];

export class ClassificationReportReader {
  private active = false;

  /** True inside a table: then every line goes to line(). */
  isActive(): boolean {
    return this.active;
  }

  /** True inside a table; outside one, only lines starting with a space can begin one (the header is indented). */
  wants(line: string): boolean {
    return this.active || line.charCodeAt(0) === 0x20;
  }

  /** Returns true when the line belonged to a report (header, blank line inside it, or a row). */
  line(line: string, sink: PairSink): boolean {
    if (!this.active) {
      // Cheap test first: this runs on every line.
      if (line.indexOf('f1-score') < 0 || !HEADER.test(line)) return false;
      this.active = true;
      return true;
    }
    const trimmed = line.trim();
    if (trimmed === '') return true;
    const parts = trimmed.split(/\s{2,}/);
    const label = parts[0].toLowerCase();
    const numbers = parts.slice(1);
    if (numbers.length < 2 || !numbers.every((p) => NUMBER.test(p))) {
      this.active = false; // the table ended without the usual summary rows
      return false;
    }
    if (label === 'accuracy' && numbers.length === 2) {
      sink('accuracy', 0, 8, Number(numbers[0]), false);
    } else if (label.endsWith(' avg') && numbers.length === 4) {
      // Multi-label reports add "micro avg" and "samples avg"; the table ends at the first line that is not a row.
      for (let i = 0; i < 3; i++) {
        const name = `${label} ${COLUMNS[i]}`;
        sink(name, 0, name.length, Number(numbers[i]), false);
      }
    }
    return true;
  }
}
