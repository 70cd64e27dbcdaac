/**
 * docs/security-events.md §3 (issue 19 item 8): a SET naming a token by (`iss`, `jti`) and no user
 * (CAEP token-claims-change, OAuth tokens-revoked with a `jwt_id` subject) denies that token by its
 * issuer and jti: cached mode's KV read, strict mode's writers and bounded mode's mirror all refuse it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE, ISSUERS, SSF_OKTA_SECRET } from './helpers/fixtures';
import { CAEP, push, signSet, ssfAdmin as admin, worker } from './helpers/ssf';
import { mint, now, uniqueSub } from './helpers/tokens';
import { sleep } from './helpers/bounded';

const OAUTH = 'https://schemas.openid.net/secevent/oauth/event-type/';
const BOUNDED = { REVOCATION_MODE: 'bounded', MAX_TOKEN_LIFETIME_SECONDS: '7200', REVOCATION_MAX_STALENESS_MS: '500' };

const pushWith = (bindings: Record<string, unknown>, set: string) =>
  worker(
    `${BASE}/v1/ssf/okta/events`,
    { method: 'POST', headers: { Authorization: `Bearer ${SSF_OKTA_SECRET}`, 'Content-Type': 'application/secevent+jwt' }, body: set },
    bindings,
  );
const check = async (token: string, query = '', bindings: Record<string, unknown> = {}) => {
  const res = await worker(`${BASE}/v1/verify${query}`, { headers: { Authorization: `Bearer ${token}` } }, bindings);
  return res.status === 200 ? 'active' : (await res.json<{ reason: string }>()).reason;
};
/** The answer in cached mode (KV), strict mode (the writers) and bounded mode (the mirror, its refusal confirmed by the writers). */
const everyMode = async (token: string) => [await check(token), await check(token, '?strict=1'), await check(token, '', BOUNDED)];
/** A SET whose only subject is the token (`jwt_id`), no user. */
const namingToken = (event: string, jti: string) =>
  signSet({
    jti: `set-${jti}`,
    events: { [event]: { subject: { format: 'jwt_id', iss: ISSUERS.inline, jti }, claims: { role: 'guest' } } },
  });

/** What the okta stream's trail says about the SET naming `jti`. */
const audited = async (jti: string) =>
  (
    await (
      await admin('/v1/admin/ssf/streams/okta/audit?limit=100')
    ).json<{
      events: { sub: string | null; jti?: string; reason?: string }[];
    }>()
  ).events
    .filter((e) => e.jti === `set-${jti}`)
    .map((e) => ({ sub: e.sub, reason: e.reason }));

beforeAll(async () => {
  await push('okta', 'warm-up');
}, 30_000);

describe('a token named by iss and jti with no user', () => {
  it('token-claims-change and tokens-revoked: that token is refused in every mode; other tokens are not', async () => {
    const sub = uniqueSub('by-jti');
    const claimsChanged = `cc-${sub}`;
    const revoked = `tr-${sub}`;
    const tokens = {
      claimsChanged: await mint('rs256-1', { claims: { sub, jti: claimsChanged, iat: now() - 60 } }),
      revoked: await mint('rs256-1', { claims: { sub: `${sub}-other-user`, jti: revoked, iat: now() - 60 } }),
      sameUserOtherJti: await mint('rs256-1', { claims: { sub, jti: `other-${sub}`, iat: now() - 60 } }),
    };
    expect(await everyMode(tokens.claimsChanged)).toEqual(['active', 'active', 'active']);

    for (const set of [
      await namingToken(`${CAEP}token-claims-change`, claimsChanged),
      await namingToken(`${OAUTH}tokens-revoked`, revoked),
    ]) {
      expect((await pushWith(BOUNDED, set)).status).toBe(202);
    }
    await sleep(600); // the bound: a mirror that was fresh before the push has refreshed since
    expect(await audited(claimsChanged)).toEqual([
      { sub: null, reason: expect.stringContaining(`denied token ${claimsChanged} of ${ISSUERS.inline}`) },
    ]);
    expect(await everyMode(tokens.claimsChanged)).toEqual(['revoked_token', 'revoked_token', 'revoked_token']);
    expect(await everyMode(tokens.revoked)).toEqual(['revoked_token', 'revoked_token', 'revoked_token']);
    // Scoped by issuer and jti: the user is not revoked, their other tokens work.
    expect(await everyMode(tokens.sameUserOtherJti)).toEqual(['active', 'active', 'active']);
  });

  it('without MAX_TOKEN_LIFETIME_SECONDS there is no bound to keep the entry: audited as unmapped, nothing denied', async () => {
    const jti = `unbounded-${uniqueSub('by-jti')}`;
    const token = await mint('rs256-1', { claims: { sub: uniqueSub('by-jti'), jti, iat: now() - 60 } });
    expect((await push('okta', await namingToken(`${CAEP}token-claims-change`, jti))).status).toBe(202);
    expect(await audited(jti)).toEqual([{ sub: null, reason: expect.stringContaining('no user mapped') }]);
    expect(await check(token, '?strict=1')).toBe('active');
  });
});
