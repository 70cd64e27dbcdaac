/**
 * What every middleware does (docs/origins.md): the JWT verified with jose against the issuer's
 * JWKS first, then `isRevoked` from the in-process mirror. One answer shape, mapped to each
 * framework in express.ts, fastify.ts and hono.ts.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { Claims } from '../verify/compact-jws';
import { Revocations, type RevocationsOptions, type RevokedReason } from './revocations';

export interface GuardOptions extends RevocationsOptions {
  /** The issuer (`iss`) tokens must carry. */
  readonly issuer: string;
  /** Accepted audiences (`aud`). */
  readonly audience: string | readonly string[];
  /** Accepted algorithms, e.g. ['ES256']. */
  readonly algorithms: readonly string[];
  /** The issuer's JWKS: its URL (fetched, and fetched again for an unknown kid), or the key set itself. */
  readonly jwks: string | URL | JSONWebKeySet;
  /** How long after a JWKS fetch an unknown kid may fetch again (jose's cooldown). Default 30 s. */
  readonly jwksCooldownMs?: number;
  /** Leeway for exp/nbf/iat, in seconds. Default 30 (the worker's CLOCK_TOLERANCE_SECONDS default). */
  readonly clockToleranceSeconds?: number;
}

export type Refusal = 'missing_token' | 'invalid_token' | 'expired' | RevokedReason;

export type GuardAnswer =
  | { readonly ok: true; readonly claims: JWTPayload }
  | {
      readonly ok: false;
      readonly reason: Refusal;
      readonly status: 401 | 503;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: { readonly error: 'invalid_token' | 'temporarily_unavailable'; readonly reason: Refusal };
    };

function refusal(reason: Refusal): GuardAnswer {
  if (reason === 'unavailable') {
    return { ok: false, reason, status: 503, headers: { 'Retry-After': '1' }, body: { error: 'temporarily_unavailable', reason } };
  }
  const challenge = reason === 'missing_token' ? 'Bearer' : `Bearer error="invalid_token", error_description="${reason}"`;
  return { ok: false, reason, status: 401, headers: { 'WWW-Authenticate': challenge }, body: { error: 'invalid_token', reason } };
}

export class Guard {
  readonly revocations: Revocations;
  private readonly keys: JWTVerifyGetKey;
  /** jose's options, built once (not per request). */
  private readonly verifyOptions: JWTVerifyOptions;

  constructor(private readonly options: GuardOptions) {
    this.revocations = new Revocations(options);
    const { jwks } = options;
    this.keys =
      typeof jwks === 'string' || jwks instanceof URL
        ? createRemoteJWKSet(new URL(jwks), { cooldownDuration: options.jwksCooldownMs ?? 30_000 })
        : createLocalJWKSet(jwks);
    this.verifyOptions = {
      issuer: options.issuer,
      audience: options.audience as string | string[],
      algorithms: [...options.algorithms],
      requiredClaims: ['exp', options.userClaim ?? 'sub'],
      clockTolerance: options.clockToleranceSeconds ?? 30,
    };
  }

  /** The mirror loaded (call before taking traffic). */
  ready(): Promise<boolean> {
    return this.revocations.ready();
  }

  /** The answer for a request's `Authorization` header. */
  async check(authorization: string | undefined): Promise<GuardAnswer> {
    const match = /^Bearer +([A-Za-z0-9_.~+/-]+=*) *$/i.exec(authorization ?? '');
    if (match === null) return refusal('missing_token');
    const token = match[1]!;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys, this.verifyOptions));
    } catch (error) {
      return refusal(error instanceof errors.JWTExpired ? 'expired' : 'invalid_token');
    }
    const { versionClaim, userClaim = 'sub' } = this.options;
    const version = versionClaim === undefined ? undefined : claims[versionClaim];
    if (typeof claims[userClaim] !== 'string' || (version !== undefined && !Number.isSafeInteger(version))) return refusal('invalid_token');
    // Most checks need no wait (keys cached, mirror fresh): no second promise per request then.
    const revoked = this.revocations.answerNow(claims as Claims) ?? (await this.revocations.isRevoked(claims as Claims, { token }));
    return revoked === false ? { ok: true, claims } : refusal(revoked);
  }
}
