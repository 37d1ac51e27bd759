/**
 * The reward server's registry of exported states, so that a trainer that can pass only a short label per sample
 * (OpenRLHF: the dataset column named by --data.label_key) can still be rewarded against the full state.
 *
 * A state's reference is content-addressed: `st_` + 32 hex digits of the SHA-256 of the canonical JSON of
 * {state (schema-parsed, defaults filled), task}. `ideator export --format openrlhf` computes it for every row's
 * label, and registering the same state on a server (POST /v1/states, or `export --server URL`) gives the same
 * reference — the server computes it itself, so a label can only ever resolve to the very state its prompt was
 * built from, and registering twice is a no-op.
 *
 * Stored durably under <dataDir>/states/<2 hex>/<ref>.json (written to a temporary file and renamed into place, so
 * a reader never sees half a file); a file whose content does not hash to its name is reported, never used.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdeatorStateSchema, type IdeatorState, type IdeatorStateInput } from '../../../src/core/protocol';
import { hashOf } from '../jobs/hash';

export const STATE_REF_RE = /^st_[0-9a-f]{32}$/;

/** The reference of a state exported for a server task (or for none: the server then uses the state's taskId). */
export function stateRef(state: IdeatorStateInput, task: string | undefined): string {
  return `st_${hashOf({ v: 1, task: task ?? null, state: IdeatorStateSchema.parse(state) }).slice(0, 32)}`;
}

export interface RegisteredState {
  ref: string;
  /** The server task the state was exported for; null: the state's own taskId decides. */
  task: string | null;
  state: IdeatorState;
  registeredAt: string;
}

export class CorruptStateError extends Error {
  constructor(readonly ref: string, why: string) {
    super(`registered state ${ref} is unusable: ${why}`);
    this.name = 'CorruptStateError';
  }
}

export class StateRegistry {
  constructor(readonly dir: string) {}

  static forDataDir(dataDir: string): StateRegistry {
    return new StateRegistry(join(dataDir, 'states'));
  }

  private file(ref: string): string {
    return join(this.dir, ref.slice(3, 5), `${ref}.json`);
  }

  /** Registers a state (idempotent); `created` is false when it was there already. */
  register(input: IdeatorStateInput, task: string | undefined): { ref: string; created: boolean } {
    const state = IdeatorStateSchema.parse(input);
    const ref = stateRef(state, task);
    if (this.get(ref)) return { ref, created: false };
    const file = this.file(ref);
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const entry: RegisteredState = { ref, task: task ?? null, state, registeredAt: new Date().toISOString() };
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
    return { ref, created: true };
  }

  /** The registered state, undefined when none has this reference; throws CorruptStateError for a damaged file. */
  get(ref: string): RegisteredState | undefined {
    if (!STATE_REF_RE.test(ref)) return undefined;
    let text: string;
    try {
      text = readFileSync(this.file(ref), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let entry: RegisteredState;
    try {
      const raw = JSON.parse(text) as Partial<RegisteredState>;
      entry = { ref, task: typeof raw.task === 'string' ? raw.task : null, state: IdeatorStateSchema.parse(raw.state), registeredAt: String(raw.registeredAt ?? '') };
    } catch (err) {
      throw new CorruptStateError(ref, `not a registered state (${(err as Error).message.split('\n')[0]})`);
    }
    if (stateRef(entry.state, entry.task ?? undefined) !== ref) throw new CorruptStateError(ref, 'its content does not hash to its reference');
    return entry;
  }
}
