/**
 * A real redis-server for the queue tests: each suite starts its own on a free loopback
 * port, without persistence, and stops it. `.ci/install-redis` puts the program on CI;
 * elsewhere a missing redis-server makes the suites skip and say why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** Why the queue tests cannot run here, or null when they can. On CI a missing program is a failure, not a skip. */
export function redisMissing(): string | null {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return null;
  if (process.env.CI) throw new Error('redis-server is missing on CI: .ci/run must call .ci/install-redis');
  return 'redis-server is not installed (run .ci/install-redis, or apt-get install redis-server)';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    let got = '';
    c.setTimeout(500, () => (c.destroy(), resolve(false)));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (b) => {
      got += b.toString();
      if (got.includes('\r\n')) {
        c.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    c.on('error', () => resolve(false));
  });
}

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  /** SIGKILL, as a crashed or unplugged Redis: nothing is saved. */
  kill(): Promise<void>;
}

export async function startRedis(port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!(await pong(p))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${p}:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: p, url: `redis://127.0.0.1:${p}`, process: child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
