/** Builds a core Provider from the validated settings and the key in SecretStorage (on demand, never cached). */
import { createProvider, ProviderConfigSchema } from '../../core/providers/index';
import type { Provider } from '../../core/providers/types';
import { SECTION } from '../settings/config';
import type { Services } from '../services';

export class SettingsError extends Error {}

export async function makeProvider(services: Services, role: 'ideator' | 'implementer'): Promise<Provider> {
  const { config, ok, errors } = services.config() as ReturnType<Services['config']> & { errors?: string[] };
  if (!ok && errors?.length) services.output.warn(`Using defaults for invalid settings: ${errors.join('; ')}`);
  const parsed = ProviderConfigSchema.safeParse({
    kind: config.provider,
    baseUrl: config.baseUrl,
    model: role === 'implementer' ? (config.implementerModel ?? config.model) : config.model,
    thinking: config.thinking === 'default' ? undefined : config.thinking === 'on',
    timeoutMs: Math.round(config.requestTimeoutSeconds * 1000),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? 'provider');
    throw new SettingsError(`Setting "${SECTION}.${key === 'kind' ? 'provider' : key}": ${issue.message}`);
  }
  const apiKey = await services.secrets.get(config.provider);
  // The environment is not passed on: keys come from SecretStorage (which itself falls back to the usual variables).
  return createProvider(parsed.data, { apiKey }, {});
}
