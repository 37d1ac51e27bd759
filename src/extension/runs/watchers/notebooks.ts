/**
 * Notebook runs. There is no stable "cell finished" event (the execution-state proposal was removed), but every
 * execution ends with a document change whose executionSummary has timing.endTime: that is the end of a run. The
 * run's output is the cell's outputs (stdout / stderr / error and text/plain; both stdout MIME spellings), its code
 * the notebook's code cells. Setting `ideator.watch.notebookRun`: 'cell' = one run per cell execution, 'session' =
 * one run per open notebook, re-recorded after each cell (scores accumulate across cells).
 */
import * as vscode from 'vscode';
import type { RunRecorder } from '../service';

const STDOUT = new Set(['application/vnd.code.notebook.stdout', 'application/x.notebook.stream.stdout']);
const STDERR = new Set(['application/vnd.code.notebook.stderr', 'application/x.notebook.stream.stderr']);
const ERROR = 'application/vnd.code.notebook.error';
/** Per-cell text kept for a session run; the run capture bounds the total again. */
const MAX_CELL_TEXT = 256 * 1024;
/** Outputs can land in a change event just after the one that carries endTime. */
const SETTLE_MS = 150;

const decoder = new TextDecoder();

/** The text a cell printed, in output order. Errors are rendered like a traceback so failures are visible. */
export function cellOutputText(cell: vscode.NotebookCell): { text: string; error: boolean } {
  let text = '';
  let error = false;
  for (const output of cell.outputs) {
    for (const item of output.items) {
      if (STDOUT.has(item.mime) || STDERR.has(item.mime) || item.mime === 'text/plain') {
        const t = decoder.decode(item.data);
        text += t.endsWith('\n') ? t : t + '\n';
      } else if (item.mime === ERROR) {
        error = true;
        try {
          const e = JSON.parse(decoder.decode(item.data)) as { name?: string; message?: string; stack?: string };
          text += `${e.stack ?? `${e.name ?? 'Error'}: ${e.message ?? ''}`}\n`;
        } catch {
          text += decoder.decode(item.data) + '\n';
        }
      }
    }
  }
  return { text, error };
}

function notebookCode(nb: vscode.NotebookDocument): string {
  return nb
    .getCells()
    .filter((c) => c.kind === vscode.NotebookCellKind.Code)
    .map((c) => `# %% [cell ${c.index + 1}]\n${c.document.getText()}\n`)
    .join('\n');
}

interface Session {
  id: string;
  startedAt: Date;
  /** Latest output of each executed cell, by cell index. */
  cells: Map<number, string>;
  failed: boolean;
}

export function registerNotebookWatcher(recorder: RunRecorder): vscode.Disposable {
  const seen = new Set<string>();
  const sessions = new Map<string, Session>();

  const record = async (cell: vscode.NotebookCell, summary: vscode.NotebookCellExecutionSummary): Promise<void> => {
    const cfg = recorder.config();
    if (!cfg.enabled) return;
    const nb = cell.notebook;
    const rel = vscode.workspace.asRelativePath(nb.uri, false);
    const { text, error } = cellOutputText(cell);
    const failed = summary.success === false || error;
    const started = summary.timing ? new Date(summary.timing.startTime) : new Date();
    const ended = summary.timing ? new Date(summary.timing.endTime) : new Date();
    if (cfg.notebookRun === 'session') {
      const key = nb.uri.toString();
      let s = sessions.get(key);
      if (!s) {
        s = { id: `nb-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, startedAt: started, cells: new Map(), failed: false };
        sessions.set(key, s);
      }
      s.cells.set(cell.index, text.slice(-MAX_CELL_TEXT));
      s.failed = failed;
      const run = recorder.begin({
        id: s.id,
        source: 'notebook',
        command: `${rel} (session, last cell ${cell.index + 1})`,
        startedAt: s.startedAt,
        codeText: [rel, notebookCode(nb)],
      });
      for (const i of [...s.cells.keys()].sort((a, b) => a - b)) run.push(s.cells.get(i)!);
      await recorder.complete(run, s.failed ? 1 : 0, ended);
      return;
    }
    const firstLine = cell.document.getText().split('\n').find((l) => l.trim()) ?? '';
    const run = recorder.begin({
      source: 'notebook',
      command: `${rel} cell ${cell.index + 1}: ${firstLine.trim().slice(0, 80)}`,
      startedAt: started,
      codeText: [rel, notebookCode(nb)],
    });
    run.push(text);
    await recorder.complete(run, failed ? 1 : 0, ended);
  };

  return vscode.Disposable.from(
    vscode.workspace.onDidChangeNotebookDocument((e) => {
      for (const change of e.cellChanges) {
        const summary = change.executionSummary ?? change.cell.executionSummary;
        const end = summary?.timing?.endTime;
        if (!summary || !end || change.cell.kind !== vscode.NotebookCellKind.Code) continue;
        const key = `${change.cell.document.uri.toString()}#${summary.executionOrder ?? ''}#${end}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (seen.size > 10_000) seen.clear();
        const cell = change.cell;
        setTimeout(() => void record(cell, cell.executionSummary ?? summary), SETTLE_MS);
      }
    }),
    vscode.workspace.onDidCloseNotebookDocument((nb) => sessions.delete(nb.uri.toString())),
  );
}
