/**
 * The simulation's clock and event queue. Virtual time is whole milliseconds; events at one
 * millisecond run in the order they were scheduled, then every promise continuation they caused
 * runs (a real macrotask turn drains the microtask queue) before time moves on.
 *
 * While `install()` is in force, Date.now, setTimeout/clearTimeout and Math.random are the
 * virtual ones: product code that reads them directly (the mirror's refresh deadlines, its
 * timeouts, nowSeconds()) runs on simulated time, deterministically.
 */
import { mulberry32 } from '../scripts/lib/mulberry32.mjs';

/** 2026-12-05T00:00:00Z: the simulated epoch (JWT NumericDates need a realistic "now"). */
export const EPOCH_MS = Date.UTC(2026, 11, 5);

/** A small, fast, seeded PRNG. */
export const rng = mulberry32;

interface Timer {
  cancelled: boolean;
  readonly fn: () => void;
}

const realSetImmediate = globalThis.setImmediate;
const drain = () => new Promise<void>((resolve) => realSetImmediate(resolve));

export class Sim {
  /** True virtual time, ms since the start of the run. */
  now = 0;
  /** Per virtual time, its events: a timer (may be cancelled) or a bare function (`every`). */
  private readonly buckets = new Map<number, (Timer | (() => void))[]>();
  /** Min-heap of the times that have a bucket. */
  private readonly heap: number[] = [];
  readonly random: () => number;

  constructor(seed: number) {
    this.random = rng(seed);
  }

  /** Runs `fn` at virtual time `t` (never in the past). */
  at(t: number, fn: () => void): Timer {
    const timer: Timer = { cancelled: false, fn };
    this.enqueue(t, timer);
    return timer;
  }

  /**
   * Runs `fn` at `first`, then again each time it returns a later time, until it returns
   * undefined: one function for a whole series of events (millions of checks), no timer each.
   */
  every(first: number, fn: () => number | undefined): void {
    const run = () => {
      const next = fn();
      if (next !== undefined) this.enqueue(next, run);
    };
    this.enqueue(first, run);
  }

  private enqueue(t: number, event: Timer | (() => void)): void {
    const time = Math.max(this.now, Math.round(t));
    let bucket = this.buckets.get(time);
    if (bucket === undefined) {
      this.buckets.set(time, (bucket = []));
      this.push(time);
    }
    bucket.push(event);
  }

  after(ms: number, fn: () => void): Timer {
    return this.at(this.now + ms, fn);
  }

  /** A promise that settles `ms` from now (for simulated latencies). */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Runs every event up to `until` (inclusive). */
  async run(until: number): Promise<void> {
    while (this.heap.length > 0 && this.heap[0]! <= until) {
      const time = this.pop();
      const bucket = this.buckets.get(time)!;
      this.buckets.delete(time);
      this.now = time;
      for (const event of bucket) {
        if (typeof event === 'function') event();
        else if (!event.cancelled) event.fn();
      }
      await drain();
    }
    this.now = Math.max(this.now, until);
  }

  /** Makes Date.now, setTimeout, clearTimeout and Math.random virtual; returns the undo. */
  install(): () => void {
    const saved = { now: Date.now, setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, random: Math.random };
    Date.now = () => EPOCH_MS + this.now;
    const fakeSetTimeout = (fn: (...args: unknown[]) => void, ms = 0, ...args: unknown[]) => this.after(Math.max(0, ms), () => fn(...args));
    const fakeClearTimeout = (timer: unknown) => {
      if (timer !== null && typeof timer === 'object' && 'cancelled' in timer) (timer as Timer).cancelled = true;
    };
    globalThis.setTimeout = fakeSetTimeout as unknown as typeof globalThis.setTimeout;
    globalThis.clearTimeout = fakeClearTimeout as typeof globalThis.clearTimeout;
    Math.random = this.random;
    return () => {
      Date.now = saved.now;
      globalThis.setTimeout = saved.setTimeout;
      globalThis.clearTimeout = saved.clearTimeout;
      Math.random = saved.random;
    };
  }

  private push(time: number): void {
    const heap = this.heap;
    heap.push(time);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= time) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = time;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]! < heap[left]! ? right : left;
        if (heap[child]! >= last) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
