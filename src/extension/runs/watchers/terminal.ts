/**
 * Terminal runs through shell integration (VS Code >= 1.93). The output stream must be opened inside the start
 * event (read() only yields data produced after it is called; vscode#237208), the exit code comes with the end
 * event (undefined when the shell did not say: recorded as null). Only training-like command lines become runs.
 * When a terminal the user types in has no shell integration, we say so once instead of silently seeing nothing.
 */
import * as vscode from 'vscode';
import { extractScriptPath, isTrainingCommand } from '../../../core/commandMatch';
import type { RunRecorder } from '../service';
import type { PendingRun } from '../../../core/pendingRun';

const HINT_DISMISSED_KEY = 'ideator.watch.shellIntegrationHintDismissed';
/** How long the end event waits for the output stream to drain (Cline uses a similar grace period). */
const DRAIN_MS = 3000;

interface Tracked {
  run: PendingRun;
  reading: Promise<void>;
  /** Known at start to be a training command; false = decided at the end, when the command line is final. */
  decided: boolean;
}

export function registerTerminalWatcher(recorder: RunRecorder, context: vscode.ExtensionContext, log: vscode.LogOutputChannel): vscode.Disposable {
  const tracked = new Map<vscode.TerminalShellExecution, Tracked>();
  let hinted = false;

  const onStart = (e: vscode.TerminalShellExecutionStartEvent): void => {
    const cfg = recorder.config();
    if (!cfg.enabled) return;
    const cl = e.execution.commandLine;
    const known = cl.value.trim() !== '' && cl.confidence !== vscode.TerminalShellExecutionCommandLineConfidence.Low;
    if (known && !isTrainingCommand(cl.value, cfg.commandPatterns)) return;
    const run = recorder.begin(
      {
        source: 'terminal',
        command: cl.value || undefined,
        cwd: e.execution.cwd?.fsPath,
        scriptPath: known ? extractScriptPath(cl.value, cfg.commandPatterns) : undefined,
      },
      { provisional: !known },
    );
    // read() right here, in the start event: called later it misses the first output.
    const stream = e.execution.read();
    const reading = (async () => {
      for await (const data of stream) run.push(data);
    })().catch((err: Error) => log.warn(`Terminal output stream failed: ${err.message}`));
    tracked.set(e.execution, { run, reading, decided: known });
  };

  const onEnd = async (e: vscode.TerminalShellExecutionEndEvent): Promise<void> => {
    const t = tracked.get(e.execution);
    if (!t) return;
    tracked.delete(e.execution);
    const finalLine = e.execution.commandLine.value;
    if (!t.decided) {
      const patterns = recorder.config().commandPatterns;
      if (!isTrainingCommand(finalLine, patterns)) {
        recorder.discard(t.run);
        return;
      }
      recorder.confirm(t.run, { command: finalLine, scriptPath: extractScriptPath(finalLine, patterns) });
    }
    await Promise.race([t.reading, new Promise((r) => setTimeout(r, DRAIN_MS))]);
    await recorder.complete(t.run, e.exitCode);
  };

  const maybeHint = (terminal: vscode.Terminal): void => {
    if (hinted || terminal.shellIntegration || terminal.exitStatus) return;
    if (!recorder.config().enabled || context.globalState.get<boolean>(HINT_DISMISSED_KEY)) return;
    // Our own pseudoterminals (ideator tasks) never have shell integration and need none.
    if ('pty' in terminal.creationOptions) return;
    hinted = true;
    log.warn(`Terminal "${terminal.name}" has no shell integration: commands run in it are not recorded.`);
    void vscode.window
      .showInformationMessage(
        `MLE Ideator cannot see commands in terminal "${terminal.name}": VS Code shell integration is not active there, so training runs in it are not recorded. Use bash, zsh, fish or PowerShell with shell integration enabled, or run training as an "ideator" task.`,
        'Open Setting',
        "Don't Show Again",
      )
      .then((choice) => {
        if (choice === 'Open Setting') void vscode.commands.executeCommand('workbench.action.openSettings', 'terminal.integrated.shellIntegration.enabled');
        if (choice === "Don't Show Again") void context.globalState.update(HINT_DISMISSED_KEY, true);
      });
  };

  return vscode.Disposable.from(
    vscode.window.onDidStartTerminalShellExecution(onStart),
    vscode.window.onDidEndTerminalShellExecution((e) => void onEnd(e)),
    // The user typed in a terminal: give shell integration a few seconds to appear, then hint if it did not.
    vscode.window.onDidChangeTerminalState((terminal) => {
      if (terminal.state.isInteractedWith) setTimeout(() => maybeHint(terminal), 4000);
    }),
  );
}
