// @ts-check
/**
 * The killswitch admin console: sign in with an admin key, then one section at a time
 * (#user, #token, #audit, #live, #revoke-all). Everything it does is a call to the admin API
 * with that key; it adds no power of its own.
 */
import { adminKey, call, setRevocation, showAnswer, showProblem } from './api.js';
import { setupAudit } from './audit.js';
import { byId, show } from './dom.js';
import { setupLive } from './live.js';
import { setupRevokeAll } from './revoke-all.js';
import { setupToken } from './token.js';
import { setupUser } from './user.js';

const SECTIONS = ['user', 'token', 'audit', 'live', 'revoke-all'];

const nav = byId('nav');
const signOutButton = byId('sign-out', HTMLButtonElement);
const signInSection = byId('sign-in');
const signInForm = byId('sign-in-form', HTMLFormElement);
const keyInput = byId('admin-key', HTMLInputElement);
const signInAnswer = byId('sign-in-answer');

const user = setupUser();
const token = setupToken();
const audit = setupAudit();
const live = setupLive();
const revokeAll = setupRevokeAll();

/** Shows the section the URL fragment names (the sign-in page until signed in). */
function route() {
  const signedIn = adminKey.get() !== null;
  const wanted = location.hash.slice(1);
  const current = signedIn ? (SECTIONS.includes(wanted) ? wanted : 'user') : 'sign-in';
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  signInSection.hidden = current !== 'sign-in';
  for (const id of SECTIONS) byId(id).hidden = id !== current;
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#${current}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (current === 'live') live.start();
  else live.stop();
  document.title = `${current === 'sign-in' ? 'Sign in' : byId(`${current}-title`).textContent} · killswitch admin`;
  // Focus the section's heading, so keyboard and screen-reader users land on what changed.
  byId(`${current}-title`).focus();
}

signInForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (key === '') return showProblem(signInAnswer, 'Type an admin key.');
  // The stats are the cheapest admin call: they check the key and bring the revocation mode.
  const result = await call('GET', '/v1/admin/stats', { key });
  if (result.status !== 200) return showAnswer(signInAnswer, result, '');
  keyInput.value = '';
  show(signInAnswer);
  setRevocation(result.body.revocation);
  adminKey.set(key);
  route();
});

signOutButton.addEventListener('click', () => {
  adminKey.clear();
  setRevocation(null);
  for (const section of [user, token, audit, live, revokeAll]) section.reset();
  signInForm.reset();
  showProblem(signInAnswer, 'Signed out: the admin key is gone from this tab.', true);
  history.replaceState(null, '', location.pathname);
  route();
});

window.addEventListener('hashchange', route);
if (adminKey.get() !== null) {
  // Signed in earlier in this tab: fetch the revocation mode again.
  void call('GET', '/v1/admin/stats').then((result) => {
    if (result.status === 200) setRevocation(result.body.revocation);
  });
}
route();
