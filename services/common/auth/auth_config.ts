/**
 * How a service verifies callers: the OIDC settings a shop points at its identity
 * provider (Keycloak, Auth0, Cognito, …), read once in the composition root.
 */
import {ConfigError, type EnvReader} from '../config/env.js';
import type {ServiceName} from '../config/service_config.js';

export interface AuthConfig {
  /** False only for benchmark A/B runs; refused when AGORA_ENV=production. */
  enabled: boolean;
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must include. */
  audience: string;
  /** Where the issuer's public keys are: a JWKS file (re-read when it changes) or URL. */
  jwks: {kind: 'file'; path: string} | {kind: 'url'; url: string};
  /** Dotted path of the roles claim (`roles`; Keycloak: `realm_access.roles`). */
  rolesClaim: string;
  /** Accepted clock difference for `exp` and `nbf`, seconds. */
  clockSkewS: number;
  /** The private JWK this service signs its own short-lived service tokens with. */
  serviceKeyFile: string | undefined;
}

export type DeploymentEnv = 'development' | 'staging' | 'production';

export function readDeploymentEnv(env: EnvReader): DeploymentEnv {
  return env.oneOf('AGORA_ENV', 'development', [
    'development',
    'staging',
    'production',
  ]);
}

/**
 * AGORA_AUTH_DEV_DIR (set by the local launchers, refused in production) stands for the
 * development issuer's files: its JWKS and this service's signing key.
 */
export function readAuthConfig(
  env: EnvReader,
  service: ServiceName,
): AuthConfig {
  const raw = env.raw;
  const devDir = raw.AGORA_AUTH_DEV_DIR;
  if (devDir && readDeploymentEnv(env) === 'production') {
    throw new ConfigError(
      'AGORA_AUTH_DEV_DIR',
      'is a development issuer and must not be set when AGORA_ENV=production',
      devDir,
    );
  }
  const enabled = env.oneOf('AGORA_AUTH', 'on', ['on', 'off']) === 'on';
  if (!enabled && readDeploymentEnv(env) === 'production') {
    throw new ConfigError(
      'AGORA_AUTH',
      'must not be off when AGORA_ENV=production',
      raw.AGORA_AUTH ?? '',
    );
  }
  const file =
    raw.AGORA_AUTH_JWKS_FILE || (devDir ? `${devDir}/jwks.json` : undefined);
  const url = raw.AGORA_AUTH_JWKS_URL;
  let jwks: AuthConfig['jwks'];
  if (url) {
    jwks = {
      kind: 'url',
      url: env.url('AGORA_AUTH_JWKS_URL', url, ['https:', 'http:']),
    };
  } else if (file) {
    jwks = {kind: 'file', path: file};
  } else if (enabled) {
    throw new ConfigError(
      'AGORA_AUTH_JWKS_FILE',
      'or AGORA_AUTH_JWKS_URL must be set (npm start creates a development issuer under .agora/auth)',
      '',
    );
  } else {
    jwks = {kind: 'file', path: ''};
  }
  return {
    enabled,
    issuer: env.string('AGORA_AUTH_ISSUER', 'agora-dev'),
    audience: env.string('AGORA_AUTH_AUDIENCE', 'agora'),
    jwks,
    rolesClaim: env.string('AGORA_AUTH_ROLES_CLAIM', 'roles'),
    clockSkewS: env.int('AGORA_AUTH_CLOCK_SKEW_S', 30, 0, 300),
    serviceKeyFile:
      raw.AGORA_SERVICE_KEY_FILE ||
      (devDir ? `${devDir}/service-${service}.private.jwk.json` : undefined),
  };
}

/** The role a service identity's token carries: `service:order`, `service:payment`, … */
export function serviceRole(service: ServiceName): string {
  return `service:${service}`;
}

/** Key ids of the per-service signing keys; such a key may sign only its own identity. */
export const SERVICE_KEY_ID_PREFIX = 'agora-service-';
