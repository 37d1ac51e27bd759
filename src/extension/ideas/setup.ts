/**
 * Choosing who answers, and fixing what an error points at: "Ideator: Choose Provider" (Claude with a key, an
 * OpenAI-compatible server with a connection test, or the offline example), "Ideator: Pick Model" (the models the
 * server lists on GET /v1/models, written to the model setting), and the fixes an Ask error offers (the panel's
 * buttons and the notification's), each naming a real setting or command.
 */
import * as vscode from 'vscode';
import { ProviderKindSchema, type ProviderKind } from '../../core/protocol';
import { createProvider, describeProviderError } from '../../core/providers/index';
import { ProviderError } from '../../core/providers/types';
import { SECTION } from '../settings/config';
import type { Services } from '../services';
import { makeProvider, modelSettingOf, SettingsError, type ProviderRole } from './provider';

/** Something the user can click to fix an error: a command with its arguments (never built from model text). */
export interface Fix {
  label: string;
  command: string;
  args?: unknown[];
}

export const FIX = {
  pickModel: (role: ProviderRole = 'ideator'): Fix => ({ label: 'Pick a model…', command: 'ideator.pickModel', args: [role] }),
  setApiKey: (kind?: ProviderKind): Fix => ({ label: 'Set API key…', command: 'ideator.setApiKey', args: kind ? [kind] : [] }),
  chooseProvider: (): Fix => ({ label: 'Choose provider…', command: 'ideator.chooseProvider' }),
  openSetting: (key: string): Fix => ({ label: `Open ${SECTION}.${key}`, command: 'workbench.action.openSettings', args: [`${SECTION}.${key}`] }),
};

/** Whether the user (or a workspace) set `ideator.provider`; the default alone means nobody chose yet. */
export function providerChosen(): boolean {
  const i = vscode.workspace.getConfiguration(SECTION).inspect('provider');
  return i?.globalValue !== undefined || i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined;
}

/** Writes a setting where it is currently set (workspace beats user), else in the user settings. */
async function writeSetting(key: string, value: unknown): Promise<void> {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const i = cfg.inspect(key);
  const target = i?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : i?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await cfg.update(key, value, target);
}

/** The one-line hint and the buttons for an Ask (or Apply) failure. */
export function fixesFor(err: unknown, role: ProviderRole, chosen: boolean, provider: ProviderKind): { hint?: string; fixes: Fix[] } {
  if (!(err instanceof ProviderError)) {
    if (err instanceof SettingsError) return { fixes: [FIX.chooseProvider()] };
    return { fixes: [] };
  }
  switch (err.setting) {
    case 'model':
      // The message already says what to do; the buttons do it.
      return { fixes: [FIX.pickModel(role), FIX.openSetting(role === 'implementer' ? 'implementerModel' : 'model')] };
    case 'apiKey':
      return chosen
        ? { hint: 'Store a key with "Ideator: Set API Key", or choose another provider with "Ideator: Choose Provider".', fixes: [FIX.setApiKey(provider), FIX.chooseProvider()] }
        : {
            hint: 'Nobody is set up to answer yet: choose Claude (needs an API key), an OpenAI-compatible server such as vLLM or Ollama, or the offline example.',
            fixes: [FIX.chooseProvider(), FIX.setApiKey(provider)],
          };
    case 'baseUrl':
      return { hint: `Check "${SECTION}.baseUrl" and that the server is running, or choose another provider.`, fixes: [FIX.openSetting('baseUrl'), FIX.chooseProvider()] };
    case 'timeoutMs':
      return { hint: `Give it more time with "${SECTION}.requestTimeoutSeconds", or check the server.`, fixes: [FIX.openSetting('requestTimeoutSeconds')] };
    default:
      return { fixes: err.kind === 'config' ? [FIX.openSetting('maxOutputTokens')] : [] };
  }
}

export interface PickModelResult {
  model?: string;
  error?: string;
}

/**
 * "Ideator: Pick Model": lists the models the configured server serves and writes the chosen one to the model
 * setting of `role`. `choose` replaces the Quick Pick (tests); it gets the offered names and the current one.
 */
export async function pickModel(services: Services, role: ProviderRole = 'ideator'): Promise<PickModelResult> {
  const { config } = services.config();
  const key = modelSettingOf(config, role);
  let models: string[];
  try {
    const provider = await makeProvider(services, role);
    if (!provider.listModels) {
      const error = `The ${config.provider} provider has no list of models; set "${SECTION}.${key}" by hand.`;
      void vscode.window.showInformationMessage(`MLE Ideator: ${error}`);
      return { error };
    }
    const list = provider.listModels.bind(provider);
    models = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'MLE Ideator: asking the server which models it serves' }, () => list(AbortSignal.timeout(30_000)));
  } catch (err) {
    const error = err instanceof SettingsError ? err.message : describeProviderError(err);
    services.output.error(`Listing the models failed: ${error}`);
    void vscode.window.showErrorMessage(`MLE Ideator: could not list the models: ${error}`);
    return { error };
  }
  if (models.length === 0) {
    const error = `The server lists no models; set "${SECTION}.${key}" by hand.`;
    void vscode.window.showWarningMessage(`MLE Ideator: ${error}`);
    return { error };
  }
  const current = (key === 'implementerModel' ? config.implementerModel : config.model) ?? undefined;
  const model = await services.prompts.pick(
    models.map((m) => ({ label: m, description: m === current ? 'current setting' : undefined })),
    `Model for ${role === 'implementer' ? 'the implementer' : 'the Ideator'} (written to ${SECTION}.${key})`,
  );
  if (model === undefined) return {};
  await writeSetting(key, model);
  services.output.info(`${SECTION}.${key} set to "${model}".`);
  void vscode.window.showInformationMessage(`MLE Ideator: ${SECTION}.${key} is now "${model}".`);
  return { model };
}

const CHOICES = [
  { kind: 'anthropic' as const, label: 'Claude (Anthropic API)', detail: 'Needs an Anthropic API key, kept in VS Code\'s secret storage.' },
  { kind: 'openai' as const, label: 'An OpenAI-compatible server', detail: 'vLLM, Ollama, SGLang, LM Studio, or OpenAI itself: a base URL such as http://localhost:8000/v1, tested before it is saved.' },
  { kind: 'template-vague' as const, label: 'Offline example (no model)', detail: 'A fixed, generic answer: to try the panel and the flow without any server or key.' },
];

export interface ChooseOptions {
  /** Preselect the choice instead of asking (scripts, tests). */
  kind?: ProviderKind;
  /** The OpenAI-compatible base URL instead of asking (scripts, tests). */
  baseUrl?: string;
}

/**
 * "Ideator: Choose Provider": who answers Ask Ideator. Claude: stores the provider and asks for a key when none is
 * stored. An OpenAI-compatible server: asks for the base URL, tests it by listing its models (nothing is saved
 * when that fails) and offers them to pick. The offline example needs nothing. Returns whether a provider is set.
 */
export async function chooseProvider(services: Services, options: ChooseOptions = {}): Promise<boolean> {
  const kind =
    options.kind ??
    (await services.prompts.pick(
      CHOICES.map((c) => ({ label: c.label, detail: c.detail, value: c.kind })),
      'Who should answer "Ask Ideator"?',
    ));
  if (kind === undefined) return false;
  if (kind === 'openai') return connectOpenAI(services, options.baseUrl);
  await writeSetting('provider', kind);
  if (kind === 'anthropic' && !(await services.secrets.get('anthropic'))) {
    const stored = await vscode.commands.executeCommand<boolean>('ideator.setApiKey', 'anthropic');
    if (!stored) void vscode.window.showWarningMessage('MLE Ideator: Claude is chosen, but no key is stored yet: run "Ideator: Set API Key" before asking.');
  }
  return true;
}

async function connectOpenAI(services: Services, given?: string): Promise<boolean> {
  const current = services.config().config.baseUrl;
  const baseUrl =
    given ??
    (await vscode.window.showInputBox({
      title: 'OpenAI-compatible server',
      prompt: 'Base URL of the server, ending in /v1 (vLLM: http://localhost:8000/v1, Ollama: http://localhost:11434/v1)',
      value: current ?? 'http://localhost:8000/v1',
      ignoreFocusOut: true,
      validateInput: (v) => (/^https?:\/\/[^\s/]+/i.test(v.trim()) ? undefined : 'An http:// or https:// URL, e.g. http://localhost:8000/v1'),
    }));
  if (baseUrl === undefined) return false;
  const url = baseUrl.trim().replace(/\/+$/, '');
  // Test before saving: list the models with the new address (and any stored key), under the same error mapping.
  const apiKey = await services.secrets.get('openai');
  let models: string[];
  try {
    const probe = createProvider({ kind: 'openai', baseUrl: url, timeoutMs: 15_000, maxRetries: 0 }, { apiKey }, {});
    models = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MLE Ideator: testing ${url}` }, () => probe.listModels!(AbortSignal.timeout(20_000)));
  } catch (err) {
    const message = describeProviderError(err);
    services.output.error(`Connection test of ${url} failed: ${message}`);
    // Not awaited: the command answers now (nothing saved); the buttons start a new attempt.
    void vscode.window.showErrorMessage(`MLE Ideator: ${url} did not pass the connection test, nothing was saved: ${message}`, 'Try Another URL', 'Set API Key').then(async (choice) => {
      if (choice === 'Try Another URL') await connectOpenAI(services);
      else if (choice === 'Set API Key' && (await vscode.commands.executeCommand<boolean>('ideator.setApiKey', 'openai'))) await connectOpenAI(services, url);
    });
    return false;
  }
  await writeSetting('provider', 'openai');
  await writeSetting('baseUrl', url);
  services.output.info(`Connected to ${url}: ${models.length} model(s): ${models.slice(0, 10).join(', ')}`);
  const chosenModel = services.config().config.model;
  if (models.length === 1) {
    await writeSetting('model', models[0]);
  } else if (models.length > 1 && (chosenModel === undefined || !models.includes(chosenModel))) {
    const model = await services.prompts.pick(
      models.map((m) => ({ label: m })),
      `${url} serves ${models.length} models: which one is the Ideator?`,
    );
    if (model !== undefined) await writeSetting('model', model);
  }
  const model = services.config().config.model;
  void vscode.window.showInformationMessage(`MLE Ideator: connected to ${url}${model ? `; the Ideator is "${model}"` : ''}.`);
  return true;
}

const WELCOMED_KEY = 'ideator.welcomed.v1';
export const WALKTHROUGH_ID = 'mle-ideator.mle-ideator#ideator.gettingStarted';

/**
 * The first activation where nobody chose a provider opens the walkthrough, once per installation (remembered in
 * globalState). Deferred, so activation itself stays registration only.
 */
function welcomeOnce(services: Services): void {
  const state = services.context.globalState;
  // VS Code's own switch for walkthroughs on install is honoured (test profiles turn it off).
  if (vscode.workspace.getConfiguration('workbench.welcomePage').get<boolean>('walkthroughs.openOnInstall') === false) return;
  if (state.get<boolean>(WELCOMED_KEY) || providerChosen()) return;
  setTimeout(() => {
    if (state.get<boolean>(WELCOMED_KEY) || providerChosen()) return;
    void state.update(WELCOMED_KEY, true);
    services.output.info('First start: opening the getting-started walkthrough.');
    void vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH_ID, false);
  }, 1500);
}

export function registerSetupCommands(services: Services): vscode.Disposable {
  welcomeOnce(services);
  return vscode.Disposable.from(
    vscode.commands.registerCommand('ideator.pickModel', (role?: unknown) => pickModel(services, role === 'implementer' ? 'implementer' : 'ideator')),
    vscode.commands.registerCommand('ideator.chooseProvider', (options?: unknown) => {
      const o = (options && typeof options === 'object' ? options : {}) as ChooseOptions;
      return chooseProvider(services, {
        kind: ProviderKindSchema.safeParse(o.kind).data,
        baseUrl: typeof o.baseUrl === 'string' ? o.baseUrl : undefined,
      });
    }),
  );
}
