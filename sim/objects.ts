import type { Sim } from './engine';
import { type Region, rttMs } from './network';

/** Queueing delay past which an object refuses a request (workerd's overload error; a stall only delays). */
export const MAX_QUEUE_MS = 1_000;

/**
 * A Durable Object (or a cache's origin) as the network sees it: one machine in one region that
 * serves one request at a time at `capacity` requests/s, so queueing delay grows with load.
 * Faults: stalled (requests wait until the stall ends), restarted (the instance is rebuilt from
 * storage; requests in flight fail), cut off from given callers (their requests never arrive).
 */
export class SimHost<T> {
  instance: T;
  private generation = 0;
  private busyUntil = 0;
  private stall: { from: number; until: number } | undefined;
  /** Callers whose requests are lost (a partition). */
  readonly cutOff = new Set<string>();
  /** Requests served per whole second of virtual time. */
  readonly perSecond: number[] = [];
  served = 0;
  /** Requests refused because the queue was too long. */
  overloaded = 0;

  constructor(
    private readonly sim: Sim,
    readonly name: string,
    readonly region: Region,
    /** Requests per second one object serves. */
    readonly capacity: number,
    private readonly build: () => T,
  ) {
    this.instance = build();
  }

  /** One request from `caller` in region `from`: the network both ways, the queue, then `work` on the instance. */
  async call<R>(from: Region, work: (instance: T) => R | Promise<R>, caller = ''): Promise<R> {
    const oneWay = this.oneWayMs(from);
    await this.sim.delay(oneWay * (0.9 + 0.2 * this.sim.random()));
    if (this.cutOff.has(caller)) return new Promise<R>(() => undefined); // lost: the caller's timeout decides
    await this.sim.delay(this.admit() - this.sim.now);
    const generation = this.generation;
    const result = await work(this.instance);
    if (generation !== this.generation) throw new Error(`${this.name}: the object was reset while it answered`);
    await this.sim.delay(oneWay);
    return result;
  }

  /**
   * A request whose answer nobody simulated waits for (a check's strict read of the writers: it
   * refuses either way): only the load it puts on the object, at the time it arrives, without a
   * promise per request (an overloaded world makes hundreds of thousands a second).
   */
  send(from: Region): void {
    this.sim.after(this.oneWayMs(from) * (0.9 + 0.2 * this.sim.random()), () => {
      try {
        this.admit();
      } catch {
        // refused as overloaded: counted
      }
    });
  }

  private oneWayMs(from: Region): number {
    return rttMs(from, this.region) / 2;
  }

  /** A request arrives now: refused when the queue is too long, else queued; returns when it is served. */
  private admit(): number {
    // An overloaded object refuses at once rather than queue without end ("Durable Object is overloaded").
    if (this.busyUntil - this.sim.now > MAX_QUEUE_MS) {
      this.overloaded++;
      throw new Error(`${this.name}: overloaded`);
    }
    let start = Math.max(this.sim.now, this.busyUntil);
    // A stalled object holds what arrives until the stall ends.
    if (this.stall !== undefined && start >= this.stall.from && start < this.stall.until) start = this.stall.until;
    this.busyUntil = start + 1000 / this.capacity;
    const second = Math.floor(start / 1000);
    this.perSecond[second] = (this.perSecond[second] ?? 0) + 1;
    this.served++;
    return this.busyUntil;
  }

  stallFor(from: number, ms: number): void {
    this.stall = { from, until: from + ms };
  }

  restart(): void {
    this.generation++;
    this.instance = this.build();
  }
}
