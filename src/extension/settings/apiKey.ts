/** "Ideator: Set API Key" / "Ideator: Clear API Key": keys go to SecretStorage only. */
import * as vscode from 'vscode';
import type { ProviderKind } from '../../core/protocol';
import { KEYED_PROVIDERS } from './secrets';
import type { Services } from '../services';

async function pickProvider(services: Services, placeHolder: string, given?: unknown): Promise<ProviderKind | undefined> {
  if (typeof given === 'string' && (KEYED_PROVIDERS as string[]).includes(given)) return given as ProviderKind;
  const current = services.config().config.provider;
  const items = KEYED_PROVIDERS.map((kind) => ({ label: kind, description: kind === current ? 'current provider' : undefined }));
  items.sort((a, b) => (a.label === current ? -1 : b.label === current ? 1 : 0));
  return (await vscode.window.showQuickPick(items, { placeHolder }))?.label as ProviderKind | undefined;
}

export function registerKeyCommands(services: Services): vscode.Disposable {
  return vscode.Disposable.from(
    // Arguments (provider, key) let scripts and tests set a key without the input box.
    vscode.commands.registerCommand('ideator.setApiKey', async (providerArg?: unknown, keyArg?: unknown) => {
      const kind = await pickProvider(services, 'Which provider is this key for?', providerArg);
      if (!kind) return false;
      const key =
        typeof keyArg === 'string'
          ? keyArg
          : await vscode.window.showInputBox({
              prompt: `API key for ${kind} (stored in VS Code's secret storage, never in settings)`,
              password: true,
              ignoreFocusOut: true,
              validateInput: (v) => (v.trim() ? undefined : 'The key cannot be empty'),
            });
      if (key === undefined) return false;
      await services.secrets.set(kind, key);
      void vscode.window.showInformationMessage(`MLE Ideator: API key for ${kind} stored.`);
      return true;
    }),
    vscode.commands.registerCommand('ideator.clearApiKey', async (providerArg?: unknown) => {
      const kind = await pickProvider(services, 'Clear the stored API key of which provider?', providerArg);
      if (!kind) return false;
      await services.secrets.clear(kind);
      void vscode.window.showInformationMessage(`MLE Ideator: API key for ${kind} removed.`);
      return true;
    }),
  );
}
