/**
 * docs/security-events.md §5 (issue 19 item 9): a SET that changes nothing (the user was already
 * revoked by then) is recorded on the stream's trail only. The user's trail keeps 10,000 entries:
 * a transmitter repeating no-op events must not evict the user's admin history.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { oktaSet, push, ssfAdmin as admin } from './helpers/ssf';
import { now, uniqueSub } from './helpers/tokens';

type Trail = { events: { action: string; sub: string | null; actor: string; reason?: string }[] };

beforeAll(async () => {
  await push('okta', 'warm-up');
}, 30_000);

describe('no-op security events', () => {
  it("are counted on the stream's trail, not the user's", async () => {
    const sub = uniqueSub('noop');
    const at = (now() - 60) * 1000;
    for (let i = 0; i < 3; i++)
      expect((await push('okta', await oktaSet('session-revoked', sub, { event_timestamp: at }))).status).toBe(202);

    const user = await (await admin(`/v1/admin/audit?sub=${sub}`)).json<Trail>();
    expect(user.events).toEqual([
      expect.objectContaining({ action: 'ssf_event', actor: 'ssf:okta', reason: expect.stringMatching(/revoked before \d+$/) }),
    ]);

    const stream = await (await admin('/v1/admin/ssf/streams/okta/audit?limit=100')).json<Trail>();
    const mine = stream.events.filter((e) => e.sub === sub).map((e) => e.reason);
    expect(mine).toHaveLength(3);
    expect(mine.filter((r) => r?.endsWith('already revoked by then'))).toHaveLength(2);
  });
});
