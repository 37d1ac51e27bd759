/**
 * Debug runs of Python code (debugpy). With the default `console: integratedTerminal` debugpy does not send the
 * program's output over DAP, so a DebugConfigurationProvider sets `redirectOutput` (output still shows in the
 * terminal, and is also copied to `output` events); a DebugAdapterTracker then reads `output` and `exited`.
 * 'python' is the older debug type name of the Python extension; both are watched.
 */
import * as vscode from 'vscode';
import type { RunRecorder } from '../service';
import { describeLaunch, readDapMessage } from '../../../core/debugMessages';
import type { PendingRun } from '../../../core/pendingRun';

const DEBUG_TYPES = ['debugpy', 'python'];

class RunTracker implements vscode.DebugAdapterTracker {
  private run: PendingRun | undefined;
  private exitCode: number | null = null;

  constructor(
    private readonly session: vscode.DebugSession,
    private readonly recorder: RunRecorder,
  ) {}

  onWillStartSession(): void {
    const { command, script } = describeLaunch(this.session.configuration);
    const cwd = typeof this.session.configuration.cwd === 'string' ? this.session.configuration.cwd : this.session.workspaceFolder?.uri.fsPath;
    this.run = this.recorder.begin({ source: 'debug', command, cwd, scriptPath: script });
  }

  onDidSendMessage(message: unknown): void {
    if (!this.run) return;
    const m = readDapMessage(message);
    if (m.output !== undefined) this.run.push(m.output);
    if (m.exitCode !== undefined) this.exitCode = m.exitCode;
  }

  onWillStopSession(): void {
    this.finish();
  }

  onExit(): void {
    this.finish();
  }

  private finish(): void {
    const run = this.run;
    this.run = undefined;
    if (run) void this.recorder.complete(run, this.exitCode);
  }
}

export function registerDebugWatcher(recorder: RunRecorder): vscode.Disposable {
  const disposables: vscode.Disposable[] = [];
  for (const type of DEBUG_TYPES) {
    disposables.push(
      vscode.debug.registerDebugConfigurationProvider(type, {
        resolveDebugConfiguration(_folder, config) {
          const cfg = recorder.config();
          // Only fill in a value the user left unset; `redirectOutput: false` in launch.json is respected.
          if (cfg.enabled && cfg.debugRedirectOutput && config.request === 'launch' && config.redirectOutput === undefined) {
            config.redirectOutput = true;
          }
          return config;
        },
      }),
      vscode.debug.registerDebugAdapterTrackerFactory(type, {
        createDebugAdapterTracker(session) {
          if (!recorder.config().enabled || session.configuration.request !== 'launch') return undefined;
          return new RunTracker(session, recorder);
        },
      }),
    );
  }
  return vscode.Disposable.from(...disposables);
}
