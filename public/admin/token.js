// @ts-check
/**
 * One token: paste it (decoded here, checked by introspection; revoke it, or its user), or revoke
 * it by id.
 */
import { call, enforcement, inNamespace, showAnswer, showProblem, submitUserRevocation, userName, userRevokedMeaning } from './api.js';
import { byId, facts, h, relative, show, when } from './dom.js';

/** @import { User } from './api.js' */

/**
 * A base64url JSON segment of a JWT, parsed; undefined when it is not one.
 * @param {string} segment
 */
function segmentJson(segment) {
  try {
    const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The header and claims of a compact JWS, unverified (introspection verifies).
 * @param {string} token
 * @returns {{ header: any, claims: any } | undefined}
 */
export function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = segmentJson(parts[0] ?? '');
  const claims = segmentJson(parts[1] ?? '');
  return header === undefined || claims === undefined ? undefined : { header, claims };
}

/** @param {unknown} seconds */
const timeClaim = (seconds) => (typeof seconds === 'number' ? `${seconds} — ${when(seconds)} (${relative(seconds)})` : String(seconds));

/**
 * @param {{ header: any, claims: any }} decoded
 */
function renderDecoded({ header, claims }) {
  const times = ['exp', 'iat', 'nbf']
    .filter((name) => name in claims)
    .map((name) => /** @type {[string, string]} */ ([name, timeClaim(claims[name])]));
  return [
    h('h2', {}, 'Decoded (not yet verified)'),
    facts([
      ['sub', h('span', { class: 'mono' }, String(claims.sub))],
      ['iss', String(claims.iss)],
      ['jti', String(claims.jti ?? '(none)')],
      ...times,
    ]),
    h(
      'details',
      {},
      h('summary', {}, 'Header and claims'),
      h('pre', {}, JSON.stringify(header, null, 2)),
      h('pre', {}, JSON.stringify(claims, null, 2)),
    ),
  ];
}

export function setupToken() {
  const inspect = byId('token-inspect', HTMLFormElement);
  const text = byId('token-text', HTMLTextAreaElement);
  const answer = byId('token-answer');
  const decoded = byId('token-decoded');
  const revokeBox = byId('token-revoke');
  const revokeButton = byId('token-revoke-button', HTMLButtonElement);
  const revokeAnswer = byId('token-revoke-answer');
  const userRevoke = byId('token-user-revoke', HTMLFormElement);
  const userShown = byId('token-user');
  const userReason = byId('token-user-reason', HTMLInputElement);
  const userRevokeAnswer = byId('token-user-revoke-answer');
  const byIdForm = byId('token-by-id', HTMLFormElement);
  const byIdAnswer = byId('token-by-id-answer');
  /** The token inspected, which the revoke button acts on. Kept in memory only. */
  let current = '';
  /**
   * Its user as introspection names them (the issuer's userClaim and userNamespace), whom
   * "revoke this token's user" acts on: never the `sub` decoded here, which may be another claim.
   */
  let currentUser = /** @type {User | undefined} */ (undefined);

  /**
   * Introspects `token`; shows or hides the revoke forms as it is active or not.
   * @param {string} token
   */
  async function introspect(token) {
    const result = await call('POST', '/v1/introspect', { form: { token } });
    const active = result.status === 200 && result.body?.active === true;
    showAnswer(
      answer,
      result,
      active
        ? `Active: the signature verifies, the claims hold, and neither the token, its user nor everything has been revoked (read from the Durable Objects).`
        : 'Not active: invalid, expired, not from a trusted issuer, or revoked. Introspection does not say which (RFC 7662); /v1/verify names the reason.',
    );
    currentUser = active
      ? { id: result.body.user, ...(result.body.namespace === undefined ? {} : { namespace: result.body.namespace }) }
      : undefined;
    userShown.textContent = currentUser === undefined ? '' : userName(currentUser);
    revokeBox.hidden = userRevoke.hidden = !active;
    return active;
  }

  inspect.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(revokeAnswer);
    show(userRevokeAnswer);
    revokeBox.hidden = userRevoke.hidden = true;
    const token = text.value.trim();
    const parts = decodeJwt(token);
    if (parts === undefined) {
      show(decoded);
      return showProblem(answer, 'This is not a JWT (three base64url parts, the first two JSON objects).');
    }
    current = token;
    show(decoded, renderDecoded(parts));
    await introspect(token);
  });

  revokeButton.addEventListener('click', async () => {
    const result = await call('POST', '/v1/revoke', { form: { token: current, token_type_hint: 'access_token' } });
    if (result.status !== 200) return showAnswer(revokeAnswer, result, '');
    // RFC 7009 answers 200 whatever the token was: introspect again to show the effect.
    const stillActive = await introspect(current);
    showAnswer(
      revokeAnswer,
      result,
      stillActive
        ? 'The worker answered 200, but the token is still active: it was not revoked (RFC 7009 answers 200 for any token).'
        : `Revoked: this token is refused until it expires. ${enforcement()}`,
    );
  });

  userRevoke.addEventListener('submit', async (event) => {
    event.preventDefault();
    const user = currentUser;
    const result = await submitUserRevocation(user, userReason, userRevokeAnswer);
    if (result === undefined || user === undefined) return;
    // Introspect again: the token itself shows whether its user's revocation covers it.
    const stillActive = await introspect(current);
    showAnswer(
      userRevokeAnswer,
      result,
      stillActive
        ? `The worker answered 200, but this token is still active: it was issued after the revocation or carries the new version. ${userRevokedMeaning(user, result.body)}`
        : `${userRevokedMeaning(user, result.body)} This token is one of them.`,
    );
  });

  byIdForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(byIdForm);
    const field = (/** @type {string} */ name) => String(form.get(name) ?? '').trim();
    const exp = Number(field('exp'));
    if (field('jti') === '' || field('sub') === '' || !/^\d{1,12}$/.test(field('exp'))) {
      return showProblem(byIdAnswer, 'A token id, a user and an expiry (whole seconds since 1970) are required.');
    }
    /** @type {Record<string, string | number>} */
    const body = { jti: field('jti'), sub: field('sub'), exp };
    if (field('iss') !== '') body.iss = field('iss');
    if (field('reason') !== '') body.reason = field('reason');
    const namespace = field('namespace');
    const user = { id: field('sub'), ...(namespace === '' ? {} : { namespace }) };
    const result = await call('POST', inNamespace('/v1/admin/tokens/revoke', user.namespace), { json: body });
    showAnswer(
      byIdAnswer,
      result,
      result.status === 200
        ? `Token ${body.jti} of ${userName(user)} is refused ${body.iss === undefined ? 'for every issuer' : `when issued by ${body.iss}`} until ${when(exp)}. ${enforcement()}`
        : '',
    );
  });

  return {
    reset() {
      current = '';
      currentUser = undefined;
      inspect.reset();
      userRevoke.reset();
      byIdForm.reset();
      revokeBox.hidden = userRevoke.hidden = true;
      for (const element of [answer, decoded, revokeAnswer, userRevokeAnswer, byIdAnswer]) show(element);
    },
  };
}
