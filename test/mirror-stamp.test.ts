/**
 * A mirror ages its data from the stamp the feed replica made (what GET /v1/feed passes on to a
 * mirror outside the edge, maybe from a cached copy) less the access's skew margin: a cached page
 * never looks fresher than it is; a replica clock far ahead is clamped to the mirror's own.
 */
import { describe, expect, it } from 'vitest';
import { Mirror } from '../src/feed/mirror';
import { feedAt } from './helpers/bounded';

describe('Mirror and a stamped feed read', () => {
  it("ages from the feed's stamp less the margin, never from after its own clock", async () => {
    const real = feedAt('stamp-loc');
    const stamped = (offsetMs: number) => ({
      ...real,
      read: async (replica: number, after: number) => ({ ...(await real.read(replica, after)), stamp: Date.now() + offsetMs }),
    });
    const old = new Mirror(1000);
    expect(await old.refresh(stamped(-800))).toBe(true);
    expect(old.ageMs()).toBeGreaterThanOrEqual(800 + real.clockSkewMs);
    expect(old.answer([0, 0, 0, 0, 0, 0], 0).kind).toBe('fresh');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(old.answer([0, 0, 0, 0, 0, 0], 0).kind).toBe('stale');
    // A stamp later than the mirror's own clock (a replica clock far ahead) counts as now, never as the future.
    const ahead = new Mirror(1000);
    expect(await ahead.refresh(stamped(+5_000))).toBe(true);
    expect(ahead.ageMs()).toBeGreaterThanOrEqual(0);
    expect(ahead.ageMs()).toBeLessThan(200);
  });
});
