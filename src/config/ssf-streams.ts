import { ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm } from '../keys/algorithms';
import type { KeySource } from '../keys/key-source';
import { isControlEvent, type ConfiguredAction } from '../ssf/events';
import { parseJwksUri, parseKeySource } from './key-sources';
import { ConfigError, jsonVar, stringList, type RawEnv } from './vars';

/** Where a managed stream lives at its transmitter (SSF 1.0 §8.1): what its admin routes call. */
export interface TransmitterEndpoints {
  readonly streamId: string;
  readonly configurationEndpoint: string;
  readonly verificationEndpoint?: string;
  readonly statusEndpoint?: string;
}

/** One stream of docs/reference.md §7: a transmitter that pushes SETs to /v1/ssf/{id}/events. */
export interface SsfStreamConfig {
  readonly id: string;
  /** SSF_STREAMS (`config`), or created through the admin API (`managed`: against the transmitter's API; `manual`: out of band). */
  readonly mode: 'config' | 'managed' | 'manual';
  readonly issuer: string;
  readonly keys: KeySource;
  readonly algorithms: ReadonlySet<AsymmetricAlgorithm>;
  readonly audience: string;
  /**
   * The push bearer value: the secret itself (SSF_STREAMS names a secret binding) or, for a
   * stream created through the admin API, only its SHA-256 (base64url). Undefined: the
   * stream is signature-only (Google's RISC sends no Authorization header).
   */
  readonly push: { readonly secret: string } | { readonly secretDigest: string } | undefined;
  /** `iss_sub` subjects: SET subject `iss` → the trusted token issuer whose userClaim carries the same id. */
  readonly issSub: ReadonlyMap<string, string>;
  /** `email` subjects revoke the user id equal to the address (off by default: addresses are recycled). */
  readonly email: boolean;
  /** False only where a transmitter omits the JWS `typ` (a present `typ` must still be `secevent+jwt`). */
  readonly requireTyp: boolean;
  /** Per-stream event actions, over the defaults of src/ssf/events.ts. */
  readonly actions: ReadonlyMap<string, ConfiguredAction>;
  readonly transmitter: TransmitterEndpoints | undefined;
  /** RFC 8936 poll delivery: the stream's Durable Object alarm polls the transmitter. */
  readonly poll: PollDelivery | undefined;
}

/** Where and how often to poll a transmitter that does not push (RFC 8936). */
export interface PollDelivery {
  readonly endpoint: string;
  /** The transmitter's bearer for its poll endpoint: the value (SSF_STREAMS names a secret binding). */
  readonly token: string;
  /** RFC 8936 `maxEvents` per request: with MAX_SET_BYTES each, it bounds the answer read. */
  readonly maxEvents: number;
  /** Seconds between polls while the transmitter has nothing more. */
  readonly intervalSeconds: number;
}

export const POLL_MAX_EVENTS = 64;
const POLL_INTERVAL = { default: 10, min: 1, max: 300 } as const;

/** Stream ids appear in the push URL: short, URL-safe. */
export const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;
const CONFIGURABLE_ACTIONS: readonly ConfiguredAction[] = ['revoke_user', 'audit'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(field, 'must be a non-empty string');
  return value;
}

/** What stream parsing needs of the trusted issuers (TRUSTED_ISSUERS by `iss`). */
export type TrustedIssuers = ReadonlyMap<string, { readonly userClaim: string }>;

function parseSubjects(value: unknown, trustedIssuers: TrustedIssuers, field: string) {
  if (value === undefined) return { issSub: new Map<string, string>(), email: false };
  if (!isObject(value)) throw new ConfigError(field, 'must be an object: {"iss_sub": {...}, "email": false}');
  const issSub = new Map<string, string>();
  const table = value.iss_sub ?? {};
  if (!isObject(table)) throw new ConfigError(`${field}.iss_sub`, 'must be an object keyed by the SET subject\'s "iss"');
  for (const [iss, target] of Object.entries(table)) {
    const at = `${field}.iss_sub[${JSON.stringify(iss)}]`;
    if (!isObject(target)) throw new ConfigError(at, 'must be {"issuer": "<trusted issuer>", "claim": "<its userClaim>"}');
    const issuer = nonEmptyString(target.issuer, `${at}.issuer`);
    const trusted = trustedIssuers.get(issuer);
    if (trusted === undefined) throw new ConfigError(`${at}.issuer`, `is not in TRUSTED_ISSUERS (${JSON.stringify(issuer)})`);
    // Revocation state is keyed by the issuer's userClaim alone: a SET naming the user by any
    // other claim would revoke an id no token of that issuer is checked under (nobody).
    const { userClaim } = trusted;
    if (target.claim !== undefined && target.claim !== userClaim) {
      throw new ConfigError(
        `${at}.claim`,
        `must be ${JSON.stringify(userClaim)}, the userClaim of ${JSON.stringify(issuer)} in TRUSTED_ISSUERS (revocation is keyed by it)`,
      );
    }
    issSub.set(iss, issuer);
  }
  const email = value.email ?? false;
  if (typeof email !== 'boolean') throw new ConfigError(`${field}.email`, 'must be true or false');
  return { issSub, email };
}

function parseActions(value: unknown, field: string): Map<string, ConfiguredAction> {
  const actions = new Map<string, ConfiguredAction>();
  if (value === undefined) return actions;
  if (!isObject(value)) throw new ConfigError(field, 'must be an object: {"<event type URI>": "revoke_user" | "audit"}');
  for (const [type, action] of Object.entries(value)) {
    if (isControlEvent(type)) throw new ConfigError(`${field}[${JSON.stringify(type)}]`, 'stream control events are not configurable');
    if (!(CONFIGURABLE_ACTIONS as readonly unknown[]).includes(action)) {
      throw new ConfigError(`${field}[${JSON.stringify(type)}]`, `must be one of ${CONFIGURABLE_ACTIONS.join(', ')}`);
    }
    actions.set(type, action as ConfiguredAction);
  }
  return actions;
}

function parsePush(entry: Record<string, unknown>, env: RawEnv, field: string): SsfStreamConfig['push'] {
  if (entry.secretDigest !== undefined) {
    if (typeof entry.secretDigest !== 'string' || !DIGEST.test(entry.secretDigest)) {
      throw new ConfigError(`${field}.secretDigest`, 'must be a base64url SHA-256');
    }
    return { secretDigest: entry.secretDigest };
  }
  if (entry.secret === undefined) return undefined;
  const secret = typeof entry.secret === 'string' ? env[entry.secret] : undefined;
  if (typeof secret !== 'string' || secret.length < 16) {
    throw new ConfigError(
      `${field}.secret`,
      `names no secret binding with a value of at least 16 characters (${JSON.stringify(entry.secret)})`,
    );
  }
  return { secret };
}

function parseTransmitter(value: unknown, field: string): TransmitterEndpoints | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError(field, 'must be an object');
  const optionalUrl = (name: string) => (value[name] === undefined ? undefined : parseJwksUri(value[name], `${field}.${name}`));
  return {
    streamId: nonEmptyString(value.streamId, `${field}.streamId`),
    configurationEndpoint: parseJwksUri(value.configurationEndpoint, `${field}.configurationEndpoint`),
    verificationEndpoint: optionalUrl('verificationEndpoint'),
    statusEndpoint: optionalUrl('statusEndpoint'),
  };
}

function boundedInt(value: unknown, fallback: number, min: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * `poll`: `{"endpoint", "token", "maxEvents"?, "intervalSeconds"?}`. In SSF_STREAMS `token`
 * names a secret binding; a stream stored by the admin API keeps the value (`tokenValue`),
 * since it must be presented, not only compared.
 */
function parsePoll(value: unknown, env: RawEnv, field: string, stored: boolean): PollDelivery | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError(field, 'must be {"endpoint": "https://...", "token": "<secret binding name>"}');
  let token: unknown;
  if (stored) token = value.tokenValue;
  else {
    if (value.tokenValue !== undefined)
      throw new ConfigError(`${field}.tokenValue`, 'is set by the admin API; in SSF_STREAMS "token" names a secret binding');
    token = typeof value.token === 'string' ? env[value.token] : undefined;
  }
  if (typeof token !== 'string' || token === '' || /[\s\p{Cc}]/u.test(token)) {
    throw new ConfigError(
      `${field}.token`,
      stored
        ? "must be the transmitter's poll bearer value (no spaces)"
        : `names no secret binding holding a bearer value (${JSON.stringify(value.token)})`,
    );
  }
  return {
    endpoint: parseJwksUri(value.endpoint, `${field}.endpoint`),
    token,
    maxEvents: boundedInt(value.maxEvents, 16, 1, POLL_MAX_EVENTS, `${field}.maxEvents`),
    intervalSeconds: boundedInt(
      value.intervalSeconds,
      POLL_INTERVAL.default,
      POLL_INTERVAL.min,
      POLL_INTERVAL.max,
      `${field}.intervalSeconds`,
    ),
  };
}

/**
 * One stream: an SSF_STREAMS entry, or a stream stored by the admin API (which has
 * `secretDigest` instead of `secret`, and `transmitter` when it is managed).
 */
export function parseStream(entry: unknown, env: RawEnv, trustedIssuers: TrustedIssuers, field: string, stored = false): SsfStreamConfig {
  if (!isObject(entry)) throw new ConfigError(field, 'must be an object');
  const id = entry.id;
  if (typeof id !== 'string' || !STREAM_ID.test(id)) {
    throw new ConfigError(`${field}.id`, 'must be 1 to 64 characters of A-Z a-z 0-9 _ -');
  }
  if (!stored && (entry.secretDigest !== undefined || entry.transmitter !== undefined)) {
    throw new ConfigError(field, '"secretDigest" and "transmitter" are set by the admin API, not in SSF_STREAMS');
  }
  const algorithms = stringList(entry.algorithms ?? ['RS256'], `${field}.algorithms`);
  const unknown = algorithms.find((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
  if (unknown !== undefined) {
    throw new ConfigError(`${field}.algorithms`, `must be asymmetric JWS algorithms (${JSON.stringify(unknown)})`);
  }
  if (entry.hmacSecret !== undefined) throw new ConfigError(`${field}.hmacSecret`, "SETs are verified with the transmitter's public keys");
  const algs = algorithms as AsymmetricAlgorithm[];
  const acceptMissingTyp = entry.acceptMissingTyp ?? false;
  if (typeof acceptMissingTyp !== 'boolean') throw new ConfigError(`${field}.acceptMissingTyp`, 'must be true or false');
  const transmitter = parseTransmitter(entry.transmitter, `${field}.transmitter`);
  return {
    id,
    mode: !stored ? 'config' : transmitter === undefined ? 'manual' : 'managed',
    issuer: nonEmptyString(entry.issuer, `${field}.issuer`),
    keys: parseKeySource(entry, algs, env, field),
    algorithms: new Set(algs),
    audience: nonEmptyString(entry.audience, `${field}.audience`),
    push: parsePush(entry, env, field),
    ...parseSubjects(entry.subjects, trustedIssuers, `${field}.subjects`),
    requireTyp: !acceptMissingTyp,
    actions: parseActions(entry.events, `${field}.events`),
    transmitter,
    poll: parsePoll(entry.poll, env, `${field}.poll`, stored),
  };
}

/** SSF_STREAMS (docs/reference.md §7), default `[]`. Ids are unique, and so are audiences (a SET names its stream). */
export function parseSsfStreams(env: RawEnv, trustedIssuers: TrustedIssuers): ReadonlyMap<string, SsfStreamConfig> {
  const raw = env.SSF_STREAMS === undefined || env.SSF_STREAMS === '' ? [] : jsonVar(env, 'SSF_STREAMS');
  if (!Array.isArray(raw)) throw new ConfigError('SSF_STREAMS', 'must be a JSON array of streams');
  const streams = new Map<string, SsfStreamConfig>();
  const audiences = new Set<string>();
  raw.forEach((entry: unknown, i) => {
    const field = `SSF_STREAMS[${i}]`;
    const stream = parseStream(entry, env, trustedIssuers, field);
    if (streams.has(stream.id)) throw new ConfigError(`${field}.id`, `duplicates ${JSON.stringify(stream.id)}`);
    if (audiences.has(stream.audience))
      throw new ConfigError(`${field}.audience`, `is another stream's too (${JSON.stringify(stream.audience)})`);
    streams.set(stream.id, stream);
    audiences.add(stream.audience);
  });
  return streams;
}
