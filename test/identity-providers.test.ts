/**
 * Tokens shaped like the ones real identity providers issue (docs/identity-providers.md),
 * signed by a test key published on the loopback JWKS server under the provider's kid, and
 * configured with the TRUSTED_ISSUERS entry that document gives. Each is accepted, refused
 * after a user revocation through the admin API, and accepted again when issued later.
 * Issue 10 items 7–9: Okta's `"ver":1` and Entra's `"ver":"2.0"` are theirs, not a version
 * killswitch checks; Cognito access tokens carry `client_id`, not `aud`.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { ConfigError, parseConfig } from '../src/config/config';
import { ADMIN_KEY, BASE, KEYS } from './helpers/fixtures';
import { freshJwksPath, jwksBase, publishKeys } from './helpers/jwks-server';
import { mint, now, signRaw } from './helpers/tokens';

const rand = () => crypto.randomUUID();

interface Provider {
  /** The TRUSTED_ISSUERS entry of docs/identity-providers.md, without its jwksUri. */
  readonly entry: Record<string, unknown>;
  readonly kid: string;
  /** The provider's documented claim set for `sub`, issued at `iat`. */
  readonly claims: (sub: string, iat: number) => Record<string, unknown>;
  /** A sub in the provider's format (unique per test run). */
  readonly sub: () => string;
}

const ENTRA_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ENTRA_API_CLIENT = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const COGNITO_POOL = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_aBcDeFgHi';
const COGNITO_CLIENT = '3n4b5urk1ft4fl3mg5e62d9ado';
const GOOGLE_CLIENT = '407408718192-r8l0n4v3q2example.apps.googleusercontent.com';

const PROVIDERS: Record<string, Provider> = {
  // Okta, custom authorization server "default": access token.
  okta: {
    entry: { issuer: 'https://dev-12345678.okta.com/oauth2/default', audiences: ['api://default'], algorithms: ['RS256'] },
    kid: 'Bkw1cNx3rjW-h7kCHQ4ArEXAMPLE',
    sub: () => `alice.${rand()}@example.com`,
    claims: (sub, iat) => ({
      ver: 1,
      jti: `AT.${rand()}`,
      iss: 'https://dev-12345678.okta.com/oauth2/default',
      aud: 'api://default',
      iat,
      exp: iat + 3600,
      cid: '0oa1b2c3d4e5EXAMPLE',
      uid: '00u1b2c3d4e5EXAMPLE',
      scp: ['openid', 'profile', 'orders:read'],
      auth_time: iat - 10,
      sub,
    }),
  },
  // Microsoft Entra ID, v2.0 access token for an API app registration (no jti: `uti` is Entra's id).
  entra: {
    entry: {
      issuer: `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`,
      audiences: [ENTRA_API_CLIENT],
      algorithms: ['RS256'],
    },
    kid: 'nOo3ZDrODXEK1jKWhXslHR_KXEg',
    sub: () => `AAAAAAAAAAAAAAAAAAAAAI${rand().replace(/-/g, '')}`,
    claims: (sub, iat) => ({
      aud: ENTRA_API_CLIENT,
      iss: `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`,
      iat,
      nbf: iat,
      exp: iat + 3900,
      aio: 'AWQAm/8TAAAAexample',
      azp: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
      azpacr: '0',
      name: 'Alice Example',
      oid: rand(),
      preferred_username: 'alice@contoso.com',
      rh: '0.AAAAexample.',
      scp: 'access_as_user',
      sub,
      tid: ENTRA_TENANT,
      uti: 'fqiBqXLPj0eQa82S-IYFAA',
      ver: '2.0',
    }),
  },
  // Amazon Cognito user pool: access token (no aud; client_id names the app client).
  cognito: {
    entry: { issuer: COGNITO_POOL, audiences: [COGNITO_CLIENT], audienceClaim: 'client_id', algorithms: ['RS256'] },
    kid: '1234example=',
    sub: rand,
    claims: (sub, iat) => ({
      sub,
      'cognito:groups': ['admin'],
      iss: COGNITO_POOL,
      version: 2,
      client_id: COGNITO_CLIENT,
      origin_jti: rand(),
      event_id: rand(),
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      auth_time: iat - 5,
      exp: iat + 3600,
      iat,
      jti: rand(),
      username: 'alice',
    }),
  },
  // Auth0: access token for an API (identifier https://api.example.com), issuer with a trailing slash.
  auth0: {
    entry: { issuer: 'https://example-tenant.us.auth0.com/', audiences: ['https://api.example.com'], algorithms: ['RS256'] },
    kid: 'NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg',
    sub: () => `auth0|${rand().replace(/-/g, '').slice(0, 24)}`,
    claims: (sub, iat) => ({
      iss: 'https://example-tenant.us.auth0.com/',
      sub,
      aud: ['https://api.example.com', 'https://example-tenant.us.auth0.com/userinfo'],
      iat,
      exp: iat + 86400,
      scope: 'openid profile email read:orders',
      azp: 'my_spa_client_id',
      jti: rand(),
    }),
  },
  // Keycloak realm "acme": access token, with an audience mapper adding the API's client id.
  keycloak: {
    entry: { issuer: 'https://sso.example.com/realms/acme', audiences: ['orders-api'], algorithms: ['RS256'] },
    kid: 'Uy3kV8ExampleKeycloakKid',
    sub: rand,
    claims: (sub, iat) => ({
      exp: iat + 300,
      iat,
      auth_time: iat - 30,
      jti: `onrtac:${rand()}`,
      iss: 'https://sso.example.com/realms/acme',
      aud: ['orders-api', 'account'],
      sub,
      typ: 'Bearer',
      azp: 'web-app',
      sid: rand(),
      acr: '1',
      'allowed-origins': ['https://app.example.com'],
      realm_access: { roles: ['default-roles-acme', 'offline_access'] },
      resource_access: { account: { roles: ['manage-account', 'view-profile'] } },
      scope: 'openid email profile',
      email_verified: true,
      preferred_username: 'alice',
      email: 'alice@example.com',
    }),
  },
  // Google: ID token (Google access tokens are opaque), both spellings of the issuer trusted.
  google: {
    entry: { issuer: 'https://accounts.google.com', audiences: [GOOGLE_CLIENT], algorithms: ['RS256'] },
    kid: '6f7254101f56e41cf35c9926de84a2d552b4c6f1',
    sub: () => String(100000000000000000000n + BigInt(Math.floor(Math.random() * 1e15))),
    claims: (sub, iat) => ({
      iss: 'https://accounts.google.com',
      azp: GOOGLE_CLIENT,
      aud: GOOGLE_CLIENT,
      sub,
      email: 'alice@gmail.com',
      email_verified: true,
      at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
      name: 'Alice Example',
      given_name: 'Alice',
      family_name: 'Example',
      picture: 'https://lh3.googleusercontent.com/a/example',
      iat,
      nbf: iat - 30,
      exp: iat + 3600,
      jti: rand().replace(/-/g, ''),
    }),
  },
};

// One JWKS per provider on the loopback server, and one worker environment trusting them all.
let bindings: Record<string, unknown>;
beforeAll(async () => {
  const entries: Record<string, unknown>[] = await Promise.all(
    Object.values(PROVIDERS).map(async ({ entry, kid }) => {
      const path = freshJwksPath('idp');
      await publishKeys(path, [{ ...KEYS['rs256-1'].public, kid }]);
      return { ...entry, jwksUri: `${jwksBase()}${path}` };
    }),
  );
  const google = entries.find((e) => e.issuer === 'https://accounts.google.com')!;
  entries.push({ ...google, issuer: 'accounts.google.com' }); // Google's ID tokens use either spelling
  bindings = { ...env, TRUSTED_ISSUERS: JSON.stringify(entries) };
});

const signed = (provider: Provider, claims: Record<string, unknown>) =>
  signRaw(JSON.stringify({ alg: 'RS256', kid: provider.kid, typ: 'JWT' }), JSON.stringify(claims), 'rs256-1');

/** GET /v1/verify; `on` the providers' environment unless told (the test fixtures' issuers live in `env`). */
async function verify(token: string, on: object = bindings): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.fetch(
    new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
    on,
    createExecutionContext(),
  );
  return { status: res.status, body: await res.json() };
}

async function revokeUser(sub: string): Promise<{ version: number; revokedBefore: number }> {
  const res = await app.fetch(
    new Request(`${BASE}/v1/admin/users/${encodeURIComponent(sub)}/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: '{}',
    }),
    bindings,
    createExecutionContext(),
  );
  expect(res.status).toBe(200);
  return res.json();
}

describe.each(Object.entries(PROVIDERS))('%s-shaped tokens', (_name, provider) => {
  it('accepted; refused after the user is revoked (twice) through the admin API; accepted again when issued later', async () => {
    const sub = provider.sub();
    const before = await signed(provider, provider.claims(sub, now() - 60));
    const accepted = await verify(before);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ active: true, sub });

    await revokeUser(sub);
    const state = await revokeUser(sub); // version 2: above Okta's "ver":1, were it checked
    expect(state.version).toBe(2);
    expect(await verify(before)).toEqual({ status: 401, body: { active: false, error: 'invalid_token', reason: 'revoked_user' } });

    const later = await signed(provider, provider.claims(sub, state.revokedBefore + 3));
    const again = await verify(later);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ active: true, sub });
  });

  it('refused for another audience, and for a signature that does not verify', async () => {
    const claims = provider.claims(provider.sub(), now());
    const audienceClaim = (provider.entry.audienceClaim as string | undefined) ?? 'aud';
    expect((await verify(await signed(provider, { ...claims, [audienceClaim]: 'someone-else' }))).body).toMatchObject({
      reason: 'wrong_audience',
    });
    const token = await signed(provider, claims);
    const forged = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.slice(-1)}`;
    expect((await verify(forged)).body).toMatchObject({ reason: 'bad_signature' });
  });
});

describe('provider pitfalls', () => {
  it('Google: an ID token whose iss is "accounts.google.com" (no scheme) is accepted too', async () => {
    const google = PROVIDERS.google!;
    const sub = google.sub();
    const res = await verify(await signed(google, { ...google.claims(sub, now()), iss: 'accounts.google.com' }));
    expect(res).toMatchObject({ status: 200, body: { sub } });
  });

  it('Cognito: an ID token (aud = the client id, no client_id) is not an access token: wrong_audience', async () => {
    const cognito = PROVIDERS.cognito!;
    const sub = cognito.sub();
    const { client_id: _none, jti: _jti, scope: _scope, ...rest } = cognito.claims(sub, now());
    const idToken = await signed(cognito, { ...rest, aud: COGNITO_CLIENT, token_use: 'id', email: 'alice@example.com' });
    expect((await verify(idToken)).body).toMatchObject({ reason: 'wrong_audience' });
  });

  it('Okta: "ver":1 is never compared with the user version, and its other types are not malformed', async () => {
    const okta = PROVIDERS.okta!;
    for (const ver of [0, 1, '1', -1, 1.5]) {
      expect((await verify(await signed(okta, { ...okta.claims(okta.sub(), now()), ver }))).status).toBe(200);
    }
  });
});

describe('an issuer entry that names a versionClaim (reference §2)', () => {
  // The test fixtures' HS issuer names "ver"; the "second" issuer names none.
  it('checks that claim: older version refused, current accepted, wrong type malformed', async () => {
    const sub = `idp-version-${rand()}`;
    await revokeUser(sub);
    const { version, revokedBefore } = await revokeUser(sub);
    const token = (ver: unknown) => mint('HS256', { claims: { sub, ver, iat: revokedBefore + 1 } });
    expect((await verify(await token(version - 1), env)).body).toMatchObject({ reason: 'revoked_user' });
    expect((await verify(await token(version), env)).status).toBe(200);
    for (const wrong of ['2.0', -1, 1.5]) expect((await verify(await token(wrong), env)).body).toMatchObject({ reason: 'malformed' });
  });

  it('an issuer without one ignores a "ver" claim of any type', async () => {
    const sub = `idp-no-version-${rand()}`;
    await revokeUser(sub);
    const { revokedBefore } = await revokeUser(sub);
    for (const ver of [0, 1, '2.0', -1]) {
      const token = await mint('second-1', { claims: { sub, ver, iat: revokedBefore + 3 } });
      expect((await verify(token, env)).status).toBe(200);
    }
  });

  it("killswitch's own tokens are version-checked under VERSION_CLAIM (the own issuer's versionClaim)", () => {
    const config = parseConfig({ ...env, VERSION_CLAIM: 'tv' } as never);
    expect(config.ownIssuer?.versionClaim).toBe('tv');
    expect([...config.issuers.values()].filter((i) => i !== config.ownIssuer).map((i) => i.versionClaim)).toEqual([
      'ver',
      'ver',
      undefined,
      undefined,
    ]); // the fixtures' entries, as configured
  });

  it.each([
    ['versionClaim', ''],
    ['versionClaim', 1],
    ['audienceClaim', ''],
    ['audienceClaim', ['client_id']],
    ['userClaim', ''],
    ['userClaim', 1],
  ])('%s %j is a configuration error naming the field', (field, value) => {
    const entry = {
      issuer: 'https://x.test',
      audiences: ['api'],
      algorithms: ['RS256'],
      jwks: { keys: [KEYS['rs256-1'].public] },
      [field]: value,
    };
    expect(() => parseConfig({ ...env, TRUSTED_ISSUERS: JSON.stringify([entry]) } as never)).toThrow(
      new ConfigError(`TRUSTED_ISSUERS[0].${field}`, 'must be a non-empty claim name'),
    );
  });
});
