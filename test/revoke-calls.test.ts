/**
 * docs/consistency.md "Calls per revocation": what one `POST /v1/revoke` costs in calls between
 * objects (Durable Object RPCs and KV operations), counted on the REAL bindings of each hop —
 * the edge, the user's writer, the feed's primary — in bounded mode. Each call is one the
 * acknowledgement needs; a new one must come with its reason there.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { GlobalState, UserState } from '../src/index';
import { feedPrimary } from '../src/feed/feed-client';
import { userObjectName } from '../src/revocation/storage-keys';
import { call, intercept, setObjectBindings } from './helpers/faults';
import { boundedEnv } from './helpers/bounded';
import { mint, now, uniqueSub } from './helpers/tokens';

/** A binding whose method calls, and those of the stubs it hands out, are counted as `name.method`. */
function countedCalls<T extends object>(real: T, name: string, calls: string[]): T {
  // A Durable Object namespace's get/getByName hand out stubs; a KV namespace's get is a read.
  const objects = 'idFromName' in real;
  return intercept(real, (method, run) => {
    const result = run();
    if (objects && (method === 'getByName' || method === 'get' || method === 'idFromName')) {
      return method === 'idFromName'
        ? result
        : intercept(result as object, (stubMethod, stubCall, args) => {
            // The feed's heartbeat (an empty push renewing a lease, docs/consistency.md "Leases") is not per revocation.
            const heartbeat = stubMethod === 'push' && Array.isArray(args[0]) && args[0].length === 0;
            if (!heartbeat) calls.push(`${name}.${stubMethod}`);
            return stubCall();
          });
    }
    calls.push(`${name}.${method}`);
    return result;
  });
}

describe('POST /v1/revoke, bounded mode', () => {
  it('one revocation of a token: 7 calls between objects (a running feed primary)', async () => {
    const sub = uniqueSub('calls');
    const token = await mint('es256-1', { claims: { sub, iat: now() } });
    const edge: string[] = [];
    const writer: string[] = [];
    const feed: string[] = [];
    const bindings = boundedEnv();
    await setObjectBindings(env.USER_STATE.getByName(userObjectName(sub)), {
      REVOCATIONS: countedCalls(env.REVOCATIONS, 'kv', writer),
      REVOCATION_FEED: countedCalls(env.REVOCATION_FEED, 'feed', writer),
    });
    const primary = feedPrimary(env.REVOCATION_FEED) as unknown as DurableObjectStub<UserState | GlobalState>;
    await setObjectBindings(primary, { REVOCATION_FEED: countedCalls(env.REVOCATION_FEED, 'replica', feed) });
    // Every binding the edge holds is counted: a read before or after the write (the global
    // object, KV, the feed) would show here.
    const counted = {
      ...bindings,
      USER_STATE: countedCalls(bindings.USER_STATE, 'user', edge),
      GLOBAL_STATE: countedCalls(bindings.GLOBAL_STATE, 'global', edge),
      REVOCATIONS: countedCalls(bindings.REVOCATIONS, 'kv', edge),
      REVOCATION_FEED: countedCalls(bindings.REVOCATION_FEED, 'feed', edge),
    };
    const revoke = (t: string) => call(counted, '/v1/revoke', { method: 'POST', admin: true, body: new URLSearchParams({ token: t }) });
    // A primary that just started asks each replica its head first (one more call each, once).
    expect((await revoke(await mint('es256-1', { claims: { sub, iat: now() } }))).status).toBe(200);
    expect(feed.length).toBeGreaterThanOrEqual(4);
    for (const list of [edge, writer, feed]) list.length = 0;
    expect((await revoke(token)).status).toBe(200);
    expect(edge).toEqual(['user.revokeToken']); // the single writer: the commit and the acknowledgement
    expect(writer.sort()).toEqual(['feed.append', 'kv.put']); // the KV replica (cached-mode readers), the feed (bounded)
    expect(feed).toEqual(['replica.push', 'replica.push', 'replica.push', 'replica.push']); // one per location hint
    expect(edge.length + writer.length + feed.length).toBe(7);
  });
});
