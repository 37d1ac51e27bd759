/** Status bar item: which provider answers, and the last score; a click opens the Idea panel. */
import * as vscode from 'vscode';
import { formatScore as formatValue } from '../core/format';
import { describeScoreChoice } from '../core/metric';
import type { Services } from './services';

export function formatScore(score: Services['lastScore']): string {
  if (!score || score.value === null || !Number.isFinite(score.value)) return 'no score yet';
  return `${score.metric ? score.metric + ' ' : ''}${formatValue(score.value)}${score.direction === 'lower' ? ' ↓' : ' ↑'}`;
}

export function registerStatusBar(services: Services): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('ideator.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'MLE Ideator';
  item.command = 'ideator.openPanel';
  const update = (): void => {
    const { config, ok } = services.config();
    const score = formatScore(services.currentScore());
    item.text = `$(lightbulb) ${config.provider} · ${score}`;
    item.tooltip = new vscode.MarkdownString(
      `**MLE Ideator**\n\nProvider: \`${config.provider}\`${config.model ? ` (model \`${config.model}\`)` : ''}\n\nBest score so far: ${score} (each run scored by its ${describeScoreChoice(config.runScore)}, setting \`ideator.runScore\`)` +
        (ok ? '' : '\n\n$(warning) Some ideator.* settings are invalid; see the Output panel (MLE Ideator).'),
      true,
    );
    item.backgroundColor = ok ? undefined : new vscode.ThemeColor('statusBarItem.warningBackground');
    item.show();
  };
  update();
  return vscode.Disposable.from(
    item,
    services.onDidChangeScore(update),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // Services drops its cached config in its own listener; read after it (listeners run in order of registration).
      if (e.affectsConfiguration('ideator')) setTimeout(update, 0);
    }),
  );
}
