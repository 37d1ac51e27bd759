/**
 * A redis-server of the tests' own (AOF on, no RDB snapshots, on a free loopback port) and small helpers shared by
 * the scale-out suites. Suites skip, saying why, where redis-server is not installed (scripts/setup.sh installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { removeDir, until } from './serverHarness';

export const HAVE_REDIS = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
export const REDIS_SKIP = HAVE_REDIS ? false : 'redis-server is not installed (apt-get install redis-server; scripts/setup.sh installs it)';
/** Short leases so a killed worker's idea is redelivered within seconds. */
export const LEASE = ['--lease-sec', '2'];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (c) => {
      buf += c.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}


/** A redis-server of our own: AOF on, no RDB snapshots, its files in `dir`. */
export class RedisProcess {
  proc: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--dir', this.dir, '--save', '', '--protected-mode', 'no'], {
      stdio: 'ignore',
    });
    await until(`redis on ${this.port}`, async () => ((await ping(this.port)) ? true : undefined), 20_000);
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}

/** A started RedisProcess whose kill and folder removal are queued on `cleanups` (run by the suite's `after`). */
export async function startRedis(cleanups: (() => Promise<void> | void)[], dir: string): Promise<RedisProcess> {
  const redis = new RedisProcess(await freePort(), dir);
  await redis.start();
  cleanups.push(async () => {
    await redis.kill9();
    removeDir(redis.dir);
  });
  return redis;
}
