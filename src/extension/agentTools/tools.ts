/**
 * The four agent tools of core/agentTools.ts as VS Code language-model tools (agent mode, `#` references,
 * vscode.lm.invokeTool). The contract — names, descriptions, argument schemas, the handlers and the text an agent
 * reads — is core's; this file only supplies the editor's sources: the run history of the Run History view
 * (services.history), the user's Ideator settings and key, and the one Ask Ideator flow (AskController), so an idea
 * asked by an agent streams into the Idea panel, is offered by the lightbulb and lands in the history like any other.
 *
 * Errors: a tool throws an Error whose message says in plain words what went wrong and what to do (that is what
 * the API hands back to the model); a cancelled request throws vscode.CancellationError. Nothing is thrown past
 * the tool's own invoke(): the host catches it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  AgentToolError,
  findRun,
  formatOutcome,
  formatRun,
  formatRunList,
  formatSeekHelp,
  getRun,
  listRuns,
  parseToolInput,
  recordOutcome,
  seekHelpQuery,
  seekHelpResult,
  type AgentToolName,
  type SeekHelpInput,
} from '../../core/agentTools';
import type { HistoryStore } from '../../core/history';
import type { AskController } from '../ideas/askIdeator';
import { activeTarget, targetOf } from '../ideas/gatherState';
import { makeProvider } from '../ideas/provider';
import type { Services } from '../services';

/** Thrown for failures the agent can act on; the message is what the model reads. */
class ToolFailure extends Error {}

function historyOf(services: Services): HistoryStore {
  try {
    const store = services.history;
    if (!store) throw new Error('run watching is not set up');
    return store;
  } catch (err) {
    throw new ToolFailure(`The run history could not be opened: ${(err as Error).message}.`);
  }
}

/** Core's one-liners start in lower case ("no run 'x' …"); as an error message, a sentence. Identifiers stay as they are. */
function sentence(message: string): string {
  const m = message.trim();
  const s = /^[a-z]+(\s|$)/.test(m) ? m.charAt(0).toUpperCase() + m.slice(1) : m;
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Core's AgentToolError (bad arguments, unknown run/idea, conflicts) and our own failures as one plain Error. */
function asToolError(err: unknown): Error {
  if (err instanceof vscode.CancellationError) return err;
  if (err instanceof AgentToolError || err instanceof ToolFailure) return new Error(sentence(err.message));
  return new Error(`The Ideator tool failed unexpectedly: ${err instanceof Error ? err.message : String(err)}. The MLE Ideator log has details.`);
}

function text(value: string): vscode.LanguageModelToolResult {
  return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(value)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Which file an idea is about
// ---------------------------------------------------------------------------------------------------------------

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * A workspace file named by an agent, or undefined when it is not one. Absolute paths and `..` that leave every
 * workspace folder are refused, symlinks included (the file's content is sent to the Ideator).
 */
function workspaceFile(name: string): vscode.Uri | undefined {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme !== 'file') continue;
    const root = folder.uri.fsPath;
    const abs = path.resolve(root, name);
    if (!isInside(abs, root)) continue;
    try {
      if (!fs.statSync(abs).isFile()) continue;
      if (!isInside(fs.realpathSync(abs), fs.realpathSync(root))) continue;
    } catch {
      continue;
    }
    return vscode.Uri.file(abs);
  }
  return undefined;
}

/**
 * The code the idea is about: `code_path` when given (it must be a file in the workspace); else the script of the
 * run asked from (`run_id`), else of the newest run that recorded one (core's default, as `ideator mcp`), as long
 * as it is still in the workspace; else the file or notebook in the active editor. Undefined: none of these.
 */
function targetUri(input: SeekHelpInput, store: HistoryStore): vscode.Uri | undefined {
  if (input.code_path) {
    const uri = workspaceFile(input.code_path);
    if (!uri) throw new ToolFailure(`code_path '${input.code_path}' is not a file in the workspace; give a workspace-relative path such as "train.py"`);
    return uri;
  }
  const runs = input.run_id ? [findRun(store, input.run_id)] : [...store.runs()].reverse();
  for (const run of runs) {
    const uri = run.code?.path ? workspaceFile(run.code.path) : undefined;
    if (uri) return uri;
  }
  return activeTarget()?.uri;
}

function describeTarget(uri: vscode.Uri | undefined): string {
  return uri ? `**${vscode.workspace.asRelativePath(uri, false)}**` : 'the file in the active editor';
}

// ---------------------------------------------------------------------------------------------------------------
// The tools
// ---------------------------------------------------------------------------------------------------------------

type Invoke = (input: unknown, token: vscode.CancellationToken) => Promise<vscode.LanguageModelToolResult>;
type Prepare = (input: unknown, token: vscode.CancellationToken) => Promise<vscode.PreparedToolInvocation>;

function tool(name: AgentToolName, services: Services, invoke: Invoke, prepare: Prepare): vscode.LanguageModelTool<object> {
  return {
    async invoke(options, token) {
      try {
        if (token.isCancellationRequested) throw new vscode.CancellationError();
        return await invoke(options.input, token);
      } catch (err) {
        const e = asToolError(err);
        if (!(e instanceof vscode.CancellationError)) services.output.warn(`Agent tool ${name}: ${e.message}`);
        throw e;
      }
    },
    async prepareInvocation(options, token) {
      try {
        return await prepare(options.input, token);
      } catch (err) {
        // Bad arguments and the like are reported by invoke(); the confirmation itself must never be what fails.
        services.output.info(`Agent tool ${name}: no confirmation prepared (${(err as Error).message})`);
        return { invocationMessage: `Ideator: ${name}` };
      }
    },
  };
}

export function createAgentTools(services: Services, asker: AskController): Record<AgentToolName, vscode.LanguageModelTool<object>> {
  const seekHelp = tool(
    'seek_help',
    services,
    async (raw, token) => {
      const input = parseToolInput('seek_help', raw);
      const store = historyOf(services);
      const runId = input.run_id ? findRun(store, input.run_id).id : undefined;
      const uri = targetUri(input, store);
      if (!uri) {
        throw new ToolFailure(
          'There is no training script to ask about: no recorded run names a script that is still in the workspace and no editor is open. Pass code_path (e.g. "train.py")',
        );
      }
      const target = await targetOf(uri);
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      try {
        const outcome = await asker.ask({ query: seekHelpQuery(input), target, runId, signal: controller.signal, quiet: true, noReview: true });
        if (outcome.status === 'cancelled') throw new vscode.CancellationError();
        if (outcome.status !== 'ok' || !outcome.idea) throw new ToolFailure(`The Ideator could not answer: ${outcome.error ?? 'unknown error'}`);
        return text(formatSeekHelp(seekHelpResult(outcome.idea)));
      } finally {
        sub.dispose();
      }
    },
    async (raw) => {
      const input = parseToolInput('seek_help', raw);
      const store = historyOf(services);
      const uri = targetUri(input, store);
      const runs = store.runs().length;
      let to = 'your Ideator';
      let offline = false;
      try {
        const provider = await makeProvider(services, 'ideator');
        to = `**${provider.label}**`;
        offline = services.config().config.provider.startsWith('template-');
      } catch {
        // Settings that do not work yet: invoke() says what is wrong; the confirmation still says what would be sent.
      }
      const what =
        runs === 0
          ? `${describeTarget(uri)} and the task description (no runs are recorded yet)`
          : `${describeTarget(uri)}, the task description and ${runs === 1 ? 'the recorded run (its command, score and end of output)' : `the ${runs} recorded runs (commands, scores, ends of output)`}`;
      const message = new vscode.MarkdownString(
        offline
          ? `Ask the offline template Ideator about ${what}. Nothing leaves this machine. The idea appears in the Idea panel and the Run History.`
          : `This sends ${what} to ${to} to get the next idea. The idea appears in the Idea panel and the Run History.`,
      );
      message.appendMarkdown(`\n\n*Problem:* ${escapeMarkdown(oneLine(input.problem_statement, 300))}\n\n*Goal:* ${escapeMarkdown(oneLine(input.goal, 200))}`);
      return {
        invocationMessage: `Asking the Ideator about ${uri ? vscode.workspace.asRelativePath(uri, false) : 'the open file'}`,
        confirmationMessages: { title: 'Ask your Ideator for the next idea?', message },
      };
    },
  );

  const listRunsTool = tool(
    'list_runs',
    services,
    async (raw) => text(formatRunList(listRuns(historyOf(services), parseToolInput('list_runs', raw)))),
    async () => ({ invocationMessage: 'Reading the run history' }),
  );

  const getRunTool = tool(
    'get_run',
    services,
    async (raw) => text(formatRun(getRun(historyOf(services), parseToolInput('get_run', raw)))),
    async (raw) => {
      const input = parseToolInput('get_run', raw);
      return { invocationMessage: `Reading run ${input.run_id} of the run history` };
    },
  );

  const recordOutcomeTool = tool(
    'record_outcome',
    services,
    async (raw) => text(formatOutcome(recordOutcome(historyOf(services), parseToolInput('record_outcome', raw)))),
    async () => ({ invocationMessage: 'Recording whether the idea improved the score' }),
  );

  return { seek_help: seekHelp, list_runs: listRunsTool, get_run: getRunTool, record_outcome: recordOutcomeTool };
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
