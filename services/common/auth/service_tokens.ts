/**
 * The calling service's identity on every in-mesh call: a short-lived JWT signed with
 * the service's own key (kid `agora-service-<name>`, published in the issuer's JWKS),
 * minted ahead of expiry in the background so no call ever waits for one.
 */
import {readFileSync} from 'node:fs';
import {importJWK, SignJWT, type JWK} from 'jose';
import {ConfigError} from '../config/env.js';
import type {ServiceConfig, ServiceName} from '../config/service_config.js';
import {serviceRole, SERVICE_KEY_ID_PREFIX} from './auth_config.js';

/** Long enough that a restart storm does not mint thousands; short enough to be worth little if stolen. */
const LIFETIME_S = 300;

export class ServiceTokens {
  private header = '';
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly sign: () => Promise<string>,
    private readonly lifetimeS: number,
  ) {}

  /** Loads the key and mints the first token; later ones are minted at 80 % of a lifetime. */
  static async start(opts: {
    service: ServiceName;
    keyFile: string;
    issuer: string;
    audience: string;
    lifetimeS?: number;
  }): Promise<ServiceTokens> {
    const jwk = JSON.parse(readFileSync(opts.keyFile, 'utf8')) as JWK;
    const kid = `${SERVICE_KEY_ID_PREFIX}${opts.service}`;
    if (jwk.kid !== kid) {
      throw new Error(
        `${opts.keyFile}: the key id must be ${kid} (a service signs only its own identity), got ${jwk.kid}`,
      );
    }
    const key = await importJWK(jwk, jwk.alg ?? 'ES256');
    const lifetimeS = opts.lifetimeS ?? LIFETIME_S;
    const sign = () =>
      new SignJWT({roles: [serviceRole(opts.service)]})
        .setProtectedHeader({alg: jwk.alg ?? 'ES256', kid})
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(serviceRole(opts.service))
        .setIssuedAt()
        .setExpirationTime(`${lifetimeS}s`)
        .sign(key);
    const tokens = new ServiceTokens(sign, lifetimeS);
    await tokens.refresh();
    return tokens;
  }

  /** The `authorization` header value to send now. */
  current(): string {
    return this.header;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async refresh(): Promise<void> {
    this.header = `Bearer ${await this.sign()}`;
    this.timer = setTimeout(
      () => void this.refresh().catch(() => this.retrySoon()),
      this.lifetimeS * 800,
    );
    this.timer.unref();
  }

  private retrySoon(): void {
    this.timer = setTimeout(
      () => void this.refresh().catch(() => this.retrySoon()),
      1000,
    );
    this.timer.unref();
  }
}

/**
 * The identity tokens of a service that calls other services, or undefined when
 * authentication is off. Fails at start, naming the variable, when it has no key.
 */
export async function startServiceTokens(
  config: ServiceConfig,
): Promise<ServiceTokens | undefined> {
  if (!config.auth.enabled) return undefined;
  if (!config.auth.serviceKeyFile) {
    throw new ConfigError(
      'AGORA_SERVICE_KEY_FILE',
      `must name the ${config.service} service's private signing key (a JWK) so its calls carry its identity`,
      '',
    );
  }
  return ServiceTokens.start({
    service: config.service,
    keyFile: config.auth.serviceKeyFile,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
}
