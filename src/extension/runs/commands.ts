/**
 * Commands on the run history: open a run's output, diff its code with the previous run's, ask the Ideator from
 * it, mark it as the baseline, delete it, and "Ideator: Export States for Training". Run content is served
 * read-only through the `ideator-run:` scheme (nothing is written to the workspace).
 *   ideator-run:/<runId>/output.log          header + output head + tail
 *   ideator-run:/<runId>/code/<path>         the code the run executed
 */
import * as vscode from 'vscode';
import { exportStatesJsonl } from '../../core/export';
import type { Run } from '../../core/protocol';
import { taskDescription, UserCancelled } from '../ideas/gatherState';
import { ASK_IDEATOR_COMMAND, openRunScript, type RunRecorder } from './service';
import { formatScore } from '../../core/historyRows';
import type { Services } from '../services';

export const RUN_SCHEME = 'ideator-run';

/** Tree items, webview messages and tests pass a run as an item, an id, or { runId }. */
function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object') {
    const a = arg as { runId?: unknown; row?: { run?: { id?: unknown } }; id?: unknown };
    if (typeof a.runId === 'string') return a.runId;
    if (typeof a.row?.run?.id === 'string') return a.row.run.id;
    if (typeof a.id === 'string') return a.id;
  }
  return undefined;
}

export function renderRunOutput(run: Run): string {
  const lines = [
    `# ${run.command ?? `${run.source} run`}`,
    `# source: ${run.source}   started: ${run.startedAt}   ended: ${run.endedAt ?? '(running)'}   exit: ${run.exitCode ?? 'unknown'}`,
    `# score: ${run.primary ? `${run.primary.name} = ${formatScore(run.primary.value)} (${run.primary.direction} is better)` : 'none found'}`,
  ];
  if (run.metrics.length) lines.push(`# metrics: ${run.metrics.map((m) => `${m.name} last=${formatScore(m.last)} best=${formatScore(m.best)}`).join('; ')}`);
  if (run.note) lines.push(`# note: ${run.note}`);
  const kept = run.outputHead.length + run.outputTail.length;
  let body = run.outputHead;
  if (run.outputTail) {
    const keptBytes = Buffer.byteLength(run.outputHead) + Buffer.byteLength(run.outputTail);
    body += run.outputBytes > keptBytes + 64 ? `\n[… output between the first and last parts not kept: ${run.outputBytes} bytes printed, ${kept} characters kept …]\n` : '';
    body += run.outputTail;
  }
  return `${lines.join('\n')}\n\n${body || '(no output captured)'}\n`;
}

/** The read-only document of the code a run executed (for the diff editor). */
export function runCodeUri(run: Run): vscode.Uri {
  return vscode.Uri.from({ scheme: RUN_SCHEME, path: `/${run.id}/code/${run.code?.path ?? 'code'}` });
}

function previousWithCode(runs: readonly Run[], run: Run): Run | undefined {
  const i = runs.findIndex((r) => r.id === run.id);
  for (let j = i - 1; j >= 0; j--) if (runs[j].code && runs[j].code!.path === run.code?.path) return runs[j];
  return undefined;
}

export function registerHistoryCommands(services: Services, recorder: RunRecorder): vscode.Disposable {
  const contentChanged = new vscode.EventEmitter<vscode.Uri>();
  const provider: vscode.TextDocumentContentProvider = {
    onDidChange: contentChanged.event,
    provideTextDocumentContent(uri) {
      const [, runId, kind] = uri.path.split('/');
      const run = recorder.store.run(runId);
      if (!run) return `Run ${runId} is not in the history (deleted?).`;
      if (kind === 'code') return run.code ? (run.code.content ?? recorder.store.codeContent(run.code.hash) ?? '(code content not stored)') : '(no code recorded)';
      return renderRunOutput(run);
    },
  };

  const withRun = (fn: (run: Run) => unknown) => (arg: unknown) => {
    const id = runIdOf(arg);
    const run = id ? recorder.store.run(id) : undefined;
    if (!run) {
      void vscode.window.showWarningMessage('MLE Ideator: pick a run in the Run History view first.');
      return;
    }
    return fn(run);
  };

  const codeUri = runCodeUri;

  return vscode.Disposable.from(
    contentChanged,
    vscode.workspace.registerTextDocumentContentProvider(RUN_SCHEME, provider),
    vscode.commands.registerCommand(
      'ideator.history.openOutput',
      withRun(async (run) => {
        const uri = vscode.Uri.from({ scheme: RUN_SCHEME, path: `/${run.id}/output.log` });
        const doc = await vscode.workspace.openTextDocument(uri);
        await vscode.window.showTextDocument(doc, { preview: true });
        return doc;
      }),
    ),
    vscode.commands.registerCommand(
      'ideator.history.diffWithPrevious',
      withRun(async (run) => {
        const prev = run.code ? previousWithCode(recorder.store.runs(), run) : undefined;
        if (!run.code || !prev) {
          void vscode.window.showInformationMessage('MLE Ideator: no earlier run of the same code to compare with.');
          return;
        }
        const title = `${run.code.path ?? 'code'}: run before ↔ this run`;
        await vscode.commands.executeCommand('vscode.diff', codeUri(prev), codeUri(run), title);
      }),
    ),
    vscode.commands.registerCommand(
      'ideator.history.askFromRun',
      withRun(async (run) => {
        // The idea is applied to the open editor: show the script (or notebook) this run executed first.
        await openRunScript(run, services.output);
        return vscode.commands.executeCommand(ASK_IDEATOR_COMMAND, { runId: run.id });
      }),
    ),
    vscode.commands.registerCommand(
      'ideator.history.markBaseline',
      withRun((run) => recorder.store.markBaseline(recorder.store.baselineId() === run.id ? null : run.id)),
    ),
    vscode.commands.registerCommand('ideator.history.clearBaseline', () => recorder.store.markBaseline(null)),
    vscode.commands.registerCommand(
      'ideator.history.delete',
      withRun((run) => {
        recorder.store.deleteRun(run.id);
        const last = recorder.store.lastScore();
        if (last) services.setLastScore(last);
      }),
    ),
    vscode.commands.registerCommand('ideator.exportStates', async (target?: unknown) => {
      let description: string;
      try {
        description = await taskDescription(services);
      } catch (err) {
        if (err instanceof UserCancelled) return undefined;
        throw err;
      }
      const store = recorder.store;
      let result = exportStatesJsonl(store, { taskDescription: description, taskId: vscode.workspace.name });
      if (result.count === 0) {
        if (store.ideas().length === 0) {
          void vscode.window.showInformationMessage('MLE Ideator: no ideas in this workspace yet, nothing to export.');
          return undefined;
        }
        const choice =
          typeof target === 'string'
            ? 'Export Unjudged'
            : await vscode.window.showInformationMessage(
                'MLE Ideator: no idea has an outcome yet (the first run after applying an idea judges it). Export the ideas without outcomes?',
                'Export Unjudged',
              );
        if (choice !== 'Export Unjudged') return undefined;
        result = exportStatesJsonl(store, { taskDescription: description, taskId: vscode.workspace.name, includeUnjudged: true });
      }
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const uri =
        typeof target === 'string'
          ? vscode.Uri.file(target)
          : await vscode.window.showSaveDialog({
              title: 'Export seek-help states for training',
              defaultUri: folder ? vscode.Uri.joinPath(folder, 'ideator-states.jsonl') : undefined,
              filters: { 'JSON Lines': ['jsonl'] },
            });
      if (!uri) return undefined;
      await vscode.workspace.fs.writeFile(uri, Buffer.from(result.text, 'utf8'));
      services.output.info(`Exported ${result.count} states to ${uri.fsPath}`);
      if (typeof target !== 'string') void vscode.window.showInformationMessage(`MLE Ideator: exported ${result.count} state${result.count === 1 ? '' : 's'} to ${vscode.workspace.asRelativePath(uri)}.`);
      return { count: result.count, path: uri.fsPath };
    }),
    // Refresh open run documents when the history changes (e.g. a deleted run).
    recorder.onDidChange(() => {
      for (const doc of vscode.workspace.textDocuments) if (doc.uri.scheme === RUN_SCHEME) contentChanged.fire(doc.uri);
    }),
  );
}
