/**
 * Gathers the Ideator's state s_t from the workspace: task description, trajectory, current score and code.
 * Only runs when the user asks (never at activation).
 */
import * as vscode from 'vscode';
import { scoreStateOf } from '../../core/runResults';
import type { IdeatorState, Run, ScoreState, Step } from '../../core/protocol';
import type { Services } from '../services';

const TASK_FILES = ['TASK.md', 'task.md', 'description.md', 'DESCRIPTION.md'];
const REMEMBERED_TASK_KEY = 'ideator.taskDescription.remembered';
/** Files bigger than this are sent head + tail, so one huge generated file cannot blow the prompt. */
const MAX_CODE_CHARS = 120_000;

export class UserCancelled extends Error {
  constructor() {
    super('cancelled by the user');
  }
}

export interface TargetCode {
  uri: vscode.Uri;
  /** Workspace-relative path (the key ideas are cached under). */
  relativePath: string;
  code: string;
  isNotebook: boolean;
}

/** The code the user is looking at: the active text editor, else the active notebook's cells. */
export function activeTarget(): TargetCode | undefined {
  const nb = vscode.window.activeNotebookEditor?.notebook;
  // From the Idea panel's buttons focus is in a webview; the visible editor is still what the user means.
  const editor = vscode.window.activeTextEditor ?? (nb ? undefined : vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'file'));
  if (editor && editor.document.uri.scheme !== 'vscode-notebook-cell' && editor.document.uri.scheme !== 'output') return textTarget(editor.document);
  if (nb) return notebookTarget(nb);
  return undefined;
}

/** A file named by path (agent mode): a notebook's cells or a text file's content, as open in the editor (unsaved edits included). */
export async function targetOf(uri: vscode.Uri): Promise<TargetCode> {
  if (uri.path.endsWith('.ipynb')) return notebookTarget(await vscode.workspace.openNotebookDocument(uri));
  return textTarget(await vscode.workspace.openTextDocument(uri));
}

function textTarget(doc: vscode.TextDocument): TargetCode {
  return { uri: doc.uri, relativePath: vscode.workspace.asRelativePath(doc.uri, false), code: doc.getText(), isNotebook: false };
}

function notebookTarget(nb: vscode.NotebookDocument): TargetCode {
  const cells = nb.getCells().map((cell, i) => {
    const header = cell.kind === vscode.NotebookCellKind.Markup ? `# %% [markdown] cell ${i + 1}` : `# %% cell ${i + 1}`;
    const body = cell.kind === vscode.NotebookCellKind.Markup ? cell.document.getText().replace(/^/gm, '# ') : cell.document.getText();
    return `${header}\n${body}`;
  });
  return { uri: nb.uri, relativePath: vscode.workspace.asRelativePath(nb.uri, false), code: cells.join('\n\n'), isNotebook: true };
}

function boundCode(code: string): string {
  if (code.length <= MAX_CODE_CHARS) return code;
  const half = Math.floor(MAX_CODE_CHARS / 2);
  return `${code.slice(0, half)}\n# … [${code.length - MAX_CODE_CHARS} characters cut] …\n${code.slice(-half)}`;
}

async function readTaskFile(): Promise<string | undefined> {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    for (const name of TASK_FILES) {
      const uri = vscode.Uri.joinPath(folder.uri, name);
      try {
        const bytes = await vscode.workspace.fs.readFile(uri);
        const text = new TextDecoder().decode(bytes).trim();
        if (text) return text;
      } catch {
        // not there: try the next name
      }
    }
  }
  return undefined;
}

/** Task description: setting, else TASK.md / description.md, else the remembered answer, else ask once. */
export async function taskDescription(services: Services, askIfMissing = true): Promise<string> {
  const fromSetting = services.config().config.taskDescription;
  if (fromSetting) return fromSetting;
  const fromFile = await readTaskFile();
  if (fromFile) return fromFile;
  const remembered = services.context.workspaceState.get<string>(REMEMBERED_TASK_KEY);
  if (remembered) return remembered;
  if (!askIfMissing) return '';
  const answer = await promptTaskDescription(services);
  if (answer === undefined) throw new UserCancelled();
  return answer;
}

export async function promptTaskDescription(services: Services, given?: string): Promise<string | undefined> {
  const answer =
    given ??
    (await vscode.window.showInputBox({
      title: 'MLE Ideator: describe the task (asked once; add a TASK.md for a longer description)',
      prompt: 'What are you predicting, from which data, and which metric scores it?',
      placeHolder: 'e.g. Predict customer churn from tabular data (train.csv); metric: ROC AUC on the validation split.',
      value: services.context.workspaceState.get<string>(REMEMBERED_TASK_KEY) ?? '',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim().length < 10 ? 'A sentence or two, please (at least 10 characters)' : undefined),
    }));
  if (answer === undefined) return undefined;
  await services.context.workspaceState.update(REMEMBERED_TASK_KEY, answer.trim());
  return answer.trim();
}

export function currentScoreState(services: Services): ScoreState {
  const score = services.currentScore();
  const cfg = services.config().config;
  const direction = score?.direction ?? (cfg.metricDirection === 'lower' ? 'lower' : 'higher');
  return { value: score?.value ?? null, direction, metric: score?.metric ?? cfg.primaryMetric };
}

/** Just after the run ended: ISO strings compare in time order, and `until` is exclusive. */
function justAfter(run: Run): string {
  return new Date(Date.parse(run.endedAt ?? run.startedAt) + 1).toISOString();
}

/**
 * The state s_t, now or (with `fromRun`, "Ask Ideator from this run" in the Run History) as it was at that run: the
 * trajectory up to and including it, its own primary score as p_t and the code it executed as C_t (the pair the
 * paper scores an idea against). Without a code snapshot the open file stands in; without a score the current one.
 */
export async function gatherState(services: Services, target: TargetCode, fromRun?: Run, asOf?: { until: string; score?: ScoreState }): Promise<IdeatorState> {
  let trajectory: Step[] = [];
  try {
    // `asOf` (a follow-up): the trajectory and score as they were when the idea was asked, the idea itself left out.
    const untilRun = fromRun ? justAfter(fromRun) : undefined;
    const until = asOf && (!untilRun || asOf.until < untilRun) ? asOf.until : untilRun;
    trajectory = services.history?.toTrajectory(until ? { until } : {}) ?? [];
  } catch (err) {
    services.output.warn(`Run history unavailable, asking with an empty trajectory: ${(err as Error).message}`);
  }
  const folder = vscode.workspace.getWorkspaceFolder(target.uri);
  let code = target.code;
  let codePath = target.relativePath;
  let score = asOf?.score ?? currentScoreState(services);
  if (fromRun) {
    const snap = fromRun.code;
    const content = snap ? (snap.content ?? services.history?.codeContent(snap.hash)) : undefined;
    if (snap && content !== undefined) {
      code = content;
      codePath = snap.path ?? codePath;
      if (content !== target.code) {
        services.output.info(`${target.relativePath} changed since run ${fromRun.id}: the Ideator sees the code that run executed.`);
      }
    }
    if (fromRun.primary) score = scoreStateOf(fromRun.primary);
  }
  return {
    taskId: folder?.name ?? vscode.workspace.name,
    taskDescription: await taskDescription(services),
    trajectory,
    score,
    code: boundCode(code),
    codePath,
  };
}
