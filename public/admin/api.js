// @ts-check
/**
 * The admin API, as the console calls it. The admin key lives in this tab's sessionStorage
 * and is sent only as an `Authorization: Bearer` header to this origin: never in a URL, a
 * cookie or a log. Every answer is shown to the operator with what it means.
 */
import { h, show, when } from './dom.js';

const STORAGE_KEY = 'killswitch.adminKey';

export const adminKey = {
  /** @returns {string | null} */
  get: () => sessionStorage.getItem(STORAGE_KEY),
  /** @param {string} key */
  set: (key) => sessionStorage.setItem(STORAGE_KEY, key),
  clear: () => sessionStorage.removeItem(STORAGE_KEY),
};

/**
 * What the API answered: the status (0 when the worker could not be reached) and the body.
 * @typedef {{ status: number, body: any, text: string }} Answer
 */

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {{ json?: unknown, form?: Record<string, string>, key?: string }} [options] `key` overrides the signed-in key (signing in)
 * @returns {Promise<Answer>}
 */
export async function call(method, path, options = {}) {
  const key = options.key ?? adminKey.get();
  const headers = new Headers({ Accept: 'application/json' });
  if (key !== null) headers.set('Authorization', `Bearer ${key}`);
  /** @type {BodyInit | undefined} */
  let body;
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch {
    return { status: 0, body: null, text: '' };
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: shown as text.
  }
  return { status: response.status, body: parsed, text };
}

/** @type {Record<number, string>} */
const STATUS_TEXT = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * What an error answer means for the operator. Every refusal changed nothing.
 * @param {Answer} answer
 */
export function errorMeaning(answer) {
  const description = typeof answer.body?.error_description === 'string' ? answer.body.error_description : undefined;
  switch (answer.status) {
    case 0:
      return 'The worker could not be reached. Nothing is known to have changed: try again.';
    case 400:
      return `The worker refused the request${description === undefined ? '' : `: ${description}`}. Nothing was changed.`;
    case 401:
      return 'The worker refused the admin key (401). Nothing was changed. Sign out and sign in with a current key.';
    case 413:
      return 'The request was too large. Nothing was changed.';
    case 503:
      return 'A single writer (Durable Object) could not be reached. Nothing was changed: try again.';
    default:
      return answer.status >= 500
        ? 'The worker failed; its log says why. Nothing is known to have changed.'
        : `Unexpected answer ${answer.status}.`;
  }
}

/**
 * Shows an answer in its panel: the status, what it means, and the body as the API sent it.
 * @param {HTMLElement} panel
 * @param {Answer} answer
 * @param {string} meaning for a 2xx; errors get errorMeaning()
 * @param {{ collapse?: boolean }} [options] collapse long bodies
 */
export function showAnswer(panel, answer, meaning, options = {}) {
  const ok = answer.status >= 200 && answer.status < 300;
  const status = answer.status === 0 ? 'No answer' : `HTTP ${answer.status} ${STATUS_TEXT[answer.status] ?? ''}`.trim();
  const text = answer.body === null ? answer.text : JSON.stringify(answer.body, null, 2);
  const body = text === '' ? h('p', { class: 'hint' }, '(empty body)') : h('pre', {}, text);
  panel.className = `answer ${ok ? 'ok' : 'error'}`;
  panel.setAttribute('role', ok ? 'status' : 'alert');
  show(
    panel,
    h('p', { class: 'status' }, status),
    h('p', { class: 'meaning' }, ok ? meaning : errorMeaning(answer)),
    options.collapse === true ? h('details', {}, h('summary', {}, 'What the API answered'), body) : body,
  );
}

/**
 * Shows a message of the console's own: a problem found before calling the API, or a note.
 * @param {HTMLElement} panel
 * @param {string} message
 * @param {boolean} [ok] a note rather than a problem
 */
export function showProblem(panel, message, ok = false) {
  panel.className = `answer ${ok ? 'ok' : 'error'}`;
  panel.setAttribute('role', ok ? 'status' : 'alert');
  show(panel, h('p', { class: 'meaning' }, message));
}

/**
 * The revocation promise in force (GET /v1/admin/stats `revocation`), for an operator.
 * @typedef {{ mode: string, failMode: string, cacheTtlSeconds: number, boundSeconds: number }} Revocation
 */

/** @type {Revocation | null} */
let revocation = null;

/** @param {Revocation | null | undefined} value what the stats said last */
export function setRevocation(value) {
  revocation = value ?? null;
}

/** When a revocation acknowledged now is enforced, in words. */
export function enforcement() {
  if (revocation === null) return "Strict checks and introspection refuse it at once; cached checks within KV's propagation bound.";
  if (revocation.mode === 'strict') return 'Refused on the very next request, everywhere (REVOCATION_MODE=strict).';
  return `Strict checks and introspection refuse it at once; the cached checks of /v1/verify, everywhere within ${revocation.boundSeconds} s (REVOCATION_MODE=${revocation.mode}).`;
}

/**
 * A user as revocation names them: the user id (the value of the issuer's userClaim, `sub` unless
 * configured) in a namespace (an issuer's userNamespace; undefined: the shared one).
 * @typedef {{ id: string, namespace?: string }} User
 */

/**
 * `path` for `namespace` (`?namespace=`, docs/reference.md §4.1); the shared one adds nothing.
 * @param {string} path
 * @param {string | undefined} namespace
 */
export const inNamespace = (path, namespace) =>
  namespace === undefined || namespace === '' ? path : `${path}?namespace=${encodeURIComponent(namespace)}`;

/**
 * The user, in words: `00u1…` or `00u1… (namespace okta)`.
 * @param {User} user
 */
export const userName = (user) => (user.namespace === undefined ? user.id : `${user.id} (namespace ${user.namespace})`);

/**
 * Revokes every token of `user` issued until now. The id travels in the body: a path cannot carry
 * every id (`.` and `..` are normalized away).
 * @param {User} user
 * @param {string} reason
 */
const revokeUser = (user, reason) =>
  call('POST', inNamespace('/v1/admin/users/revoke', user.namespace), { json: { sub: user.id, reason } });

/**
 * What a 200 from revokeUser means.
 * @param {User} user
 * @param {{ revokedBefore: number, version: number }} answer
 */
export const userRevokedMeaning = (user, answer) =>
  `Every token of ${userName(user)} issued at or before ${when(answer.revokedBefore)} is refused, and their sessions are over. ` +
  `${enforcement()} Tokens minted from now on should carry version ${answer.version}.`;

/**
 * A "revoke this user" form's submit: checks the reason, revokes `user`, shows a refusal in `panel`.
 * @param {User | undefined} user
 * @param {HTMLInputElement} reason emptied once the revocation is acknowledged
 * @param {HTMLElement} panel
 * @returns {Promise<Answer | undefined>} the 200 answer, for the caller to word; undefined when already shown
 */
export async function submitUserRevocation(user, reason, panel) {
  if (reason.value.trim() === '') {
    showProblem(panel, 'A reason is required: it is kept in the audit trail.');
    return undefined;
  }
  if (user === undefined) return undefined;
  const result = await revokeUser(user, reason.value);
  if (result.status !== 200) {
    showAnswer(panel, result, '');
    return undefined;
  }
  reason.value = '';
  return result;
}
