/**
 * OpenRLHF's prompt dataset from the state pool, as JSONL (`--data.prompt_dataset FILE.jsonl`): one row per state,
 *
 *   prompt      the Ideator chat messages (built by the same core prompt builder the server uses) —
 *               `--data.input_key prompt --data.apply_chat_template`
 *   label       the state's reference `st_…` (statePool/registry.ts) — `--data.label_key label`: the one column
 *               OpenRLHF hands the reward (reward_func's `labels`, /get_reward's `labels`); the reward server
 *               resolves it to the registered state
 *   datasource  `mle-ideator/<task>` (OpenRLHF reads this key to group evaluation metrics)
 *   task, state_id, split, index, state (the IdeatorState as JSON text: what `--server` registers), idea,
 *   idea_type, score_before, score_after, reward — for people and tools; OpenRLHF ignores them.
 */
import { writeFileSync } from 'node:fs';
import type { IdeatorState } from '../../../src/core/protocol';
import type { TrajectoryMode } from '../../../src/core/compact';
import { outcomeColumns, promptOf, type PoolRecord } from './records';
import { stateRef } from './registry';

export interface OpenRlhfRow {
  prompt: { role: string; content: string }[];
  label: string;
  datasource: string;
  task: string;
  state_id: string;
  split: string;
  index: number;
  state: string;
  idea: string;
  idea_type: string | null;
  score_before: number | null;
  score_after: number | null;
  reward: number | null;
}

export function openrlhfRow(r: PoolRecord, index: number, split: string, opts: { budgetTokens?: number; promptsDir?: string; trajectoryMode?: TrajectoryMode } = {}): OpenRlhfRow {
  return {
    prompt: promptOf(r, opts),
    label: stateRef(r.state, r.task),
    datasource: `mle-ideator/${r.task}`,
    task: r.task,
    state_id: r.state.id ?? r.ideaId,
    split,
    index,
    ...outcomeColumns(r),
  };
}

export function writeOpenrlhfJsonl(file: string, rows: OpenRlhfRow[]): void {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
}

/** The distinct {state, task} pairs of some rows, as POST /v1/states takes them. */
export function registrations(rows: readonly OpenRlhfRow[]): { ref: string; state: IdeatorState; task: string }[] {
  const seen = new Map<string, { ref: string; state: IdeatorState; task: string }>();
  for (const r of rows) if (!seen.has(r.label)) seen.set(r.label, { ref: r.label, state: JSON.parse(r.state) as IdeatorState, task: r.task });
  return [...seen.values()];
}

const CHUNK_BYTES = 4 << 20;

/**
 * Registers the rows' states with a reward server (POST /v1/states, in chunks of a few MB), checking that the server
 * computed the same reference as each label. Throws an Error with a one-line message when it cannot.
 */
export async function registerStates(server: string, rows: readonly OpenRlhfRow[], opts: { token?: string; fetchImpl?: typeof fetch } = {}): Promise<{ registered: number; created: number }> {
  const base = server.replace(/\/+$/, '');
  const doFetch = opts.fetchImpl ?? fetch;
  const all = registrations(rows);
  let created = 0;
  for (let i = 0; i < all.length; ) {
    const chunk: typeof all = [];
    let bytes = 0;
    while (i < all.length && (chunk.length === 0 || bytes < CHUNK_BYTES) && chunk.length < 1000) {
      bytes += JSON.stringify(all[i].state).length;
      chunk.push(all[i++]);
    }
    let res: Response;
    try {
      res = await doFetch(`${base}/v1/states`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        body: JSON.stringify({ states: chunk.map((c) => ({ state: c.state, task: c.task })) }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new Error(`cannot reach the reward server at ${base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 401) throw new Error(`${base} wants a bearer token: set IDEATOR_SERVER_TOKEN`);
    if (res.status === 404) throw new Error(`${base} has no POST /v1/states (an older server, or not an ideator server?)`);
    if (res.status !== 200) {
      let why = text.slice(0, 300);
      try {
        why = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not our error shape: keep the text
      }
      throw new Error(`${base} refused the states (HTTP ${res.status}): ${why}`);
    }
    const got = (JSON.parse(text) as { states: { ref: string; created: boolean }[] }).states;
    got.forEach((g, k) => {
      if (g.ref !== chunk[k].ref) throw new Error(`${base} registered state ${chunk[k].ref} as ${g.ref}: a server of another version? (the labels would not resolve)`);
      if (g.created) created++;
    });
  }
  return { registered: all.length, created };
}
