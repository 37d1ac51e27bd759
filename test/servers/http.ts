/**
 * Plumbing shared by the scripted test servers: listen on 127.0.0.1 port 0, read bodies, write JSON and SSE,
 * split text at realistic token boundaries, and close without waiting for hung connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';

export interface Listening {
  server: Server;
  origin: string;
  close(): Promise<void>;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<Listening> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `test server bug: ${String(err)}`, type: 'server_error' } });
      else res.destroy();
    });
  });
  // Hung replies must not keep a test process alive.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * A scripted server's memory: every request body and its headers in arrival order, and the scripted reply for
 * request n. With an array, reply n answers request n and past its end the last one repeats.
 */
export class ReplyScript<Req, S extends z.ZodType> {
  readonly requests: Req[] = [];
  /** Request headers, parallel to `requests`. */
  readonly headers: Record<string, string>[] = [];

  constructor(
    private readonly responses: z.input<S>[] | ((req: Req, n: number) => z.input<S>),
    private readonly schema: S,
  ) {}

  /** Keeps the request; returns its index n, which picks its reply. */
  record(req: IncomingMessage, body: Req): number {
    this.requests.push(body);
    this.headers.push(headersOf(req));
    return this.requests.length - 1;
  }

  /** The reply for request n, checked against the schema (a bad function reply fails here, loudly). */
  reply(body: Req, n: number): z.infer<S> {
    const r = this.responses;
    const reply: unknown = typeof r === 'function' ? r(body, n) : (r[Math.min(n, r.length - 1)] ?? { type: 'error', status: 500, message: 'test server: empty script' });
    return this.schema.parse(reply);
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendRaw(res: ServerResponse, status: number, text: string, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function startSse(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
  res.flushHeaders();
}

/** Writes one SSE frame; `event` omitted gives a data-only frame (OpenAI style). */
export function writeSse(res: ServerResponse, data: string, event?: string): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
}

export const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when the client goes away (so a hang can end without a timer). */
export function clientGone(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    res.once('close', () => resolve());
  });
}

/**
 * Splits text the way a tokenizer-driven server streams it: one token-sized piece per chunk (a word with its
 * leading space, a punctuation mark, a run of digits, a newline; long words in pieces; `<think>` and `</think>`
 * whole, as Qwen3's tokenizer has them as single tokens). With `chunkSize`, fixed-size
 * pieces instead — used to cut tags like `<think>` at awkward places.
 */
export function tokenPieces(text: string, chunkSize?: number): string[] {
  if (chunkSize && chunkSize > 0) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += chunkSize) out.push(text.slice(i, i + chunkSize));
    return out;
  }
  const pieces = text.match(/<\/?think>| ?[A-Za-z]+|\d{1,3}|\n+| +|[^\sA-Za-z\d]|\s/gu) ?? [];
  const out: string[] = [];
  for (const p of pieces) {
    if (p.length <= 7 || p === '</think>') out.push(p);
    else for (let i = 0; i < p.length; i += 5) out.push(p.slice(i, i + 5));
  }
  return out;
}

/** Rough token count for usage figures (servers count real tokens; tests only need plausible integers). */
export function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
