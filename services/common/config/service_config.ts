/**
 * The configuration every Agora service shares, and the default ports of the mesh.
 */
import {readAuthConfig, type AuthConfig} from '../auth/auth_config.js';
import type {DatabaseUrls} from '../db/database.js';
import {DEFAULT_DB_TIMEOUTS, type DatabaseTimeouts} from '../db/timeouts.js';
import {
  DEFAULT_REDIS_TIMEOUTS,
  type RedisTimeouts,
} from '../redis/redis_timeouts.js';
import {readRateLimits, type RateLimits} from '../rpc/rate_limiter.js';
import {ConfigError, EnvReader} from './env.js';

/**
 * The database a service uses when AGORA_DATABASE_URL is unset: the local superuser.
 * The local launchers do not rely on it: they give each service its own role
 * (service_process.ts's databaseEnvFor).
 */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/agora';

/** The five services and their default gRPC ports on 127.0.0.1. */
export const SERVICE_PORTS = {
  order: 50051,
  payment: 50052,
  inventory: 50053,
  pricing: 50054,
  report: 50055,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

/** The Connect / gRPC-Web (HTTP/1.1) listener of a service is its gRPC port + 1000. */
export const HTTP_PORT_OFFSET = 1000;

/** Settings common to every service process. */
export interface ServiceConfig {
  service: ServiceName;
  host: string;
  grpcPort: number;
  httpPort: number;
  /**
   * PostgreSQL, as two roles: `runtime` (AGORA_DATABASE_URL) for the pool, which may
   * only read and write the service's tables; `migration` (AGORA_MIGRATION_DATABASE_URL,
   * the same as `runtime` when unset) owns the schema and runs the migrations. Each
   * password is the content of AGORA_DATABASE_PASSWORD_FILE and
   * AGORA_MIGRATION_DATABASE_PASSWORD_FILE when set. Contains passwords: log only
   * through redactUrl.
   */
  databaseUrl: DatabaseUrls;
  /** Redis; its password from AGORA_REDIS_PASSWORD_FILE when set (redactUrl to log). */
  redisUrl: string;
  /** RabbitMQ; its password from AGORA_AMQP_PASSWORD_FILE when set (redactUrl to log). */
  amqpUrl: string;
  /** Prefix for Redis keys, AMQP exchanges and queues, so test runs never touch dev data. */
  namespace: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** How long to keep answering NOT_SERVING before closing, so balancers notice. */
  drainMs: number;
  /** Most PostgreSQL connections this process opens. */
  dbPoolSize: number;
  /** PostgreSQL time bounds (AGORA_DB_STATEMENT_TIMEOUT_MS and siblings). */
  dbTimeouts: DatabaseTimeouts;
  /** Redis time bounds (AGORA_REDIS_COMMAND_TIMEOUT_MS, AGORA_REDIS_CONNECT_TIMEOUT_MS). */
  redisTimeouts: RedisTimeouts;
  /** How often readiness (PostgreSQL reachable) is probed, and each probe's bound. */
  readiness: {everyMs: number; timeoutMs: number};
  /** How callers are authenticated (OIDC: issuer, audience, JWKS). */
  auth: AuthConfig;
  rateLimits: RateLimits;
  /** Largest request message on either port, after decompression. */
  maxRequestBytes: number;
  /** Browser origins the HTTP edge answers (CORS allow-list). */
  corsOrigins: string[];
  /** Host header names the HTTP edge accepts; `*` for any. */
  allowedHosts: string[];
}

/** Environment variable prefix of a service, e.g. AGORA_ORDER_. */
export function envPrefix(service: ServiceName): string {
  return `AGORA_${service.toUpperCase()}_`;
}

/** Reads the shared settings of `service` from the environment. */
export function readServiceConfig(
  service: ServiceName,
  env: EnvReader = new EnvReader(),
): ServiceConfig {
  const prefix = envPrefix(service);
  const grpcPort = env.port(`${prefix}PORT`, SERVICE_PORTS[service]);
  return {
    service,
    host: env.string('AGORA_HOST', '127.0.0.1'),
    grpcPort,
    httpPort: env.port(
      `${prefix}HTTP_PORT`,
      grpcPort === 0 ? 0 : grpcPort + HTTP_PORT_OFFSET,
    ),
    databaseUrl: readDatabaseUrls(env),
    redisUrl: env.urlWithPasswordFile(
      'AGORA_REDIS_URL',
      'redis://127.0.0.1:6379/0',
      ['redis:'],
      'AGORA_REDIS_PASSWORD_FILE',
    ),
    amqpUrl: env.urlWithPasswordFile(
      'AGORA_AMQP_URL',
      'amqp://guest:guest@127.0.0.1:5672',
      ['amqp:'],
      'AGORA_AMQP_PASSWORD_FILE',
    ),
    namespace: env.string('AGORA_NAMESPACE', 'agora'),
    logLevel: env.oneOf('AGORA_LOG_LEVEL', 'info', [
      'debug',
      'info',
      'warn',
      'error',
    ]),
    drainMs: env.int('AGORA_DRAIN_MS', 1000, 0, 60000),
    dbPoolSize: env.int(`${prefix}DB_POOL_SIZE`, 10, 1, 200),
    dbTimeouts: {
      statementMs: env.int(
        'AGORA_DB_STATEMENT_TIMEOUT_MS',
        DEFAULT_DB_TIMEOUTS.statementMs,
        0,
        3_600_000,
      ),
      lockMs: env.int(
        'AGORA_DB_LOCK_TIMEOUT_MS',
        DEFAULT_DB_TIMEOUTS.lockMs,
        0,
        3_600_000,
      ),
      idleInTransactionMs: env.int(
        'AGORA_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS',
        DEFAULT_DB_TIMEOUTS.idleInTransactionMs,
        0,
        3_600_000,
      ),
      acquireMs: env.int(
        'AGORA_DB_ACQUIRE_TIMEOUT_MS',
        DEFAULT_DB_TIMEOUTS.acquireMs,
        100,
        600_000,
      ),
    },
    redisTimeouts: {
      commandMs: env.int(
        'AGORA_REDIS_COMMAND_TIMEOUT_MS',
        DEFAULT_REDIS_TIMEOUTS.commandMs,
        10,
        600_000,
      ),
      connectMs: env.int(
        'AGORA_REDIS_CONNECT_TIMEOUT_MS',
        DEFAULT_REDIS_TIMEOUTS.connectMs,
        10,
        600_000,
      ),
    },
    readiness: {
      everyMs: env.int('AGORA_READINESS_EVERY_MS', 2000, 50, 600_000),
      timeoutMs: env.int('AGORA_READINESS_TIMEOUT_MS', 1000, 10, 600_000),
    },
    auth: readAuthConfig(env, service),
    rateLimits: readRateLimits(env),
    maxRequestBytes: env.int(
      'AGORA_MAX_REQUEST_BYTES',
      1024 * 1024,
      1024,
      64 * 1024 * 1024,
    ),
    corsOrigins: list(env.string('AGORA_CORS_ORIGINS', '')),
    allowedHosts: list(
      env.string('AGORA_ALLOWED_HOSTS', 'localhost,127.0.0.1,::1'),
    ),
  };
}

const POSTGRES_PROTOCOLS = ['postgres:', 'postgresql:'];

function readDatabaseUrls(env: EnvReader): DatabaseUrls {
  const runtime = env.urlWithPasswordFile(
    'AGORA_DATABASE_URL',
    DEFAULT_DATABASE_URL,
    POSTGRES_PROTOCOLS,
    'AGORA_DATABASE_PASSWORD_FILE',
  );
  const owner = env.raw.AGORA_MIGRATION_DATABASE_URL;
  if (owner === undefined || owner === '') {
    // One role for both (a superuser on a dev machine, or a single-role deployment).
    // A password file for a migration role that is not configured is a mistake.
    if (env.raw.AGORA_MIGRATION_DATABASE_PASSWORD_FILE) {
      throw new ConfigError(
        'AGORA_MIGRATION_DATABASE_PASSWORD_FILE',
        'is set but AGORA_MIGRATION_DATABASE_URL is not',
        env.raw.AGORA_MIGRATION_DATABASE_PASSWORD_FILE,
      );
    }
    return {runtime, migration: runtime};
  }
  return {
    runtime,
    migration: env.urlWithPasswordFile(
      'AGORA_MIGRATION_DATABASE_URL',
      owner,
      POSTGRES_PROTOCOLS,
      'AGORA_MIGRATION_DATABASE_PASSWORD_FILE',
    ),
  };
}

/** The address a client dials to reach `peer` (direct, or a load balancer). */
export function peerAddress(peer: ServiceName, env: EnvReader): string {
  const prefix = envPrefix(peer);
  const port = env.port(`${prefix}PORT`, SERVICE_PORTS[peer]);
  return env.address(`${prefix}ADDR`, `127.0.0.1:${port}`);
}

function list(value: string): string[] {
  return value
    .split(',')
    .map(v => v.trim())
    .filter(v => v !== '');
}
