/** Builds a core Provider from the validated settings and the key in SecretStorage (on demand, never cached). */
import { createProvider, ProviderConfigSchema, type SettingNames } from '../../core/providers/index';
import type { Provider } from '../../core/providers/types';
import type { ExtensionConfig } from '../settings/config';
import { SECTION } from '../settings/config';
import { providerConfigInput } from '../settings/providerConfig';
import { ENV_FALLBACK } from '../settings/secrets';
import type { Services } from '../services';

export class SettingsError extends Error {}

export type ProviderRole = 'ideator' | 'implementer';

/** The setting that holds the model a role uses: the implementer's own when set, else the Ideator's. */
export function modelSettingOf(config: ExtensionConfig, role: ProviderRole): 'model' | 'implementerModel' {
  return role === 'implementer' && config.implementerModel !== undefined ? 'implementerModel' : 'model';
}

/** What provider errors call each setting in the editor: the real `ideator.*` names (and the key command). */
export function settingNames(config: ExtensionConfig, role: ProviderRole): SettingNames {
  const setting = (key: string) => `the setting "${SECTION}.${key}"`;
  return {
    apiKey: `the API key (command "Ideator: Set API Key", or env ${ENV_FALLBACK[config.provider] ?? 'OPENAI_API_KEY'})`,
    baseUrl: setting('baseUrl'),
    model: setting(modelSettingOf(config, role)),
    timeoutMs: setting('requestTimeoutSeconds'),
    maxTokens: setting('maxOutputTokens'),
  };
}

export async function makeProvider(services: Services, role: ProviderRole): Promise<Provider> {
  const { config, ok, errors } = services.config() as ReturnType<Services['config']> & { errors?: string[] };
  if (!ok && errors?.length) services.output.warn(`Using defaults for invalid settings: ${errors.join('; ')}`);
  const parsed = ProviderConfigSchema.safeParse(providerConfigInput(config, role));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? 'provider');
    throw new SettingsError(`Setting "${SECTION}.${key === 'kind' ? 'provider' : key}": ${issue.message}`);
  }
  const apiKey = await services.secrets.get(config.provider);
  // The environment is not passed on: keys come from SecretStorage (which itself falls back to the usual variables).
  return createProvider(parsed.data, { apiKey }, {}, { names: settingNames(config, role) });
}
