// @ts-check
/** Revoke everything, behind a confirmation: the operator types the word. */
import { call, enforcement, showAnswer, showProblem } from './api.js';
import { byId, show, when } from './dom.js';

export const CONFIRMATION_WORD = 'everything';

export function setupRevokeAll() {
  const form = byId('revoke-all-form', HTMLFormElement);
  const reason = byId('revoke-all-reason', HTMLInputElement);
  const confirmation = byId('revoke-all-confirm', HTMLInputElement);
  const button = byId('revoke-all-button', HTMLButtonElement);
  const answer = byId('revoke-all-answer');
  const confirmed = () => confirmation.value === CONFIRMATION_WORD;

  confirmation.addEventListener('input', () => {
    button.disabled = !confirmed();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!confirmed()) return showProblem(answer, `Type ${CONFIRMATION_WORD} to confirm. Nothing was changed.`);
    if (reason.value.trim() === '') return showProblem(answer, 'A reason is required: it is kept in the audit trail. Nothing was changed.');
    button.disabled = true;
    const result = await call('POST', '/v1/admin/revoke-all', { json: { reason: reason.value } });
    showAnswer(
      answer,
      result,
      result.status === 200
        ? `Every token of every user issued at or before ${when(result.body.revokedBefore)} is refused, and every session is over. ${enforcement()} ` +
            'Tokens issued from the next second on are accepted.'
        : '',
    );
    if (result.status === 200) form.reset();
    button.disabled = !confirmed();
  });

  return {
    reset() {
      form.reset();
      button.disabled = true;
      show(answer);
    },
  };
}
