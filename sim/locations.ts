import type { Sim } from './engine';

/**
 * A location's HTTP cache as the Cache API (`caches.default`) gives it: `put` stores a response
 * for its Cache-Control max-age (whole seconds), `match` answers it until then; each operation
 * costs a millisecond or two; concurrent misses are not collapsed (the Cache API never fetches).
 */
export class SimCache {
  private readonly entries = new Map<string, { body: string; headers: [string, string][]; expires: number }>();
  matches = 0;
  hits = 0;
  puts = 0;

  constructor(private readonly sim: Sim) {}

  async match(url: string): Promise<Response | undefined> {
    await this.sim.delay(1);
    this.matches++;
    const entry = this.entries.get(url);
    if (entry === undefined || entry.expires <= this.sim.now) return undefined;
    this.hits++;
    return new Response(entry.body, { headers: entry.headers });
  }

  async put(url: string, response: Response): Promise<void> {
    const body = await response.text();
    const maxAge = /max-age=(\d+)/.exec(response.headers.get('Cache-Control') ?? '')?.[1];
    await this.sim.delay(2);
    this.puts++;
    if (maxAge === undefined || Number(maxAge) <= 0) return;
    for (const [key, entry] of this.entries) if (entry.expires <= this.sim.now) this.entries.delete(key);
    this.entries.set(url, { body, headers: [...response.headers], expires: this.sim.now + Number(maxAge) * 1000 });
  }
}

/**
 * Workers KV as a location sees it: a value written at t is visible at a location from t plus a
 * per-(write, location) delay in [1 s, 60 s] (KV's documented propagation bound is 60 s).
 */
export class SimKv {
  private readonly writes: { at: number; value: ArrayBuffer }[] = [];

  constructor(private readonly sim: Sim) {}

  async put(value: ArrayBuffer): Promise<void> {
    await this.sim.delay(50);
    this.writes.push({ at: this.sim.now, value });
  }

  async get(location: number): Promise<ArrayBuffer | null> {
    await this.sim.delay(20);
    for (let i = this.writes.length - 1; i >= 0; i--) {
      const write = this.writes[i]!;
      const visibleAfter = 1000 + ((location * 7919 + i * 104_729) % 59_000);
      if (write.at + visibleAfter <= this.sim.now) return write.value.slice(0);
    }
    return null;
  }
}
