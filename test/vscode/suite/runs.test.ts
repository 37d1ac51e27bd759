/**
 * The run itself (#15), in a real VS Code (code-server's extension host): three runs of an epoch-printing script
 * are recorded through the recorder (the path every watcher takes), then
 *   - clicking a run in the Run History shows its per-epoch curves in the Score Chart (train vs validation, the x
 *     axis named), and "All runs" goes back;
 *   - Compare Runs on two runs opens the comparison page (metrics under the score choice, Δ, command lines,
 *     durations) and its code diff opens VS Code's diff editor between the two runs' code snapshots;
 *   - the setting ideator.runScore switches every score (rows, chart subtitle, best so far, status bar, the outcome
 *     of an idea) between the last and the best epoch.
 * The runs, the idea and the setting are removed afterwards, so the suites after this one see the history as before.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { IdeatorApi } from '../../../src/extension/extension';
import type { Run } from '../../../src/core/protocol';
import type { ComparisonShown } from '../../../src/extension/runs/compare';
import type { RunItem } from '../../../src/extension/views/runHistoryTree';

/** A run row of the tree (the suite's bundle has its own copy of the class, so no instanceof). */
const isRunItem = (i: vscode.TreeItem): i is RunItem => 'row' in i;

const EXTENSION_ID = 'mle-ideator.mle-ideator';

/** A script whose val_f1 peaks at `peak` in epoch 3 and ends at `last` in epoch 5 (train_loss falls). */
function script(tag: string): string {
  return `# ${tag}\nimport sys\npeak, last = float(sys.argv[1]), float(sys.argv[2])\nfor e in range(1, 6):\n    auc = peak - 0.05 * abs(3 - e) if e < 5 else last\n    print(f"epoch {e}: train_loss={1 / (e + 1):.4f} val_loss={1.2 / (e + 1):.4f} val_f1={auc:.4f}")\n`;
}
/** What that script prints. */
function output(peak: number, last: number): string {
  let out = '';
  for (let e = 1; e <= 5; e++) {
    const auc = e < 5 ? peak - 0.05 * Math.abs(3 - e) : last;
    out += `epoch ${e}: train_loss=${(1 / (e + 1)).toFixed(4)} val_loss=${(1.2 / (e + 1)).toFixed(4)} val_f1=${auc.toFixed(4)}\r\n`;
  }
  return out;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('The run itself: curves, two runs side by side, best vs last epoch (#15)', function () {
  this.timeout(60_000);
  let api: IdeatorApi;
  let folder: vscode.Uri;
  const added: Run[] = [];
  const webview = { cspSource: 'vscode-resource:', asWebviewUri: (u: vscode.Uri) => u } as unknown as vscode.Webview;

  /** Records one run of the script as the watchers do: begin (code snapshot), output, complete. */
  async function record(file: string, peak: number, last: number, ms: number): Promise<Run> {
    const started = new Date(Date.now() - ms);
    const pending = api.runs.recorder.begin({ source: 'terminal', command: `python ${file} ${peak} ${last}`, scriptPath: vscode.Uri.joinPath(folder, file).fsPath, startedAt: started });
    pending.push(output(peak, last));
    const run = await api.runs.recorder.complete(pending, 0, new Date());
    assert.ok(run, 'the run was recorded');
    added.push(run);
    return run;
  }

  before(async () => {
    api = await vscode.extensions.getExtension<IdeatorApi>(EXTENSION_ID)!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri;
    await vscode.workspace.getConfiguration('ideator').update('runScore', undefined, vscode.ConfigurationTarget.Global);
    writeFileSync(vscode.Uri.joinPath(folder, 'epochs_a.py').fsPath, script('version a'));
    writeFileSync(vscode.Uri.joinPath(folder, 'epochs_b.py').fsPath, script('version b'));
    await record('epochs_a.py', 0.9, 0.8, 2_000);
    // Same file, changed code: the second snapshot differs from the first.
    writeFileSync(vscode.Uri.joinPath(folder, 'epochs_a.py').fsPath, script('version a, lr halved'));
    await record('epochs_a.py', 0.88, 0.86, 65_000);
    await record('epochs_b.py', 0.87, 0.87, 3_000);
  });

  after(async () => {
    api.runs.chart.showAll();
    await vscode.workspace.getConfiguration('ideator').update('runScore', undefined, vscode.ConfigurationTarget.Global);
    for (const r of added) api.runs.recorder.store.deleteRun(r.id);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('clicking a run in the Run History shows its per-epoch curves, train vs validation, x axis named; back to all runs', async () => {
    const [, second] = added;
    await vscode.commands.executeCommand('ideator.runHistory.focus');
    const { view, provider } = api.runs.history;
    await until(() => provider.itemFor(second.id) !== undefined, 10_000, 'the run in the tree');
    const item = provider.itemFor(second.id)!;
    assert.ok(isRunItem(item));
    await view.reveal(item, { select: true, focus: true });
    // Focusing and selecting alone leave the chart as it is; a click runs the row's command.
    assert.equal(api.runs.chart.focusedRun(), undefined);
    await vscode.commands.executeCommand(item.command!.command, ...(item.command!.arguments ?? []));
    await until(() => api.runs.chart.focusedRun() === second.id, 10_000, 'the chart to show the selected run');
    const html = api.runs.chart.html(webview);
    assert.match(html, /<body data-ideator-view="score-chart" class="run-view">/);
    // The extension's one page shell: nothing by default, the script only with this page's nonce, no images.
    assert.match(html, /content="default-src 'none'; style-src [^;]+; script-src 'nonce-([^']+)'; font-src [^"]+">[\s\S]*<script nonce="\1" src=/);
    assert.match(html, /data-axis="epoch"/);
    assert.match(html, /class="curve validation c0" data-metric="val_loss"/);
    assert.match(html, /class="curve train c1" data-metric="train_loss"/);
    assert.match(html, /val_f1 0\.86 \(last epoch; last 0\.86, best 0\.88 at epoch 3\)/);
    assert.match(html, /data-action="back"/);
    // Points at epochs 1..5: the val_f1 polyline has five points.
    const auc = /data-metric="val_f1"><title>[^<]*<\/title><polyline points="([^"]+)"/.exec(html);
    assert.equal(auc?.[1].split(' ').length, 5);
    api.runs.chart.showAll();
    assert.equal(api.runs.chart.focusedRun(), undefined);
    assert.match(api.runs.chart.html(webview), /<body data-ideator-view="score-chart" class="runs-view">[\s\S]*each run&#39;s score: its last epoch/);
    // The context menu's command shows it too.
    assert.equal(await vscode.commands.executeCommand('ideator.history.showCurves', { runId: added[0].id }), true);
    assert.equal(api.runs.chart.focusedRun(), added[0].id);
  });

  it('Compare Runs shows both runs side by side and their code diff opens in the diff editor', async () => {
    const [first, second] = added;
    const shown = await vscode.commands.executeCommand<ComparisonShown>('ideator.history.compare', [second.id, first.id]);
    assert.ok(shown, 'a comparison was shown');
    assert.deepEqual([shown.a, shown.b], [first.id, second.id], 'oldest first');
    assert.deepEqual([shown.comparison.score.a, shown.comparison.score.b, shown.comparison.score.better], [0.8, 0.86, 'b']);
    assert.equal(shown.comparison.sameCode, false);
    assert.ok(shown.html.includes(`python epochs_a.py 0.9 0.8`) && shown.html.includes(`python epochs_a.py 0.88 0.86`), 'both command lines');
    assert.match(shown.html, /<td>1m 05s<\/td>/);
    assert.match(shown.html, /<td class="num delta up">\+0\.06<\/td>/);
    await until(() => vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputWebview, 10_000, 'the comparison as an editor tab');
    assert.match(vscode.window.tabGroups.activeTabGroup.activeTab!.label, /Runs #\d+ ↔ #\d+/);

    assert.equal(await vscode.commands.executeCommand('ideator.history.diffRuns', first.id, second.id), true);
    await until(() => vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputTextDiff, 10_000, 'the diff editor');
    const diff = vscode.window.tabGroups.activeTabGroup.activeTab!.input as vscode.TabInputTextDiff;
    assert.equal(diff.original.scheme, 'ideator-run');
    const [left, right] = await Promise.all([vscode.workspace.openTextDocument(diff.original), vscode.workspace.openTextDocument(diff.modified)]);
    assert.match(left.getText(), /^# version a\n/);
    assert.match(right.getText(), /^# version a, lr halved\n/);
  });

  it('ideator.runScore switches every score between the last and the best epoch, the outcome of an idea included', async () => {
    const store = api.runs.recorder.store;
    const mine = () => store.runs().filter((r) => added.some((a) => a.id === r.id));
    assert.deepEqual(mine().map((r) => r.primary!.value), [0.8, 0.86, 0.87]);
    await vscode.workspace.getConfiguration('ideator').update('runScore', 'best', vscode.ConfigurationTarget.Global);
    await until(() => api.runs.recorder.scoreChoice() === 'best', 10_000, 'the store to read best epochs');
    assert.deepEqual(mine().map((r) => r.primary!.value), [0.9, 0.88, 0.87]);
    assert.equal(store.bestScore()?.value, 0.9);
    assert.equal(api.services.currentScore()?.value, 0.9, 'the status bar shows the best so far under the choice');
    api.runs.chart.showAll();
    assert.match(api.runs.chart.html(webview), /each run&#39;s score: its best epoch/);
    const item = api.runs.history.provider.getChildren().filter(isRunItem).find((i) => i.row.run.id === added[0].id)!;
    assert.match(String(item.label), /^#\d+ {2}0\.9 /);
    assert.match(String(item.description), /val_f1 \(best epoch\)/);
    assert.match((item.tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1'), /val_f1 = 0\.9: the run's best epoch; last 0\.8, best 0\.9/);

    // An idea applied, then a run whose best epoch (0.95) beats the best so far (0.9) while its last (0.85) does not.
    const ideaId = `runs-suite-idea-${Date.now()}`;
    store.appendIdea({ id: ideaId, createdAt: new Date().toISOString(), raw: 'x', parsed: { ok: true, analysis: 'a', action: 'Keep the best checkpoint', rationale: 'r', codeBlocks: [], errors: [] } });
    store.appendApplied({ ideaId, at: new Date().toISOString() });
    await new Promise((r) => setTimeout(r, 50));
    const judged = await record('epochs_b.py', 0.95, 0.85, 0);
    const outcome = store.outcomeFor(ideaId);
    assert.equal(judged.ideaId, ideaId);
    assert.deepEqual([outcome?.status, outcome?.after], ['improved', 0.95]);

    // Back to the last epoch: the same runs read 0.8 / 0.86 / 0.87 / 0.85 again.
    await vscode.workspace.getConfiguration('ideator').update('runScore', 'last', vscode.ConfigurationTarget.Global);
    await until(() => api.runs.recorder.scoreChoice() === 'last', 10_000, 'the store to read last epochs');
    assert.deepEqual(mine().map((r) => r.primary!.value), [0.8, 0.86, 0.87, 0.85]);
  });
});
