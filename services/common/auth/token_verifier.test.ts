import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Code, ConnectError} from '@connectrpc/connect';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import type {AuthConfig} from './auth_config.js';
import {DevIssuer} from './dev_issuer.js';
import {TokenVerifier} from './token_verifier.js';

const issuer = await DevIssuer.ensure(
  join(mkdtempSync(join(tmpdir(), 'agora-auth-')), 'auth'),
);

function config(over: Partial<AuthConfig> = {}): AuthConfig {
  return {
    enabled: true,
    issuer: 'agora-dev',
    audience: 'agora',
    jwks: {kind: 'file', path: issuer.jwksFile},
    rolesClaim: 'roles',
    clockSkewS: 30,
    serviceKeyFile: undefined,
    ...over,
  };
}

async function refusal(
  verifier: TokenVerifier,
  header: string | undefined,
): Promise<ConnectError> {
  try {
    await verifier.principal(header);
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error('the token was accepted');
}

describe('TokenVerifier', () => {
  it('turns a customer token into that customer, and remembers it until it expires', async () => {
    const verifier = new TokenVerifier(config());
    const header = await issuer.bearer({subject: 'alice', roles: ['customer']});
    expect(verifier.cached(header)).toBeUndefined();
    expect(await verifier.principal(header)).toEqual({
      kind: 'customer',
      customerId: 'alice',
      subject: 'alice',
    });
    expect(verifier.cached(header)).toEqual(
      expect.objectContaining({kind: 'customer', customerId: 'alice'}),
    );
  });

  it('knows admins, service identities and callers without a role', async () => {
    const verifier = new TokenVerifier(config());
    const admin = await issuer.bearer({subject: 'ops', roles: ['admin']});
    const none = await issuer.bearer({subject: 'bob', roles: ['viewer']});
    const order = `Bearer ${await issuer.mintForService('order', {
      subject: 'service:order',
      roles: ['service:order'],
    })}`;
    expect((await verifier.principal(admin)).kind).toBe('admin');
    expect((await verifier.principal(none)).kind).toBe('none');
    expect(await verifier.principal(order)).toEqual({
      kind: 'service',
      service: 'order',
      subject: 'service:order',
    });
  });

  it.each([
    ['no header', async () => undefined, /needs a credential/],
    ['not a bearer token', async () => 'Basic dXNlcjpwYXNz', /must be "Bearer/],
    [
      'an expired token',
      () => issuer.bearer({subject: 'a', roles: ['customer'], ttlS: -120}),
      /expired/,
    ],
    [
      'another issuer',
      () => issuer.bearer({subject: 'a', roles: ['customer'], issuer: 'evil'}),
      /"iss" claim/,
    ],
    [
      'another audience',
      () =>
        issuer.bearer({subject: 'a', roles: ['customer'], audience: 'other'}),
      /"aud" claim/,
    ],
    ['garbage', async () => 'Bearer not.a.jwt', /not a well-formed JWT/],
  ])('refuses %s as UNAUTHENTICATED', async (_, header, message) => {
    const err = await refusal(new TokenVerifier(config()), await header());
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toMatch(message);
  });

  it('refuses a token whose signature is not the published key’s', async () => {
    const {privateKey} = await generateKeyPair('ES256');
    const forged = await new SignJWT({roles: ['admin']})
      .setProtectedHeader({alg: 'ES256', kid: 'agora-dev-issuer-1'})
      .setIssuer('agora-dev')
      .setAudience('agora')
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(privateKey);
    const err = await refusal(new TokenVerifier(config()), `Bearer ${forged}`);
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toMatch(/signature does not verify/);
  });

  it('refuses an admin token signed with a service’s key', async () => {
    const token = await issuer.mintForService('report', {
      subject: 'x',
      roles: ['admin'],
    });
    const err = await refusal(new TokenVerifier(config()), `Bearer ${token}`);
    expect(err.rawMessage).toMatch(/may sign only the report service/);
  });

  it('follows a rotated key set without a restart, forgetting tokens of withdrawn keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-rotate-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, readFileSync(issuer.jwksFile));
    let now = Date.now();
    const verifier = new TokenVerifier(
      config({jwks: {kind: 'file', path: file}}),
      () => now,
    );
    const header = await issuer.bearer({subject: 'alice', roles: ['customer']});
    await verifier.principal(header);
    // The issuer withdraws its people key and publishes a new one.
    const {publicKey} = await generateKeyPair('ES256', {extractable: true});
    const jwks = JSON.parse(readFileSync(file, 'utf8')) as {
      keys: Array<{kid: string}>;
    };
    jwks.keys = [
      ...jwks.keys.filter(k => k.kid !== 'agora-dev-issuer-1'),
      {...(await exportJWK(publicKey)), kid: 'agora-dev-issuer-2'},
    ];
    writeFileSync(file, JSON.stringify(jwks));
    now += 1500;
    const err = await refusal(verifier, header);
    expect(err.rawMessage).toMatch(/key the issuer does not publish/);
    expect(verifier.cached(header)).toBeUndefined();
  });
});

describe('TokenVerifier with a JWKS URL', () => {
  /** Serves `body()` as the key set at http://127.0.0.1:<port>/jwks. */
  async function serveJwks(
    body: () => string,
  ): Promise<{url: string; server: Server}> {
    const server = createServer((_req, res) => {
      res.writeHead(200, {'content-type': 'application/json'});
      res.end(body());
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const {port} = server.address() as AddressInfo;
    return {url: `http://127.0.0.1:${port}/jwks`, server};
  }

  it('verifies tokens against the key set the issuer publishes at its URL, and refuses forged ones', async () => {
    let fetches = 0;
    const {url, server} = await serveJwks(() => {
      fetches++;
      return readFileSync(issuer.jwksFile, 'utf8');
    });
    try {
      const verifier = new TokenVerifier(config({jwks: {kind: 'url', url}}));
      const alice = await issuer.bearer({
        subject: 'alice',
        roles: ['customer'],
      });
      expect(await verifier.principal(alice)).toMatchObject({
        kind: 'customer',
        customerId: 'alice',
      });
      const {privateKey} = await generateKeyPair('ES256');
      const forged = await new SignJWT({roles: ['admin']})
        .setProtectedHeader({alg: 'ES256', kid: 'agora-dev-issuer-1'})
        .setIssuer('agora-dev')
        .setAudience('agora')
        .setSubject('mallory')
        .setExpirationTime('5m')
        .sign(privateKey);
      const err = await refusal(verifier, `Bearer ${forged}`);
      expect(err.code).toBe(Code.Unauthenticated);
      // One fetch served both: the key set is cached, not fetched per call.
      expect(fetches).toBe(1);
    } finally {
      server.close();
    }
  });

  it('answers UNAVAILABLE, not UNAUTHENTICATED, when the key set cannot be fetched', async () => {
    const {url, server} = await serveJwks(() => '');
    await new Promise<void>(r => server.close(() => r()));
    const verifier = new TokenVerifier(config({jwks: {kind: 'url', url}}));
    const err = await refusal(
      verifier,
      await issuer.bearer({subject: 'alice', roles: ['customer']}),
    );
    expect(err.code).toBe(Code.Unavailable);
  });
});
