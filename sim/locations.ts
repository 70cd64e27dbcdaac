import type { Sim } from './engine';

/**
 * A location's HTTP cache as the Cache API (`caches.default`) gives it: `put` stores a response
 * for its Cache-Control max-age (whole seconds), `match` answers it until then; each operation
 * costs a millisecond or two; concurrent misses are not collapsed (the Cache API never fetches).
 */
export class SimCache {
  private readonly entries = new Map<string, CacheEntry>();
  matches = 0;
  hits = 0;
  puts = 0;

  constructor(private readonly sim: Sim) {}

  match(url: string): Promise<Response | undefined> {
    return new Promise((resolve) =>
      this.sim.after(1, () => {
        this.matches++;
        const entry = this.entries.get(url);
        if (entry === undefined || entry.expires <= this.sim.now) return resolve(undefined);
        this.hits++;
        resolve(new CachedResponse(entry) as unknown as Response);
      }),
    );
  }

  async put(url: string, response: Response): Promise<void> {
    const body = await response.text();
    const maxAge = /max-age=(\d+)/.exec(response.headers.get('Cache-Control') ?? '')?.[1];
    await this.sim.delay(2);
    this.puts++;
    if (maxAge === undefined || Number(maxAge) <= 0) return;
    for (const [key, entry] of this.entries) if (entry.expires <= this.sim.now) this.entries.delete(key);
    this.entries.set(url, { body, headers: [...response.headers], expires: this.sim.now + Number(maxAge) * 1000, parsed: undefined });
  }
}

interface CacheEntry {
  readonly body: string;
  readonly headers: [string, string][];
  readonly expires: number;
  /** The body parsed once, deeply frozen: every reader gets the same value, and none can change it. */
  parsed: unknown;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * What `match` answers, as far as the product reads it (`text()`, `json()`, `headers.get`): a
 * fetch `Response` and a JSON parse per match cost microseconds, and a 330 × 100 run matches
 * tens of millions of times.
 */
class CachedResponse {
  constructor(private readonly entry: CacheEntry) {}

  get headers(): { get(name: string): string | null } {
    const { headers } = this.entry;
    return { get: (name) => headers.find(([key]) => key === name.toLowerCase())?.[1] ?? null };
  }

  text(): Promise<string> {
    return Promise.resolve(this.entry.body);
  }

  json(): Promise<unknown> {
    this.entry.parsed ??= deepFreeze(JSON.parse(this.entry.body));
    return Promise.resolve(this.entry.parsed);
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
