/**
 * Issue 18, break 3: acknowledgements that survive a slow replica (docs/consistency.md "Leases").
 * Real Durable Objects: the primary's REVOCATION_FEED binding is wrapped so its pushes to one
 * replica never answer (a stalled replica), everything else is real.
 */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { GlobalState, UserState } from '../src/index';
import { FEED_ACK_TIMEOUT_MS } from '../src/feed/feed-core';
import { feedPrimary, feedReplica } from '../src/feed/feed-client';
import { Mirror } from '../src/feed/mirror';
import { boundedEnv, feedAt, quietLogs, sleep } from './helpers/bounded';
import { call, intercept, setObjectBindings, withFault, type Switch } from './helpers/faults';
import { uniqueSub } from './helpers/tokens';

quietLogs();

const STALLED = 0;

/** The feed namespace, with the pushes to replica STALLED misbehaving as `sw` says. */
function stallingReplica(sw: Switch): Env['REVOCATION_FEED'] {
  const stalled = env.REVOCATION_FEED.idFromName(`feed-replica:${STALLED}`);
  return intercept(env.REVOCATION_FEED, (method, run) => {
    const stub = run();
    if (method !== 'getByName' || !(stub as DurableObjectStub).id.equals(stalled)) return stub;
    return withFault(stub as object, ['push'], sw);
  });
}

/** The lease the primary recorded for `replica` (feed_replica_leases). */
const recordedLease = (replica: number) =>
  runInDurableObject(
    feedPrimary(env.REVOCATION_FEED),
    (_instance, state) =>
      state.storage.sql.exec<{ until: number }>('SELECT until FROM feed_replica_leases WHERE replica = ?', replica).one().until,
  );

const revokeUser = (bindings: Env, sub: string) =>
  call(bindings, `/v1/admin/users/${encodeURIComponent(sub)}/revoke`, { method: 'POST', admin: true, body: '{}' });

/** True when `replica` refuses a read (`{ notLeased: true }`: it holds no lease and got none when it asked). */
const refuses = async (replica: number) => 'notLeased' in (await feedReplica(env.REVOCATION_FEED, replica).read(0));

describe('leases: one stalled replica', () => {
  it('revocations answer 2xx while it is stalled; its reads are refused once its lease expired; it is leased again after', async () => {
    const bindings = boundedEnv();
    const primary = feedPrimary(env.REVOCATION_FEED) as unknown as DurableObjectStub<UserState | GlobalState>;
    const sw: Switch = { fault: 'none' };
    await setObjectBindings(primary, { REVOCATION_FEED: stallingReplica(sw) });
    try {
      expect((await revokeUser(bindings, uniqueSub('lease-healthy'))).status).toBe(200);
      expect(await refuses(STALLED)).toBe(false);

      sw.fault = 'hang';
      const answers = await Promise.all(Array.from({ length: 5 }, () => revokeUser(bindings, uniqueSub('lease-stalled'))));
      expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
      // Each waited at most for the lease offered before the replica counted as slow.
      for (const answer of answers) expect(answer.ms).toBeLessThan(FEED_ACK_TIMEOUT_MS);
      const sequential = await revokeUser(bindings, uniqueSub('lease-stalled'));
      expect(sequential.status).toBe(200);

      // Past the lease the primary recorded (its clock is this one), the stalled replica refuses reads.
      const deadline = await recordedLease(STALLED);
      await sleep(Math.max(0, deadline - Date.now()) + 20);
      expect(await refuses(STALLED)).toBe(true);
      // A mirror whose first replica is that one treats it as unreachable: the next answers, and it is counted.
      const mirror = new Mirror(1_000);
      expect(await mirror.refresh({ ...feedAt('lease-loc'), first: STALLED })).toBe(true);
      expect(mirror.stats()).toMatchObject({ notLeased: 1, refreshFailures: 0 });
      // The heartbeat offers no lease to a replica that does not answer: acks no longer wait for it.
      expect(await recordedLease(STALLED)).toBe(deadline);
      const fast = await revokeUser(bindings, uniqueSub('lease-stalled'));
      expect(fast.status).toBe(200);
      expect(fast.ms).toBeLessThan(1_000);
      // The other replicas still answer.
      for (const replica of [1, 2, 3]) expect(await refuses(replica)).toBe(false);
    } finally {
      sw.fault = 'none';
      await setObjectBindings(primary, {});
    }
    // Once its pushes answer again, a read there gets it a lease (asked of the primary; a lease-less push first).
    await vi.waitFor(async () => expect(await refuses(STALLED)).toBe(false), { timeout: 5_000, interval: 100 });
  }, 30_000);
});
