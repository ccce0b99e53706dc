/**
 * Recognizes the errors of an unreachable or overloaded dependency (PostgreSQL, Redis,
 * a socket) among what a handler throws, so the caller gets a code it can act on
 * instead of INTERNAL: UNAVAILABLE ("try again, perhaps elsewhere") or
 * DEADLINE_EXCEEDED ("a time bound expired"). Recognized by shape (SQLSTATE, Node's
 * errno codes, the drivers' messages) so no driver is imported here.
 *
 * Why statement and lock timeouts are DEADLINE_EXCEEDED and not UNAVAILABLE: the
 * database is reachable and the transaction was rolled back, but the work did not fit
 * its time bound, typically because a row is hot or the server is overloaded.
 * UNAVAILABLE is what proxies and gRPC retry policies retry at once and on another
 * replica (Envoy's `retry_on: unavailable`), which only adds load to the same hot row
 * on the same database; DEADLINE_EXCEEDED is left to the caller, whose request id
 * makes a later retry safe. A lost connection, by contrast, says nothing about the
 * work, and another replica (or the same one a moment later) may well succeed.
 */
import {Code} from '@connectrpc/connect';

export interface DependencyFailure {
  code: Code.Unavailable | Code.DeadlineExceeded;
  /** What the caller reads: no address, host, port, SQL or driver text. */
  message: string;
}

const DB_UNAVAILABLE: DependencyFailure = {
  code: Code.Unavailable,
  message: 'the database is unavailable; retry with the same request id',
};
const STATEMENT_TIMEOUT: DependencyFailure = {
  code: Code.DeadlineExceeded,
  message:
    'the database did not finish this request in time (statement timeout); retry later with the same request id',
};
const LOCK_TIMEOUT: DependencyFailure = {
  code: Code.DeadlineExceeded,
  message:
    'data this request needs is locked by another request (lock timeout); retry later with the same request id',
};
const IDLE_IN_TRANSACTION: DependencyFailure = {
  code: Code.DeadlineExceeded,
  message:
    'the request held its transaction open too long and the database ended it; retry with the same request id',
};
const CACHE_UNAVAILABLE: DependencyFailure = {
  code: Code.Unavailable,
  message: 'the cache is unavailable; retry with the same request id',
};
const NETWORK_UNAVAILABLE: DependencyFailure = {
  code: Code.Unavailable,
  message: 'a dependency is unreachable; retry with the same request id',
};

/** SQLSTATEs of a connection that failed or a server that is going away. */
function sqlStateFailure(state: string): DependencyFailure | undefined {
  if (state === '57014') return STATEMENT_TIMEOUT; // query_canceled
  if (state === '55P03') return LOCK_TIMEOUT; // lock_not_available
  if (state === '25P03') return IDLE_IN_TRANSACTION;
  if (state.startsWith('08')) return DB_UNAVAILABLE; // connection exceptions
  // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now
  if (state === '57P01' || state === '57P02' || state === '57P03')
    return DB_UNAVAILABLE;
  // too_many_connections and the rest of "insufficient resources"
  if (state.startsWith('53')) return DB_UNAVAILABLE;
  return undefined;
}

const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** node-postgres and pg-pool messages that carry no SQLSTATE. */
const PG_MESSAGES = [
  'Connection terminated', // also "… unexpectedly", "… due to connection timeout"
  'timeout exceeded when trying to connect', // pg-pool: acquire timeout
  'Query read timeout', // query_timeout: the server never answered
  'is not queryable', // a client that already lost its connection
  'Cannot use a pool after calling end on the pool', // shutting down
];

/** ioredis messages (commandTimeout, no offline queue, retries used up). */
const REDIS_MESSAGES = [
  'Command timed out',
  "Stream isn't writeable",
  'Connection is closed',
  'Reached the max retries per request limit',
];

/** The failure `err` (or an error in its cause chain) stands for, if a dependency's. */
export function dependencyFailure(err: unknown): DependencyFailure | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const found = classifyOne(e as Record<string, unknown>);
    if (found) return found;
    const {cause, errors} = e as {cause?: unknown; errors?: unknown};
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return undefined;
}

function classifyOne(
  e: Record<string, unknown>,
): DependencyFailure | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  // A PostgreSQL error: five-character SQLSTATE and the server's severity.
  if (code && /^[0-9A-Z]{5}$/.test(code) && 'severity' in e) {
    return sqlStateFailure(code);
  }
  if (code && NETWORK_ERRNOS.has(code)) return NETWORK_UNAVAILABLE;
  if (e.name === 'MaxRetriesPerRequestError') return CACHE_UNAVAILABLE;
  if (PG_MESSAGES.some(m => message.includes(m))) return DB_UNAVAILABLE;
  if (REDIS_MESSAGES.some(m => message.includes(m))) return CACHE_UNAVAILABLE;
  return undefined;
}

/**
 * Removes network addresses from a message bound for a caller (a peer's
 * "connect ECONNREFUSED 127.0.0.1:50053" relayed in an UNAVAILABLE answer): callers
 * outside the mesh must not learn its topology.
 */
export function withoutAddresses(message: string): string {
  return message
    .replace(/\b(connect|read|write) E[A-Z_]+\b/g, 'connection failed')
    .replace(/\[[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\](:\d{1,5})?/g, '<address>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b/g, '<address>')
    .replace(/\blocalhost(:\d{1,5})?\b/g, '<address>')
    .replace(/(^|[\s(])::1\b/g, '$1<address>');
}
