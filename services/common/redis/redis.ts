/**
 * Redis connections for the real-time caches. Redis is never the truth here: commands
 * fail fast while it is down (no offline queue), callers carry on with PostgreSQL, and
 * caches are rebuilt when the connection comes back.
 */
import {Redis} from 'ioredis';
import type {Logger} from '../log/logger.js';
import {DEFAULT_REDIS_TIMEOUTS, type RedisTimeouts} from './redis_timeouts.js';

/**
 * Opens a connection that fails commands at once while disconnected, and within
 * `timeouts.commandMs` while connected to a Redis that does not answer.
 */
export function connectRedis(
  url: string,
  log: Logger,
  name: string,
  timeouts: RedisTimeouts = DEFAULT_REDIS_TIMEOUTS,
): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    // One retry at most per command on a reconnect, then the caller gets the error.
    maxRetriesPerRequest: 1,
    commandTimeout: timeouts.commandMs,
    connectTimeout: timeouts.connectMs,
    // Reconnect forever, at most every 2 s: Redis restarting must not need our restart.
    retryStrategy: times => Math.min(100 * times, 2000),
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', err => {
    if (!down)
      log.warn('redis unavailable', {connection: name, reason: err.message});
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis back', {connection: name});
    down = false;
  });
  return redis;
}

/** Resolves when the connection is ready (or after `timeoutMs`, carrying on without it). */
export function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise(resolve => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
