/**
 * `ideator mcp` — the Ideator as an MCP server over stdio for coding agents (Claude Code, Cursor, VS Code agent
 * mode, Cline …): seek_help / list_runs / get_run / record_outcome over the workspace's run history
 * (server/src/mcp/server.ts, the contract in src/core/agentTools.ts), each run scored as the editor's setting
 * ideator.runScore says (server/src/mcp/runScore.ts; --run-score wins). stdout carries only the protocol; every log
 * line goes to stderr. Keys come from the environment or --api-key-file, never from tool arguments or the logs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AgentToolError } from '../../../src/core/agentTools';
import { createProvider, type ProviderConfig } from '../../../src/core/providers/index';
import { describeScoreChoice, SCORE_CHOICES, type ScoreChoice } from '../../../src/core/metric';
import { findHistory, globalStorageRoots, userSettingsFile } from '../mcp/historyLocation';
import { resolveRunScore } from '../mcp/runScore';
import { createIdeatorMcpServer } from '../mcp/server';
import { defineCommand, log, UsageError } from './common';
import { packageVersion } from './packageVersion';
import { checkPromptsFlag } from './promptsFlag';
import { providerConfigFromFlag } from './runtimeFlags';
import { readTrajectoryFlag } from './stateArgs';

const HELP = `usage: ideator mcp [--workspace DIR] [--history DIR] [--provider KIND[:MODEL][@URL] | CONFIG.json]
                   [--api-key-file FILE] [--task-file FILE] [--budget TOKENS] [--max-tokens N]
                   [--timeout-sec N] [--prompts OVERRIDE_DIR] [--trajectory compact|full] [--run-score last|best]
An MCP server on stdin/stdout with the tools seek_help, list_runs, get_run and record_outcome.
  --workspace DIR      the project folder (or its .code-workspace file) whose run history the tools use
                       (default: the current folder)
  --history DIR        the run history folder itself, instead of looking for the one the editor keeps for
                       --workspace (VS Code, Insiders, VSCodium, Cursor, Windsurf, code-server, remote servers)
  --provider SPEC      the Ideator: anthropic (default, as the extension), openai[:MODEL][@URL], server@URL,
                       template-vague, template-null; or a ProviderConfig as JSON, inline or a file
  --api-key-file FILE  read the provider's key from FILE; default: env ANTHROPIC_API_KEY / OPENAI_API_KEY /
                       IDEATOR_SERVER_TOKEN
  --task-file FILE     the task description (default: TASK.md, task.md, description.md in the workspace)
  --budget TOKENS      token budget of the Ideator prompt (default 32000)
  --max-tokens N       longest answer, in tokens (default 4096)
  --timeout-sec N      give up on one answer after N seconds (default 300)
  --prompts DIR        prompt overrides (see prompts/README.md)
  --trajectory MODE    compact (default: no progress bars, repeats or superseded code; every value, error and the
                       final code kept) or full: how the run history is written into the prompt
  --run-score last|best  a run's score: the value printed last or its best epoch (default: the setting
                       ideator.runScore of the workspace's .vscode/settings.json or .code-workspace file, else of
                       the user settings of the editor whose run history is used, else last)
Claude Code:  claude mcp add ideator -e ANTHROPIC_API_KEY=… -- node /path/to/mle-ideator/dist/cli.js mcp
Cursor, VS Code and the tools' arguments: README "Use the Ideator from your agent" and docs/agents.md.`;

const FLAGS = {
  workspace: { type: 'string' },
  history: { type: 'string' },
  provider: { type: 'string' },
  'api-key-file': { type: 'string' },
  'task-file': { type: 'string' },
  budget: { type: 'string' },
  trajectory: { type: 'string' },
  'max-tokens': { type: 'string' },
  'timeout-sec': { type: 'string' },
  prompts: { type: 'string' },
  'run-score': { type: 'string' },
} as const;

function intFlag(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

export default defineCommand({ help: HELP, options: FLAGS }, async ({ values }, io) => {
  // The protocol owns stdout: anything a dependency might print goes to stderr instead.
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);

  const workspace = path.resolve(values.workspace ?? process.cwd());
  if (!existsSync(workspace)) throw new UsageError(`--workspace ${workspace} does not exist`);
  const isWorkspaceFile = statSync(workspace).isFile();
  if (isWorkspaceFile && !workspace.endsWith('.code-workspace')) throw new UsageError(`--workspace must be a folder or a .code-workspace file, got ${workspace}`);
  const root = isWorkspaceFile ? path.dirname(workspace) : workspace;

  let historyDir: string | undefined;
  if (values.history !== undefined) {
    historyDir = path.resolve(values.history);
    if (!existsSync(historyDir) || !statSync(historyDir).isDirectory()) throw new UsageError(`--history ${historyDir} is not a folder`);
  }
  let taskFile: string | undefined;
  if (values['task-file'] !== undefined) {
    taskFile = path.resolve(values['task-file']);
    if (!existsSync(taskFile) || !statSync(taskFile).isFile()) throw new UsageError(`--task-file ${taskFile} is not a file`);
  }
  checkPromptsFlag(values.prompts);
  const budgetTokens = intFlag(values.budget, 'budget', 1000, 1_000_000);
  const trajectoryMode = readTrajectoryFlag(values.trajectory);
  const maxTokens = intFlag(values['max-tokens'], 'max-tokens', 16, 1_000_000) ?? 4096;
  const timeoutSec = intFlag(values['timeout-sec'], 'timeout-sec', 1, 3600) ?? 300;
  const runScoreFlag = values['run-score'];
  if (runScoreFlag !== undefined && !(SCORE_CHOICES as readonly string[]).includes(runScoreFlag)) throw new UsageError(`--run-score must be last or best, got '${runScoreFlag}'`);

  const config: ProviderConfig = providerConfigFromFlag(values.provider ?? 'anthropic', 'provider')!;
  let apiKey: string | undefined;
  if (values['api-key-file'] !== undefined) {
    try {
      apiKey = readFileSync(values['api-key-file'], 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--api-key-file: cannot read ${values['api-key-file']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!apiKey || /\s/.test(apiKey)) throw new UsageError(`--api-key-file ${values['api-key-file']} must hold one key on one line`);
  }
  const secrets = { apiKey };
  // Errors name what the user of this command can change: its flags and environment.
  const presentation = {
    names: {
      apiKey: '--api-key-file or env ANTHROPIC_API_KEY / OPENAI_API_KEY / IDEATOR_SERVER_TOKEN',
      model: 'MODEL in --provider KIND:MODEL@URL',
      baseUrl: '@URL in --provider KIND:MODEL@URL',
      timeoutMs: 'timeoutMs in a --provider JSON config',
      maxTokens: '--max-tokens',
    },
  };
  // Checked now so a missing key shows in the log at start; seek_help reports it again as a tool error.
  try {
    createProvider(config, secrets, process.env, presentation);
  } catch (err) {
    log(io, `ideator mcp: warning: seek_help will fail until this is fixed: ${(err as Error).message}`);
  }

  const roots = globalStorageRoots();
  /** The editor whose run history the tools use (its user settings may set ideator.runScore); none with --history. */
  let historyEditor: string | undefined;
  const locateHistory = (): string => {
    if (historyDir) return historyDir;
    const found = findHistory(workspace, roots);
    historyEditor = found.found?.editor;
    if (found.found) return found.found.dir;
    throw new AgentToolError(
      'no_history',
      `no run history for the workspace ${workspace}: run the training once in the editor with the MLE Ideator extension (or start ideator mcp with --history DIR); looked in ${found.tried.join(', ')}`,
    );
  };
  const initial = historyDir ? { dir: historyDir, editor: '--history' } : findHistory(workspace, roots).found;
  if (!historyDir) historyEditor = initial?.editor;
  log(io, `ideator mcp: workspace ${workspace}; run history ${initial ? `${initial.dir} (${initial.editor})` : 'not found yet (the tools will say where they looked)'}; Ideator ${config.kind}${config.model ? `:${config.model}` : ''}`);

  // ideator.runScore, read again on each call (the user may change it while the server lives); logged when it changes.
  const warned = new Set<string>();
  let said: string | undefined;
  const scoreChoice = (): ScoreChoice => {
    const { choice, from } = resolveRunScore({
      flag: runScoreFlag as ScoreChoice | undefined,
      workspace,
      userSettings: historyEditor && userSettingsFile(historyEditor, roots),
      warn: (m) => {
        if (warned.has(m)) return;
        warned.add(m);
        log(io, `ideator mcp: warning: ${m}`);
      },
    });
    const line = `ideator mcp: a run's score is its ${describeScoreChoice(choice)} (${from})`;
    if (line !== said) log(io, (said = line));
    return choice;
  };
  scoreChoice();

  const stop = new AbortController();
  const server = createIdeatorMcpServer({
    root,
    locateHistory,
    scoreChoice,
    provider: () => createProvider(config, secrets, process.env, presentation),
    providerKind: config.kind,
    taskFile,
    budgetTokens,
    trajectoryMode,
    promptsOverrideDir: values.prompts,
    maxTokens,
    timeoutMs: timeoutSec * 1000,
    version: packageVersion(),
    log: (m) => log(io, m),
    stop: stop.signal,
  });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await server.connect(transport);
  await closed;
  // A model request still running would keep the process alive until its timeout.
  stop.abort();
  await server.close().catch(() => undefined);
  return 0;
});
