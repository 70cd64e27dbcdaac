import { Hono, type Context } from 'hono';
import { revokeSession, revokeToken, revokeUser } from '../revocation/revoker';
import { looksLikeRefreshToken, refreshTokenDigest, refreshTokenSubject } from '../tokens/refresh-token';
import { identityOf } from '../verify/token';
import { authenticate } from '../verify/verifier';
import { verifyToken } from '../verify-token';
import { adminAuth } from './admin-auth';
import type { AppEnv } from './app-env';
import { bearerToken } from '../http/bearer';
import { readForm, readJsonObject } from '../http/body';
import { jsonResponse, NO_STORE, refusalResponse, unavailableResponse } from '../http/responses';
import { formObject, IntrospectForm, LogoutBody, RevokeForm, validate, type ResponseBody } from './schemas';
import { nowSeconds } from '../clock';

/** The token-holder and RFC routes of docs/reference.md §4.2–4.3: revoke (RFC 7009), logout, introspect (RFC 7662). */
export const oauthRoutes = new Hono<AppEnv>();

/** RFC 7009 for a refresh token (docs/reference.md §6): ends its session. A forged one touches no storage. */
async function revokeRefreshToken(c: Context<AppEnv>, token: string): Promise<void> {
  const service = c.var.config.tokenService;
  const sub = service === undefined ? undefined : await refreshTokenSubject(service, token);
  if (sub === undefined) return;
  c.var.log.sub = sub;
  await revokeSession(c.env, c.var.config, {
    sub,
    session: { digest: await refreshTokenDigest(token) },
    actor: c.var.actor,
    reason: 'rfc7009',
    clockTolerance: c.var.config.clockToleranceSeconds,
  });
}

/**
 * RFC 7009. Revokes an access token whose signature and claims verify (one not valid yet
 * included: docs/reference.md §4.2), or a refresh token
 * (told apart by its shape, whatever `token_type_hint` says, as §2.1 allows); answers 200 for
 * any token, invalid or unknown ones included (§2.2), so the endpoint tells nothing.
 */
oauthRoutes.post('/revoke', adminAuth, async (c) => {
  const { token } = validate(RevokeForm, formObject(await readForm(c)));
  if (looksLikeRefreshToken(token)) {
    await revokeRefreshToken(c, token);
    return new Response(null, { status: 200, headers: NO_STORE });
  }
  const auth = await authenticate(token, c.var.config, nowSeconds(), 'revoke');
  if (auth.ok) {
    Object.assign(c.var.log, identityOf(auth.token));
    await revokeToken(c.env, c.var.config, auth.token, c.var.actor, 'rfc7009');
  } else if (auth.reason === 'unavailable') {
    return unavailableResponse();
  } else {
    // Named only when the signature verified (an expired token, say): a forged token's claims stay out.
    Object.assign(c.var.log, { reason: auth.reason, ...auth.identity });
  }
  return new Response(null, { status: 200, headers: NO_STORE });
});

/** The bearer revokes its own token, or with {"everywhere":true} every token of its user. */
oauthRoutes.post('/logout', async (c) => {
  const token = bearerToken(c.req.header('Authorization'));
  const result = await verifyToken(token, c.var.config, c.env);
  if (!result.active) {
    Object.assign(c.var.log, { reason: result.reason, ...result.identity });
    return refusalResponse(result.reason);
  }
  const body = validate(LogoutBody, await readJsonObject(c));
  const { userId } = result.token;
  Object.assign(c.var.log, identityOf(result.token));
  const actor = 'self';
  if (body.everywhere === true) {
    // Only in the token's own namespace: another tenant's user with the same id is someone else.
    await revokeUser(c.env, c.var.config, {
      sub: userId,
      namespace: result.token.issuer.userNamespace,
      actor,
      reason: 'logout everywhere',
    });
    return jsonResponse({ revoked: 'user' } satisfies ResponseBody<'LogoutResult'>);
  }
  // A token of our own session (docs/reference.md §6) names it in `sid`: logging out ends the session too.
  // The session first: if the token were denylisted first and ending the session then failed, the
  // client's retry would be refused (its token revoked) and the session would live on.
  const { sid } = result.token.claims;
  if (result.token.issuer === c.var.config.ownIssuer && typeof sid === 'string') {
    await revokeSession(c.env, c.var.config, {
      sub: userId,
      session: { familyId: sid },
      actor,
      reason: 'logout',
      clockTolerance: c.var.config.clockToleranceSeconds,
    });
  }
  await revokeToken(c.env, c.var.config, result.token, actor, 'logout');
  return jsonResponse({ revoked: 'token' } satisfies ResponseBody<'LogoutResult'>);
});

/**
 * RFC 7662, always authoritative: strict mode, the single writers, never KV. State that cannot
 * be read is a 503 whatever FAIL_MODE says (docs/reference.md §4.3): an introspection answer is a decision.
 */
oauthRoutes.post('/introspect', adminAuth, async (c) => {
  const { token } = validate(IntrospectForm, formObject(await readForm(c)));
  const result = await verifyToken(token, c.var.config, c.env, { strict: true, failMode: 'closed' });
  if (!result.active) {
    Object.assign(c.var.log, { reason: result.reason, ...result.identity });
    if (result.reason === 'unavailable') return unavailableResponse();
    return jsonResponse({ active: false } satisfies ResponseBody<'Introspection'>);
  }
  const { claims, tokenId, userId, issuer } = result.token;
  Object.assign(c.var.log, identityOf(result.token));
  return jsonResponse({
    active: true,
    sub: claims.sub,
    // The user revocation acts on (docs/reference.md §4.2): not the `sub` for an issuer with another userClaim.
    user: userId,
    ...(issuer.userNamespace === undefined ? {} : { namespace: issuer.userNamespace }),
    iss: claims.iss,
    aud: claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: tokenId,
    ...(claims.scope === undefined ? {} : { scope: claims.scope }),
    ...(claims.client_id === undefined ? {} : { client_id: claims.client_id }),
    token_type: 'Bearer',
  } satisfies ResponseBody<'Introspection'>);
});
