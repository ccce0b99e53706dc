/**
 * A development OIDC issuer on disk, for `npm start`, the tests and `npm run token`: one
 * key for people's tokens and one per service for service identities, their public
 * halves in a JWKS file the services verify against. Created once per directory; a
 * real deployment points the services at its identity provider's JWKS instead.
 */
import {randomUUID} from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {join} from 'node:path';
import {exportJWK, generateKeyPair, importJWK, SignJWT, type JWK} from 'jose';
import {SERVICE_PORTS, type ServiceName} from '../config/service_config.js';
import {SERVICE_KEY_ID_PREFIX} from './auth_config.js';

export const DEV_ISSUER = 'agora-dev';
export const DEV_AUDIENCE = 'agora';
const PEOPLE_KEY_ID = 'agora-dev-issuer-1';
const PEOPLE_KEY_FILE = 'issuer.private.jwk.json';
const ALG = 'ES256';

export interface TokenClaims {
  subject: string;
  roles: string[];
  /** Lifetime in seconds; negative gives an expired token (tests). */
  ttlS?: number;
  issuer?: string;
  audience?: string;
}

export class DevIssuer {
  private constructor(readonly dir: string) {}

  get jwksFile(): string {
    return join(this.dir, 'jwks.json');
  }

  /** Must match what auth_config.ts derives from AGORA_AUTH_DEV_DIR. */
  serviceKeyFile(service: ServiceName): string {
    return join(this.dir, `service-${service}.private.jwk.json`);
  }

  /** What a launcher gives every service so it trusts this issuer (auth_config.ts). */
  get env(): Record<string, string> {
    return {
      AGORA_AUTH_DEV_DIR: this.dir,
      AGORA_AUTH_ISSUER: DEV_ISSUER,
      AGORA_AUTH_AUDIENCE: DEV_AUDIENCE,
    };
  }

  /**
   * Creates the keys under `dir` unless they are there. They are made in a directory of
   * their own and renamed into place, so two commands starting at once (npm start and
   * npm test) never mix keys: the second rename fails and that caller uses the first's.
   */
  static async ensure(dir: string): Promise<DevIssuer> {
    const issuer = new DevIssuer(dir);
    if (existsSync(issuer.jwksFile)) return issuer;
    const tmp = `${dir}.${process.pid}.${randomUUID()}.tmp`;
    mkdirSync(tmp, {recursive: true, mode: 0o700});
    const draft = new DevIssuer(tmp);
    const publicKeys: JWK[] = [];
    const keyIds: Array<[string, string]> = [
      [PEOPLE_KEY_ID, join(tmp, PEOPLE_KEY_FILE)],
      ...(Object.keys(SERVICE_PORTS) as ServiceName[]).map(
        s =>
          [`${SERVICE_KEY_ID_PREFIX}${s}`, draft.serviceKeyFile(s)] as [
            string,
            string,
          ],
      ),
    ];
    for (const [kid, file] of keyIds) {
      const {publicKey, privateKey} = await generateKeyPair(ALG, {
        extractable: true,
      });
      const meta = {kid, alg: ALG, use: 'sig'};
      writeFileSync(
        file,
        JSON.stringify({...(await exportJWK(privateKey)), ...meta}),
        {mode: 0o600},
      );
      publicKeys.push({...(await exportJWK(publicKey)), ...meta});
    }
    writeFileSync(draft.jwksFile, JSON.stringify({keys: publicKeys}, null, 2));
    try {
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, {recursive: true, force: true});
      if (!existsSync(issuer.jwksFile)) throw err;
    }
    return issuer;
  }

  /** Signs a token for a person (customer or admin) with the people's key. */
  async mint(claims: TokenClaims): Promise<string> {
    const jwk = JSON.parse(
      readFileSync(join(this.dir, PEOPLE_KEY_FILE), 'utf8'),
    ) as JWK;
    return signWith(jwk, claims);
  }

  /** An `authorization` header value for `claims` (a day long unless told otherwise). */
  async bearer(claims: TokenClaims): Promise<string> {
    return `Bearer ${await this.mint({ttlS: 86_400, ...claims})}`;
  }

  /** Signs a token with a service's own key (tests of service identities). */
  async mintForService(
    service: ServiceName,
    claims: TokenClaims,
  ): Promise<string> {
    const jwk = JSON.parse(
      readFileSync(this.serviceKeyFile(service), 'utf8'),
    ) as JWK;
    return signWith(jwk, claims);
  }
}

async function signWith(jwk: JWK, claims: TokenClaims): Promise<string> {
  const key = await importJWK(jwk, ALG);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({roles: claims.roles})
    .setProtectedHeader({alg: ALG, kid: jwk.kid})
    .setIssuer(claims.issuer ?? DEV_ISSUER)
    .setAudience(claims.audience ?? DEV_AUDIENCE)
    .setSubject(claims.subject)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.ttlS ?? 3600))
    .setJti(randomUUID())
    .sign(key);
}
