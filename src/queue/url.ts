/** The --queue address, checked without connecting (pure: args.ts uses it). */
import { BstuneError } from '../errors.js';

export interface QueueAddress {
  /** As given, minus any password: for messages and the resume command. */
  display: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

export function parseQueueUrl(text: string): QueueAddress {
  const bad = (why: string) => new BstuneError('BSTUNE_USAGE', `invalid queue address "${text}": ${why}; expected redis://HOST:PORT`, '--queue');
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`unsupported scheme ${u.protocol.replace(/:$/, '')}`);
  if (u.hostname === '') throw bad('no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw bad('the path must be a database number, like /0');
  const db = dbText === '' ? 0 : Number(dbText);
  const display = `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${dbText ? `/${db}` : ''}`;
  return {
    display, host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port, db, tls: u.protocol === 'rediss:',
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}
