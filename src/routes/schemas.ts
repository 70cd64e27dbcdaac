/**
 * The request schemas of every route that takes input (docs/reference.md §4.2, §4.3, §6), and the response
 * schemas of every answer (below): the one source for validating requests, typing answers and
 * the OpenAPI document (src/openapi/document.ts), so they cannot drift. zod's "mini" build: the same zod 4 schemas and `toJSONSchema`, in half the
 * bundle of the chainable build. The verify hot path never touches these.
 *
 * Every field carries its own message, so a 400 names the field and says what it must be,
 * and never echoes the value (which may be a token or a key).
 */
import * as z from 'zod/mini';
import { STREAM_ID } from '../config/ssf-streams';
import { MAX_LISTED_KIDS } from '../keys/key-source';
import { AUDIT_ACTIONS, AUDIT_PAGE_MAX } from '../revocation/audit-log';
import { FEED_READ_MAX_ENTRIES } from '../feed/feed-change';
import { MAX_LISTED_SESSIONS } from '../revocation/refresh-families';
import { NOT_PROPAGATED } from '../revocation/revoker';
import { SET_ERROR_CODES } from '../ssf/receive';
import { MAX_TOKEN_BYTES } from '../verify/compact-jws';
import { REASONS, type Reason } from '../verify/reasons';
import { badRequest } from '../http/body';

/** Free-text reasons are kept in the audit trail; bounded so it stays small. */
export const MAX_REASON_CHARS = 256;
/**
 * Subjects and token ids: whatever a token under the 8 KiB limit can carry (about 6,100
 * characters, after base64url) is accepted, so every user a token names can be revoked.
 */
export const MAX_ID_CHARS = MAX_TOKEN_BYTES;
/** A requested scope: a string, bounded like four reasons. */
export const MAX_SCOPE_CHARS = MAX_REASON_CHARS * 4;
export const AUDIT_PAGE_DEFAULT = 50;

/** A schema whose every issue reads `must be <rule>`. */
const must = (rule: string) => ({ error: `must be ${rule}` });

const ID_RULE = `a non-empty string of at most ${MAX_ID_CHARS} characters`;
const id = (description: string) =>
  z.string(must(ID_RULE)).check(z.minLength(1, must(ID_RULE)), z.maxLength(MAX_ID_CHARS, must(ID_RULE)), z.describe(description));

const REASON_RULE = `a non-empty string of at most ${MAX_REASON_CHARS} characters`;
const reason = (description: string) =>
  z
    .string(must(REASON_RULE))
    .check(z.maxLength(MAX_REASON_CHARS, must(REASON_RULE)), z.regex(/\S/, must(REASON_RULE)), z.describe(description));

const NUMERIC_DATE_RULE = 'a NumericDate (integer seconds since the epoch)';
const numericDate = (description: string) =>
  z.int(must(NUMERIC_DATE_RULE)).check(z.minimum(0, must(NUMERIC_DATE_RULE)), z.describe(description));

const required = (description: string) =>
  z.string({ error: 'is required' }).check(z.minLength(1, { error: 'is required' }), z.describe(description));

/** The `sub` of /v1/admin/users/{sub} (and of ?sub=). */
export const SubParam = id(
  "The user id (the value of the token issuer's userClaim; `sub` unless configured), percent-encoded in the path.",
);

/** `?namespace=` of the admin routes that name a user (docs/reference.md §4.1); the route checks it is a configured one. */
export const NamespaceQuery = z.object({
  namespace: z.optional(
    z
      .string(must('a configured userNamespace'))
      .check(
        z.describe(
          "The user namespace (an issuer's `userNamespace` in TRUSTED_ISSUERS) the user id is in; without it, the shared namespace. An unknown name is a 400.",
        ),
      ),
  ),
});

/** POST /v1/admin/users/{sub}/revoke (docs/reference.md §4.2); an empty body is `{}`. */
export const UserRevokeBody = z.object({
  reason: z.optional(reason('Why, for the audit trail.')),
});

const bodySub = () =>
  id(
    "The user id (the value of the token issuer's userClaim; `sub` unless configured), exactly (any id works here, `.` and `..` included).",
  );

/** POST /v1/admin/users/revoke: the user in the body, for a `sub` no path can carry. */
export const UserRevokeBySubBody = z.object({
  sub: bodySub(),
  reason: z.optional(reason('Why, for the audit trail.')),
});

/** POST /v1/admin/users/lookup: GET /v1/admin/users/{sub} with the user in the body. */
export const UserLookupBody = z.object({
  sub: bodySub(),
});

/** POST /v1/admin/tokens/revoke: revoke by id, without the token. */
export const TokenRevokeBody = z.object({
  jti: id("The token's `jti`."),
  sub: id("The token's user id: its issuer's userClaim, `sub` unless configured (the user whose Durable Object stores the entry)."),
  exp: numericDate("The token's `exp`: the entry is kept until then (plus the clock tolerance)."),
  iss: z.optional(id("The token's `iss`; without it, the `jti` is revoked for every issuer.")),
  reason: z.optional(reason('Why, for the audit trail.')),
});

/** POST /v1/admin/revoke-all: a reason is required for this one. */
export const RevokeAllBody = z.object({
  reason: reason('Why, for the audit trail (required).'),
});

/** POST /v1/logout; an empty body is `{}`. */
export const LogoutBody = z.object({
  everywhere: z.optional(
    z.boolean(must('a boolean')).check(z.describe("true: revoke every token of the bearer's user, not only the presented one.")),
  ),
});

/** POST /v1/sessions (docs/reference.md §6). Reserved claims and the size limit depend on configuration: checked by the route. */
export const SessionBody = z.object({
  sub: id('The user the session is for.'),
  scope: z.optional(
    z
      .string(must(`a string of at most ${MAX_SCOPE_CHARS} characters`))
      .check(
        z.maxLength(MAX_SCOPE_CHARS, must(`a string of at most ${MAX_SCOPE_CHARS} characters`)),
        z.describe('The `scope` claim of the access tokens, kept across refreshes.'),
      ),
  ),
  claims: z.optional(
    z
      .record(z.string(), z.unknown(), must('a JSON object'))
      .check(
        z.describe(
          'Extra claims for the access tokens. May not set iss, sub, aud, exp, nbf, iat, jti, sid, scope, cnf, client_id or the version claim; at most 4 KiB as JSON.',
        ),
      ),
  ),
});

/** POST /v1/revoke: RFC 7009 §2.1 form. */
export const RevokeForm = z.object({
  token: required('The access token (a JWT) or refresh token to revoke.'),
  token_type_hint: z.optional(
    z.string().check(z.describe("`access_token` or `refresh_token`. Advisory: the token's shape decides (RFC 7009 §2.1).")),
  ),
});

/** POST /v1/introspect: RFC 7662 §2.1 form. */
export const IntrospectForm = z.object({
  token: required('The token to introspect.'),
});

/** POST /v1/token: RFC 6749 §6 form (a public client: the refresh token is the credential). */
export const RefreshForm = z.object({
  grant_type: z.literal('refresh_token', { error: 'must be "refresh_token"' }).check(z.describe('Only the refresh grant.')),
  refresh_token: required('The current refresh token; it is rotated, so use the one returned last.'),
});

/** Stream URLs, and (× 4) transmitter tokens: bounded on their own, not by what a JWT can carry. */
const MAX_URL_CHARS = 1024;
const URL_RULE = 'an https URL (http only for localhost)';
const url = (description: string) =>
  z.string(must(URL_RULE)).check(z.minLength(1, must(URL_RULE)), z.maxLength(MAX_URL_CHARS, must(URL_RULE)), z.describe(description));
const TOKEN_RULE = `a non-empty string of at most ${MAX_URL_CHARS * 4} characters`;
const transmitterToken = z.optional(
  z
    .string(must(TOKEN_RULE))
    .check(
      z.minLength(1, must(TOKEN_RULE)),
      z.maxLength(MAX_URL_CHARS * 4, must(TOKEN_RULE)),
      z.describe("The bearer of the transmitter's management API. Used for this call only, never stored."),
    ),
);

/**
 * POST /v1/admin/ssf/streams (docs/reference.md §7). With `transmitter`: a managed stream, created at the
 * transmitter's management API. Without: a manual one (Google's `stream:update`), whose
 * `issuer`, `jwksUri` and `audience` the operator gives. The rest is an SSF_STREAMS entry's.
 */
export const SsfStreamBody = z.object({
  transmitter: z.optional(url("The transmitter's issuer: discovery reads {origin}/.well-known/ssf-configuration{path}.")),
  transmitterToken,
  issuer: z.optional(id("Manual streams: the SETs' `iss`.")),
  jwksUri: z.optional(url("Manual streams: the transmitter's JWKS.")),
  audience: z.optional(id('Manual streams: the `aud` the transmitter puts in SETs (unique per stream).')),
  algorithms: z.optional(z.array(z.string(), must('an array of JWS algorithm names')).check(z.describe('Default ["RS256"].'))),
  subjects: z.optional(
    z
      .record(z.string(), z.unknown(), must('a JSON object'))
      .check(
        z.describe(
          '{"iss_sub": {"<SET subject iss>": {"issuer": "<trusted token issuer>", "claim": "<its userClaim, the default>"}}, "email": false}',
        ),
      ),
  ),
  events: z.optional(
    z
      .record(z.string(), z.unknown(), must('a JSON object'))
      .check(z.describe('Per event type URI: "revoke_user" or "audit", over the defaults.')),
  ),
  acceptMissingTyp: z.optional(
    z.boolean(must('a boolean')).check(z.describe('Accept SETs without the JWS `typ` (a present typ must be secevent+jwt).')),
  ),
  pushSecret: z.optional(
    z.boolean(must('a boolean')).check(z.describe('Manual streams: false for a signature-only stream (Google). Default true.')),
  ),
  pushBaseUrl: z.optional(url('The origin transmitters reach killswitch on, when not the one this call came in on.')),
  poll: z.optional(
    z
      .record(z.string(), z.unknown(), must('a JSON object'))
      .check(
        z.describe(
          'Manual streams, RFC 8936 poll delivery: {"endpoint": "https://…", "token": "<the transmitter\'s poll bearer>", "maxEvents"?: 1–64 (16), "intervalSeconds"?: 1–300 (10)}. The token is kept, never shown.',
        ),
      ),
  ),
  eventsRequested: z.optional(
    z.array(z.string(), must('an array of event type URIs')).check(z.describe('Managed streams: what to ask the transmitter for.')),
  ),
});

/** POST /v1/admin/ssf/streams/{id}/verify and DELETE /v1/admin/ssf/streams/{id}; an empty body is `{}`. */
export const SsfTransmitterBody = z.object({ transmitterToken });

/** A stream id in a path. */
export const StreamIdParam = z
  .string(must('a stream id (1 to 64 of A-Z a-z 0-9 _ -)'))
  .check(
    z.regex(STREAM_ID, must('a stream id (1 to 64 of A-Z a-z 0-9 _ -)')),
    z.describe("The stream's id, as in its push endpoint /v1/ssf/{id}/events."),
  );

const LIMIT_RULE = `an integer from 1 to ${AUDIT_PAGE_MAX}`;
/** GET /v1/admin/audit query. */
export const AuditQuery = z.object({
  sub: z.optional(id('The user whose trail to list; without it, the global (revoke-all) trail.')),
  limit: z
    ._default(
      z.pipe(
        z.pipe(z.string(must(LIMIT_RULE)).check(z.regex(/^\d{1,6}$/, must(LIMIT_RULE))), z.transform(Number)),
        z.int(must(LIMIT_RULE)).check(z.minimum(1, must(LIMIT_RULE)), z.maximum(AUDIT_PAGE_MAX, must(LIMIT_RULE))),
      ),
      AUDIT_PAGE_DEFAULT,
    )
    .check(z.describe('Events per page.')),
  cursor: z.optional(
    z
      .string({ error: 'is not a cursor this server gave out' })
      .check(
        z.regex(/^\d{1,15}$/, { error: 'is not a cursor this server gave out' }),
        z.describe('The `cursor` of the previous page, for the next (older) one.'),
      ),
  ),
  action: z.optional(z.enum(AUDIT_ACTIONS, must(`one of ${AUDIT_ACTIONS.join(', ')}`)).check(z.describe('Only events of this kind.'))),
  ...NamespaceQuery.shape,
});

/** GET /v1/admin/ssf/streams/{id}/audit: the stream's trail of every SET it received. */
export const StreamAuditQuery = z.omit(AuditQuery, { sub: true, namespace: true });

const SEQ_RULE = 'a feed sequence number (an integer of at most 15 digits)';
/** GET /v1/feed query (docs/reference.md §9). */
export const FeedQuery = z.object({
  after: z
    .pipe(
      z.pipe(z.string({ error: 'is required' }).check(z.regex(/^\d{1,15}$/, must(SEQ_RULE))), z.transform(Number)),
      z.int(must(SEQ_RULE)).check(z.minimum(0, must(SEQ_RULE))),
    )
    .check(z.describe("The last sequence number the mirror holds (the snapshot's `seq`, then the `head` of the previous page).")),
});

/**
 * The value, checked against the schema; otherwise a 400 invalid_request whose description
 * names the first field at fault: `"exp" must be a NumericDate (…)`.
 */
export function validate<S extends z.ZodMiniType>(schema: S, value: unknown, where?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw badRequest(describeIssue(result.error.issues[0], where));
}

export function describeIssue(issue: z.core.$ZodIssue | undefined, where?: string): string {
  const field = issue?.path.map(String).join('.') || where;
  const message = issue?.message ?? 'is invalid';
  return field === undefined ? `body ${message}` : `"${field}" ${message}`;
}

/** A form (or query) as a plain object; the first of repeated parameters counts. */
export function formObject(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of form) if (!Object.hasOwn(out, name)) out[name] = value;
  return out;
}

/*
 * Response bodies. What killswitch sends, as zod schemas: the routes type their answers with
 * ResponseBody<'X'> (so a field cannot be sent that the schema lacks, nor one the schema
 * requires be missing), the OpenAPI document renders them with `z.toJSONSchema`, and
 * test/openapi.test.ts validates real answers against that rendering.
 */

/** Every `error` code of a JSON error answer: the one list the document and the routes share. */
export const ERROR_CODES = [
  'invalid_token',
  'invalid_request',
  'payload_too_large',
  'unauthorized',
  'not_found',
  'not_configured',
  'unsupported_grant_type',
  'invalid_grant',
  'transmitter_error',
  'idempotency_key_reused',
  'strict_not_allowed',
  'temporarily_unavailable',
  'snapshot_required',
  'server_misconfigured',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A response schema's output, read-only all the way down, as domain types are. */
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

const str = z.string();
const count = z.int().check(z.minimum(0));
const instant = z.int().check(z.minimum(0), z.describe('NumericDate: integer seconds since the epoch.'));
const described = <S extends z.ZodMiniType>(schema: S, description: string) => schema.check(z.describe(description)) as S;

/** An OAuth-shaped error (RFC 6749 §5.2): one of `codes`, with or without a description. */
function errorBody<const C extends readonly [ErrorCode, ...ErrorCode[]]>(codes: C, description: 'required' | 'optional' | 'none') {
  return z.object({
    error: z.enum(codes),
    ...(description === 'required' ? { error_description: str } : {}),
    ...(description === 'optional' ? { error_description: z.optional(str) } : {}),
  });
}

/** /v1/verify's answers, and the error bodies every route shares. */
function verifyAndErrorBodies() {
  const Health = z.object({ ok: z.literal(true) });

  const VerifyActive = described(
    z.looseObject({
      active: z.literal(true),
      iss: str,
      sub: str,
      exp: instant,
      aud: z.optional(z.union([str, z.array(str)])),
      iat: z.optional(instant),
      nbf: z.optional(instant),
      jti: z.optional(str),
      scope: z.optional(str),
      client_id: z.optional(str),
    }),
    '`active` and every claim of the token.',
  );

  const Refusal = z.object({
    active: z.literal(false),
    error: z.literal('invalid_token' satisfies ErrorCode),
    reason: z.enum(
      REASONS.filter((reason) => reason !== 'unavailable') as [Exclude<Reason, 'unavailable'>, ...Exclude<Reason, 'unavailable'>[]],
    ),
  });
  /** A check that could not read revocation state: refusal-shaped, with the reason `unavailable`. */
  const Unavailable = z.object({
    active: z.literal(false),
    error: z.literal('temporarily_unavailable' satisfies ErrorCode),
    reason: z.literal('unavailable'),
  });

  const InvalidRequest = errorBody(['invalid_request'], 'required');
  const PayloadTooLarge = errorBody(['payload_too_large'], 'required');
  const AdminUnauthorized = errorBody(['unauthorized'], 'none');
  const ServerError = errorBody(['server_misconfigured', 'internal_error'], 'none');
  const NotFound = errorBody(['not_found'], 'none');
  const NotFoundDescribed = errorBody(['not_found'], 'optional');
  const NotConfigured = errorBody(['not_configured'], 'required');
  const SessionError = errorBody(['invalid_request', 'not_configured'], 'required');
  const TokenError = errorBody(['invalid_request', 'unsupported_grant_type', 'invalid_grant', 'not_configured'], 'optional');
  const TransmitterFailed = errorBody(['transmitter_error'], 'required');
  const IdempotencyKeyReused = errorBody(['idempotency_key_reused'], 'required');
  const StrictNotAllowed = errorBody(['strict_not_allowed'], 'required');
  /** A writer out of reach: nothing was acknowledged. */
  const TemporarilyUnavailable = errorBody(['temporarily_unavailable'], 'none');
  /** Bounded mode: the writer stored the change, the feed has not taken it yet (src/revocation/revoker.ts). */
  const NotPropagated = z.object({
    error: z.literal('temporarily_unavailable' satisfies ErrorCode),
    error_description: z.literal(NOT_PROPAGATED),
  });
  /** What a revoking route answers with 503: out of reach, or (bounded mode) stored but not yet propagated. */
  const WriteUnavailable = z.union([TemporarilyUnavailable, NotPropagated]);
  return {
    Health,
    VerifyActive,
    Refusal,
    Unavailable,
    InvalidRequest,
    StrictNotAllowed,
    PayloadTooLarge,
    AdminUnauthorized,
    ServerError,
    NotFound,
    NotFoundDescribed,
    NotConfigured,
    SessionError,
    TokenError,
    TransmitterFailed,
    IdempotencyKeyReused,
    TemporarilyUnavailable,
    NotPropagated,
    WriteUnavailable,
  };
}

/** The revocation, admin and token-service answers. */
function revocationBodies() {
  const LogoutResult = z.object({ revoked: z.enum(['token', 'user']) });

  /** docs/reference.md §4.2: every admin answer names the user as `user` (the same id as `sub`) and its namespace unless shared. */
  const userRef = {
    user: described(str, "The user id: the value of its token issuer's userClaim (`sub` unless configured)."),
    namespace: z.optional(described(str, "The user's namespace; absent: the shared one.")),
  };
  const userSnapshot = {
    sub: str,
    ...userRef,
    version: described(count, 'Put it in the version claim of tokens you mint.'),
    revokedBefore: described(instant, 'Tokens of this user issued before this instant are refused; 0: never revoked.'),
  };
  const UserSnapshot = z.object(userSnapshot);
  const UserState = z.object({
    ...userSnapshot,
    revokedTokens: z.array(
      z.object({
        jti: str,
        iss: described(z.nullable(str), 'null: revoked for every issuer.'),
        exp: instant,
        revokedAt: instant,
        reason: z.nullable(str),
      }),
    ),
    sessions: described(
      z.array(
        z.object({
          id: described(str, 'The session (refresh family) id: the `sid` claim of its access tokens.'),
          createdAt: instant,
          expiresAt: instant,
          revokedAt: z.nullable(instant),
          scope: z.nullable(str),
          state: described(
            z.enum(['active', 'revoked', 'revoked_all']),
            '`revoked`: the session or its user was revoked; `revoked_all`: a revoke-all ended it.',
          ),
        }),
      ),
      `Token-service sessions not yet expired, newest first, at most ${MAX_LISTED_SESSIONS}.`,
    ),
  });

  const tokenId = { sub: str, ...userRef, jti: str, iss: z.nullable(str), exp: instant };
  const TokenRevoked = z.union([
    z.object({ revoked: z.literal(true), ...tokenId }),
    z.object({
      revoked: z.literal(false),
      reason: described(
        z.literal('expired'),
        '`exp` + the clock tolerance has passed: the token is refused as `expired` already; nothing was stored.',
      ),
      ...tokenId,
    }),
  ]);
  const RevokeAllResult = z.object({ revokedBefore: instant });

  const AuditPage = z.object({
    events: z.array(
      z.object({
        at: instant,
        action: z.enum(AUDIT_ACTIONS),
        sub: z.nullable(str),
        jti: z.optional(str),
        actor: described(
          str,
          '`admin:<12 hex>` (a fingerprint of the admin key used), `self` (the token holder) or `ssf:<stream id>` (a security event).',
        ),
        reason: z.optional(str),
      }),
    ),
    cursor: z.optional(described(str, 'Pass as ?cursor= for the next (older) page; absent on the last.')),
  });

  const introspectionActive = z.object({
    active: z.literal(true),
    sub: str,
    user: described(str, "The user id revocation acts on: the issuer's userClaim (`sub` unless configured; e.g. Okta's `uid`)."),
    namespace: z.optional(described(str, "The issuer's userNamespace; absent: the shared namespace.")),
    iss: str,
    aud: z.optional(
      described(z.union([str, z.array(str)]), 'Absent when the token has none (Cognito access tokens, whose audience is `client_id`).'),
    ),
    exp: instant,
    iat: z.optional(instant),
    jti: described(str, "The token's `jti`, or a digest of its signing input when it has none."),
    scope: z.optional(str),
    client_id: z.optional(str),
    token_type: z.literal('Bearer'),
  });
  const Introspection = z.union([introspectionActive, z.object({ active: z.literal(false) })]);

  const TokenResponse = z.object({
    access_token: str,
    token_type: z.literal('Bearer'),
    expires_in: z.int().check(z.minimum(1)),
    refresh_token: described(str, 'Opaque; rotated on every use. Presenting a used one revokes the session.'),
    scope: z.optional(str),
  });
  const Jwks = z.object({
    keys: z.array(z.looseObject({ kty: str, kid: str, alg: str, use: z.optional(str) })),
  });
  const AuthorizationServerMetadata = z.looseObject({
    issuer: str,
    jwks_uri: str,
    token_endpoint: str,
    revocation_endpoint: str,
    introspection_endpoint: str,
    grant_types_supported: z.array(str),
  });

  const latency = {
    count,
    p50: described(z.nullable(z.number()), 'Upper bound of the bucket holding the median (at most max); null before any request.'),
    p99: z.nullable(z.number()),
    max: z.number(),
  };
  const buckets = described(z.record(str, count), 'Upper bound in ms ("+Inf": the rest) → count.');
  const Stats = z.object({
    since: described(instant, 'When this isolate started counting.'),
    requests: described(z.record(str, z.record(str, count)), 'route → "outcome:reason" → count, in this isolate.'),
    latencyMs: z.object({ ...latency, buckets, routes: z.record(str, z.object({ ...latency, buckets })) }),
    revocation: z.object({
      mode: described(z.enum(['cached', 'strict', 'bounded']), 'REVOCATION_MODE.'),
      failMode: described(z.enum(['closed', 'open']), 'FAIL_MODE.'),
      cacheTtlSeconds: described(count, 'REVOCATION_CACHE_TTL_SECONDS.'),
      boundSeconds: described(count, 'Every check refuses a revoked token within this many seconds (0: on the next request).'),
    }),
    issuers: described(
      z.array(
        z.object({
          issuer: str,
          audiences: z.array(str),
          algorithms: z.array(str),
          own: described(z.boolean(), "killswitch's own token service."),
          userClaim: described(str, 'The claim whose value is the user id (`sub` unless configured).'),
          userNamespace: z.optional(described(str, "The issuer's user namespace (`?namespace=`); absent: the shared one.")),
          keys: z.object({
            source: z.enum(['jwks', 'jwksUri', 'hmacSecret']),
            jwksUri: z.optional(described(str, 'Without credentials, query or fragment.')),
            keyCount: count,
            kids: described(z.array(str), `Distinct key ids, at most ${MAX_LISTED_KIDS}.`),
            fetchedAt: z.optional(described(z.nullable(instant), 'Remote JWKS: last successful fetch by this isolate; null: none yet.')),
            lastError: z.optional(described(z.nullable(str), 'Remote JWKS: why the last fetch failed; null: it did not.')),
          }),
        }),
      ),
      'The trusted issuers and their key status, as this isolate has them. Never a secret.',
    ),
    mirror: z.optional(
      described(
        z.object({
          seq: described(z.int(), 'The feed sequence number the mirror holds (-1: nothing loaded yet).'),
          ageMs: described(
            z.nullable(z.number()),
            'Now minus the stamp taken before the read its data came from; null before the first read.',
          ),
          users: count,
          tokens: count,
          tableBytes: count,
          overCap: z.boolean(),
          feedReads: described(count, 'Replica reads by this isolate since it started.'),
          cacheHits: count,
          snapshotLoads: count,
          refreshFailures: count,
          strictReads: described(count, 'Checks the writers answered because the mirror was stale or over its memory cap.'),
          confirmations: described(count, 'Refusals resting on a fingerprint, confirmed with the writer.'),
        }),
        "REVOCATION_MODE=bounded only: this isolate's mirror (docs/consistency.md).",
      ),
    ),
  });

  const FeedPage = z.object({
    stamp: described(
      z.int(),
      "Milliseconds since the epoch on the edge's clock, taken before the feed was read: the data's age is measured from it.",
    ),
    head: described(count, 'The last sequence number the feed holds.'),
    floor: described(count, 'Entries up to here were pruned.'),
    entries: described(
      z.array(
        z.union([
          z.object({ seq: count, kind: z.literal('global'), revokedBefore: instant }),
          z.object({ seq: count, kind: z.literal('user'), fp: str, version: count, revokedBefore: instant, until: instant }),
          z.object({ seq: count, kind: z.literal('token'), fp: str, until: instant }),
        ]),
      ),
      `The entries after \`after\`, in order, at most ${FEED_READ_MAX_ENTRIES}: ask again from the last one until it is \`head\`.`,
    ),
  });
  const SnapshotRequired = z.object({
    error: z.literal('snapshot_required' satisfies ErrorCode),
    error_description: str,
    floor: count,
    head: count,
  });

  return {
    FeedPage,
    SnapshotRequired,
    LogoutResult,
    UserSnapshot,
    UserState,
    TokenRevoked,
    RevokeAllResult,
    AuditPage,
    Introspection,
    TokenResponse,
    Jwks,
    AuthorizationServerMetadata,
    Stats,
  };
}

/** The Shared Signals answers (and the document's own). */
function ssfBodies() {
  /** RFC 8935 §2.3: a refused SET's answer, `err` not `error`. */
  const SetRefused = described(z.object({ err: z.enum(SET_ERROR_CODES), description: str }), 'RFC 8935 §2.3.');
  const PushUnauthorized = z.object({ err: z.literal('authentication_failed'), description: str });

  const ssfStream = {
    id: str,
    mode: described(
      z.enum(['config', 'managed', 'manual']),
      "`config`: SSF_STREAMS; `managed`: created at the transmitter's API; `manual`: registered here, set up at the transmitter by hand.",
    ),
    issuer: str,
    audience: str,
    algorithms: z.array(str),
    pushEndpoint: str,
    pushSecret: described(z.boolean(), "Whether pushes must carry the stream's bearer secret."),
    transmitterStreamId: z.optional(str),
    poll: z.optional(
      described(
        z.object({ endpoint: str, maxEvents: count, intervalSeconds: count }),
        "RFC 8936 poll delivery: the transmitter's poll endpoint (its token is never shown).",
      ),
    ),
  };
  const pollStatus = z.object({
    polling: z.boolean(),
    failures: described(count, 'Failed polls in a row; the next waits intervalSeconds × 2^failures, 15 minutes at most.'),
    lastPollAt: z.nullable(instant),
    lastError: z.nullable(str),
    pendingAcks: described(count, 'SETs settled (acked or refused) whose ack/setErrs the next poll sends.'),
    nextPollAt: z.nullable(instant),
  });
  const SsfStream = z.object(ssfStream);
  const SsfStreamCreated = z.object({
    ...ssfStream,
    secret: z.optional(
      described(str, 'Manual streams with a push secret: give it to the transmitter. Shown once; only its SHA-256 is kept.'),
    ),
    eventsDelivered: z.optional(z.array(str)),
  });
  const SsfStreamList = z.object({
    streams: z.array(SsfStream),
    unusable: described(
      z.array(z.object({ id: str, problem: str })),
      'Stored streams that are off: they no longer parse (say, their token issuer left TRUSTED_ISSUERS). DELETE removes them.',
    ),
  });
  const SsfStreamStatus = z.object({
    ...ssfStream,
    status: z.object({
      verifiedAt: z.nullable(instant),
      verificationPending: z.boolean(),
      verificationProblem: z.nullable(str),
      transmitterStatus: described(
        z.nullable(str),
        'From the last stream-updated event, or asked of the transmitter (X-Transmitter-Token).',
      ),
      lastEventAt: z.nullable(instant),
      poll: z.optional(pollStatus),
    }),
  });
  const SsfPollStatus = z.object({ id: str, poll: pollStatus });
  const SsfVerification = z.object({
    id: str,
    state: described(str, 'The state the verification SET must carry.'),
    requested: described(z.boolean(), 'true: the transmitter was asked; false: pass the state to it yourself.'),
  });
  const SsfStreamDeleted = z.object({
    id: str,
    deleted: described(z.literal(true), 'Deleted here, whatever the transmitter answered.'),
    transmitter: z.optional(
      described(
        z.enum(['deleted', 'failed', 'not_asked']),
        'A managed stream: what its transmitter said (`not_asked`: no transmitterToken was given).',
      ),
    ),
  });
  /** Only what the document's own test needs of it: the rest is OpenAPI 3.1's. */
  const OpenApiDocument = z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({}), paths: z.looseObject({}) });
  return {
    SetRefused,
    PushUnauthorized,
    SsfStream,
    SsfStreamCreated,
    SsfStreamList,
    SsfStreamStatus,
    SsfPollStatus,
    SsfVerification,
    SsfStreamDeleted,
    OpenApiDocument,
  };
}

function responseBodies() {
  return { ...verifyAndErrorBodies(), ...revocationBodies(), ...ssfBodies() };
}
export type ResponseSchemas = ReturnType<typeof responseBodies>;
export type ResponseBodyName = keyof ResponseSchemas;
/** The answer a route sends, as its response schema says, read-only as domain types are. */
export type ResponseBody<N extends ResponseBodyName> = DeepReadonly<z.output<ResponseSchemas[N]>>;

let built: ResponseSchemas | undefined;
/**
 * The response schemas, built on first use (the OpenAPI document's first build), not at
 * module load: no isolate pays for them at start, and the routes need only their types.
 */
export function responseSchemas(): ResponseSchemas {
  built ??= responseBodies();
  return built;
}
