import { isJwsAlgorithm, type JwsAlgorithm } from '../keys/algorithms';
import { InlineJwks } from '../keys/inline-jwks';
import { JwkSet } from '../keys/jwk-set';
import type { KeySource } from '../keys/key-source';
import { parseForwardAuthHosts } from './forward-auth-hosts';
import { parseKeySource } from './key-sources';
import { parseSsfStreams, type SsfStreamConfig } from './ssf-streams';
import { parseTokenService, type TokenServiceConfig } from './token-service';
import { ConfigError, jsonVar, integerVar, stringList, stringVar, type RawEnv } from './vars';

export { ConfigError, type RawEnv } from './vars';

export interface IssuerConfig {
  readonly issuer: string;
  readonly audiences: ReadonlySet<string>;
  readonly algorithms: ReadonlySet<JwsAlgorithm>;
  readonly keys: KeySource;
  /** The claim holding the user's version in this issuer's tokens; undefined: no version check. */
  readonly versionClaim: string | undefined;
  /** The claim matched against `audiences`: `aud`, or e.g. `client_id` (Cognito access tokens). */
  readonly audienceClaim: string;
  /**
   * The claim whose string value is the user id revocation state is keyed by: `sub`, or e.g.
   * `uid` (Okta access tokens whose `sub` is the login).
   */
  readonly userClaim: string;
  /**
   * The user namespace of this issuer's users (docs/reference.md §4.1): undefined is the shared one,
   * where one user id is one person across issuers; a named one isolates a tenant's users.
   */
  readonly userNamespace: string | undefined;
}

export type RevocationMode = 'bounded' | 'cached' | 'strict';
export type FailMode = 'closed' | 'open';

export interface Config {
  /** TRUSTED_ISSUERS, plus killswitch's own issuer when TOKEN_ISSUER names it. */
  readonly issuers: ReadonlyMap<string, IssuerConfig>;
  /** docs/reference.md §6: the token service, when TOKEN_SIGNING_KEYS is set. */
  readonly tokenService: TokenServiceConfig | undefined;
  /** The issuer entry of killswitch's own tokens, when the token service is on. */
  readonly ownIssuer: IssuerConfig | undefined;
  readonly clockToleranceSeconds: number;
  /** REVOCATION_IAT_MARGIN_SECONDS: a revocation at R also covers `iat` <= R + this (docs/reference.md §4.1). */
  readonly revocationIatMarginSeconds: number;
  readonly maxTokenLifetimeSeconds: number | undefined;
  /** REQUIRED_CLAIMS plus `sub` and `exp`, which revocation cannot do without. */
  readonly requiredClaims: readonly string[];
  /** VERSION_CLAIM: the version claim in tokens killswitch mints (the own issuer's versionClaim). */
  readonly versionClaim: string;
  readonly revocationMode: RevocationMode;
  /** REVOCATION_MAX_STALENESS_MS: bounded mode's oldest usable mirror (docs/reference.md §4.1). */
  readonly revocationMaxStalenessMs: number;
  /** FEED_CLOCK_SKEW_MS: the most a feed replica's clock may run ahead of an isolate's; part of the bound (docs/consistency.md). */
  readonly feedClockSkewMs: number;
  /** FEED_MAC_KEY: authenticates a location's cached feed head (src/feed/head-mac.ts); unset, bounded mode uses no cache. */
  readonly feedMacKey: string | undefined;
  readonly failMode: FailMode;
  /** LOG_ACCEPTED: the share of accepted verifications that get a log line, 0 to 1. */
  readonly logAcceptedRate: number;
  readonly adminKeys: readonly string[];
  /** FEED_API_KEYS: keys of origins that mirror the feed (docs/reference.md §9); never an admin key. */
  readonly feedKeys: readonly string[];
  /** REVOCATION_CACHE_TTL_SECONDS: KV answers kept in the isolate (0 = off, at most 60). */
  readonly revocationCacheTtlSeconds: number;
  /** VERIFIED_TOKEN_CACHE_SIZE: verified signatures kept per isolate (0 turns it off). */
  readonly verifiedTokenCacheSize: number;
  /** PUBLIC_STRICT: `?strict=1` on /v1/verify without an admin key (docs/reference.md §3.1). */
  readonly publicStrict: boolean;
  /** FORWARD_AUTH_HOSTS: hosts on which every request is a /v1/verify check (src/app.ts routes by it). */
  readonly forwardAuthHosts: ReadonlySet<string>;
  /** docs/reference.md §7: SSF_STREAMS, the Shared Signals streams set up out of band, by id. */
  readonly ssfStreams: ReadonlyMap<string, SsfStreamConfig>;
  /** The isolated user namespaces the issuers name: what an admin route's `?namespace=` may say. */
  readonly userNamespaces: ReadonlySet<string>;
}

const DEFAULT_REQUIRED_CLAIMS = ['sub', 'exp', 'iat'];
const ALWAYS_REQUIRED_CLAIMS = ['sub', 'exp'];
const MIN_ADMIN_KEY_CHARS = 16;
/**
 * A mirror refreshes at half the bound, and a refresh is one round trip to a replica (up to
 * ~300 ms across an ocean): below this a far location's mirror is never fresh and the mode
 * silently becomes strict reads (docs/reference.md §4.1 "Picking the bound").
 */
const MIN_STALENESS_MS = 500;

function choiceVar<T extends string>(env: RawEnv, name: string, choices: readonly T[], fallback: T): T {
  const value = stringVar(env, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** Storage names embed it (src/revocation/storage-keys.ts): no `:`, short. */
const USER_NAMESPACE = /^[A-Za-z0-9._-]{1,64}$/;

function userNamespace(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !USER_NAMESPACE.test(value)) throw new ConfigError(field, 'must be 1-64 of A-Z a-z 0-9 . _ -');
  return value;
}

/**
 * LOG_ACCEPTED: `true`/`1` logs every accepted verification, `false`/`0` none, a decimal between
 * them that share of them, sampled (default 1 %: docs/reference.md §5 has the log bill of each).
 */
function parseLogAccepted(env: RawEnv): number {
  const value = stringVar(env, 'LOG_ACCEPTED');
  if (value === undefined) return 0.01;
  if (value === 'true') return 1;
  if (value === 'false') return 0;
  const rate = /^(?:0|1|0?\.\d+|1\.0*)$/.test(value) ? Number(value) : NaN;
  if (!(rate >= 0 && rate <= 1)) throw new ConfigError('LOG_ACCEPTED', 'must be true, false or a sample rate from 0 to 1 (e.g. 0.01)');
  return rate;
}

/** An optional claim name of an issuer entry. */
function claimName(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ConfigError(field, 'must be a non-empty claim name');
  return value;
}

function parseIssuers(env: RawEnv, ownIssuer: IssuerConfig | undefined): Map<string, IssuerConfig> {
  const raw = env.TRUSTED_ISSUERS === undefined && ownIssuer !== undefined ? [] : jsonVar(env, 'TRUSTED_ISSUERS');
  if (!Array.isArray(raw) || (raw.length === 0 && ownIssuer === undefined)) {
    throw new ConfigError('TRUSTED_ISSUERS', 'must be a non-empty JSON array of issuers (or set TOKEN_SIGNING_KEYS)');
  }
  const issuers = new Map<string, IssuerConfig>();
  raw.forEach((entry: unknown, i) => {
    const field = `TRUSTED_ISSUERS[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(field, 'must be an object');
    }
    const e = entry as Record<string, unknown>;
    if (typeof e.issuer !== 'string' || e.issuer === '') {
      throw new ConfigError(`${field}.issuer`, 'must be a non-empty string');
    }
    if (issuers.has(e.issuer)) throw new ConfigError(`${field}.issuer`, `duplicates ${JSON.stringify(e.issuer)}`);
    const audiences = stringList(e.audiences, `${field}.audiences`);
    const algorithms = stringList(e.algorithms, `${field}.algorithms`);
    const unknown = algorithms.find((a) => !isJwsAlgorithm(a));
    if (unknown !== undefined) {
      throw new ConfigError(`${field}.algorithms`, `unknown or forbidden algorithm ${JSON.stringify(unknown)}`);
    }
    const algs = algorithms as JwsAlgorithm[];
    issuers.set(e.issuer, {
      issuer: e.issuer,
      audiences: new Set(audiences),
      algorithms: new Set(algs),
      keys: parseKeySource(e, algs, env, field),
      versionClaim: claimName(e.versionClaim, `${field}.versionClaim`),
      audienceClaim: claimName(e.audienceClaim, `${field}.audienceClaim`) ?? 'aud',
      userClaim: claimName(e.userClaim, `${field}.userClaim`) ?? 'sub',
      userNamespace: userNamespace(e.userNamespace, `${field}.userNamespace`),
    });
  });
  if (ownIssuer !== undefined && ownIssuer.issuer !== ANY_ORIGIN) {
    if (issuers.has(ownIssuer.issuer)) {
      throw new ConfigError('TOKEN_ISSUER', 'is also in TRUSTED_ISSUERS; killswitch trusts its own issuer by itself');
    }
    issuers.set(ownIssuer.issuer, ownIssuer);
  }
  return issuers;
}

/** The own issuer's name when TOKEN_ISSUER is unset: tokens carry the origin they were minted on. */
const ANY_ORIGIN = '(origin)';

function ownIssuerOf(tokenService: TokenServiceConfig | undefined, versionClaim: string): IssuerConfig | undefined {
  if (tokenService === undefined) return undefined;
  return {
    issuer: tokenService.issuer ?? ANY_ORIGIN,
    audiences: new Set([tokenService.audience]),
    algorithms: new Set(tokenService.signingKeys.map((k) => k.alg)),
    keys: new InlineJwks(new JwkSet(tokenService.publicJwks)),
    versionClaim,
    audienceClaim: 'aud',
    userClaim: 'sub', // the token service mints `sub` for the user it was asked for
    userNamespace: undefined, // its users are the shared namespace's
  };
}

const isOrigin = (value: string) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
};

/**
 * The trusted issuer named by a token's `iss`. With the token service on and TOKEN_ISSUER
 * unset, killswitch's tokens carry the origin they were minted on: a token whose `iss` is an
 * origin and whose `kid` names one of our signing keys is ours to verify (and must then
 * carry our signature). Any other unknown `iss` is `wrong_issuer`.
 */
export function findIssuer(config: Config, iss: string | undefined, kid: string | undefined): IssuerConfig | undefined {
  if (iss === undefined) return undefined;
  const issuer = config.issuers.get(iss);
  if (issuer !== undefined) return issuer;
  const own = config.ownIssuer;
  if (own?.issuer !== ANY_ORIGIN || kid === undefined) return undefined;
  const ours = config.tokenService?.signingKeys.some((key) => key.kid === kid) === true;
  return ours && isOrigin(iss) ? own : undefined;
}

function parseRequiredClaims(env: RawEnv): string[] {
  const raw = env.REQUIRED_CLAIMS === undefined ? DEFAULT_REQUIRED_CLAIMS : jsonVar(env, 'REQUIRED_CLAIMS');
  if (!Array.isArray(raw) || !raw.every((c) => typeof c === 'string' && c !== '')) {
    throw new ConfigError('REQUIRED_CLAIMS', 'must be a JSON array of claim names');
  }
  return [...new Set([...ALWAYS_REQUIRED_CLAIMS, ...(raw as string[])])];
}

function parseKeys(name: 'ADMIN_API_KEYS' | 'FEED_API_KEYS', raw: string | undefined): string[] {
  const keys = (raw ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (keys.some((k) => k.length < MIN_ADMIN_KEY_CHARS)) {
    throw new ConfigError(name, `every key must be at least ${MIN_ADMIN_KEY_CHARS} characters`);
  }
  return keys;
}

/** A feed key reads the feed and nothing else: one that is also an admin key would make every origin an admin. */
function parseFeedKeys(env: RawEnv, adminKeys: readonly string[]): string[] {
  const keys = parseKeys('FEED_API_KEYS', stringVar(env, 'FEED_API_KEYS'));
  if (keys.some((k) => adminKeys.includes(k))) throw new ConfigError('FEED_API_KEYS', 'must not contain an admin key');
  return keys;
}

/** KV propagates within 60 s; a longer in-isolate cache would break that promise. */
function parseRevocationCacheTtl(env: RawEnv): number {
  const ttl = integerVar(env, 'REVOCATION_CACHE_TTL_SECONDS', 0) ?? 0;
  if (ttl > 60) throw new ConfigError('REVOCATION_CACHE_TTL_SECONDS', "must be at most 60 (KV's propagation bound)");
  return ttl;
}

/**
 * An issuer's clock can run ahead of ours by at most CLOCK_TOLERANCE_SECONDS (a later `iat` is
 * refused), so a wider margin would only refuse honest re-logins; the mirror's entries also
 * outlive tokens by just that tolerance (docs/storage.md).
 */
function parseIatMargin(env: RawEnv, clockToleranceSeconds: number): number {
  const margin = integerVar(env, 'REVOCATION_IAT_MARGIN_SECONDS', 0);
  if (margin === undefined) return Math.min(2, clockToleranceSeconds);
  if (margin > clockToleranceSeconds) {
    throw new ConfigError('REVOCATION_IAT_MARGIN_SECONDS', `must be at most CLOCK_TOLERANCE_SECONDS (${clockToleranceSeconds})`);
  }
  return margin;
}

/**
 * Bounded mode forgets a user's entry MAX_TOKEN_LIFETIME_SECONDS after the change (every token
 * minted before it has expired by then): without a lifetime it could forget nothing.
 */
function parseRevocationMode(env: RawEnv, maxTokenLifetimeSeconds: number | undefined): RevocationMode {
  const mode = choiceVar(env, 'REVOCATION_MODE', ['bounded', 'cached', 'strict'], 'cached');
  if (mode === 'bounded' && maxTokenLifetimeSeconds === undefined) {
    throw new ConfigError('MAX_TOKEN_LIFETIME_SECONDS', "must be set when REVOCATION_MODE is bounded (it bounds the mirror's memory)");
  }
  return mode;
}

const MIN_FEED_MAC_KEY_CHARS = 32;
/** FEED_CLOCK_SKEW_MS's default: NTP keeps Cloudflare's machines within a few ms; this leaves ample room. */
export const DEFAULT_FEED_CLOCK_SKEW_MS = 100;

/**
 * Any Worker on the zone can `put` into `caches.default`: a bounded mirror trusts a cached feed
 * head only with a valid MAC under this key. Without one the location cache is off (every
 * isolate reads a replica itself: correct, but the fan-out grows with isolates).
 */
function parseFeedMacKey(env: RawEnv): string | undefined {
  const key = stringVar(env, 'FEED_MAC_KEY');
  if (key !== undefined && key.length < MIN_FEED_MAC_KEY_CHARS) {
    throw new ConfigError('FEED_MAC_KEY', `must be at least ${MIN_FEED_MAC_KEY_CHARS} characters`);
  }
  return key;
}

/** Parses and validates every setting of docs/reference.md §2; throws ConfigError naming the field. */
export function parseConfig(env: RawEnv): Config {
  const versionClaim = stringVar(env, 'VERSION_CLAIM') ?? 'ver';
  const tokenService = parseTokenService(env);
  const ownIssuer = ownIssuerOf(tokenService, versionClaim);
  const maxTokenLifetimeSeconds = integerVar(env, 'MAX_TOKEN_LIFETIME_SECONDS', 1);
  const adminKeys = parseKeys('ADMIN_API_KEYS', stringVar(env, 'ADMIN_API_KEYS'));
  const issuers = parseIssuers(env, ownIssuer);
  const clockToleranceSeconds = integerVar(env, 'CLOCK_TOLERANCE_SECONDS', 0) ?? 30;
  return {
    issuers,
    tokenService,
    ownIssuer,
    clockToleranceSeconds,
    revocationIatMarginSeconds: parseIatMargin(env, clockToleranceSeconds),
    maxTokenLifetimeSeconds,
    requiredClaims: parseRequiredClaims(env),
    versionClaim,
    revocationMode: parseRevocationMode(env, maxTokenLifetimeSeconds),
    revocationMaxStalenessMs: integerVar(env, 'REVOCATION_MAX_STALENESS_MS', MIN_STALENESS_MS) ?? 1000,
    feedClockSkewMs: integerVar(env, 'FEED_CLOCK_SKEW_MS', 0) ?? DEFAULT_FEED_CLOCK_SKEW_MS,
    feedMacKey: parseFeedMacKey(env),
    failMode: choiceVar(env, 'FAIL_MODE', ['closed', 'open'], 'closed'),
    publicStrict: choiceVar(env, 'PUBLIC_STRICT', ['true', 'false'], 'false') === 'true',
    logAcceptedRate: parseLogAccepted(env),
    adminKeys,
    feedKeys: parseFeedKeys(env, adminKeys),
    revocationCacheTtlSeconds: parseRevocationCacheTtl(env),
    verifiedTokenCacheSize: integerVar(env, 'VERIFIED_TOKEN_CACHE_SIZE', 0) ?? 5000,
    forwardAuthHosts: parseForwardAuthHosts(env),
    ssfStreams: parseSsfStreams(env, issuers),
    userNamespaces: new Set([...issuers.values()].flatMap((i) => (i.userNamespace === undefined ? [] : [i.userNamespace]))),
  };
}

/** Parsed once per `env` object (one per isolate in practice), errors included. */
const parsed = new WeakMap<object, Config | ConfigError>();

export function getConfig(env: object): Config {
  let result = parsed.get(env);
  if (result === undefined) {
    try {
      result = parseConfig(env as RawEnv);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      result = error;
    }
    parsed.set(env, result);
  }
  if (result instanceof ConfigError) throw result;
  return result;
}
