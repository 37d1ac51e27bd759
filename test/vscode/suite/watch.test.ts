/**
 * Run watching in a real VS Code (code-server's extension host): a real bash terminal with shell integration runs a
 * real python script, an `ideator` task runs through our pseudoterminal, a notebook cell is executed by a test
 * notebook controller, an ordinary command is ignored, and runs printing 20 MB (terminal) and 200 MB (ideator task)
 * keep the host's memory bounded.
 * Finally the Run History and Score Chart views are shown (the runner's final screenshot captures them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as vscode from 'vscode';
import type { IdeatorApi } from '../../../src/extension/extension';
import { ExportLineSchema } from '../../../src/core/export';
import { IdeatorStateSchema, type IdeaRecord, type Run } from '../../../src/core/protocol';
import { startOpenAIServer } from '../../servers/openai';
import { BIG_OUTPUT_PY } from '../lib/scripts';

const EXTENSION_ID = 'mle-ideator.mle-ideator';
const PYTHON = process.env.IDEATOR_PYTHON || 'python3';
/**
 * Size of the terminal run that prints a lot. A terminal command's output arrives as fast as headless code-server's
 * terminal draws it (~1.5 MB/s), and VS Code's shell-integration stream keeps a command's output in the extension
 * host until the command ends, whoever reads it (microsoft/vscode#256854; a plain counting reader shows the same
 * growth). So here: 20 MB, asserting what we retain; the 200 MB case runs as an `ideator` task below (our own
 * pseudoterminal), and two 200 MB terminal runs are test/vscode/e2e/watch.e2e.ts `big`.
 */
const BIG_MB = Number(process.env.IDEATOR_WATCH_BIG_MB ?? 20);
/** Size of the run printed through an `ideator` task (our own pseudoterminal: no renderer limit on the capture). */
const TASK_BIG_MB = Number(process.env.IDEATOR_WATCH_TASK_MB ?? 200);

/** A real garbage collection in the extension host (not started with --expose-gc): retained heap, not GC lag. */
function collectGarbage(): () => void {
  v8.setFlagsFromString('--expose_gc');
  return vm.runInNewContext('gc') as () => void;
}

const EPOCHS_PY = `import sys, time
# Keras-like epoch lines; the exit code is the first argument.
for e in range(1, 4):
    print(f"Epoch {e}/3 - loss: {1 / e:.4f} - val_accuracy: {0.70 + e * 0.05:.4f}", flush=True)
    time.sleep(0.05)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
`;


const FROM_RUN_ANSWER = `ANALYSIS: Validation accuracy rose every epoch and had not levelled off at epoch 3.
ACTION: Train for 10 epochs with early stopping on val_accuracy (patience 2).
RATIONALE: The curve is still climbing, so more epochs with a stopping rule should add accuracy without overfitting.`;

let api: IdeatorApi;
let folder: vscode.WorkspaceFolder;

function runs(): Run[] {
  return api.runs.recorder.store.runs();
}

/** Resolves with the first run recorded after `since` runs that satisfies `match`. */
function waitForRun(match: (r: Run) => boolean, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const found = runs().find(match);
      if (found) {
        sub.dispose();
        clearTimeout(timer);
        resolve(found);
        return true;
      }
      return false;
    };
    const sub = api.runs.recorder.onDidChange(() => void check());
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no matching run within ${timeoutMs} ms; runs: ${JSON.stringify(runs().map((r) => [r.source, r.command, r.exitCode]))}`));
    }, timeoutMs);
    check();
  });
}

async function bashTerminal(name: string): Promise<vscode.Terminal> {
  const started = Date.now();
  const terminal = vscode.window.createTerminal({ name, shellPath: '/bin/bash', cwd: folder.uri });
  terminal.show();
  if (terminal.shellIntegration) return terminal;
  // Shell integration activates once bash has started and drawn its first prompt in the workbench's terminal: on a
  // loaded machine several seconds (the e2e's newTerminal waits 45 s for the same thing).
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`shell integration of "${name}" did not activate in 45 s`)), 45_000);
    const sub = vscode.window.onDidChangeTerminalShellIntegration((e) => {
      if (e.terminal === terminal) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
  console.log(`watch: shell integration of "${name}" active in ${Date.now() - started} ms`);
  return terminal;
}

/** Runs a command through shell integration and resolves when its end event arrives. */
function execute(terminal: vscode.Terminal, command: string, timeoutMs = 30_000): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const execution = terminal.shellIntegration!.executeCommand(command);
    const timer = setTimeout(() => reject(new Error(`"${command}" did not end in ${timeoutMs} ms`)), timeoutMs);
    const sub = vscode.window.onDidEndTerminalShellExecution((e) => {
      if (e.execution === execution) {
        clearTimeout(timer);
        sub.dispose();
        resolve(e.exitCode);
      }
    });
  });
}

/** A tasks.json task, resolved through our TaskProvider as when a user runs it (the provider may register late). */
async function tasksJsonTask(name: string): Promise<vscode.Task> {
  for (let i = 0; i < 40; i++) {
    const task = (await vscode.tasks.fetchTasks({ type: 'ideator' })).find((t) => t.name === name);
    if (task) return task;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`tasks.json task "${name}" not found`);
}

/**
 * Awaits one named step of a scenario, failing with the step's name instead of the test's overall timeout, and prints
 * how long it took (test-results/suite-console.log: where a slow machine spends its time).
 */
function step<T>(name: string, p: Thenable<T>, ms: number): Promise<T> {
  const started = Date.now();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`step "${name}" did not finish in ${ms} ms`)), ms);
    Promise.resolve(p).then(
      (v) => (clearTimeout(timer), console.log(`watch: step "${name}" took ${Date.now() - started} ms`), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/**
 * Shows `nb` in an editor: resolves once showNotebookDocument() has answered, which it does only after the workbench
 * has built the notebook editor and told the extension host. (Going on as soon as the editor is listed as visible is
 * too early: the cell's execution then never reaches the controller.) On a loaded machine the answer once took over
 * 20 s in CI (stop 21) while everything else was fine, so it gets up to 60 s, the show is asked once more if no
 * answer came after 20 s, and how long it took is printed. A refusal fails at once, as before, unless the show was
 * asked twice (the second show can make the first one's answer "another editor opened in the meantime"): then the
 * other answer is awaited, and the refusal is named if none comes.
 */
async function showNotebook(nb: vscode.NotebookDocument): Promise<void> {
  const started = Date.now();
  let shown = false;
  let refused: string | undefined;
  let askedAgain = false;
  const show = () =>
    void Promise.resolve(vscode.window.showNotebookDocument(nb)).then(
      () => (shown = true),
      (e: unknown) => {
        refused = `showNotebookDocument refused after ${Date.now() - started} ms: ${e instanceof Error ? e.message : String(e)}`;
        console.log(`watch: ${refused}`);
      },
    );
  show();
  while (!shown) {
    if (refused && !askedAgain) throw new Error(refused);
    const waited = Date.now() - started;
    if (waited > 60_000) {
      const visible = vscode.window.visibleNotebookEditors.some((e) => e.notebook === nb);
      throw new Error(
        `showNotebookDocument did not answer in ${waited} ms (asked ${askedAgain ? 'twice' : 'once'}; the editor is ${visible ? '' : 'not '}listed as visible${refused ? `; ${refused}` : ''})`,
      );
    }
    if (!askedAgain && waited > 20_000) {
      askedAgain = true;
      console.log('watch: showNotebookDocument has not answered after 20 s; asking again');
      show();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`watch: notebook shown in ${Date.now() - started} ms`);
}

/**
 * Selects `controller` for `nb` and resolves once the extension host has been told so. A just-created controller
 * reaches the workbench asynchronously; asked too early, notebook.selectKernel shows a kernel picker and waits for a
 * person. So the command is not awaited: selection is confirmed by onDidChangeSelectedNotebooks, and a picker left
 * open by an early try is closed before the next one.
 */
async function selectKernel(controller: vscode.NotebookController, nb: vscode.NotebookDocument, extension: string): Promise<void> {
  let selected = false;
  const sub = controller.onDidChangeSelectedNotebooks((e) => {
    if (e.notebook === nb && e.selected) selected = true;
  });
  try {
    for (let attempt = 1; attempt <= 6 && !selected; attempt++) {
      void vscode.commands.executeCommand('notebook.selectKernel', { id: controller.id, extension }).then(undefined, () => undefined);
      for (let t = 0; t < 40 && !selected; t++) await new Promise((r) => setTimeout(r, 125));
      if (!selected) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    }
  } finally {
    sub.dispose();
  }
  assert.ok(selected, `kernel ${extension}/${controller.id} was not selected for ${nb.uri.toString()} after 6 tries`);
}

describe('Run watching in a real VS Code', function () {
  // Above the sum of a test's step limits (the first: a shell 45 s, two commands 30 s each, their runs 10 s each).
  this.timeout(150_000);

  before(async () => {
    const ext = vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not loaded`);
    api = await ext.activate();
    folder = vscode.workspace.workspaceFolders![0];
    writeFileSync(vscode.Uri.joinPath(folder.uri, 'epochs.py').fsPath, EPOCHS_PY);
    writeFileSync(vscode.Uri.joinPath(folder.uri, 'big_output.py').fsPath, BIG_OUTPUT_PY);
    mkdirSync(vscode.Uri.joinPath(folder.uri, '.vscode').fsPath, { recursive: true });
    writeFileSync(
      vscode.Uri.joinPath(folder.uri, '.vscode', 'tasks.json').fsPath,
      JSON.stringify({ version: '2.0.0', tasks: [
          { type: 'ideator', label: 'epochs', script: 'epochs.py', args: ['0'] },
          { type: 'ideator', label: 'big', script: 'big_output.py', args: [String(TASK_BIG_MB)] },
          // An argument spawn() refuses outright (a NUL byte): the task must end, with no run left listed as running.
          { type: 'ideator', label: 'refused', script: 'epochs.py', args: ['0\u0000'] },
        ] }, null, 2),
    );
  });

  it('records a python run in a bash terminal with its primary score, exit code and code', async () => {
    const terminal = await bashTerminal('watch-train');
    const before = runs().length;
    const exit = await execute(terminal, `${PYTHON} epochs.py 0`);
    assert.equal(exit, 0);
    const run = await waitForRun((r) => r.source === 'terminal' && !!r.command?.includes('epochs.py 0'), 10_000);
    assert.equal(run.exitCode, 0);
    assert.deepEqual(run.primary, { name: 'val_accuracy', value: 0.85, direction: 'higher' });
    assert.equal(run.metrics.find((m) => m.name === 'val_accuracy')?.count, 3);
    assert.match(run.outputHead + run.outputTail, /Epoch 3\/3 - loss: 0\.3333 - val_accuracy: 0\.8500/);
    assert.doesNotMatch(run.outputHead, /\x1b|\]633;/, 'escape sequences stripped');
    assert.equal(run.code?.path, 'epochs.py');
    assert.ok(run.code?.content?.includes('Keras-like'));
    assert.equal(runs().length, before + 1);
    // Ask Ideator reads the same store (services.history), and p_t follows the best run.
    assert.equal(api.services.history, api.runs.recorder.store);
    assert.equal(api.services.currentScore()?.value, api.runs.recorder.store.bestScore()?.value);
    assert.ok(api.services.history!.toTrajectory().some((s) => s.kind === 'execute' && s.score === 0.85));

    // A failing run: exit code 3 recorded, score still read.
    assert.equal(await execute(terminal, `${PYTHON} epochs.py 3`), 3);
    const failed = await waitForRun((r) => r.source === 'terminal' && !!r.command?.includes('epochs.py 3'), 10_000);
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.primary?.value, 0.85);
    terminal.dispose();
  });

  it('ignores commands that are not training runs', async () => {
    const terminal = await bashTerminal('watch-other');
    const before = runs().length;
    assert.equal(await execute(terminal, 'echo val_accuracy: 0.99 && ls > /dev/null'), 0);
    assert.equal(await execute(terminal, `${PYTHON} -c "print('val_accuracy: 0.99')"`), 0);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(runs().length, before, JSON.stringify(runs().slice(before).map((r) => r.command)));
    assert.equal(api.runs.recorder.activeRuns().length, 0);
    terminal.dispose();
  });

  it('captures an ideator task (tasks.json) through its pseudoterminal', async () => {
    await vscode.workspace.getConfiguration('ideator').update('pythonPath', PYTHON, vscode.ConfigurationTarget.Global);
    try {
      // The tasks.json entry goes through our TaskProvider.resolveTask, as when a user runs it.
      const task = await tasksJsonTask('epochs');
      const ended = new Promise<void>((resolve) => {
        const sub = vscode.tasks.onDidEndTask((e) => {
          if (e.execution.task.name === 'epochs') {
            sub.dispose();
            resolve();
          }
        });
      });
      await vscode.tasks.executeTask(task);
      const run = await waitForRun((r) => r.source === 'task' && !!r.command?.includes('epochs.py'), 30_000);
      await ended;
      assert.equal(run.exitCode, 0);
      assert.deepEqual(run.primary, { name: 'val_accuracy', value: 0.85, direction: 'higher' });
      assert.match(run.command!, /-u epochs\.py 0$/);
      assert.equal(run.code?.path, 'epochs.py');
      assert.match(run.outputTail || run.outputHead, /Epoch 3\/3/);
    } finally {
      await vscode.workspace.getConfiguration('ideator').update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('an ideator task whose process cannot even be spawned ends, and leaves no run listed as running', async () => {
    const task = await tasksJsonTask('refused');
    const before = runs().length;
    const ended = new Promise<void>((resolve) => {
      const sub = vscode.tasks.onDidEndTask((e) => {
        if (e.execution.task.name === 'refused') {
          sub.dispose();
          resolve();
        }
      });
    });
    await vscode.tasks.executeTask(task);
    await step('the refused task ends', ended, 30_000);
    assert.equal(api.runs.recorder.activeRuns().length, 0);
    assert.equal(runs().length, before);
  });

  // The real debugpy adapter (requirements.txt), started by test/vscode/fixtures/debugpy-shim as the Python Debugger
  // extension would. integratedTerminal is that extension's default: debugpy then sends no output over DAP unless
  // redirectOutput is set, which is what our DebugConfigurationProvider adds.
  const debugCases = [
    { consoleMode: 'internalConsole', exit: 0 },
    { consoleMode: 'integratedTerminal', exit: 0 },
    { consoleMode: 'integratedTerminal', exit: 3 },
  ] as const;
  for (const { consoleMode, exit } of debugCases) {
    it(`records a debugpy debug session (console: ${consoleMode}, exit ${exit}) through the real debugpy adapter`, async function () {
      // Above the sum of its steps' own limits (start 30 s + end 60 s + recorded 10 s), so a slow step fails by name.
      this.timeout(120_000);
      const name = `watch debug ${consoleMode} ${exit}`;
      const known = new Set(runs().map((r) => r.id));
      const terminalsBefore = new Set(vscode.window.terminals);
      let session: vscode.DebugSession | undefined;
      const startSub = vscode.debug.onDidStartDebugSession((s) => {
        if (s.name === name) session = s;
      });
      // debugpy stops on an uncaught SystemExit with a non-zero code (as in the Python Debugger); continue, as a user would.
      const stops: string[] = [];
      const continuer = vscode.debug.registerDebugAdapterTrackerFactory('debugpy', {
        createDebugAdapterTracker: (s) => (s.name !== name ? undefined : {
          onDidSendMessage: (m: { type?: string; event?: string; body?: { reason?: string; threadId?: number } }) => {
            if (m.type !== 'event' || m.event !== 'stopped') return;
            stops.push(m.body?.reason ?? '?');
            void s.customRequest('continue', { threadId: m.body?.threadId }).then(undefined, () => undefined);
          },
        }),
      });
      let endSub: vscode.Disposable | undefined;
      const ended = new Promise<void>((resolve) => {
        endSub = vscode.debug.onDidTerminateDebugSession((s) => {
          if (s.name === name) resolve();
        });
      });
      const t0 = Date.now();
      try {
        const config = { type: 'debugpy', request: 'launch', name, program: '${workspaceFolder}/epochs.py', args: [String(exit)], console: consoleMode };
        assert.ok(await step('start debugging', vscode.debug.startDebugging(folder, config), 30_000), 'startDebugging returned false');
        await step('debug session ends', ended, 60_000);
        const run = await waitForRun((r) => r.source === 'debug' && !known.has(r.id), 10_000);
        console.log(`watch: debugpy session (${consoleMode}, exit ${exit}) started and recorded in ${Date.now() - t0} ms`);
        assert.equal(run.exitCode, exit, 'the exit code from the adapter\'s exited event');
        assert.deepEqual(run.primary, { name: 'val_accuracy', value: 0.85, direction: 'higher' });
        assert.equal(run.metrics.find((m) => m.name === 'val_accuracy')?.count, 3);
        assert.match(run.outputHead + run.outputTail, /Epoch 3\/3 - loss: 0\.3333 - val_accuracy: 0\.8500/);
        assert.match(run.command!, new RegExp(`epochs\\.py ${exit}$`));
        assert.equal(run.code?.path, 'epochs.py');
        assert.equal(session?.configuration.redirectOutput, true, 'our DebugConfigurationProvider set redirectOutput');
        assert.deepEqual(stops, exit === 0 ? [] : ['exception'], 'stopped only on the non-zero SystemExit');
        // One run for one session: the debugger's own terminal command is not recorded again by the terminal watcher.
        const added = runs().filter((r) => !known.has(r.id));
        assert.deepEqual(added.map((r) => r.source), ['debug'], JSON.stringify(added.map((r) => [r.source, r.command])));
        assert.equal(api.runs.recorder.activeRuns().length, 0);
      } finally {
        startSub.dispose();
        continuer.dispose();
        endSub?.dispose();
        for (const t of vscode.window.terminals) if (!terminalsBefore.has(t)) t.dispose();
      }
    });
  }

  it('records a notebook cell executed by a notebook controller', async function () {
    this.timeout(300_000); // the named steps below allow 60 + 60 + 30 + 60 + 15 s
    // The controller exists before the notebook opens and prefers it, so the workbench knows the kernel when asked.
    const controller = vscode.notebooks.createNotebookController('ideator-watch-test', 'jupyter-notebook', 'Watch test kernel');
    controller.supportedLanguages = ['python'];
    controller.executeHandler = async (cells) => {
      for (const cell of cells) {
        const exec = controller.createNotebookCellExecution(cell);
        exec.executionOrder = 1;
        exec.start(Date.now());
        await exec.replaceOutput([
          new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.stdout('epoch 0 val_f1: 0.5\nepoch 1 val_f1: 0.6\nepoch 2 val_f1: 0.7\n')]),
        ]);
        exec.end(true, Date.now() + 5);
      }
    };
    try {
      const data = new vscode.NotebookData([
        new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'for e in range(3):\n    print(f"epoch {e} val_f1: {0.5 + e / 10}")', 'python'),
      ]);
      // Opening, showing and executing each wait for the workbench's answer: up to 60 s each, as showNotebook does
      // (on a loaded CI machine its answer once took over 20 s; the whole test took 4 s here with the workbench 4x slower).
      const nb = await step('open the notebook', vscode.workspace.openNotebookDocument('jupyter-notebook', data), 60_000);
      await showNotebook(nb);
      controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
      await selectKernel(controller, nb, EXTENSION_ID);
      // With the kernel selected, executing the cell cannot open a kernel picker.
      await step('execute the cell', Promise.resolve(vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: 0, end: 1 }], document: nb.uri })), 60_000);
      const run = await waitForRun((r) => r.source === 'notebook', 15_000);
      assert.deepEqual(run.primary, { name: 'val_f1', value: 0.7, direction: 'higher' });
      assert.equal(run.exitCode, 0);
      assert.match(run.command!, /cell 1: for e in range\(3\):/);
      assert.match(run.code?.content ?? '', /# %% \[cell 1\]\nfor e in range\(3\)/);
    } finally {
      controller.dispose();
    }
  });

  it(`keeps memory bounded while a run prints ${BIG_MB} MB`, async function () {
    this.timeout(600_000);
    const terminal = await bashTerminal('watch-big');
    const gc = collectGarbage();
    gc();
    const baseHeap = process.memoryUsage().heapUsed;
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    try {
      const exit = await execute(terminal, `${PYTHON} big_output.py ${BIG_MB}`, 540_000);
      assert.equal(exit, 0);
      const run = await waitForRun((r) => r.source === 'terminal' && !!r.command?.includes('big_output.py'), 30_000);
      peak = Math.max(peak, process.memoryUsage().rss);
      const growthMB = (peak - base) / 1024 / 1024;
      gc();
      const retainedMB = (process.memoryUsage().heapUsed - baseHeap) / 1024 / 1024;
      console.log(`watch: ${BIG_MB} MB run: ${(run.outputBytes / 1e6).toFixed(0)} MB seen, extension host peak RSS growth ${growthMB.toFixed(1)} MB, heap retained after GC ${retainedMB.toFixed(1)} MB`);
      // What stays after the run is the bounded record (head 64K + tail 256K chars, as UTF-16) and bookkeeping.
      assert.ok(retainedMB < 16, `heap retained ${retainedMB.toFixed(1)} MB after a ${BIG_MB} MB run`);
      assert.ok(run.outputBytes >= BIG_MB * 0.95e6, `outputBytes ${run.outputBytes}`);
      assert.ok(run.outputHead.length <= 64 * 1024 && run.outputTail.length <= 256 * 1024);
      assert.match(run.outputTail, /\nval_rmse: 0\.4321\n?$/);
      assert.deepEqual(run.primary, { name: 'val_rmse', value: 0.4321, direction: 'lower' });
      // Bounded: the host did not keep the output (growth well below what was printed).
      assert.ok(growthMB < Math.max(150, BIG_MB * 0.5), `extension host grew ${growthMB.toFixed(0)} MB for ${BIG_MB} MB printed`);
    } finally {
      clearInterval(sampler);
      terminal.dispose();
    }
  });

  it(`keeps memory bounded while an ideator task prints ${TASK_BIG_MB} MB`, async function () {
    this.timeout(300_000);
    await vscode.workspace.getConfiguration('ideator').update('pythonPath', PYTHON, vscode.ConfigurationTarget.Global);
    const gc = collectGarbage();
    try {
      const task = await tasksJsonTask('big');
      gc();
      const base = process.memoryUsage();
      const peak = { rss: base.rss, external: base.external };
      const sample = () => {
        const m = process.memoryUsage();
        peak.rss = Math.max(peak.rss, m.rss);
        peak.external = Math.max(peak.external, m.external);
      };
      const sampler = setInterval(sample, 50);
      const started = Date.now();
      try {
        await vscode.tasks.executeTask(task);
        const run = await waitForRun((r) => r.source === 'task' && !!r.command?.includes(`big_output.py ${TASK_BIG_MB}`), 240_000);
        // The terminal is still drawing what was shown: memory must stay flat while it does.
        await new Promise((r) => setTimeout(r, 3000));
        sample();
        const growthMB = (peak.rss - base.rss) / 1e6;
        const externalMB = (peak.external - base.external) / 1e6;
        console.log(
          `watch: ideator task printed ${(run.outputBytes / 1e6).toFixed(0)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s; extension host peak RSS growth ${growthMB.toFixed(1)} MB, external buffers ${externalMB.toFixed(1)} MB`,
        );
        assert.ok(run.outputBytes >= TASK_BIG_MB * 0.95e6, `outputBytes ${run.outputBytes}`);
        assert.deepEqual(run.primary, { name: 'val_rmse', value: 0.4321, direction: 'lower' });
        assert.match(run.outputTail, /\nval_rmse: 0\.4321\n?$/);
        assert.equal(run.exitCode, 0);
        // Without the display throttle the queued terminal writes alone were ~1.7x the output (170 MB per 100 MB).
        assert.ok(externalMB < 32, `terminal writes queued: external buffers grew ${externalMB.toFixed(0)} MB`);
        assert.ok(growthMB < 96, `extension host grew ${growthMB.toFixed(0)} MB while a task printed ${TASK_BIG_MB} MB`);
      } finally {
        clearInterval(sampler);
      }
    } finally {
      await vscode.workspace.getConfiguration('ideator').update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('shows the Run History tree and the score chart', async () => {
    // An idea with an outcome, so the chart has a coloured marker and the tree an idea row.
    const store = api.runs.recorder.store;
    const last = store.runs().filter((r) => r.primary?.name === 'val_accuracy').pop()!;
    store.appendIdea({
      id: 'watch-idea-1',
      createdAt: new Date().toISOString(),
      raw: 'ANALYSIS: a\nACTION: Add <b>label smoothing</b> & a cosine schedule\nRATIONALE: r',
      parsed: { ok: true, analysis: 'a', action: 'Add <b>label smoothing</b> & a cosine schedule', rationale: 'r', codeBlocks: [], errors: [] },
      type: 'Model Training',
    });
    store.appendApplied({ ideaId: 'watch-idea-1', path: 'epochs.py', at: new Date().toISOString() });
    const terminal = await bashTerminal('watch-after-idea');
    await execute(terminal, `${PYTHON} epochs.py 0`);
    const after = await waitForRun((r) => r.ideaId === 'watch-idea-1', 10_000);
    assert.notEqual(after.id, last.id);
    const outcome = store.outcomeFor('watch-idea-1');
    assert.equal(outcome?.status, 'not_improved', 'same score as the best: not an improvement');
    assert.equal(outcome?.reward, 0);
    terminal.dispose();

    await vscode.commands.executeCommand('ideator.runHistory.focus');
    await vscode.commands.executeCommand('ideator.scoreChart.focus');
    await new Promise((r) => setTimeout(r, 1500));
    const html = api.runs.chart.html({ cspSource: 'vscode-resource:', asWebviewUri: (u: vscode.Uri) => u } as unknown as vscode.Webview);
    assert.match(html, /Content-Security-Policy" content="default-src 'none';/);
    assert.match(html, /class="pt idea not-improved"/);
    assert.ok(html.includes('Add &lt;b&gt;label smoothing&lt;/b&gt; &amp; a cosine schedule'));
    assert.ok(!html.includes('<b>label'));
  });

  it("asks the Ideator from an older run: that run's trajectory prefix, score and code", async () => {
    const first = runs().find((r) => r.source === 'terminal' && !!r.command?.includes('epochs.py 0'))!;
    assert.ok(first, 'the first terminal run is in the history');
    const script = vscode.Uri.joinPath(folder.uri, 'epochs.py').fsPath;
    writeFileSync(script, EPOCHS_PY + '# edited after the runs\n');
    const server = await startOpenAIServer({ responses: [{ text: FROM_RUN_ANSWER, chunkSize: 40 }] });
    const cfg = vscode.workspace.getConfiguration('ideator');
    const G = vscode.ConfigurationTarget.Global;
    try {
      await cfg.update('provider', 'openai', G);
      await cfg.update('baseUrl', server.url, G);
      await cfg.update('model', 'ideator-test', G);
      await cfg.update('reviewQueryBeforeSending', false, G);
      const outcome = await step(
        'ask from the run',
        vscode.commands.executeCommand<{ status: string; idea?: IdeaRecord; error?: string }>('ideator.history.askFromRun', { runId: first.id }),
        30_000,
      );
      assert.equal(outcome?.status, 'ok', outcome?.error);
      assert.equal(outcome.idea?.runId, first.id);
      assert.deepEqual(outcome.idea?.scoreBefore, { value: 0.85, direction: 'higher', metric: 'val_accuracy' });
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, script, 'the run\'s script is opened as the target');
      const prompt = JSON.stringify(server.requests[0].messages);
      assert.ok(prompt.includes('Keras-like'), 'the code the run executed is in the prompt');
      assert.ok(!prompt.includes('edited after the runs'), 'the later edit is not the state of that run');
      assert.ok(prompt.includes('epochs.py 0'), 'the run itself is in the trajectory');
      for (const later of ['epochs.py 3', 'big_output.py']) assert.ok(!prompt.includes(later), `a later run (${later}) leaked into the trajectory`);
    } finally {
      for (const key of ['provider', 'baseUrl', 'model', 'reviewQueryBeforeSending']) await cfg.update(key, undefined, G);
      writeFileSync(script, EPOCHS_PY);
      await server.close();
    }
  });

  it('classifies a new idea by keywords when no model answers, and reports per-type rates', async () => {
    const store = api.runs.recorder.store;
    store.appendIdea({
      id: 'watch-classify-1',
      createdAt: new Date().toISOString(),
      raw: 'ANALYSIS: a\nACTION: Add polynomial features and a target encoding of the city column\nRATIONALE: r',
      parsed: { ok: true, analysis: 'a', action: 'Add polynomial features and a target encoding of the city column', rationale: 'r', codeBlocks: [], errors: [] },
    });
    assert.equal(store.idea('watch-classify-1')?.type, 'Feature Engineering');
    const rates = api.runs.ideaTypeRates();
    assert.equal(rates.length, 6);
    assert.ok(rates.find((r) => r.type === 'Feature Engineering')!.count >= 1);
    const training = rates.find((r) => r.type === 'Model Training')!;
    assert.ok(training.judged >= 1, JSON.stringify(training));
  });

  it('exports the seek-help states with their outcomes as JSONL in the server state format', async () => {
    const target = join(tmpdir(), `ideator-export-${Date.now()}.jsonl`);
    const result = await vscode.commands.executeCommand<{ count: number; path: string }>('ideator.exportStates', target);
    assert.ok(result && result.count >= 1, JSON.stringify(result));
    const lines = readFileSync(target, 'utf8').trim().split('\n').map((l) => ExportLineSchema.parse(JSON.parse(l)));
    const line = lines.find((l) => l.ideaId === 'watch-idea-1');
    assert.ok(line, 'the judged idea is exported');
    IdeatorStateSchema.parse(line.state);
    assert.equal(line.outcome?.status, 'not_improved');
    assert.ok(line.state.taskDescription.length > 10, 'task description from TASK.md');
    assert.ok(line.state.trajectory.some((s) => s.kind === 'execute' && /epochs\.py/.test(s.action)));
  });
});
