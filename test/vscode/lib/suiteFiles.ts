/**
 * For the extension-host suites (test/vscode/suite, bundled with 'vscode' external): files a test changed put back.
 */
import { writeFileSync } from 'node:fs';
import * as vscode from 'vscode';

/**
 * Writes `text` to the file and, when its open document still holds something else (an edit the file system
 * watcher has not reverted yet, an unsaved apply), reverts that document from disk.
 */
export async function putBack(uri: vscode.Uri, text: string): Promise<void> {
  writeFileSync(uri.fsPath, text);
  const doc = await vscode.workspace.openTextDocument(uri);
  if (doc.getText() !== text) {
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }
}
