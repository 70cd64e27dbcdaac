import type { Config, RawEnv } from '../config/config';
import { parseStream, type SsfStreamConfig } from '../config/ssf-streams';
import { logEvent } from '../log/logger';
import { SSF_REGISTRY_OBJECT_NAME, ssfStreamObjectName } from '../revocation/storage-keys';

/** Env's own binding type: importing the Durable Object class here would make an import cycle with it. */
export interface SsfBindings {
  readonly SSF_STREAM: Env['SSF_STREAM'];
}

/** Streams created through the admin API are re-read from their Durable Object this often… */
export const REGISTRY_TTL_MS = 30_000;
/** …and on an unknown id at most this often: a flood of made-up ids costs one read a second. */
export const REGISTRY_MISS_INTERVAL_MS = 1_000;

/** A stored stream that no longer parses: off, but listed (and deletable) so an operator sees why. */
export interface UnusableStream {
  readonly id: string;
  readonly problem: string;
}

interface Cached {
  streams: Map<string, SsfStreamConfig>;
  unusable: Map<string, UnusableStream>;
  fetchedAt: number;
}

/** One cache per configuration: stored streams are parsed against its trusted issuers. */
const caches = new WeakMap<Config, Cached>();

export function registry(bindings: SsfBindings) {
  return bindings.SSF_STREAM.getByName(SSF_REGISTRY_OBJECT_NAME);
}

async function load(config: Config, env: SsfBindings): Promise<Cached> {
  const records = await registry(env).listStreams();
  const streams = new Map<string, SsfStreamConfig>();
  const unusable = new Map<string, UnusableStream>();
  for (const json of records) {
    const record = JSON.parse(json) as { id: string };
    try {
      streams.set(record.id, parseStream(record, env as unknown as RawEnv, config.issuers, `stream ${record.id}`, true));
    } catch (error) {
      // A stored stream whose token issuer left TRUSTED_ISSUERS (or whose mapped claim is no
      // longer that issuer's userClaim): it would map nobody right, so it is off.
      const problem = error instanceof Error ? error.message : 'unknown';
      unusable.set(record.id, { id: record.id, problem });
      logEvent('ssf_stream_unusable', { stream: record.id, error: problem });
    }
  }
  const cached = { streams, unusable, fetchedAt: Date.now() };
  caches.set(config, cached);
  return cached;
}

/** Every stream: SSF_STREAMS, then the stored ones (fresh from the Durable Object), and the stored ones that are off. */
export async function allStreams(config: Config, env: SsfBindings): Promise<{ streams: SsfStreamConfig[]; unusable: UnusableStream[] }> {
  const stored = await load(config, env);
  return { streams: [...config.ssfStreams.values(), ...stored.streams.values()], unusable: [...stored.unusable.values()] };
}

/** A stored stream that is off (it no longer parses), fresh from the Durable Object: only the admin API asks. */
export async function findUnusableStream(config: Config, env: SsfBindings, id: string): Promise<UnusableStream | undefined> {
  return (await load(config, env)).unusable.get(id);
}

/** Loads in flight, per configuration: concurrent misses share one registry read. */
const loading = new WeakMap<Config, Promise<Cached>>();

/** An unauthenticated flood of made-up ids costs one registry read at a time, at most one a second. */
function sharedLoad(config: Config, env: SsfBindings): Promise<Cached> {
  let pending = loading.get(config);
  if (pending === undefined) {
    pending = load(config, env).finally(() => loading.delete(config));
    loading.set(config, pending);
  }
  return pending;
}

/** The stream with this id, or undefined. SSF_STREAMS first; stored streams from the isolate's cache. */
export async function findStream(config: Config, env: SsfBindings, id: string): Promise<SsfStreamConfig | undefined> {
  const configured = config.ssfStreams.get(id);
  if (configured !== undefined) return configured;
  let cached = caches.get(config);
  const age = cached === undefined ? Infinity : Date.now() - cached.fetchedAt;
  if (cached === undefined || age > REGISTRY_TTL_MS || (!cached.streams.has(id) && age > REGISTRY_MISS_INTERVAL_MS)) {
    cached = await sharedLoad(config, env);
  }
  return cached.streams.get(id);
}

/** After the admin API changed the stored streams: this isolate sees it at once. */
export function forgetStoredStreams(config: Config): void {
  caches.delete(config);
  loading.delete(config); // a read that started before the change must not stand for after it
}

/** Configurations whose SSF_STREAMS poll streams this isolate has armed. */
const armed = new WeakSet<Config>();

/**
 * SSF_STREAMS streams with `poll` have no creation call to start their alarm: the first request
 * each isolate serves arms them (an armed alarm is left as it is). Nothing here is a timer.
 */
export function armConfiguredPolling(config: Config, env: SsfBindings): Promise<void> | undefined {
  if (armed.has(config)) return undefined;
  armed.add(config);
  const polled = [...config.ssfStreams.values()].filter((s) => s.poll !== undefined);
  if (polled.length === 0) return undefined; // no work, not even a waitUntil
  return Promise.all(
    polled.map((s) => env.SSF_STREAM.getByName(ssfStreamObjectName(s.id)).startPolling(s.id, s.poll!.intervalSeconds)),
  ).then(() => undefined);
}
