// @ts-check
/** Find a user by `sub`: version, revoked-before, denylisted tokens, sessions; revoke the user. */
import { call, enforcement, showAnswer, showProblem } from './api.js';
import { byId, facts, h, relative, show, table, when } from './dom.js';

/** @param {string} sub */
const userPath = (sub) => `/v1/admin/users/${encodeURIComponent(sub)}`;

/**
 * @param {string} state
 */
const stateCell = (state) => h('span', { class: `state-${state}` }, state.replace('_', ' '));

/**
 * @param {any} user the body of GET /v1/admin/users/:sub
 */
function render(user) {
  return [
    h('h2', {}, 'State of ', h('span', { class: 'mono' }, user.sub)),
    facts([
      ['User (sub)', h('span', { class: 'mono' }, user.sub)],
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
  const subInput = byId('user-sub', HTMLInputElement);
  const answer = byId('user-answer');
  const state = byId('user-state');
  const revoke = byId('user-revoke', HTMLFormElement);
  const revokeSub = byId('user-revoke-sub');
  const reason = byId('user-revoke-reason', HTMLInputElement);
  const revokeAnswer = byId('user-revoke-answer');
  /** The user shown, whom the revoke form acts on. */
  let shown = '';

  /** @param {string} sub */
  async function load(sub) {
    const result = await call('GET', userPath(sub));
    if (result.status !== 200) {
      showAnswer(answer, result, '');
      show(state);
      revoke.hidden = true;
      return;
    }
    shown = sub;
    const user = result.body;
    const live = user.sessions.filter((/** @type {any} */ s) => s.state === 'active').length;
    showAnswer(
      answer,
      result,
      `Version ${user.version}; ${user.revokedBefore === 0 ? 'never revoked' : `revoked before ${when(user.revokedBefore)}`}; ` +
        `${user.revokedTokens.length} revoked token(s); ${live} active session(s).`,
      { collapse: true },
    );
    show(state, render(user));
    revokeSub.textContent = sub;
    revoke.hidden = false;
  }

  find.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(revokeAnswer);
    if (subInput.value === '') return showProblem(answer, "Type the user's sub.");
    await load(subInput.value);
  });

  revoke.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (reason.value.trim() === '') return showProblem(revokeAnswer, 'A reason is required: it is kept in the audit trail.');
    const sub = shown;
    const result = await call('POST', `${userPath(sub)}/revoke`, { json: { reason: reason.value } });
    showAnswer(
      revokeAnswer,
      result,
      result.status === 200
        ? `Every token of ${sub} issued at or before ${when(result.body.revokedBefore)} is refused, and their sessions are over. ` +
            `${enforcement()} Tokens minted from now on should carry version ${result.body.version}.`
        : '',
    );
    if (result.status === 200) {
      reason.value = '';
      await load(sub);
    }
  });

  return {
    reset() {
      shown = '';
      find.reset();
      revoke.reset();
      revoke.hidden = true;
      for (const element of [answer, state, revokeAnswer]) show(element);
    },
  };
}
