/**
 * Turns `authorization: Bearer <JWT>` into a Principal, the OIDC way: the signature
 * against the issuer's JWKS (a file re-read when it changes, or a URL fetched and
 * refreshed by jose), then issuer, audience, expiry and not-before with a bounded clock
 * skew. A verified token is remembered until it expires, so the hot path verifies each
 * token once, not on every call (an ES256 verification costs more than the rest of a
 * cheap call).
 */
import {statSync, readFileSync} from 'node:fs';
import {Code, ConnectError} from '@connectrpc/connect';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import {SERVICE_PORTS, type ServiceName} from '../config/service_config.js';
import {SERVICE_KEY_ID_PREFIX, type AuthConfig} from './auth_config.js';
import type {Principal} from './principal.js';

/** Verified tokens remembered at once; past this the oldest is forgotten first. */
const CACHE_LIMIT = 20_000;
/** How often the JWKS file's modification time is checked. */
const FILE_CHECK_MS = 1000;
const ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];
const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];
const CUSTOMER_ID = /^[^\p{Cc}]{1,128}$/u;

export class TokenVerifier {
  private readonly cache = new Map<
    string,
    {principal: Principal; expiresAt: number}
  >();
  private fileKeys: JWTVerifyGetKey | undefined;
  private fileStamp = '';
  private fileCheckedAt = 0;
  private readonly remoteKeys: JWTVerifyGetKey | undefined;

  constructor(
    private readonly config: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    if (config.jwks.kind === 'url') {
      this.remoteKeys = createRemoteJWKSet(new URL(config.jwks.url), {
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
      });
    }
  }

  /** The principal of an `authorization` header value; UNAUTHENTICATED when it has none. */
  async principal(authorization: string | undefined): Promise<Principal> {
    if (!authorization) {
      throw unauthenticated(
        'this call needs a credential: send "authorization: Bearer <token>"',
      );
    }
    const hit = this.cached(authorization);
    if (hit) return hit;
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
    if (!match) {
      throw unauthenticated(
        'the authorization header must be "Bearer <token>"',
      );
    }
    const keys = this.keys();
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      const result = await jwtVerify(match[1], keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockSkewS,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.now()),
      });
      payload = result.payload;
      kid = result.protectedHeader.kid;
    } catch (err) {
      // The issuer's key set could not be fetched: the token may be fine, so this is an
      // outage to retry, not a refusal of the caller.
      if (this.remoteKeys && keySetUnreachable(err)) {
        throw new ConnectError(
          "the token issuer's key set cannot be fetched right now; retry",
          Code.Unavailable,
        );
      }
      throw unauthenticated(`the bearer token was refused: ${reason(err)}`);
    }
    const principal = this.toPrincipal(payload, kid);
    if (this.cache.size >= CACHE_LIMIT) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(authorization, {
      principal,
      expiresAt: (payload.exp as number) * 1000,
    });
    return principal;
  }

  /** The principal of a token verified before and not yet expired, without any await. */
  cached(authorization: string): Principal | undefined {
    // At most once a second: a changed key set empties the cache, so a withdrawn key's
    // tokens stop working within a second, not at their expiry.
    if (this.fileKeys && this.now() - this.fileCheckedAt >= FILE_CHECK_MS) {
      this.keys();
    }
    const hit = this.cache.get(authorization);
    if (!hit) return undefined;
    if (hit.expiresAt > this.now()) return hit.principal;
    this.cache.delete(authorization);
    return undefined;
  }

  private keys(): JWTVerifyGetKey {
    if (this.remoteKeys) return this.remoteKeys;
    const path = (this.config.jwks as {path: string}).path;
    const now = this.now();
    if (this.fileKeys && now - this.fileCheckedAt < FILE_CHECK_MS) {
      return this.fileKeys;
    }
    this.fileCheckedAt = now;
    const stat = statSync(path, {throwIfNoEntry: false});
    if (!stat) {
      throw new ConnectError(
        'the service cannot verify credentials: its key set is missing',
        Code.Unavailable,
      );
    }
    const stamp = `${stat.mtimeMs}:${stat.size}`;
    if (stamp !== this.fileStamp || !this.fileKeys) {
      // Rotated keys: tokens of a withdrawn key must not live on in the cache.
      this.fileKeys = createLocalJWKSet(JSON.parse(readFileSync(path, 'utf8')));
      this.fileStamp = stamp;
      this.cache.clear();
    }
    return this.fileKeys;
  }

  private toPrincipal(payload: JWTPayload, kid: string | undefined): Principal {
    const subject = payload.sub as string;
    const roles = rolesOf(payload, this.config.rolesClaim);
    const service = SERVICES.find(s => roles.includes(`service:${s}`));
    // A service's own signing key may vouch only for that service, so one leaked
    // service key cannot mint admin or customer tokens.
    if (kid?.startsWith(SERVICE_KEY_ID_PREFIX)) {
      const owner = kid.slice(SERVICE_KEY_ID_PREFIX.length);
      if (service !== owner || roles.length !== 1) {
        throw unauthenticated(
          `the bearer token was refused: key ${kid} may sign only the ${owner} service's identity`,
        );
      }
    }
    if (service) return {kind: 'service', service, subject};
    if (roles.includes('admin')) return {kind: 'admin', subject};
    if (roles.includes('customer')) {
      if (!CUSTOMER_ID.test(subject)) {
        throw unauthenticated(
          'the bearer token was refused: a customer subject must be 1 to 128 characters without control characters',
        );
      }
      return {kind: 'customer', customerId: subject, subject};
    }
    return {kind: 'none', subject};
  }
}

function rolesOf(payload: JWTPayload, claimPath: string): string[] {
  let value: unknown = payload;
  for (const part of claimPath.split('.')) {
    value =
      value && typeof value === 'object'
        ? (value as Record<string, unknown>)[part]
        : undefined;
  }
  if (typeof value === 'string') return value.split(' ');
  return Array.isArray(value)
    ? value.filter((r): r is string => typeof r === 'string')
    : [];
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    return `its "${err.claim}" claim is not accepted (${err.reason})`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return 'its signature does not verify';
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return 'it is signed by a key the issuer does not publish';
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return 'its signing algorithm is not accepted';
  }
  return 'it is not a well-formed JWT';
}

/** A JWKS URL that timed out or did not answer (fetch fails with a non-JOSE error). */
function keySetUnreachable(err: unknown): boolean {
  return (
    err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)
  );
}

function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}
