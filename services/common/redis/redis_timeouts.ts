/**
 * Redis time bounds (ServiceConfig.redisTimeouts), apart from redis.ts so configuration
 * can read them without loading ioredis.
 */
export interface RedisTimeouts {
  /**
   * ioredis commandTimeout: a command with no answer within this fails, so a Redis that
   * hangs (accepts the connection, answers nothing) never hangs an RPC. Redis is a
   * cache here: callers fall back to PostgreSQL.
   */
  commandMs: number;
  /** ioredis connectTimeout: longest a (re)connect attempt waits for the socket. */
  connectMs: number;
}

/** The defaults of AGORA_REDIS_COMMAND_TIMEOUT_MS and AGORA_REDIS_CONNECT_TIMEOUT_MS. */
export const DEFAULT_REDIS_TIMEOUTS: RedisTimeouts = {
  commandMs: 1_000,
  connectMs: 2_000,
};
