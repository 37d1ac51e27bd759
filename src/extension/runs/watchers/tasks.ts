/**
 * Tasks. VS Code gives no API to read a task's output (vscode#59337), so runs that should be captured go through
 * our own `ideator` task type: a CustomExecution whose Pseudoterminal spawns the interpreter, shows its output and
 * feeds the same bytes to the run capture. Other tasks whose command is training-like are recorded with start, end
 * and exit code only.
 *
 * tasks.json:  { "type": "ideator", "script": "train.py", "args": ["--epochs", "3"], "label": "train" }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { extractScriptPath, isTrainingCommand } from '../../../core/commandMatch';
import { DisplayThrottle } from '../../../core/displayThrottle';
import type { RunRecorder } from '../service';
import { resolvePython } from '../../settings/python';
import type { Services } from '../../services';
import type { PendingRun } from '../../../core/pendingRun';

export const IDEATOR_TASK_TYPE = 'ideator';

export const IdeatorTaskDefinitionSchema = z.object({
  type: z.literal(IDEATOR_TASK_TYPE),
  script: z.string().min(1),
  args: z.array(z.string()).default([]),
  python: z.string().optional(),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
});
export type IdeatorTaskDefinition = z.infer<typeof IdeatorTaskDefinitionSchema>;

function folderPath(scope: vscode.Task['scope']): string | undefined {
  if (scope && typeof scope === 'object' && 'uri' in scope) return scope.uri.fsPath;
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The pseudoterminal: runs `python -u script args`, mirrors output, records the run. */
class IdeatorTaskTerminal implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;
  private child: ChildProcess | undefined;
  private run: PendingRun | undefined;

  constructor(
    private readonly def: IdeatorTaskDefinition,
    private readonly cwd: string,
    private readonly services: Services,
    private readonly recorder: RunRecorder,
  ) {}

  open(): void {
    void this.start();
  }

  /**
   * What the program prints goes to the terminal through a throttle: a pseudoterminal has no flow control, so a
   * flood would queue in this process faster than the terminal draws (see core/displayThrottle). A pseudoterminal
   * needs CRLF; the capture gets the text as the program printed it, all of it.
   */
  private readonly display = new DisplayThrottle((text) => this.write.fire(text.replace(/\r?\n/g, '\r\n')));

  /** Our own lines: never held back. */
  private out(text: string): void {
    this.display.writeNow(text);
  }

  private async start(): Promise<void> {
    const python = this.def.python ?? (await resolvePython({ setting: this.services.config().config.pythonPath })).command;
    const argv = ['-u', this.def.script, ...this.def.args];
    const command = [python, ...argv].map(quote).join(' ');
    this.out(`\x1b[2m> ${command}\x1b[0m\n`);
    const run = this.recorder.begin({ source: 'task', command, cwd: this.cwd, scriptPath: this.def.script });
    this.run = run;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(python, argv, {
        cwd: this.cwd,
        env: { ...process.env, PYTHONUNBUFFERED: '1', ...this.def.env },
        // Own process group, so Ctrl+C / close reaches the whole tree (dataloader workers, torchrun children).
        detached: process.platform !== 'win32',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      // spawn() itself refused (e.g. a NUL byte in an argument): no run happened, so none stays listed as running.
      this.out(`\x1b[31mCould not start ${python}: ${(err as Error).message}\x1b[0m\n`);
      this.recorder.discard(run);
      this.closed.fire(127);
      return;
    }
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    const onData = (d: string) => {
      this.display.push(d);
      run.push(d);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.on('close', (code, signal) => {
      this.child = undefined;
      if (spawnError && code === null) {
        this.out(`\x1b[31mCould not start ${python}: ${spawnError.message}\x1b[0m\n`);
        this.recorder.discard(run);
        this.closed.fire(127);
        return;
      }
      const exit = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : null);
      this.out(`\x1b[2m[exit ${exit ?? 'unknown'}]\x1b[0m\n`);
      void this.recorder.complete(run, exit).finally(() => this.closed.fire(exit ?? 1));
    });
  }

  handleInput(data: string): void {
    if (data === '\x03') this.kill('SIGINT');
  }

  close(): void {
    this.kill('SIGTERM');
  }

  private kill(signal: NodeJS.Signals): void {
    const child = this.child;
    if (!child?.pid) return;
    try {
      if (process.platform !== 'win32') process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      child.kill(signal);
    }
  }
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

class IdeatorTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly services: Services,
    private readonly recorder: RunRecorder,
  ) {}

  /** Offers "run the active python file, recorded" so the task type is discoverable without editing tasks.json. */
  provideTasks(): vscode.Task[] {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== 'python' || doc.uri.scheme !== 'file') return [];
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    const script = folder ? path.relative(folder.uri.fsPath, doc.uri.fsPath) : doc.uri.fsPath;
    const def: IdeatorTaskDefinition = { type: IDEATOR_TASK_TYPE, script, args: [], env: {} };
    return [this.build(def, folder ?? vscode.TaskScope.Workspace, `run ${script}`)];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const parsed = IdeatorTaskDefinitionSchema.safeParse(task.definition);
    if (!parsed.success) {
      this.services.output.warn(`Task "${task.name}": invalid ideator task definition: ${parsed.error.issues[0]?.message}`);
      return undefined;
    }
    return this.build(parsed.data, task.scope ?? vscode.TaskScope.Workspace, task.name, task.definition);
  }

  build(def: IdeatorTaskDefinition, scope: vscode.WorkspaceFolder | vscode.TaskScope, name: string, original?: vscode.TaskDefinition): vscode.Task {
    const exec = new vscode.CustomExecution(async () => {
      const base = folderPath(scope) ?? process.cwd();
      const cwd = def.cwd ? path.resolve(base, def.cwd) : base;
      return new IdeatorTaskTerminal(def, cwd, this.services, this.recorder);
    });
    // resolveTask must return the task's own definition object, or VS Code treats it as a different task.
    const task = new vscode.Task(original ?? def, scope, name, IDEATOR_TASK_TYPE, exec);
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated };
    return task;
  }
}

/** Shell/process tasks: the command line, when there is one. */
function taskCommand(task: vscode.Task): string | undefined {
  const ex = task.execution;
  const arg = (a: string | vscode.ShellQuotedString) => (typeof a === 'string' ? a : a.value);
  if (ex instanceof vscode.ShellExecution) return ex.commandLine ?? [ex.command, ...(ex.args ?? [])].filter(Boolean).map((a) => arg(a!)).join(' ');
  if (ex instanceof vscode.ProcessExecution) return [ex.process, ...ex.args].join(' ');
  return undefined;
}

export function registerTaskWatcher(services: Services, recorder: RunRecorder): vscode.Disposable {
  const running = new Map<vscode.TaskExecution, PendingRun>();
  return vscode.Disposable.from(
    vscode.tasks.registerTaskProvider(IDEATOR_TASK_TYPE, new IdeatorTaskProvider(services, recorder)),
    vscode.tasks.onDidStartTaskProcess((e) => {
      const cfg = recorder.config();
      const task = e.execution.task;
      if (!cfg.enabled || task.definition.type === IDEATOR_TASK_TYPE) return;
      const command = taskCommand(task);
      if (!command || !isTrainingCommand(command, cfg.commandPatterns)) return;
      const cwd = (task.execution as vscode.ShellExecution | undefined)?.options?.cwd ?? folderPath(task.scope);
      running.set(
        e.execution,
        recorder.begin({
          source: 'task',
          command,
          cwd,
          scriptPath: extractScriptPath(command, cfg.commandPatterns),
          captureOutput: false,
          note: `Task "${task.name}": VS Code does not let extensions read task output; use an "ideator" task to capture scores.`,
        }),
      );
    }),
    vscode.tasks.onDidEndTaskProcess((e) => {
      const run = running.get(e.execution);
      if (!run) return;
      running.delete(e.execution);
      void recorder.complete(run, e.exitCode);
    }),
  );
}
