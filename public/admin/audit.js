// @ts-check
/** The audit trail: a user's (or the revoke-all one), filtered by action, newest first, paged. */
import { call, showAnswer, userName } from './api.js';
import { byId, h, show, table, when } from './dom.js';

export function setupAudit() {
  const filter = byId('audit-filter', HTMLFormElement);
  const answer = byId('audit-answer');
  const events = byId('audit-events');
  const newer = byId('audit-newer', HTMLButtonElement);
  const older = byId('audit-older', HTMLButtonElement);
  /** Cursors of the pages shown so far: [undefined (newest), c1, c2, ...]; the last is the current page's. */
  let cursors = /** @type {(string | undefined)[]} */ ([undefined]);
  /** The cursor of the next (older) page, if any. */
  let next = /** @type {string | undefined} */ (undefined);

  async function load() {
    const form = new FormData(filter);
    const query = new URLSearchParams();
    const sub = String(form.get('sub') ?? '');
    if (sub !== '') query.set('sub', sub);
    const namespace = String(form.get('namespace') ?? '').trim();
    if (namespace !== '') query.set('namespace', namespace);
    const action = String(form.get('action') ?? '');
    if (action !== '') query.set('action', action);
    query.set('limit', String(form.get('limit') ?? '25'));
    const cursor = cursors.at(-1);
    if (cursor !== undefined) query.set('cursor', cursor);
    const result = await call('GET', `/v1/admin/audit?${query}`);
    if (result.status !== 200) {
      showAnswer(answer, result, '');
      show(events);
      newer.disabled = older.disabled = true;
      return;
    }
    const list = result.body.events;
    next = result.body.cursor;
    const whose = sub === '' ? 'the revoke-all trail' : `the trail of ${userName({ id: sub, ...(namespace === '' ? {} : { namespace }) })}`;
    showAnswer(
      answer,
      result,
      `Page ${cursors.length}: ${list.length} event(s) of ${whose}${action === '' ? '' : ` (${action} only)`}, newest first${next === undefined ? '; no older events.' : '.'}`,
      { collapse: true },
    );
    show(
      events,
      table(
        `Audit events, page ${cursors.length}`,
        ['When', 'Action', 'User', 'Token id', 'Actor', 'Reason'],
        list.map((/** @type {any} */ e) => [
          when(e.at),
          e.action,
          h('span', { class: 'mono' }, e.sub ?? '(all)'),
          h('span', { class: 'mono' }, e.jti ?? '—'),
          e.actor,
          e.reason ?? '—',
        ]),
        'no events.',
      ),
    );
    newer.disabled = cursors.length === 1;
    older.disabled = next === undefined;
  }

  filter.addEventListener('submit', async (event) => {
    event.preventDefault();
    cursors = [undefined];
    await load();
  });
  older.addEventListener('click', async () => {
    if (next === undefined) return;
    cursors.push(next);
    await load();
  });
  newer.addEventListener('click', async () => {
    if (cursors.length > 1) cursors.pop();
    await load();
  });

  return {
    reset() {
      cursors = [undefined];
      next = undefined;
      filter.reset();
      newer.disabled = older.disabled = true;
      show(answer);
      show(events);
    },
  };
}
