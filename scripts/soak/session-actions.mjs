// @ts-check
// The soak's actions on token-service sessions: start one, refresh it, replay a rotated refresh
// token (RFC 9700 §4.14), revoke it with its refresh token (RFC 7009).
import { Client } from './client.mjs';
import { pick, SESSIONS_MAX } from './model.mjs';
import { now } from './stats.mjs';

/** @import { ModelSession, ModelUser } from './types.d.ts' */
/** @import { SoakContext } from './load.mjs' */

/**
 * @param {string} refreshToken
 * @returns {RequestInit}
 */
const refreshGrant = (refreshToken) => Client.form({ grant_type: 'refresh_token', refresh_token: refreshToken }, false);

/**
 * Starts a session for `user` (its access token joins the pool).
 * @param {SoakContext} ctx
 * @param {ModelUser} user
 * @returns {Promise<boolean>}  false when it could not start now
 */
export async function startSession({ client, model, verdicts }, user) {
  if (user.revoking || model.sessions.length >= SESSIONS_MAX) return false;
  user.minting++;
  try {
    const res = await client.request('session', '/v1/sessions', Client.adminJson({ sub: user.sub, scope: 'read' }));
    if (res?.status !== 200) {
      if (res !== undefined && res.status < 500) verdicts.violate('unexpected_status', { request: 'session', status: res.status });
      return true;
    }
    verdicts.sessionsStarted++;
    const body = /** @type {import('./types.d.ts').AnswerBody} */ (res.json);
    model.sessions.push({
      user,
      refresh: /** @type {string} */ (body.refresh_token),
      retired: [],
      createdAt: res.receivedAt,
      busy: false,
      lastAccess: model.addAccessToken(user, /** @type {string} */ (body.access_token), res.receivedAt),
    });
  } finally {
    user.minting--;
  }
  return true;
}

/**
 * A refresh with the session's current token: 200 while the session lives, 400 after it ended.
 * @param {SoakContext} ctx
 * @param {ModelSession} session
 * @returns {Promise<boolean>}  false when it could not start now
 */
export async function refresh({ client, model, verdicts }, session) {
  const { user } = session;
  if (session.busy || user.revoking) return false;
  session.busy = true;
  user.minting++;
  try {
    const presented = session.refresh;
    const res = await client.request('refresh', '/v1/token', refreshGrant(presented));
    if (res === undefined || res.status >= 500) return true;
    const ended = session.endedAckAt !== undefined && session.endedAckAt <= res.sentAt;
    if (res.status === 200) {
      if (ended) verdicts.violate('refresh_after_session_end_accepted', { sub: user.sub });
      session.retired.push(presented);
      if (session.retired.length > 5) session.retired.shift();
      const body = /** @type {import('./types.d.ts').AnswerBody} */ (res.json);
      session.refresh = /** @type {string} */ (body.refresh_token);
      session.lastAccess = model.addAccessToken(user, /** @type {string} */ (body.access_token), res.receivedAt);
    } else if (res.status === 400 && res.json?.error === 'invalid_grant') {
      if (!ended && session.endedSentAt === undefined) {
        verdicts.wronglyRefused++;
        verdicts.violate('wrongly_refused', { request: 'refresh', sub: user.sub });
      }
    } else verdicts.violate('unexpected_status', { request: 'refresh', status: res.status });
  } finally {
    user.minting--;
    session.busy = false;
  }
  return true;
}

/**
 * RFC 9700 §4.14: a rotated refresh token presented again is refused and ends the session.
 * @param {SoakContext} ctx
 * @param {ModelSession} session
 * @returns {Promise<boolean>}  false when it could not start now
 */
export async function replay({ client, verdicts }, session) {
  if (session.busy || session.retired.length === 0) return false;
  session.busy = true;
  try {
    session.endedSentAt ??= now();
    const lastAccess = session.lastAccess;
    if (session.endedAckAt === undefined) lastAccess.id.revokeSentAt ??= now();
    const res = await client.request('refresh-replay', '/v1/token', refreshGrant(/** @type {string} */ (pick(session.retired))));
    if (res === undefined || res.status >= 500) return true;
    if (res.status === 200) verdicts.violate('refresh_replay_accepted', { sub: session.user.sub });
    else if (res.status === 400 && res.json?.error === 'invalid_grant') {
      if (session.endedAckAt === undefined) {
        session.endedAckAt = res.receivedAt;
        lastAccess.id.revokeAckAt ??= res.receivedAt; // the family's latest access token is denylisted
      }
    } else verdicts.violate('unexpected_status', { request: 'refresh-replay', status: res.status });
  } finally {
    session.busy = false;
  }
  return true;
}

/**
 * RFC 7009 with a refresh token: ends its session and denylists its latest access token.
 * @param {SoakContext} ctx
 * @param {ModelSession} session
 * @returns {Promise<boolean>}  false when it could not start now
 */
export async function revokeSession({ client, verdicts }, session) {
  if (session.busy || session.endedAckAt !== undefined) return false;
  session.busy = true;
  try {
    session.endedSentAt ??= now();
    const lastAccess = session.lastAccess;
    lastAccess.id.revokeSentAt ??= now();
    const res = await client.request(
      'revoke-refresh',
      '/v1/revoke',
      Client.form({ token: session.refresh, token_type_hint: 'refresh_token' }),
    );
    if (res?.status === 200) {
      session.endedAckAt = res.receivedAt;
      lastAccess.id.revokeAckAt ??= res.receivedAt;
    } else if (res !== undefined && res.status < 500)
      verdicts.violate('unexpected_status', { request: 'revoke-refresh', status: res.status });
  } finally {
    session.busy = false;
  }
  return true;
}
