/**
 * `ideator verify --server URL` (#16): the same verification on a companion server. The workspace plan is made here
 * (verify/workspace.ts); its source files go up once (PUT /v1/workspaces/{sha256}, skipped when GET finds the hash);
 * its data paths are named, never sent — the server binds them from the data root the user names. POST /v1/rewards
 * (workspace form) then streams the VerifyEvent lines, each validated here (core/verify.ts) and handed on as the
 * local command would print them. Cancel: DELETE /v1/verifications/{id}, so the server kills its runs and still
 * sends the summary (cancelled); a second cancel, or no summary 15 s later, closes the connection (the runs stop).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { parseVerifyLine, type VerifyEvent, type VerifyResult, type VerifySummary, type WorkspaceRewardRequestInput } from '../../../src/core/verify';
import { packWorkspace } from './upload';
import type { WorkspacePlan } from './workspace';

export interface RemoteVerifyOptions {
  /** The server's base URL (http://host:port). */
  url: string;
  token?: string;
  workspace: string;
  plan: WorkspacePlan;
  /** The request, less the workspace field (made here). */
  request: Omit<WorkspaceRewardRequestInput, 'workspace'>;
  dataRoot?: string;
  emit: (e: VerifyEvent) => void;
  /** Aborted: the server is asked to stop (DELETE); a second abort (`hardSignal`) drops the connection. */
  signal: AbortSignal;
  hardSignal?: AbortSignal;
}

/** The server refused or broke off: one line. */
export class RemoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

const toPosix = (p: string) => p.split(sep).join('/');

/** fetch's "fetch failed" with its cause (ECONNREFUSED, ENOTFOUND …) when there is one. */
function why(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/**
 * The warning for a server reached over plain http on another machine, or undefined (https, or this machine): the
 * bearer token and the workspace's source files would cross the network readable by anyone on the way.
 */
export function plainHttpWarning(url: string): string | undefined {
  const u = new URL(url);
  if (u.protocol !== 'http:') return undefined;
  const h = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1') return undefined;
  return `${u.host} is reached over plain http: the server's token and your source files cross the network unencrypted; put the server behind TLS (a reverse proxy, then https://) or reach it through an SSH tunnel (ssh -N -L 8787:127.0.0.1:8787 ${u.hostname}, then http://127.0.0.1:8787)`;
}

export async function verifyRemote(o: RemoteVerifyOptions): Promise<{ summary?: VerifySummary; results: VerifyResult[] }> {
  const base = o.url.replace(/\/+$/, '');
  const exposed = plainHttpWarning(base);
  // Said before anything is sent (on the terminal's stderr, or in the editor's output).
  if (exposed) o.emit({ type: 'progress', phase: 'warning', message: exposed, done: 0, total: 0 });
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const host = new URL(base).host;
  const call = async (path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
    } catch (err) {
      throw new RemoteError(`cannot reach the verify server ${host}: ${why(err)}`);
    }
  };
  const refused = async (what: string, res: Response): Promise<RemoteError> => {
    const text = await res.text().catch(() => '');
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not our error shape
    }
    return new RemoteError(`${host} refused the ${what} (${res.status}): ${message}`);
  };

  // The source files, once.
  const tmp = mkdtempSync(join(tmpdir(), 'ideator-verify-upload-'));
  let sha256: string;
  try {
    const archive = join(tmp, 'workspace.tar.gz');
    sha256 = (await packWorkspace(o.workspace, o.plan.copies, archive)).hash;
    const head = await call(`/v1/workspaces/${sha256}`, { method: 'GET' });
    if (head.status === 404) {
      await head.body?.cancel();
      const put = await call(`/v1/workspaces/${sha256}`, { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: readFileSync(archive) });
      if (put.status !== 200 && put.status !== 201) throw await refused('workspace upload', put);
      await put.body?.cancel();
    } else if (head.status !== 200) throw await refused('workspace check', head);
    else await head.body?.cancel();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const data = o.plan.binds.map((b) => ({ path: toPosix(b.rel), dir: b.dir }));
  const body = { ...o.request, workspace: { sha256, data, ...(o.dataRoot ? { dataRoot: o.dataRoot } : {}) } };
  const conn = new AbortController();
  const dropAll = () => conn.abort();
  o.hardSignal?.addEventListener('abort', dropAll, { once: true });
  let res: Response;
  try {
    res = await fetch(`${base}/v1/rewards`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: conn.signal });
  } catch (err) {
    o.hardSignal?.removeEventListener('abort', dropAll);
    throw new RemoteError(`cannot reach the verify server ${host}: ${why(err)}`);
  }
  if (res.status !== 200 || !res.body) {
    o.hardSignal?.removeEventListener('abort', dropAll);
    throw await refused('verification', res);
  }
  const id = res.headers.get('x-verification-id');
  let fallback: NodeJS.Timeout | undefined;
  const onCancel = () => {
    if (id) void call(`/v1/verifications/${id}`, { method: 'DELETE' }).then((r) => r.body?.cancel(), () => conn.abort());
    else conn.abort();
    fallback = setTimeout(() => conn.abort(), 15_000);
  };
  if (o.signal.aborted) onCancel();
  else o.signal.addEventListener('abort', onCancel, { once: true });

  const results: VerifyResult[] = [];
  let summary: VerifySummary | undefined;
  const decoder = new TextDecoder();
  let buf = '';
  const take = (line: string) => {
    if (!line.trim()) return;
    const parsed = parseVerifyLine(line);
    if (!parsed.ok) throw new RemoteError(`${host} sent an unexpected line (${parsed.error})`);
    const e = parsed.event;
    if (e.type === 'result') results.push(e);
    if (e.type === 'summary') summary = e;
    o.emit(e);
  };
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        take(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    take(buf + decoder.decode());
  } catch (err) {
    if (!conn.signal.aborted) throw err instanceof RemoteError ? err : new RemoteError(`the connection to ${host} broke: ${why(err)}`);
  } finally {
    if (fallback) clearTimeout(fallback);
    o.signal.removeEventListener('abort', onCancel);
    o.hardSignal?.removeEventListener('abort', dropAll);
  }
  if (!summary && !o.signal.aborted) throw new RemoteError(`${host} ended the verification without a summary`);
  return { summary, results };
}
