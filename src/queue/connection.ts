/**
 * Redis connections for the queue: the options BullMQ needs, a reachability check that
 * fails in seconds with one clear line, and a watchdog that notices a Redis gone for good.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { BstuneError } from '../errors.js';
import { queueGraceSeconds } from '../env.js';
import type { ConnectionOptions } from 'bullmq';
import type { QueueAddress } from './url.js';

/** One queue for all sweeps: job ids are content hashes, so sweeps sharing it never collide. */
export const QUEUE_NAME = 'bstune-trials';

export function redisOptions(a: QueueAddress, extra: RedisOptions = {}): RedisOptions {
  return {
    host: a.host, port: a.port, db: a.db,
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: a.password } : {}),
    ...(a.tls ? { tls: {} } : {}),
    ...extra,
  };
}

/** The same address for BullMQ, which makes (and retries) its own connections. */
export function bullConnection(a: QueueAddress, extra: Record<string, unknown> = {}): ConnectionOptions {
  return { ...(redisOptions(a) as Record<string, unknown>), ...extra };
}

const errText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException & { errors?: Error[] };
  // A host with several addresses fails with an AggregateError whose own message is empty.
  const first = err.errors?.[0]?.message;
  return (err.message || first || String(e)).split('\n')[0]!;
};

/** Connects once, with no retries, and PINGs: exit 2 with one line when Redis is not there. */
export async function checkReachable(a: QueueAddress, timeoutMs = 5000): Promise<void> {
  const client = new Redis(redisOptions(a, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs }));
  let lastError: unknown = null;
  client.on('error', (e) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new BstuneError('BSTUNE_QUEUE_UNAVAILABLE', `cannot reach the queue at ${a.display}: ${errText(lastError ?? e)}; is redis-server running there and reachable from this machine?`, '--queue');
  } finally {
    client.disconnect();
  }
}

/** How long Redis may be unreachable before a coordinator gives up (BSTUNE_QUEUE_GRACE_SECONDS). */
export function graceMs(env: NodeJS.ProcessEnv = process.env): number {
  return queueGraceSeconds(env) * 1000;
}

/**
 * PINGs every half second on a connection of its own. BullMQ's own connections retry
 * forever (its blocking reads must), so without this a coordinator whose Redis died
 * would wait for ever; `onLost` fires once Redis has not answered for `grace` ms.
 */
export function watchConnection(a: QueueAddress, grace: number, onLost: (why: string) => void): () => void {
  const client = new Redis(redisOptions(a, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 250, connectTimeout: 2000 }));
  let lastOk = Date.now();
  let lastError = 'no answer';
  client.on('error', (e) => (lastError = errText(e)));
  const timer = setInterval(() => {
    client.ping().then(() => (lastOk = Date.now()), (e: unknown) => (lastError = errText(e)));
    if (Date.now() - lastOk > grace) {
      stop();
      onLost(`lost the queue at ${a.display} (${lastError}; no answer for ${Math.round(grace / 1000)} s)`);
    }
  }, 500);
  const stop = () => {
    clearInterval(timer);
    client.disconnect();
  };
  return stop;
}
