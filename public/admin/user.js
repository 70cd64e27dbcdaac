// @ts-check
/**
 * Find a user by their user id (the issuer's userClaim, `sub` unless configured) in a namespace
 * (an issuer's userNamespace; empty: the shared one): version, revoked-before, denylisted tokens,
 * sessions; revoke the user.
 */
import { call, inNamespace, showAnswer, showProblem, submitUserRevocation, userName, userRevokedMeaning } from './api.js';

/** @import { User } from './api.js' */
import { byId, facts, h, relative, show, table, when } from './dom.js';

/**
 * @param {string} state
 */
const stateCell = (state) => h('span', { class: `state-${state}` }, state.replace('_', ' '));

/**
 * @param {any} user the body of GET /v1/admin/users/:sub
 */
function render(user) {
  return [
    h('h2', {}, 'State of ', h('span', { class: 'mono' }, user.user)),
    facts([
      ['User id', h('span', { class: 'mono' }, user.user)],
      ['Namespace', user.namespace === undefined ? 'shared' : h('span', { class: 'mono' }, user.namespace)],
      ['Version', String(user.version)],
      ['Revoked before', user.revokedBefore === 0 ? 'never revoked' : `${when(user.revokedBefore)} (${relative(user.revokedBefore)})`],
    ]),
    table(
      'Revoked tokens (until they expire)',
      ['Token id (jti)', 'Issuer', 'Expires', 'Revoked', 'Reason'],
      user.revokedTokens.map((/** @type {any} */ t) => [
        h('span', { class: 'mono' }, t.jti),
        t.iss ?? 'every issuer',
        `${when(t.exp)} (${relative(t.exp)})`,
        when(t.revokedAt),
        t.reason ?? '—',
      ]),
    ),
    table(
      'Sessions (token service)',
      ['Session id', 'State', 'Started', 'Expires', 'Revoked', 'Scope'],
      user.sessions.map((/** @type {any} */ s) => [
        h('span', { class: 'mono' }, s.id),
        stateCell(s.state),
        when(s.createdAt),
        when(s.expiresAt),
        when(s.revokedAt),
        s.scope ?? '—',
      ]),
    ),
  ];
}

export function setupUser() {
  const find = byId('user-find', HTMLFormElement);
  const idInput = byId('user-sub', HTMLInputElement);
  const namespaceInput = byId('user-namespace', HTMLInputElement);
  const answer = byId('user-answer');
  const state = byId('user-state');
  const revoke = byId('user-revoke', HTMLFormElement);
  const revokeWhom = byId('user-revoke-sub');
  const reason = byId('user-revoke-reason', HTMLInputElement);
  const revokeAnswer = byId('user-revoke-answer');
  /** The user shown, whom the revoke form acts on. */
  let shown = /** @type {User | undefined} */ (undefined);

  /** @param {User} user */
  async function load(user) {
    const result = await call('GET', inNamespace(`/v1/admin/users/${encodeURIComponent(user.id)}`, user.namespace));
    if (result.status !== 200) {
      showAnswer(answer, result, '');
      show(state);
      revoke.hidden = true;
      return;
    }
    shown = user;
    const body = result.body;
    const live = body.sessions.filter((/** @type {any} */ s) => s.state === 'active').length;
    showAnswer(
      answer,
      result,
      `Version ${body.version}; ${body.revokedBefore === 0 ? 'never revoked' : `revoked before ${when(body.revokedBefore)}`}; ` +
        `${body.revokedTokens.length} revoked token(s); ${live} active session(s).`,
      { collapse: true },
    );
    show(state, render(body));
    revokeWhom.textContent = userName(user);
    revoke.hidden = false;
  }

  find.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(revokeAnswer);
    if (idInput.value === '')
      return showProblem(answer, "Type the user id (the value of the issuer's userClaim, `sub` unless configured).");
    const namespace = namespaceInput.value.trim();
    await load({ id: idInput.value, ...(namespace === '' ? {} : { namespace }) });
  });

  revoke.addEventListener('submit', async (event) => {
    event.preventDefault();
    const user = shown;
    const result = await submitUserRevocation(user, reason, revokeAnswer);
    if (result === undefined || user === undefined) return;
    showAnswer(revokeAnswer, result, userRevokedMeaning(user, result.body));
    await load(user);
  });

  return {
    reset() {
      shown = undefined;
      find.reset();
      revoke.reset();
      revoke.hidden = true;
      for (const element of [answer, state, revokeAnswer]) show(element);
    },
  };
}
