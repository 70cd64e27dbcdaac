/**
 * One simulated run: L locations × I busy isolates checking tokens at a steady rate, admins
 * revoking from random locations, faults on a timeline, and the measurements (docs: sim/README.md).
 */
import { nowSeconds } from '../src/clock';
import type { FeedChange } from '../src/feed/feed-change';
import { fingerprintWords } from '../src/feed/fingerprint-table';
import type { MirrorKeys } from '../src/feed/mirror';
import type { DesignFactory, IsolateFeed } from './designs/design';
import { Sim } from './engine';
import { SimCache, SimKv } from './locations';
import { locationRegions, type Region } from './network';
import { SimHost } from './objects';

export interface SimOptions {
  locations: number;
  isolates: number;
  /** Each machine's clock is true time + a skew uniform in ±skewMs. */
  skewMs: number;
  boundMs: number;
  durationS: number;
  seed: number;
  /** Checks per second per busy isolate. */
  checkRate: number;
  /** Acknowledged-or-not revocations per second, world-wide. */
  revokeRate: number;
  /** Requests/s one Durable Object serves. */
  objectCapacity: number;
  /** Nothing is measured before this (cold loads). */
  warmupS: number;
  /** How long after its ack each revocation is watched at every location. */
  watchMs: number;
  stallReplica?: { index: number; atS: number; forS: number };
  restartPrimaryAtS?: number;
  deployAtS?: number;
  cutReplica?: { index: number; atS: number; forS: number };
}

export const DEFAULTS: SimOptions = {
  locations: 330,
  isolates: 10,
  skewMs: 100,
  boundMs: 1000,
  durationS: 60,
  seed: 1,
  checkRate: 10,
  revokeRate: 1,
  objectCapacity: 1000,
  warmupS: 5,
  watchMs: 10_000,
};

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

export interface SimResult {
  design: string;
  locations: number;
  isolatesPerLocation: number;
  boundMs: number;
  skewMs: number;
  durationS: number;
  seed: number;
  checkRate: number;
  revokeRate: number;
  faults: string[];
  /** Per (acknowledged revocation, location): ms from the ack to the first check there that refused it. */
  firstRefusalMs: Percentiles;
  /** Per (acknowledged revocation, location): ms from the ack to the start of the last check there that accepted it. */
  lastAcceptMs: Percentiles;
  /** Pairs never refused within watchMs. */
  neverRefused: number;
  /** Checks that started after ack + bound and accepted the revoked token. */
  lateAccepts: number;
  acks: { ok: number; '503': number };
  /** Per object: the busiest second after warm-up, and the mean. */
  readsPerSecond: { max: number; objects: Record<string, { peak: number; mean: number; overloaded: number }> };
  feedObjects: number;
  checks: number;
  /** Checks the mirror could not answer (stale or over the cap), sent to the writers. */
  strictReads: number;
  cache: { matches: number; hits: number; puts: number };
  wallMs: number;
}

interface Revocation {
  readonly keys: MirrorKeys;
  readonly ackAt: number;
  /** Per location: first refusal (ms after ack), or NaN. */
  readonly firstRefusal: Float64Array;
  /** Per location: start of the last accepting check (ms after ack), or NaN. */
  readonly lastAccept: Float64Array;
}

function randomFp(random: () => number): string {
  let fp = '';
  for (let i = 0; i < 2; i++)
    fp += Math.floor(random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return fp;
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0, count: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)), max: Math.round(sorted[sorted.length - 1]!), count: sorted.length };
}

export async function simulate(design: DesignFactory, options: SimOptions): Promise<SimResult> {
  const wallStart = performance.now();
  const sim = new Sim(options.seed);
  const uninstall = sim.install();
  const savedLog = console.log;
  console.log = () => undefined; // the product's logEvent lines (e.g. thousands of refresh failures in a stall)
  try {
    return await run(sim, design, options, wallStart);
  } finally {
    console.log = savedLog;
    uninstall();
  }
}

async function run(sim: Sim, factory: DesignFactory, options: SimOptions, wallStart: number): Promise<SimResult> {
  const { random } = sim;
  const regions = locationRegions(options.locations);
  const caches = regions.map(() => new SimCache(sim));
  const kv = new SimKv(sim);
  const design = factory({ sim, kv, regions, caches, objectCapacity: options.objectCapacity, boundMs: options.boundMs });
  const globalState = new SimHost(sim, 'global-state', 'enam', options.objectCapacity, () => undefined);
  const faults: string[] = [];

  const isolates: IsolateFeed[][] = regions.map(() => []);
  const spawn = (location: number, index: number) => {
    const skew = (random() * 2 - 1) * options.skewMs;
    isolates[location]![index] = design.isolate(location, () => Date.now() + skew);
  };
  for (let l = 0; l < options.locations; l++) for (let i = 0; i < options.isolates; i++) spawn(l, i);

  const watched: Revocation[] = [];
  const all: Revocation[] = [];
  const acks = { ok: 0, '503': 0 };
  let checks = 0;
  let strictReads = 0;
  let lateAccepts = 0;
  const userWords = fingerprintWords(randomFp(random));
  const anyWords = fingerprintWords(randomFp(random));
  /** The checked token's own keys (a live token of that user): one array for every check. */
  const liveKeys: MirrorKeys = [userWords[0], userWords[1], 0, 1, anyWords[0], anyWords[1]];

  const check = async (location: number, index: number) => {
    const start = sim.now;
    const isolate = isolates[location]![index]!;
    checks++;
    await isolate.freshen();
    const now = nowSeconds();
    // The check's own answer (for a live token) decides whether it went to the writers.
    const answer = isolate.answer(liveKeys, now);
    if (answer.kind !== 'fresh') {
      strictReads++;
      globalState.send(regions[location]!);
    }
    while (watched.length > 0 && start > watched[0]!.ackAt + options.watchMs) watched.shift();
    for (const revocation of watched) {
      if (revocation.ackAt > start) break;
      const since = start - revocation.ackAt;
      // A stale mirror sends the check to the writers, which refuse: only a fresh answer can accept.
      const result = answer.kind === 'fresh' ? isolate.answer(revocation.keys, now) : answer;
      const accepted = result.kind === 'fresh' && !result.state.tokenRevoked;
      if (accepted) {
        if (!(revocation.lastAccept[location]! >= since)) revocation.lastAccept[location] = since;
        if (since > options.boundMs) lateAccepts++;
      } else if (Number.isNaN(revocation.firstRefusal[location]!)) {
        revocation.firstRefusal[location] = since;
      }
    }
  };

  const period = 1000 / options.checkRate;
  const durationMs = options.durationS * 1000;
  const schedule = (location: number, index: number, first: number) => {
    let at = first;
    if (at <= durationMs)
      sim.every(at, () => {
        void check(location, index);
        at += period * (0.5 + random());
        return at <= durationMs ? at : undefined;
      });
  };
  for (let l = 0; l < options.locations; l++) for (let i = 0; i < options.isolates; i++) schedule(l, i, random() * period);

  const revoke = async () => {
    const location = Math.floor(random() * options.locations);
    const region: Region = regions[location]!;
    const fp = randomFp(random);
    const change: FeedChange = { kind: 'token', fp, until: nowSeconds() + 3600 };
    try {
      await design.append(region, change);
    } catch {
      acks['503']++;
      return;
    }
    acks.ok++;
    const [hi, lo] = fingerprintWords(fp);
    const revocation: Revocation = {
      keys: [userWords[0], userWords[1], hi, lo, anyWords[0], anyWords[1]],
      ackAt: sim.now,
      firstRefusal: new Float64Array(options.locations).fill(NaN),
      lastAccept: new Float64Array(options.locations).fill(NaN),
    };
    // The admin's request ran in one isolate there, which applies its own change (docs/reference.md §4.1).
    isolates[location]![Math.floor(random() * options.isolates)]!.applyLocal([change]);
    watched.push(revocation);
    all.push(revocation);
  };
  const revokeEvery = 1000 / options.revokeRate;
  const lastRevocation = durationMs - options.watchMs;
  for (let at = options.warmupS * 1000; at < lastRevocation; at += revokeEvery) sim.at(at, () => void revoke());

  if (options.stallReplica !== undefined) {
    const { index, atS, forS } = options.stallReplica;
    design.replicas[index]!.stallFor(atS * 1000, forS * 1000);
    faults.push(`replica ${index} stalled ${atS}–${atS + forS} s`);
  }
  if (options.cutReplica !== undefined) {
    const { index, atS, forS } = options.cutReplica;
    const replica = design.replicas[index]!;
    sim.at(atS * 1000, () => {
      for (const object of design.objects) if (object !== replica) replica.cutOff.add(object.name);
    });
    sim.at((atS + forS) * 1000, () => replica.cutOff.clear());
    faults.push(`replica ${index} cut off from the other feed objects ${atS}–${atS + forS} s`);
  }
  if (options.restartPrimaryAtS !== undefined) {
    sim.at(options.restartPrimaryAtS * 1000, () => design.primary.restart());
    faults.push(`primary restarted at ${options.restartPrimaryAtS} s`);
  }
  if (options.deployAtS !== undefined) {
    sim.at(options.deployAtS * 1000, () => {
      for (const object of design.objects) object.restart();
      for (let l = 0; l < options.locations; l++) for (let i = 0; i < options.isolates; i++) spawn(l, i);
    });
    faults.push(`deploy (every isolate and object restarted) at ${options.deployAtS} s`);
  }

  await sim.run(durationMs + 5_000); // let the last answers land

  const firsts: number[] = [];
  const lasts: number[] = [];
  let neverRefused = 0;
  for (const revocation of all) {
    for (let l = 0; l < options.locations; l++) {
      const first = revocation.firstRefusal[l]!;
      if (Number.isNaN(first)) neverRefused++;
      else firsts.push(first);
      const last = revocation.lastAccept[l]!;
      lasts.push(Number.isNaN(last) ? 0 : last);
    }
  }
  const from = options.warmupS;
  const to = options.durationS;
  const objects: Record<string, { peak: number; mean: number; overloaded: number }> = {};
  for (const host of [...design.objects, globalState] as SimHost<unknown>[]) {
    const seconds = Array.from({ length: to - from }, (_, k) => host.perSecond[from + k] ?? 0);
    objects[host.name] = {
      overloaded: host.overloaded,
      peak: Math.max(0, ...seconds),
      mean: Math.round(seconds.reduce((a, b) => a + b, 0) / seconds.length),
    };
  }
  const cache = { matches: 0, hits: 0, puts: 0 };
  for (const c of caches) {
    cache.matches += c.matches;
    cache.hits += c.hits;
    cache.puts += c.puts;
  }
  return {
    design: design.name,
    locations: options.locations,
    isolatesPerLocation: options.isolates,
    boundMs: options.boundMs,
    skewMs: options.skewMs,
    durationS: options.durationS,
    seed: options.seed,
    checkRate: options.checkRate,
    revokeRate: options.revokeRate,
    faults,
    firstRefusalMs: percentiles(firsts),
    lastAcceptMs: percentiles(lasts),
    neverRefused,
    lateAccepts,
    acks,
    readsPerSecond: { max: Math.max(...Object.values(objects).map((o) => o.peak)), objects },
    feedObjects: design.objects.length,
    checks,
    strictReads,
    cache,
    wallMs: Math.round(performance.now() - wallStart),
  };
}
