/**
 * killswitch/client's refresh-ahead (issue 18, docs/origins.md "The bound an origin gets"): the
 * point is the product mirror's own, drawn per stamp in 0.3–0.6 of the bound, so origin
 * processes that took the same page do not all read the next one at once. Real worker, real
 * feed: each client's fetch is the worker's own fetch handler.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { Revocations } from '../src/client/revocations';
import { cacheBucketMs } from '../src/feed/mirror';
import { boundedEnv, quietLogs, sleep } from './helpers/bounded';
import { BASE, FEED_KEY } from './helpers/fixtures';

quietLogs();

const BOUND_MS = 1000;
const CLIENTS = 24;

describe('killswitch/client refresh-ahead', () => {
  it('clients that loaded the same page refresh at points spread over 0.3–0.6 of the bound, not together', async () => {
    const bindings = boundedEnv();
    const reads: number[][] = [];
    const clients = Array.from({ length: CLIENTS }, (_, i) => {
      reads[i] = [];
      return new Revocations({
        url: BASE,
        feedKey: FEED_KEY,
        boundMs: BOUND_MS,
        fetch: async (input, init) => {
          if (String(input).includes('/v1/feed?')) reads[i]!.push(Date.now());
          const ctx = createExecutionContext();
          const res = await app.fetch(new Request(input, init), bindings, ctx);
          await waitOnExecutionContext(ctx);
          return res;
        },
      });
    });
    // Load just before the clients' own bucket (B/2) ends: a refresh-ahead also waits for a later
    // bucket than its data's, which past the boundary no longer holds any draw back, so what is
    // measured is the jitter alone (loaded early in a bucket, the draws below B/2 all wait for its end).
    const clientBucketMs = cacheBucketMs(BOUND_MS);
    const untilBoundary = clientBucketMs - (Date.now() % clientBucketMs);
    await sleep(untilBoundary > 120 ? untilBoundary - 100 : untilBoundary + clientBucketMs - 100);
    expect(await Promise.all(clients.map((client) => client.ready()))).toEqual(Array(CLIENTS).fill(true));
    const loaded = reads.map((r) => r.length);
    const claims = { iss: 'https://issuer.example', sub: 'client-refresh', jti: 'client-refresh', iat: 1, exp: 2 ** 31 };
    // Steady load on every client until each has refreshed once (or past the bound).
    const started = Date.now();
    while (reads.some((r, i) => r.length === loaded[i]) && Date.now() - started < BOUND_MS) {
      for (const client of clients) expect(await client.isRevoked(claims)).toBe(false);
      await sleep(2);
    }
    const refreshedAt = reads.map((r, i) => r[loaded[i]!]! - started).sort((a, b) => a - b);
    expect(refreshedAt.every(Number.isFinite)).toBe(true);
    // Spread: no 20 ms window holds half of them, and they span over a tenth of the bound.
    const together = Math.max(...refreshedAt.map((t) => refreshedAt.filter((u) => u >= t && u < t + 20).length));
    expect(together, refreshedAt.join(',')).toBeLessThan(CLIENTS / 2);
    expect(refreshedAt.at(-1)! - refreshedAt[0]!, refreshedAt.join(',')).toBeGreaterThan(BOUND_MS / 10);
  });
});
