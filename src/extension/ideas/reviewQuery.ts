/**
 * Shows the drafted seek-help query before it is sent (unless `ideator.reviewQueryBeforeSending` is off): a quick
 * pick whose first item sends, the others edit one part each. Returns undefined when the user backs out.
 */
import * as vscode from 'vscode';
import type { SeekHelpQuery } from '../../core/protocol';

type Choice = 'send' | 'problem' | 'attempts' | 'goal';

function clip(text: string, n = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > n ? flat.slice(0, n - 1) + '…' : flat;
}

export async function reviewQuery(initial: SeekHelpQuery, providerLabel: string): Promise<SeekHelpQuery | undefined> {
  const q: SeekHelpQuery = { ...initial, attemptsSoFar: [...initial.attemptsSoFar] };
  for (;;) {
    const items: (vscode.QuickPickItem & { choice: Choice })[] = [
      { choice: 'send', label: '$(send) Send to the Ideator', detail: providerLabel, alwaysShow: true },
      { choice: 'problem', label: '$(edit) Problem statement', detail: clip(q.problemStatement) },
      {
        choice: 'attempts',
        label: `$(edit) Attempts so far (${q.attemptsSoFar.length})`,
        detail: q.attemptsSoFar.length ? clip(q.attemptsSoFar.map((a, i) => `${i + 1}. ${a}`).join('  ')) : 'none yet; add what you have tried',
      },
      { choice: 'goal', label: '$(edit) Goal', detail: clip(q.goal) },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Ask Ideator: check what will be asked',
      placeHolder: 'Enter sends; pick a part to edit it first',
      ignoreFocusOut: true,
      matchOnDetail: false,
    });
    if (!picked) return undefined;
    if (picked.choice === 'send') return q;
    if (picked.choice === 'problem') {
      const v = await vscode.window.showInputBox({ title: 'Problem statement', value: q.problemStatement, ignoreFocusOut: true, validateInput: (s) => (s.trim() ? undefined : 'Cannot be empty') });
      if (v !== undefined) q.problemStatement = v.trim();
    } else if (picked.choice === 'goal') {
      const v = await vscode.window.showInputBox({ title: 'Goal', value: q.goal, ignoreFocusOut: true, validateInput: (s) => (s.trim() ? undefined : 'Cannot be empty') });
      if (v !== undefined) q.goal = v.trim();
    } else {
      const v = await vscode.window.showInputBox({
        title: 'Add an attempt (what you tried and what happened); empty clears the list',
        placeHolder: 'e.g. Tried a deeper random forest: val AUC 0.81 → 0.80',
        ignoreFocusOut: true,
      });
      if (v !== undefined) q.attemptsSoFar = v.trim() ? [...q.attemptsSoFar, v.trim()] : [];
    }
  }
}
