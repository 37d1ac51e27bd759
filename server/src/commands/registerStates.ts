/**
 * `--server URL` of `export` / `collect --format openrlhf`: registers the exported states with a reward server so
 * that their labels resolve there (POST /v1/states; token from IDEATOR_SERVER_TOKEN). Without it, the summary says
 * the labels still need registering.
 */
import { registerStates, type OpenRlhfRow } from '../statePool/openrlhf';
import { UsageError } from './common';

export interface RegisterSummary {
  /** The server the states were registered with; null: not registered. */
  server: string | null;
  states: number;
  created: number;
  /** What to tell a person. */
  line: string;
}

export function checkServerFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const base = value.replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(base)) throw new UsageError(`--server must be an http:// or https:// URL, got '${value}'`);
  return base;
}

export async function registerForOpenRlhf(server: string | undefined, rows: readonly OpenRlhfRow[]): Promise<RegisterSummary> {
  const states = new Set(rows.map((r) => r.label)).size;
  if (!server) {
    return {
      server: null,
      states,
      created: 0,
      line: states
        ? `labels are state references: register the ${states} state(s) with the reward server before training (same command with --server URL)`
        : 'no states: nothing to register',
    };
  }
  try {
    const { registered, created } = await registerStates(server, rows, { token: process.env.IDEATOR_SERVER_TOKEN?.trim() || undefined });
    return { server, states: registered, created, line: `registered ${registered} state(s) with ${server} (${created} new): their labels resolve there` };
  } catch (err) {
    throw new UsageError(`${(err as Error).message} — the file is written; run the command again once the server takes the states`);
  }
}
