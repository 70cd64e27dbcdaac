/**
 * A feed read that carries its own stamp (what GET /v1/feed gives a mirror outside the edge: the
 * edge's clock before its feed read, maybe a cached copy's) ages the mirror from that stamp when
 * it is earlier than the mirror's own: a cached page never looks fresher than it is.
 */
import { describe, expect, it } from 'vitest';
import { Mirror } from '../src/feed/mirror';
import { feedAt } from './helpers/bounded';

describe('Mirror and a stamped feed read', () => {
  it("keeps the earlier of its own stamp and the read's", async () => {
    const real = feedAt('stamp-loc');
    const stamped = (offsetMs: number) => ({
      ...real,
      read: async (replica: number, after: number) => ({ ...(await real.read(replica, after)), stamp: Date.now() + offsetMs }),
    });
    const old = new Mirror(1000);
    expect(await old.refresh(stamped(-800))).toBe(true);
    expect(old.ageMs()).toBeGreaterThanOrEqual(800);
    expect(old.answer([0, 0, 0, 0, 0, 0], 0).kind).toBe('fresh');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(old.answer([0, 0, 0, 0, 0, 0], 0).kind).toBe('stale');
    // A stamp later than the mirror's own clock (an edge clock ahead) changes nothing.
    const ahead = new Mirror(1000);
    const before = Date.now();
    expect(await ahead.refresh(stamped(+5_000))).toBe(true);
    expect(ahead.ageMs()).toBeGreaterThanOrEqual(Date.now() - before - 1);
    expect(ahead.ageMs()).toBeLessThan(200);
  });
});
