/**
 * Okta's custom authorization server, keyed by `uid` (docs/identity-providers.md): its access
 * tokens name the login in `sub` and the user id in `uid`, so the issuer's `userClaim` is `uid`.
 */
import { KEYS } from './fixtures';
import { now, signRaw } from './tokens';

export const OKTA = 'https://dev-12345678.okta.com/oauth2/default';
export const OKTA_KID = 'Bkw1cNx3rjW-h7kCHQ4ArEXAMPLE';

/** Its TRUSTED_ISSUERS entry. */
export const OKTA_ISSUER = {
  issuer: OKTA,
  audiences: ['api://default'],
  algorithms: ['RS256'],
  userClaim: 'uid',
  jwks: { keys: [{ ...KEYS['rs256-1'].public, kid: OKTA_KID }] },
};

const rand = () => crypto.randomUUID();
/** An Okta user: the login (`sub` of its access tokens) and the user id (`uid`, what Okta's SETs name). */
export const oktaUser = () => ({ login: `alice.${rand()}@example.com`, uid: `00u${rand().replace(/-/g, '').slice(0, 17)}` });

/** An Okta custom-AS access token; `claims` over the defaults, `undefined` removes one. */
export function oktaToken(user: { login: string; uid: string }, claims: Record<string, unknown> = {}, iat = now() - 60): Promise<string> {
  const payload = Object.fromEntries(
    Object.entries({
      ver: 1,
      jti: `AT.${rand()}`,
      iss: OKTA,
      aud: 'api://default',
      iat,
      exp: iat + 3600,
      cid: '0oa1b2c3d4e5EXAMPLE',
      uid: user.uid,
      scp: ['openid', 'orders:read'],
      auth_time: iat - 10,
      sub: user.login,
      ...claims,
    }).filter(([, v]) => v !== undefined),
  );
  return signRaw(JSON.stringify({ alg: 'RS256', kid: OKTA_KID, typ: 'JWT' }), JSON.stringify(payload), 'rs256-1');
}
