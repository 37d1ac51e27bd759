/**
 * Entry point. activate() only wires objects and registers contributions: no network, no file scans, no python
 * discovery here (all of that happens on first use), so start-up stays instant.
 */
import * as vscode from 'vscode';
import { Services } from './services';
import { registerStatusBar } from './statusBar';
import { registerKeyCommands } from './settings/apiKey';
import { registerIdeaFeatures, type IdeaFeatures } from './commands';
import { registerAskMany, type AskManyController } from './ideas/askMany';
import { registerRunWatching, type RunWatching } from './runs/index';
import { RunRecorder } from './runs/service';
import { registerAgentTools, type AgentTools } from './agentTools/index';
import { stopAllVerifications } from './ideas/verify';
import { configureCaptureThread, stopCaptureThread } from '../core/captureThread';

/** What activate() returns: used by the extension-host tests (and by anyone who wants to script the extension). */
export interface IdeatorApi {
  services: Services;
  ideas: IdeaFeatures;
  /** "Ask for N Ideas" (issue 16): its controller and the side-by-side Ideas panel. */
  askMany: AskManyController;
  /** Run watching (issue 5): recorder + history store, score chart, per-type idea success rates. */
  runs: RunWatching;
  /** The Ideator as language-model tools for agent mode, and the MCP server offered to the editor (issue 17). */
  agentTools: AgentTools;
  /** How long activate() took (registration only; the suite keeps it small). */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): IdeatorApi {
  const started = performance.now();
  const services = new Services(context);
  context.subscriptions.push(services);

  // --- Settings: report invalid ideator.* values once, clearly, and again whenever they change. -----------------
  const reportConfig = (): void => {
    const result = services.config();
    if (!result.ok) {
      for (const e of result.errors) services.output.warn(e);
      void vscode.window.showWarningMessage(`MLE Ideator: ${result.errors[0]}${result.errors.length > 1 ? ` (+${result.errors.length - 1} more)` : ''}`);
    }
  };
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('ideator')) setTimeout(reportConfig, 0);
    }),
  );
  setTimeout(reportConfig, 0);
  // Runs' output is read for scores on a thread of its own (core/captureThread.ts); if it cannot, the log says so.
  configureCaptureThread({ onWarning: (m) => services.output.warn(m) });

  // --- Ask Ideator, the Idea panel, code actions, diff preview (issue 4). ---------------------------------------
  const ideaFeatures = registerIdeaFeatures(services);
  context.subscriptions.push(registerKeyCommands(services), registerStatusBar(services), ideaFeatures.disposable);
  const askMany = registerAskMany(services, { proposals: ideaFeatures.features.proposals, askerBusy: () => ideaFeatures.features.asker.busy });
  context.subscriptions.push(askMany.disposable);

  // --- Run watching (issue 5): watchers, Run History tree, score chart; sets services.history (opened lazily). ---
  const runs = registerRunWatching(context, services);

  // --- Agent mode (issue 17): seek_help / list_runs / get_run / record_outcome over the same history and ask flow. -
  const agent = registerAgentTools(context, services, ideaFeatures.features.asker, RunRecorder.storageFor(context).dir);
  context.subscriptions.push(agent.disposable);

  const activationMs = performance.now() - started;
  services.output.info(`Activated in ${activationMs.toFixed(1)} ms`);
  return { services, ideas: ideaFeatures.features, askMany: askMany.controller, runs, agentTools: agent.agentTools, activationMs };
}

export function deactivate(): void {
  // Everything else is disposed through context.subscriptions; verifications still running are stopped here.
  stopAllVerifications();
  void stopCaptureThread();
}
