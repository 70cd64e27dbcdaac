// @ts-check
// The soak's actions on access tokens — mint, verify (checked against the model), revoke a
// token, revoke a user — each recording what was acknowledged when, for the model.
import { Client, STRICT } from './client.mjs';
import { expectation } from './model.mjs';
import { now } from './stats.mjs';
import { DEMO_LIFETIME, malleatedTwin } from './tokens.mjs';

/** @import { ModelUser, TokenRecord } from './types.d.ts' */
/** @import { SoakContext } from './load.mjs' */

/**
 * A demo-issuer token for `user`, signed here; 1 in 5 without jti. Undefined while the user
 * is being revoked.
 * @param {SoakContext} ctx
 * @param {ModelUser} user
 * @returns {Promise<TokenRecord | undefined>}
 */
export async function mintDemo({ model, verdicts, signer }, user) {
  if (user.revoking) return undefined;
  user.minting++;
  try {
    const iat = Math.floor(Date.now() / 1000);
    const jti = Math.random() < 0.8 ? crypto.randomUUID() : undefined;
    const token = await signer(user.sub, iat, jti);
    verdicts.tokensMinted++;
    /** @type {TokenRecord} */
    const record = {
      token,
      user,
      iat,
      exp: iat + DEMO_LIFETIME,
      jti,
      mintedAt: now(),
      kind: 'demo',
      id: model.identityOf(user, token, jti),
    };
    model.addToPool(record);
    return record;
  } finally {
    user.minting--;
  }
}

/**
 * Verifies `t` (or its malleated twin), cached or strict, and judges the answer by the model.
 * @param {SoakContext} ctx
 * @param {TokenRecord} t
 * @param {boolean} strict
 * @param {boolean} [twin]
 */
export async function verify({ client, verdicts }, t, strict, twin = false) {
  const token = twin ? malleatedTwin(t.token) : t.token;
  if (token === undefined) return;
  const kind = `${twin ? 'verify-twin' : 'verify'}-${strict ? 'strict' : 'cached'}`;
  const res = await client.request(kind, strict ? '/v1/verify?strict=1' : '/v1/verify', {
    headers: { Authorization: `Bearer ${token}`, ...(strict ? STRICT : {}) },
  });
  if (res === undefined || res.status >= 500) return;
  const expected = expectation(t, res.sentAt);
  if (twin) verdicts.twinChecks++;
  if (res.status === 200) {
    if (expected === 'refuse') {
      verdicts.violate(strict ? 'revoked_token_accepted_strict' : 'revoked_token_accepted_cached', {
        sub: t.user.sub,
        jti: t.jti ?? '(none)',
        kind: t.kind,
        twin,
        msAfterAck: Math.round(res.sentAt - Math.min(t.id.revokeAckAt ?? Infinity, ...t.user.revokes.map((r) => r.ackAt ?? Infinity))),
      });
    } else if (expected === 'accept') verdicts.acceptedAsExpected++;
    else verdicts.unclassified++;
  } else if (res.status === 401) {
    const reason = res.json?.reason;
    if (expected === 'accept' && !twin) {
      verdicts.wronglyRefused++;
      verdicts.violate('wrongly_refused', { request: kind, sub: t.user.sub, jti: t.jti ?? '(none)', reason });
    } else if (expected === 'refuse') {
      verdicts.refusedAsExpected++;
      if (!['revoked_token', 'revoked_user'].includes(/** @type {string} */ (reason)) && !(twin && reason === 'bad_signature')) {
        verdicts.violate('unexpected_reason', { request: kind, reason });
      }
    } else verdicts.unclassified++;
  } else {
    verdicts.violate('unexpected_status', { request: kind, status: res.status });
  }
}

/**
 * RFC 7009 with an access token: acknowledged (200) = revoked from then on.
 * @param {SoakContext} ctx
 * @param {TokenRecord} t
 */
export async function revokeToken({ client, verdicts }, t) {
  if (t.id.revokeSentAt !== undefined) return;
  t.id.revokeSentAt = now();
  const res = await client.request('revoke-token', '/v1/revoke', Client.form({ token: t.token, token_type_hint: 'access_token' }));
  if (res?.status === 200) t.id.revokeAckAt = res.receivedAt;
  else if (res !== undefined && res.status < 500) verdicts.violate('unexpected_status', { request: 'revoke-token', status: res.status });
}

/**
 * An admin user revoke (never while a mint for the user is in flight): every token of the user
 * issued before the ack is refused, its version goes up by one, its sessions end.
 * @param {SoakContext} ctx
 * @param {ModelUser} user
 * @returns {Promise<boolean>}  false when it could not start now
 */
export async function revokeUser({ client, model, verdicts }, user) {
  if (user.revoking || user.minting > 0) return false;
  user.revoking = true;
  /** @type {import('./types.d.ts').UserRevoke} */
  const r = { sentAt: now() };
  user.revokes.push(r);
  try {
    const res = await client.request(
      'revoke-user',
      `/v1/admin/users/${encodeURIComponent(user.sub)}/revoke`,
      Client.adminJson({ reason: 'soak' }),
    );
    if (res?.status === 200) {
      r.ackAt = res.receivedAt;
      r.revokedBefore = res.json?.revokedBefore;
      r.version = res.json?.version;
      const previous = user.revokes.at(-2)?.version ?? 0;
      if (r.version !== previous + 1) verdicts.violate('version_not_bumped_by_one', { sub: user.sub, previous, version: r.version });
      // Every session of the user started before the revoke is over.
      for (const s of model.sessions) if (s.user === user && s.createdAt <= r.sentAt) s.endedAckAt ??= r.ackAt;
    } else if (res !== undefined && res.status < 500) verdicts.violate('unexpected_status', { request: 'revoke-user', status: res.status });
  } finally {
    user.revoking = false;
  }
  return true;
}
