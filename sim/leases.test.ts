/**
 * The lease rule (docs/consistency.md "Leases"), as a property over clock skews, stalls and lost
 * pushes: the product's FeedCore primary and replicas on MemoryFeedStores, on the simulation's
 * virtual clock (sim/engine.ts), each machine with its own skew. Whatever the timings, a replica
 * that answers a read holds every change acknowledged before it, as long as the primary's and
 * the replica's clocks differ by at most the skew margin; past the margin it can be violated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FeedChange } from '../src/feed/feed-change';
import { FEED_LEASE_MS, FeedCore } from '../src/feed/feed-core';
import { MemoryFeedStore } from '../src/feed/memory-feed-store';
import { Sim } from './engine';

const REPLICAS = 4;
const MARGIN_MS = 100;
const RUN_MS = 12_000;

interface Scenario {
  readonly seed: number;
  readonly primarySkew: number;
  /** Each replica's clock minus the primary's. */
  readonly replicaSkews: readonly number[];
  /** Replica 0 holds every request that arrives in [from, from + forMs) until the end (a stall). */
  readonly stall: { readonly from: number; readonly forMs: number };
  /** Replica 1 loses every push (and its answer) in [from, from + forMs) (cut off from the primary). */
  readonly cut: { readonly from: number; readonly forMs: number };
  readonly appendsAt: readonly number[];
  /** The primary restarts (a new core over its store) at this time. */
  readonly restartAt: number;
}

const change = (n: number): FeedChange => ({ kind: 'token', fp: n.toString(16).padStart(16, '0'), until: 2_000_000_000 });

/** Runs one scenario; the reads that answered without a change acknowledged before them. */
async function violations(scenario: Scenario): Promise<string[]> {
  const sim = new Sim(scenario.seed);
  const uninstall = sim.install();
  const savedLog = console.log;
  console.log = () => undefined;
  try {
    const inWindow = (w: { from: number; forMs: number }, t: number) => t >= w.from && t < w.from + w.forMs;
    const oneWay = () => 5 + Math.floor(sim.random() * 120);
    // A replica holding no lease asks the primary for one (its renew pushes it, through the faults below).
    const replicas = scenario.replicaSkews.map(
      (skew, i) =>
        new FeedCore({
          store: new MemoryFeedStore(),
          clock: () => Date.now() + scenario.primarySkew + skew,
          clockSkewMs: MARGIN_MS,
          primary: {
            async lease() {
              await sim.delay(oneWay());
              await primary.renew(i);
              await sim.delay(oneWay());
            },
          },
        }),
    );
    const store = new MemoryFeedStore();
    const primaryCore = () =>
      new FeedCore({
        store,
        clock: () => Date.now() + scenario.primarySkew,
        replicas: {
          count: REPLICAS,
          async push(i, entries, resetTo, prunableThrough, lease) {
            await sim.delay(oneWay());
            if (i === 1 && inWindow(scenario.cut, sim.now)) return new Promise<never>(() => undefined);
            if (i === 0 && inWindow(scenario.stall, sim.now)) await sim.delay(scenario.stall.from + scenario.stall.forMs - sim.now);
            const answer = replicas[i]!.push(entries, resetTo, prunableThrough, lease);
            await sim.delay(oneWay());
            return answer;
          },
        },
        snapshots: { put: async () => {} },
      });
    let primary = primaryCore();
    sim.at(scenario.restartAt, () => (primary = primaryCore()));
    // The runtime fires the primary's alarm by its machine's clock.
    const tick = () => {
      if (store.alarmAt !== null && store.alarmAt <= Date.now() + scenario.primarySkew) {
        store.alarmAt = null;
        void primary.alarm().catch(() => undefined);
      }
      sim.after(10, tick);
    };
    sim.at(0, () => void primary.wake().then(tick));

    const acks: { seq: number; at: number }[] = [];
    scenario.appendsAt.forEach((at, n) =>
      sim.at(at, () => {
        void primary.append([change(n)]).then(({ seq, replicated }) => {
          if (replicated) acks.push({ seq, at: sim.now });
        });
      }),
    );
    const found: string[] = [];
    const read = () => {
      replicas.forEach((replica, i) => {
        if (i === 0 && inWindow(scenario.stall, sim.now)) return; // answered when the stall ends: read then
        // Checked when it answers (after asking the primary for a lease, if it held none).
        void replica.read(0).then((answer) => {
          if ('notLeased' in answer) return; // the mirror reads another replica
          const missing = acks.filter((ack) => ack.at <= sim.now && ack.seq > answer.head);
          if (missing.length > 0)
            found.push(`replica ${i} at ${sim.now} ms: head ${answer.head}, acked ${missing[0]!.seq} at ${missing[0]!.at}`);
        });
      });
      if (sim.now < RUN_MS) sim.after(20, read);
    };
    sim.at(0, read);
    await sim.run(RUN_MS + 5_000);
    return found;
  } finally {
    console.log = savedLog;
    uninstall();
  }
}

const window = fc.record({ from: fc.integer({ min: 0, max: 8_000 }), forMs: fc.integer({ min: 0, max: 5_000 }) });

describe('leases: a replica that answers holds every acknowledged change', () => {
  it('for any stall, cut-off, primary restart and clock skews within the margin', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          primarySkew: fc.integer({ min: -200, max: 200 }),
          replicaSkews: fc.array(fc.integer({ min: -MARGIN_MS, max: MARGIN_MS }), { minLength: REPLICAS, maxLength: REPLICAS }),
          stall: window,
          cut: window,
          appendsAt: fc.array(fc.integer({ min: 0, max: RUN_MS - 3_000 }), { minLength: 1, maxLength: 12 }),
          restartAt: fc.integer({ min: 0, max: RUN_MS * 2 }),
        }),
        async (scenario) => {
          expect(await violations(scenario)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sees a violation when a replica clock runs behind the primary by more than the margin', async () => {
    // Replica 1, cut off from the primary, keeps serving reads by a clock two leases behind the
    // primary's: past the deadline the primary acknowledged at, without the change acknowledged meanwhile.
    const scenario: Scenario = {
      seed: 1,
      primarySkew: 0,
      replicaSkews: [0, -(MARGIN_MS + 2 * FEED_LEASE_MS), 0, 0],
      stall: { from: 0, forMs: 0 },
      cut: { from: 3_000, forMs: 5_000 },
      appendsAt: [3_100],
      restartAt: RUN_MS * 2,
    };
    expect((await violations(scenario)).length).toBeGreaterThan(0);
  });
});
