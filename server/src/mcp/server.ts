/**
 * The Ideator as a Model Context Protocol server (issue #17): the four tools of core/agentTools.ts over the
 * workspace's run history, on the SDK's low-level `Server` (our own list/call handlers, so the tool listing is the
 * contract's JSON Schema and a bad argument comes back as a one-line tool error, not the SDK's multi-line one).
 *
 * Every call reopens the history (the editor keeps appending runs while this server lives), validates its
 * arguments, and answers either a result (text for the agent + structuredContent) or `isError: true` with one line.
 * seek_help honours the request's abort signal (the client's notifications/cancelled) and a deadline, and sends
 * notifications/progress while the Ideator writes when the client gave a progress token.
 */
import { realpathSync, statSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import {
  AGENT_TOOLS,
  AgentToolError,
  agentToolJsonSchemas,
  findRun,
  formatOutcome,
  formatRun,
  formatRunList,
  formatSeekHelp,
  getRun,
  ideaRecordFrom,
  isAgentToolName,
  listRuns,
  parseToolInput,
  recordOutcome,
  seekHelpMessages,
  seekHelpResult,
  seekHelpState,
  TASK_DESCRIPTION_FILES,
  type SeekHelpInput,
} from '../../../src/core/agentTools';
import type { TrajectoryMode } from '../../../src/core/protocol';
import { HistoryStore } from '../../../src/core/history';
import type { ScoreChoice } from '../../../src/core/metric';
import { describeProviderError } from '../../../src/core/providers/index';
import { ProviderError, type Provider } from '../../../src/core/providers/types';

/** The longest script or task file read from the workspace (a bigger one is not the user's training code). */
export const MAX_WORKSPACE_FILE_BYTES = 2 * 1024 * 1024;
const MAX_TASK_CHARS = 50_000;
const PROGRESS_EVERY_MS = 250;

export interface IdeatorMcpOptions {
  /** Absolute workspace folder (files named by code_path are read from here, never outside it). */
  root: string;
  /** The history folder, or an AgentToolError('no_history') naming the paths tried; asked on every call. */
  locateHistory: () => string;
  /** Which value of a run's primary metric is its score (ideator.runScore); asked on every call, after locateHistory. */
  scoreChoice?: () => ScoreChoice;
  /** Builds the Ideator (called on each seek_help; a config/auth error becomes a tool error there). */
  provider: () => Provider;
  /** The provider kind as the settings spell it, stored on the idea. */
  providerKind: string;
  /** --task-file, when given (else TASK.md & co in the root). */
  taskFile?: string;
  budgetTokens?: number;
  /** How the trajectory is written into the prompt (--trajectory; default compact). */
  trajectoryMode?: TrajectoryMode;
  promptsOverrideDir?: string;
  maxTokens?: number;
  /** Overall cap of one seek_help answer. */
  timeoutMs: number;
  version: string;
  log: (message: string) => void;
  /** Aborted when the server shuts down (the client closed stdin, a signal): in-flight answers are dropped. */
  stop?: AbortSignal;
}

function errorResult(err: unknown, log: (m: string) => void): CallToolResult {
  let message: string;
  if (err instanceof AgentToolError) message = err.message;
  else {
    // Not a failure the agent caused: say what it was, keep the stack for the log only.
    log(`ideator mcp: internal error: ${(err as Error)?.stack ?? String(err)}`);
    message = `internal error: ${String((err as Error)?.message ?? err).replace(/\s+/g, ' ')}`;
  }
  return { content: [{ type: 'text', text: message }], isError: true };
}

function stripSchemaKeyword(schema: Record<string, unknown>): Tool['inputSchema'] {
  const { $schema: _ignored, ...rest } = schema;
  return rest as Tool['inputSchema'];
}

/** A file inside the root, read as text; the path must not lead outside the workspace (symlinks resolved). */
export function readWorkspaceFile(root: string, relPath: string): { text: string; relPath: string } {
  const full = path.resolve(root, relPath);
  let real: string;
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(full);
  } catch {
    throw new AgentToolError('not_found', `no file '${relPath}' in the workspace ${root}`);
  }
  const rel = path.relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new AgentToolError('bad_arguments', `code_path must name a file inside the workspace ${root}, got '${relPath}'`);
  const st = statSync(real);
  if (!st.isFile()) throw new AgentToolError('bad_arguments', `code_path '${relPath}' is not a file`);
  if (st.size > MAX_WORKSPACE_FILE_BYTES) throw new AgentToolError('bad_arguments', `code_path '${relPath}' is ${st.size} bytes; the Ideator reads scripts up to ${MAX_WORKSPACE_FILE_BYTES} bytes`);
  return { text: readFileSync(real, 'utf8'), relPath: rel.split(path.sep).join('/') };
}

function taskDescription(opts: IdeatorMcpOptions): string {
  const files = opts.taskFile ? [opts.taskFile] : TASK_DESCRIPTION_FILES.map((f) => path.join(opts.root, f));
  for (const file of files) {
    try {
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_WORKSPACE_FILE_BYTES) continue;
      const text = readFileSync(file, 'utf8').trim();
      if (text) return text.length > MAX_TASK_CHARS ? `${text.slice(0, MAX_TASK_CHARS)}\n[… cut …]` : text;
    } catch {
      if (opts.taskFile) throw new AgentToolError('not_found', `the task file ${opts.taskFile} (--task-file) cannot be read`);
    }
  }
  return '';
}

export function createIdeatorMcpServer(opts: IdeatorMcpOptions): Server {
  const server = new Server(
    { name: 'mle-ideator', title: 'MLE Ideator', version: opts.version },
    {
      capabilities: { tools: {} },
      instructions:
        'MLE Ideator suggests the next experiment for a machine-learning task from the workspace\'s recorded training runs. ' +
        'Call seek_help when the score has stopped improving or runs keep failing; implement its ACTION, run the training, ' +
        'then call record_outcome with the idea_id. list_runs and get_run show the run history.',
    },
  );
  const schemas = agentToolJsonSchemas();
  const tools: Tool[] = AGENT_TOOLS.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: stripSchemaKeyword(schemas[t.name].input),
    outputSchema: stripSchemaKeyword(schemas[t.name].output) as Tool['outputSchema'],
    annotations: { title: t.title, readOnlyHint: t.readOnly, destructiveHint: false, idempotentHint: t.readOnly, openWorldHint: t.openWorld },
  }));

  const openStore = () => {
    const dir = opts.locateHistory();
    return HistoryStore.open(dir, { onWarning: opts.log, scoreChoice: opts.scoreChoice?.() });
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const name = request.params.name;
    const started = Date.now();
    try {
      if (!isAgentToolName(name)) throw new AgentToolError('bad_arguments', `unknown tool '${name}' (tools: ${AGENT_TOOLS.map((t) => t.name).join(', ')})`);
      let text: string;
      let structured: Record<string, unknown>;
      switch (name) {
        case 'list_runs': {
          const out = listRuns(openStore(), parseToolInput(name, request.params.arguments));
          [text, structured] = [formatRunList(out), out];
          break;
        }
        case 'get_run': {
          const out = getRun(openStore(), parseToolInput(name, request.params.arguments));
          [text, structured] = [formatRun(out), out];
          break;
        }
        case 'record_outcome': {
          const out = recordOutcome(openStore(), parseToolInput(name, request.params.arguments));
          [text, structured] = [formatOutcome(out), out];
          break;
        }
        case 'seek_help': {
          const input = parseToolInput(name, request.params.arguments);
          const out = await seekHelp(opts, openStore, input, request.params._meta?.progressToken, extra);
          [text, structured] = [formatSeekHelp(out), out];
          break;
        }
      }
      opts.log(`ideator mcp: ${name} answered in ${Date.now() - started} ms`);
      return { content: [{ type: 'text', text }], structuredContent: structured };
    } catch (err) {
      const result = errorResult(err, opts.log);
      opts.log(`ideator mcp: ${name} failed: ${(result.content[0] as { text: string }).text}`);
      return result;
    }
  });
  return server;
}

type Extra = Parameters<Parameters<Server['setRequestHandler']>[1]>[1];

async function seekHelp(
  opts: IdeatorMcpOptions,
  openStore: () => HistoryStore,
  input: SeekHelpInput,
  progressToken: string | number | undefined,
  extra: Extra,
) {
  const store = openStore();
  // "latest"/"best" become the run's id, which is what the idea records.
  const runId = input.run_id ? findRun(store, input.run_id).id : undefined;
  const file = input.code_path ? readWorkspaceFile(opts.root, input.code_path) : undefined;
  const state = seekHelpState(store, { ...input, run_id: runId }, {
    taskDescription: taskDescription(opts),
    taskId: path.basename(opts.root),
    code: file?.text,
    codePath: file?.relPath,
  });
  const messages = seekHelpMessages(state, { budgetTokens: opts.budgetTokens, overrideDir: opts.promptsOverrideDir, trajectoryMode: opts.trajectoryMode });

  let provider: Provider;
  try {
    provider = opts.provider();
  } catch (err) {
    throw new AgentToolError('provider', `the Ideator is not configured: ${describeProviderError(err)}`);
  }
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([extra.signal, deadline, ...(opts.stop ? [opts.stop] : [])]);
  let chars = 0;
  let lastProgress = 0;
  const progress = (message: string) => {
    if (progressToken === undefined) return;
    extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: chars, message } })
      .catch((err: unknown) => opts.log(`ideator mcp: progress notification failed: ${String(err)}`));
  };
  progress(`asking ${provider.label}`);
  opts.log(`ideator mcp: seek_help: asking ${provider.label} (${messages.length} messages, trajectory ${state.trajectory.length} steps)`);
  let completion;
  try {
    completion = await provider.complete(messages, {
      signal,
      maxTokens: opts.maxTokens,
      onToken: (delta, channel) => {
        chars += delta.length;
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = Date.now();
          progress(`${channel === 'thinking' ? 'thinking' : 'writing'}: ${chars} characters`);
        }
      },
    });
  } catch (err) {
    if (extra.signal.aborted || opts.stop?.aborted) throw new AgentToolError('cancelled', 'seek_help was cancelled by the client; nothing was recorded');
    if (deadline.aborted) throw new AgentToolError('provider', `no complete answer from the Ideator within ${Math.round(opts.timeoutMs / 1000)} s (raise --timeout-sec); nothing was recorded`);
    if (err instanceof ProviderError) throw new AgentToolError('provider', `the Ideator failed: ${describeProviderError(err)}`);
    throw err;
  }
  const idea = ideaRecordFrom({ completion, state, provider: opts.providerKind, runId });
  // Reopened: during the answer the editor may have appended runs (and rotated the journal).
  openStore().appendIdea(idea);
  return seekHelpResult(idea);
}
