import { Hono, type Context } from 'hono';
import type { Config } from '../config/config';
import type { TokenServiceConfig } from '../config/token-service';
import { globalRevokedBefore } from '../revocation/global-revoked-before';
import { userObjectName } from '../revocation/storage-keys';
import { atWriter } from '../revocation/revoker';
import { mintAccessToken, RESERVED_CLAIMS } from '../tokens/access-token';
import { newRefreshToken, refreshTokenDigest, refreshTokenSubject } from '../tokens/refresh-token';
import { MAX_TOKEN_BYTES } from '../verify/compact-jws';
import { adminAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { badRequest, readForm, readJsonObject } from '../http/body';
import { errorResponse, jsonResponse } from '../http/responses';
import { describeIssue, formObject, RefreshForm, SessionBody, validate, type ResponseBody } from './schemas';
import { nowSeconds } from '../clock';

/** docs/reference.md §6: killswitch as a small token issuer whose tokens play by its own revocation rules. */
export const tokenServiceRoutes = new Hono<AppEnv>();

function serviceOf(c: Context<AppEnv>): TokenServiceConfig {
  const service = c.var.config.tokenService;
  if (service === undefined) throw badRequest('the token service is off (TOKEN_SIGNING_KEYS is not set)', 'not_configured');
  return service;
}

/** TOKEN_ISSUER, or the origin this request came in on. */
function issuerOf(c: Context<AppEnv>, service: TokenServiceConfig): string {
  return service.issuer ?? new URL(c.req.url).origin;
}

/** RFC 6749 §5.1: token responses must not be cached. */
const TOKEN_HEADERS = { Pragma: 'no-cache' };

async function issueTokens(
  c: Context<AppEnv>,
  service: TokenServiceConfig,
  sub: string,
  grant: (access: { iss: string; jti: string; exp: number }) => Promise<
    | {
        familyId: string;
        version: number;
        scope?: string;
        claims?: Record<string, unknown>;
      }
    | undefined
  >,
  refreshToken: string,
): Promise<Response> {
  const config: Config = c.var.config;
  const now = nowSeconds();
  const iss = issuerOf(c, service);
  const jti = crypto.randomUUID();
  const granted = await grant({ iss, jti, exp: now + service.accessTokenTtlSeconds });
  if (granted === undefined) return errorResponse(400, 'invalid_grant');
  const { token } = await mintAccessToken(
    service,
    {
      issuer: iss,
      sub,
      jti,
      sessionId: granted.familyId,
      version: granted.version,
      versionClaim: config.versionClaim,
      scope: granted.scope,
      claims: granted.claims,
    },
    now,
  );
  Object.assign(c.var.log, { sub, jti });
  return jsonResponse(
    {
      access_token: token,
      token_type: 'Bearer',
      expires_in: service.accessTokenTtlSeconds,
      refresh_token: refreshToken,
      ...(granted.scope === undefined ? {} : { scope: granted.scope }),
    } satisfies ResponseBody<'TokenResponse'>,
    200,
    TOKEN_HEADERS,
  );
}

/** What SessionBody cannot know: the configured version claim, and the token size limit. */
function extraClaims(claims: Record<string, unknown> | undefined, versionClaim: string): Record<string, unknown> | undefined {
  if (claims === undefined) return undefined;
  const reserved = [...RESERVED_CLAIMS, versionClaim].filter((name) => name in claims);
  if (reserved.length > 0) throw badRequest(`"claims" may not set ${reserved.join(', ')}`);
  if (JSON.stringify(claims).length > MAX_TOKEN_BYTES / 2) throw badRequest('"claims" is too large for a token');
  return claims;
}

/**
 * Refuses a session whose access tokens /v1/verify would refuse as over 8 KiB: a probe token
 * with the largest values the real ones can take (the version at its maximum) is signed and
 * measured, before anything is stored.
 */
async function checkTokenSize(
  c: Context<AppEnv>,
  service: TokenServiceConfig,
  sub: string,
  scope?: string,
  claims?: Record<string, unknown>,
) {
  const { token } = await mintAccessToken(
    service,
    {
      issuer: issuerOf(c, service),
      sub,
      jti: crypto.randomUUID(),
      sessionId: crypto.randomUUID(),
      version: Number.MAX_SAFE_INTEGER,
      versionClaim: c.var.config.versionClaim,
      scope,
      claims,
    },
    nowSeconds(),
  );
  if (token.length > MAX_TOKEN_BYTES) {
    throw badRequest(
      `the access token would be ${token.length} bytes, over the ${MAX_TOKEN_BYTES}-byte (8 KiB) limit of /v1/verify: shorten "sub", "scope" or "claims"`,
    );
  }
}

/** The app's login backend, after it authenticated the user: a new session. */
tokenServiceRoutes.post('/v1/sessions', adminAuth, async (c) => {
  const service = serviceOf(c);
  const body = validate(SessionBody, await readJsonObject(c));
  const { sub, scope } = body;
  const claims = extraClaims(body.claims, c.var.config.versionClaim);
  await checkTokenSize(c, service, sub, scope, claims);
  const refresh = await newRefreshToken(service, sub);
  const user = c.env.USER_STATE.getByName(userObjectName(sub));
  const familyId = crypto.randomUUID();
  return issueTokens(
    c,
    service,
    sub,
    async (access) => {
      const { version } = await atWriter(() =>
        user.startSession({
          sub,
          familyId,
          digest: refresh.digest,
          scope,
          claims,
          tokenTtl: service.refreshTokenTtlSeconds,
          familyMaxAge: service.refreshFamilyMaxAgeSeconds,
          access,
        }),
      );
      return { familyId, version, scope, claims };
    },
    refresh.token,
  );
});

/** RFC 6749 §6, public client: the refresh token is the credential. Rotates it every time. */
tokenServiceRoutes.post('/v1/token', async (c) => {
  const service = serviceOf(c);
  const form = formObject(await readForm(c));
  const parsed = RefreshForm.safeParse(form);
  if (!parsed.success) {
    // RFC 6749 §5.2: a grant_type that is there but not ours is unsupported_grant_type.
    if (form.grant_type !== undefined && form.grant_type !== 'refresh_token') return errorResponse(400, 'unsupported_grant_type');
    return errorResponse(400, 'invalid_request', describeIssue(parsed.error.issues[0]));
  }
  const presented = parsed.data.refresh_token;
  // The tag first: a forged token (any invented sub) is refused before any Durable Object is touched.
  const sub = await refreshTokenSubject(service, presented);
  if (sub === undefined) return errorResponse(400, 'invalid_grant');
  const [digest, refresh] = await Promise.all([refreshTokenDigest(presented), newRefreshToken(service, sub)]);
  const user = c.env.USER_STATE.getByName(userObjectName(sub));
  return issueTokens(
    c,
    service,
    sub,
    async (access) => {
      // A revoke-all ends the sessions that started before it, too.
      const revokedBefore = await atWriter(() => globalRevokedBefore(c.env.GLOBAL_STATE));
      const result = await atWriter(() =>
        user.refresh({
          sub,
          digest,
          newDigest: refresh.digest,
          tokenTtl: service.refreshTokenTtlSeconds,
          access,
          clockTolerance: c.var.config.clockToleranceSeconds,
          startedAfter: revokedBefore,
        }),
      );
      if (result === null) return undefined;
      const claims = result.claimsJson === null ? undefined : (JSON.parse(result.claimsJson) as Record<string, unknown>);
      return { familyId: result.familyId, version: result.version, scope: result.scope ?? undefined, claims };
    },
    refresh.token,
  );
});

tokenServiceRoutes.get('/.well-known/jwks.json', (c) => {
  const service = serviceOf(c);
  // Not `satisfies Jwks`: PublicJwk types its members `unknown`; test/openapi.test.ts checks the answer.
  return jsonResponse({ keys: service.publicJwks }, 200, { 'Cache-Control': 'public, max-age=300' });
});

/** RFC 8414 metadata. */
tokenServiceRoutes.get('/.well-known/oauth-authorization-server', (c) => {
  const service = serviceOf(c);
  const origin = new URL(c.req.url).origin;
  return jsonResponse(
    {
      issuer: issuerOf(c, service),
      jwks_uri: `${origin}/.well-known/jwks.json`,
      token_endpoint: `${origin}/v1/token`,
      revocation_endpoint: `${origin}/v1/revoke`,
      introspection_endpoint: `${origin}/v1/introspect`,
      grant_types_supported: ['refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['bearer'],
      introspection_endpoint_auth_methods_supported: ['bearer'],
    } satisfies ResponseBody<'AuthorizationServerMetadata'>,
    200,
    { 'Cache-Control': 'public, max-age=300' },
  );
});
