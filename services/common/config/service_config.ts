/**
 * The configuration every Agora service shares, and the default ports of the mesh.
 */
import {readAuthConfig, type AuthConfig} from '../auth/auth_config.js';
import {readRateLimits, type RateLimits} from '../rpc/rate_limiter.js';
import {EnvReader} from './env.js';

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
  databaseUrl: string;
  redisUrl: string;
  amqpUrl: string;
  /** Prefix for Redis keys, AMQP exchanges and queues, so test runs never touch dev data. */
  namespace: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** How long to keep answering NOT_SERVING before closing, so balancers notice. */
  drainMs: number;
  /** Most PostgreSQL connections this process opens. */
  dbPoolSize: number;
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
    databaseUrl: env.url(
      'AGORA_DATABASE_URL',
      'postgres://postgres@127.0.0.1:5432/agora',
      ['postgres:', 'postgresql:'],
    ),
    redisUrl: env.url('AGORA_REDIS_URL', 'redis://127.0.0.1:6379/0', [
      'redis:',
    ]),
    amqpUrl: env.url('AGORA_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', [
      'amqp:',
    ]),
    namespace: env.string('AGORA_NAMESPACE', 'agora'),
    logLevel: env.oneOf('AGORA_LOG_LEVEL', 'info', [
      'debug',
      'info',
      'warn',
      'error',
    ]),
    drainMs: env.int('AGORA_DRAIN_MS', 1000, 0, 60000),
    dbPoolSize: env.int(`${prefix}DB_POOL_SIZE`, 10, 1, 200),
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
