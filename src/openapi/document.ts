/**
 * The OpenAPI 3.1 document of every route of SPEC, served at GET /openapi.json. Request
 * bodies, forms and query parameters are the very zod schemas the routes validate with
 * (src/routes/schemas.ts), turned into JSON Schema by `z.toJSONSchema`: the document cannot
 * drift from the validation. Response schemas are declared here, and test/openapi.test.ts
 * checks real answers of every route against them.
 *
 * Built lazily, once per isolate, on the first GET /openapi.json: nothing here runs on the
 * verify path (response schemas are constructed inside buildDocument, not at module load).
 */
import * as z from 'zod/mini';
import { version } from '../../package.json';
import { AUDIT_ACTIONS, AUDIT_PAGE_MAX } from '../revocation/audit-log';
import { MAX_LISTED_KIDS } from '../keys/key-source';
import { MAX_LISTED_SESSIONS } from '../revocation/refresh-families';
import { MAX_BODY_BYTES } from '../http/body';
import {
  AuditQuery, IntrospectForm, LogoutBody, RefreshForm, RevokeAllBody, RevokeForm, SessionBody, SsfStreamBody,
  SsfTransmitterBody, StreamAuditQuery, StreamIdParam, SubParam, TokenRevokeBody, UserLookupBody, UserRevokeBody,
  UserRevokeBySubBody,
} from '../routes/schemas';
import { MAX_SET_BYTES } from '../ssf/receive';
import { REASONS } from '../verify/reasons';

type Json = Record<string, unknown>;

/** A zod schema as a JSON Schema (2020-12, the dialect of OpenAPI 3.1), without `$schema`. */
function jsonSchema(schema: z.ZodMiniType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Json;
  return rest;
}

const ref = (kind: 'schemas' | 'responses' | 'headers' | 'parameters', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** The document, as a JSON string: built on the first call, then the same string. */
let cached: string | undefined;
export function openApiJson(): string {
  cached ??= JSON.stringify(buildDocument());
  return cached;
}

export function buildDocument(): Json {
  const str = z.string();
  const int = z.int();
  const numericDate = z.int().check(z.minimum(0), z.describe('NumericDate: integer seconds since the epoch.'));
  const refusalReasons = REASONS.filter((reason) => reason !== 'unavailable');
  const errorBody = <const C extends readonly [string, ...string[]]>(codes: C, description: 'required' | 'optional' | 'none') =>
    z.object({
      error: codes.length === 1 ? z.literal(codes[0]) : z.enum(codes),
      ...(description === 'required' ? { error_description: str } : {}),
      ...(description === 'optional' ? { error_description: z.optional(str) } : {}),
    });
  const userSnapshot = {
    sub: str,
    version: int.check(z.minimum(0), z.describe('Put it in the version claim of tokens you mint.')),
    revokedBefore: numericDate.check(z.describe('Tokens of this user issued before this instant are refused; 0: never revoked.')),
  };
  const introspectionActive = z.object({
    active: z.literal(true),
    sub: str,
    iss: str,
    aud: z.union([str, z.array(str)]),
    exp: numericDate,
    iat: z.optional(numericDate),
    jti: str.check(z.describe('The token\'s `jti`, or a digest of its signing input when it has none.')),
    scope: z.optional(str),
    client_id: z.optional(str),
    token_type: z.literal('Bearer'),
  });
  const ssfStream = {
    id: str,
    mode: z.enum(['config', 'managed', 'manual']).check(z.describe('`config`: SSF_STREAMS; `managed`: created at the transmitter\'s API; `manual`: registered here, set up at the transmitter by hand.')),
    issuer: str,
    audience: str,
    algorithms: z.array(str),
    pushEndpoint: str,
    pushSecret: z.boolean().check(z.describe('Whether pushes must carry the stream\'s bearer secret.')),
    transmitterStreamId: z.optional(str),
    poll: z.optional(z.object({ endpoint: str, maxEvents: int, intervalSeconds: int }).check(
      z.describe('RFC 8936 poll delivery: the transmitter\'s poll endpoint (its token is never shown).'),
    )),
  };
  const pollStatus = z.object({
    polling: z.boolean(),
    failures: int.check(z.describe('Failed polls in a row; the next waits intervalSeconds × 2^failures, 15 minutes at most.')),
    lastPollAt: z.nullable(numericDate),
    lastError: z.nullable(str),
    pendingAcks: int.check(z.describe('SETs settled (acked or refused) whose ack/setErrs the next poll sends.')),
    nextPollAt: z.nullable(numericDate),
  });
  const latencyShape = {
    count: int.check(z.minimum(0)),
    p50: z.nullable(z.number()).check(z.describe('Upper bound of the bucket holding the median (at most max); null before any request.')),
    p99: z.nullable(z.number()),
    max: z.number(),
  };

  /** Response bodies (io: output: what killswitch sends, no extra members unless loose). */
  const responseSchemas: Record<string, z.ZodMiniType> = {
    Health: z.object({ ok: z.literal(true) }),
    VerifyActive: z.looseObject({
      active: z.literal(true),
      iss: str,
      sub: str,
      exp: numericDate,
      aud: z.optional(z.union([str, z.array(str)])),
      iat: z.optional(numericDate),
      nbf: z.optional(numericDate),
      jti: z.optional(str),
      scope: z.optional(str),
      client_id: z.optional(str),
    }).check(z.describe('`active` and every claim of the token.')),
    Refusal: z.object({
      active: z.literal(false),
      error: z.literal('invalid_token'),
      reason: z.enum(refusalReasons as [string, ...string[]]),
    }),
    Unavailable: z.object({
      active: z.literal(false),
      error: z.literal('temporarily_unavailable'),
      reason: z.literal('unavailable'),
    }),
    InvalidRequest: errorBody(['invalid_request'], 'required'),
    PayloadTooLarge: errorBody(['payload_too_large'], 'required'),
    AdminUnauthorized: errorBody(['unauthorized'], 'none'),
    ServerError: errorBody(['server_misconfigured', 'internal_error'], 'none'),
    TemporarilyUnavailable: errorBody(['temporarily_unavailable'], 'none'),
    PushUnavailable: errorBody(['temporarily_unavailable'], 'optional'),
    NotFound: errorBody(['not_found'], 'none'),
    SessionError: errorBody(['invalid_request', 'not_configured'], 'required'),
    NotConfigured: errorBody(['not_configured'], 'required'),
    TokenError: errorBody(['invalid_request', 'unsupported_grant_type', 'invalid_grant', 'not_configured'], 'optional'),
    LogoutResult: z.object({ revoked: z.enum(['token', 'user']) }),
    UserSnapshot: z.object(userSnapshot),
    UserState: z.object({
      ...userSnapshot,
      revokedTokens: z.array(z.object({
        jti: str,
        iss: z.nullable(str).check(z.describe('null: revoked for every issuer.')),
        exp: numericDate,
        revokedAt: numericDate,
        reason: z.nullable(str),
      })),
      sessions: z.array(z.object({
        id: str.check(z.describe('The session (refresh family) id: the `sid` claim of its access tokens.')),
        createdAt: numericDate,
        expiresAt: numericDate,
        revokedAt: z.nullable(numericDate),
        scope: z.nullable(str),
        state: z.enum(['active', 'revoked', 'revoked_all']).check(z.describe(
          '`revoked`: the session or its user was revoked; `revoked_all`: a revoke-all ended it.',
        )),
      })).check(z.describe(`Token-service sessions not yet expired, newest first, at most ${MAX_LISTED_SESSIONS}.`)),
    }),
    TokenRevoked: z.union([
      z.object({ revoked: z.literal(true), sub: str, jti: str, iss: z.nullable(str), exp: numericDate }),
      z.object({
        revoked: z.literal(false),
        reason: z.literal('expired').check(z.describe('`exp` + the clock tolerance has passed: the token is refused as `expired` already; nothing was stored.')),
        sub: str, jti: str, iss: z.nullable(str), exp: numericDate,
      }),
    ]),
    RevokeAllResult: z.object({ revokedBefore: numericDate }),
    AuditPage: z.object({
      events: z.array(z.object({
        at: numericDate,
        action: z.enum(AUDIT_ACTIONS),
        sub: z.nullable(str),
        jti: z.optional(str),
        actor: str.check(z.describe('`admin:<12 hex>` (a fingerprint of the admin key used), `self` (the token holder) or `ssf:<stream id>` (a security event).')),
        reason: z.optional(str),
      })),
      cursor: z.optional(str.check(z.describe('Pass as ?cursor= for the next (older) page; absent on the last.'))),
    }),
    Introspection: z.union([introspectionActive, z.object({ active: z.literal(false) })]),
    TokenResponse: z.object({
      access_token: str,
      token_type: z.literal('Bearer'),
      expires_in: int.check(z.minimum(1)),
      refresh_token: str.check(z.describe('Opaque; rotated on every use. Presenting a used one revokes the session.')),
      scope: z.optional(str),
    }),
    Jwks: z.object({
      keys: z.array(z.looseObject({ kty: str, kid: str, alg: str, use: z.optional(str) })),
    }),
    AuthorizationServerMetadata: z.looseObject({
      issuer: str,
      jwks_uri: str,
      token_endpoint: str,
      revocation_endpoint: str,
      introspection_endpoint: str,
      grant_types_supported: z.array(str),
    }),
    Stats: z.object({
      since: numericDate.check(z.describe('When this isolate started counting.')),
      requests: z.record(str, z.record(str, int)).check(z.describe('route → "outcome:reason" → count, in this isolate.')),
      latencyMs: z.object({
        ...latencyShape,
        buckets: z.record(str, int).check(z.describe('Upper bound in ms ("+Inf": the rest) → count.')),
        routes: z.record(str, z.object({ ...latencyShape, buckets: z.record(str, int) })),
      }),
      revocation: z.object({
        mode: z.enum(['cached', 'strict', 'bounded']).check(z.describe('REVOCATION_MODE.')),
        failMode: z.enum(['closed', 'open']).check(z.describe('FAIL_MODE.')),
        cacheTtlSeconds: int.check(z.minimum(0), z.describe('REVOCATION_CACHE_TTL_SECONDS.')),
        boundSeconds: int.check(z.minimum(0), z.describe('Every check refuses a revoked token within this many seconds (0: on the next request).')),
      }),
      issuers: z.array(z.object({
        issuer: str,
        audiences: z.array(str),
        algorithms: z.array(str),
        own: z.boolean().check(z.describe('killswitch\'s own token service.')),
        keys: z.object({
          source: z.enum(['jwks', 'jwksUri', 'hmacSecret']),
          jwksUri: z.optional(str.check(z.describe('Without credentials, query or fragment.'))),
          keyCount: int.check(z.minimum(0)),
          kids: z.array(str).check(z.describe(`Distinct key ids, at most ${MAX_LISTED_KIDS}.`)),
          fetchedAt: z.optional(z.nullable(numericDate).check(z.describe('Remote JWKS: last successful fetch by this isolate; null: none yet.'))),
          lastError: z.optional(z.nullable(str).check(z.describe('Remote JWKS: why the last fetch failed; null: it did not.'))),
        }),
      })).check(z.describe('The trusted issuers and their key status, as this isolate has them. Never a secret.')),
      mirror: z.optional(z.object({
        seq: int.check(z.describe('The feed sequence number the mirror holds (-1: nothing loaded yet).')),
        ageMs: z.nullable(z.number()).check(z.describe('Now minus the stamp taken before the read its data came from; null before the first read.')),
        users: int, tokens: int, tableBytes: int, overCap: z.boolean(),
        feedReads: int.check(z.describe('Replica reads by this isolate since it started.')),
        cacheHits: int, snapshotLoads: int, refreshFailures: int,
        strictReads: int.check(z.describe('Checks the writers answered because the mirror was stale or over its memory cap.')),
        confirmations: int.check(z.describe('Refusals resting on a fingerprint, confirmed with the writer.')),
      }).check(z.describe('REVOCATION_MODE=bounded only: this isolate\'s mirror (docs/consistency.md).'))),
    }),
    SetError: z.object({
      err: z.enum(['invalid_request', 'invalid_key', 'invalid_issuer', 'invalid_audience', 'authentication_failed', 'access_denied']),
      description: str,
    }).check(z.describe('RFC 8935 §2.3.')),
    PushUnauthorized: z.object({ err: z.literal('authentication_failed'), description: str }),
    TransmitterError: errorBody(['transmitter_error'], 'required'),
    NotFoundDescribed: errorBody(['not_found'], 'optional'),
    SsfStream: z.object(ssfStream),
    SsfStreamCreated: z.object({
      ...ssfStream,
      secret: z.optional(str.check(z.describe('Manual streams with a push secret: give it to the transmitter. Shown once; only its SHA-256 is kept.'))),
      eventsDelivered: z.optional(z.array(str)),
    }),
    SsfStreamList: z.object({ streams: z.array(z.object(ssfStream)) }),
    SsfStreamStatus: z.object({
      ...ssfStream,
      status: z.object({
        verifiedAt: z.nullable(numericDate),
        verificationPending: z.boolean(),
        verificationProblem: z.nullable(str),
        transmitterStatus: z.nullable(str).check(z.describe('From the last stream-updated event, or asked of the transmitter (X-Transmitter-Token).')),
        lastEventAt: z.nullable(numericDate),
        poll: z.optional(pollStatus),
      }),
    }),
    SsfPollStatus: z.object({ id: str, poll: pollStatus }),
    SsfVerification: z.object({
      id: str, state: str.check(z.describe('The state the verification SET must carry.')),
      requested: z.boolean().check(z.describe('true: the transmitter was asked; false: pass the state to it yourself.')),
    }),
    SsfStreamDeleted: z.object({ id: str, deleted: z.literal(true) }),
    OpenApiDocument: z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({}), paths: z.looseObject({}) }),
  };

  const requestSchemas: Record<string, z.ZodMiniType> = {
    UserRevokeBody, UserRevokeBySubBody, UserLookupBody, TokenRevokeBody, RevokeAllBody, LogoutBody, SessionBody, RevokeForm,
    IntrospectForm, RefreshForm, SsfStreamBody, SsfTransmitterBody,
  };

  const schemas: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(requestSchemas)) schemas[name] = jsonSchema(schema, 'input');
  for (const [name, schema] of Object.entries(responseSchemas)) schemas[name] = jsonSchema(schema, 'output');

  const header = (description: string, required: boolean, schema: Json = { type: 'string' }) => ({ description, required, schema });
  const ENCODED = ': `%`, characters outside printable ASCII and outer spaces percent-encoded (UTF-8); `decodeURIComponent` gives the claim back.';
  const headers = {
    CacheControl: header('Always `no-store`: answers are about credentials.', true, { type: 'string', const: 'no-store' }),
    WWWAuthenticate: header('RFC 6750 §3: `Bearer` for a missing token, else `Bearer error="invalid_token", error_description="<reason>"`.', true, {
      type: 'string', pattern: '^Bearer( error="invalid_token", error_description="[a-z_]+")?$',
    }),
    AdminChallenge: header('The admin realm.', true, { type: 'string', const: 'Bearer realm="killswitch-admin"' }),
    PushChallenge: header('The push realm.', true, { type: 'string', const: 'Bearer realm="killswitch-ssf"' }),
    RetryAfter: header('Seconds to wait before retrying.', true, { type: 'string', pattern: '^\\d+$' }),
    XAuthSubject: header(`The \`sub\` claim${ENCODED}`, true),
    XAuthIssuer: header(`The \`iss\` claim${ENCODED}`, true),
    XAuthTokenId: header(`The \`jti\` claim, when the token has one${ENCODED}`, false),
    XAuthScope: header(`The \`scope\` claim, when the token has one${ENCODED}`, false),
    XAuthExpires: header('The `exp` claim (NumericDate).', true, { type: 'string', pattern: '^\\d+$' }),
  };

  const json = (schemaName: string, description: string, extraHeaders: Record<string, Json> = {}) => ({
    description,
    headers: { 'Cache-Control': ref('headers', 'CacheControl'), ...extraHeaders },
    content: { 'application/json': { schema: ref('schemas', schemaName) } },
  });
  const responses = {
    Refusal: json('Refusal', 'The token is missing or refused; `reason` says why (SPEC §3).', {
      'WWW-Authenticate': ref('headers', 'WWWAuthenticate'),
    }),
    Unavailable: json('Unavailable', 'Revocation state could not be read (FAIL_MODE=closed), or keys never fetched.', {
      'Retry-After': ref('headers', 'RetryAfter'),
    }),
    InvalidRequest: json('InvalidRequest', 'The request is malformed; `error_description` names the field.'),
    PayloadTooLarge: json('PayloadTooLarge', `The body is over ${MAX_BODY_BYTES} bytes.`),
    AdminUnauthorized: json('AdminUnauthorized', 'No admin key, or not one of ADMIN_API_KEYS: always this same answer.', {
      'WWW-Authenticate': ref('headers', 'AdminChallenge'),
    }),
    ServerError: json('ServerError', '`server_misconfigured`: a configuration mistake (named in the log); `internal_error`: a bug.'),
    TemporarilyUnavailable: json('TemporarilyUnavailable', 'A Durable Object (the single writer) could not be reached; nothing was acknowledged. Safe to repeat after Retry-After.', {
      'Retry-After': ref('headers', 'RetryAfter'),
    }),
    NotFound: json('NotFound', 'No such route (any path not in this document but the admin console\'s files, GET /admin/…).'),
    NotConfigured: json('NotConfigured', 'The token service is off: TOKEN_SIGNING_KEYS is not set.'),
    StreamNotFound: json('NotFoundDescribed', 'No stream with this id.'),
    TransmitterError: json('TransmitterError', 'The transmitter\'s API failed or answered something unusable; `error_description` says what. Nothing was stored.'),
  };

  const useResponse = (name: keyof typeof responses) => ref('responses', name);
  const ADMIN = [{ adminBearer: [] }];
  const BEARER = [{ bearerJwt: [] }];
  const PUBLIC: never[] = [];
  /** A stream's push secret, when it has one (Google's RISC streams are signature-only). */
  const SSF_PUSH = [{ ssfPush: [] }, {}];
  const jsonBody = (name: string, required: boolean, description?: string) => ({
    required,
    ...(description === undefined ? {} : { description }),
    content: { 'application/json': { schema: ref('schemas', name) } },
  });
  const formBody = (name: string) => ({
    required: true,
    content: { 'application/x-www-form-urlencoded': { schema: ref('schemas', name) } },
  });
  const adminErrors = (withBody: boolean) => ({
    ...(withBody ? { 400: useResponse('InvalidRequest'), 413: useResponse('PayloadTooLarge') } : { 400: useResponse('InvalidRequest') }),
    401: useResponse('AdminUnauthorized'),
    500: useResponse('ServerError'),
    503: useResponse('TemporarilyUnavailable'),
  });
  const subPath = { name: 'sub', in: 'path', required: true, schema: jsonSchema(SubParam, 'input') };
  const streamPath = { name: 'id', in: 'path', required: true, schema: jsonSchema(StreamIdParam, 'input') };
  const queryParameters = (schema: z.ZodMiniType) =>
    Object.entries((jsonSchema(schema, 'output') as { properties: Record<string, Json> }).properties).map(([name, property]) => {
      const { description, ...rest } = property;
      return { name, in: 'query', required: false, ...(description === undefined ? {} : { description }), schema: rest };
    });

  const auditParameters = queryParameters(AuditQuery);

  const verifyOperation = (method: string, below: boolean) => ({
    operationId: `verify${below ? 'Below' : ''}${method[0]!.toUpperCase()}${method.slice(1)}`,
    tags: ['verify'],
    summary: 'Forward-auth: is this token genuine, unexpired and not revoked, right now?',
    description: 'Any method, on /v1/verify and any path below it (Envoy ext_authz appends the original path). '
      + 'The token comes only from `Authorization: Bearer`. No request body is read.',
    security: BEARER,
    parameters: [
      { name: 'strict', in: 'query', required: false, description: '`1`: read the Durable Objects instead of KV or the mirror.', schema: { type: 'string', enum: ['1'] } },
      ...(below ? [{ name: 'path', in: 'path', required: true, description: 'The original request path; may contain `/`.', schema: { type: 'string' } }] : []),
    ],
    responses: {
      200: json('VerifyActive', 'The token is valid: its claims, and X-Auth-* headers for the upstream.', {
        'X-Auth-Subject': ref('headers', 'XAuthSubject'),
        'X-Auth-Issuer': ref('headers', 'XAuthIssuer'),
        'X-Auth-Token-Id': ref('headers', 'XAuthTokenId'),
        'X-Auth-Scope': ref('headers', 'XAuthScope'),
        'X-Auth-Expires': ref('headers', 'XAuthExpires'),
      }),
      401: useResponse('Refusal'),
      500: useResponse('ServerError'),
      503: useResponse('Unavailable'),
    },
  });
  const VERIFY_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
  const verifyPath = (below: boolean) => Object.fromEntries(VERIFY_METHODS.map((m) => [m, verifyOperation(m, below)]));

  const paths = {
    '/healthz': {
      get: { operationId: 'health', tags: ['meta'], summary: 'Liveness', security: PUBLIC, responses: { 200: json('Health', 'Up.') } },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi', tags: ['meta'], summary: 'This document', security: PUBLIC,
        responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: ref('schemas', 'OpenApiDocument') } } } },
      },
    },
    '/v1/verify': verifyPath(false),
    '/v1/verify/{path}': verifyPath(true),
    '/v1/revoke': {
      post: {
        operationId: 'revoke', tags: ['revocation'], summary: 'RFC 7009 token revocation', security: ADMIN,
        description: 'Revokes an access token whose signature verifies (by `jti`, or a digest of its signing input), or a refresh token (its session). '
          + 'Answers 200 for any token, invalid or unknown ones included (RFC 7009 §2.2).',
        requestBody: formBody('RevokeForm'),
        responses: {
          200: { description: 'Revoked, or nothing to revoke. Empty body.', headers: { 'Cache-Control': ref('headers', 'CacheControl') } },
          ...adminErrors(true),
        },
      },
    },
    '/v1/logout': {
      post: {
        operationId: 'logout', tags: ['revocation'], summary: 'The bearer revokes its own token, or every token of its user', security: BEARER,
        requestBody: jsonBody('LogoutBody', false, 'Optional; an empty body is `{}`.'),
        responses: {
          200: json('LogoutResult', '`token`: the presented token is revoked (and its session, for a token of the token service); `user`: every token of the user.'),
          400: useResponse('InvalidRequest'),
          401: useResponse('Refusal'),
          413: useResponse('PayloadTooLarge'),
          500: useResponse('ServerError'),
          503: useResponse('Unavailable'),
        },
      },
    },
    '/v1/introspect': {
      post: {
        operationId: 'introspect', tags: ['revocation'], summary: 'RFC 7662 introspection, always from the Durable Objects', security: ADMIN,
        requestBody: formBody('IntrospectForm'),
        responses: {
          200: json('Introspection', 'The token\'s claims, or exactly `{"active":false}` for anything invalid, expired or revoked.'),
          ...adminErrors(true),
        },
      },
    },
    '/v1/admin/users/revoke': {
      post: {
        operationId: 'revokeUserBySub', tags: ['admin'], summary: 'Revoke every token of a user issued until now (user in the body)', security: ADMIN,
        description: 'The same as `/v1/admin/users/{sub}/revoke`, for any `sub` a token can carry: runtimes normalize `.`/`..` path segments away (even percent-encoded), and long ones outgrow URL limits.',
        requestBody: jsonBody('UserRevokeBySubBody', true),
        responses: { 200: json('UserSnapshot', 'The new version and revoked-before.'), ...adminErrors(true) },
      },
    },
    '/v1/admin/users/lookup': {
      post: {
        operationId: 'userStateBySub', tags: ['admin'], summary: 'A user\'s revocation state (user in the body)', security: ADMIN,
        description: 'The same as `GET /v1/admin/users/{sub}`, for any `sub` a token can carry.',
        requestBody: jsonBody('UserLookupBody', true),
        responses: { 200: json('UserState', 'Version, revoked-before and the revoked tokens not yet expired.'), ...adminErrors(true) },
      },
    },
    '/v1/admin/users/{sub}/revoke': {
      post: {
        operationId: 'revokeUser', tags: ['admin'], summary: 'Revoke every token of a user issued until now', security: ADMIN,
        parameters: [subPath, {
          name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
          description: 'A retry with the same key (within 24 h) answers the first call\'s result instead of bumping the version again: retry a 503 with it.',
        }],
        requestBody: jsonBody('UserRevokeBody', false, 'Optional; an empty body is `{}`.'),
        responses: { 200: json('UserSnapshot', 'The new version and revoked-before.'), ...adminErrors(true) },
      },
    },
    '/v1/admin/users/{sub}': {
      get: {
        operationId: 'userState', tags: ['admin'], summary: 'A user\'s revocation state', security: ADMIN,
        parameters: [subPath],
        responses: { 200: json('UserState', 'Version, revoked-before, the revoked tokens not yet expired and the sessions.'), ...adminErrors(false) },
      },
    },
    '/v1/admin/tokens/revoke': {
      post: {
        operationId: 'revokeTokenById', tags: ['admin'], summary: 'Revoke a token by id, without the token', security: ADMIN,
        requestBody: jsonBody('TokenRevokeBody', true),
        responses: {
          200: json('TokenRevoked', '`revoked: true`: stored by the user\'s Durable Object; `revoked: false, reason: "expired"`: the token has expired already (nothing stored).'),
          ...adminErrors(true),
        },
      },
    },
    '/v1/admin/revoke-all': {
      post: {
        operationId: 'revokeAll', tags: ['admin'], summary: 'Revoke every token of every user issued until now', security: ADMIN,
        requestBody: jsonBody('RevokeAllBody', true),
        responses: { 200: json('RevokeAllResult', 'The global revoked-before.'), ...adminErrors(true) },
      },
    },
    '/v1/admin/audit': {
      get: {
        operationId: 'audit', tags: ['admin'], summary: 'Audit events, newest first', security: ADMIN,
        description: `Pages of at most ${AUDIT_PAGE_MAX} events; without \`sub\`, the global (revoke-all) trail.`,
        parameters: auditParameters,
        responses: { 200: json('AuditPage', 'One page of events.'), ...adminErrors(false) },
      },
    },
    '/v1/admin/stats': {
      get: {
        operationId: 'stats', tags: ['admin'], summary: 'Request counts, latency and key status of this isolate', security: ADMIN,
        responses: {
          200: json('Stats', 'Counts by route × outcome:reason and a latency histogram since this isolate started; the revocation promise; the trusted issuers\' key status.'),
          401: useResponse('AdminUnauthorized'),
          500: useResponse('ServerError'),
        },
      },
    },
    '/v1/sessions': {
      post: {
        operationId: 'startSession', tags: ['token service'], summary: 'A login: a short-lived access token and a rotating refresh token', security: ADMIN,
        requestBody: jsonBody('SessionBody', true),
        responses: {
          200: json('TokenResponse', 'The new session\'s tokens.'),
          400: json('SessionError', '`invalid_request` (the field is named) or `not_configured` (the token service is off).'),
          401: useResponse('AdminUnauthorized'),
          413: useResponse('PayloadTooLarge'),
          500: useResponse('ServerError'),
          503: useResponse('TemporarilyUnavailable'),
        },
      },
    },
    '/v1/token': {
      post: {
        operationId: 'refresh', tags: ['token service'], summary: 'RFC 6749 §6 refresh grant, rotating', security: PUBLIC,
        description: 'A public client: the refresh token is the credential. A refresh token used twice revokes its whole session (RFC 9700 §4.14).',
        requestBody: formBody('RefreshForm'),
        responses: {
          200: json('TokenResponse', 'A new access token and a new refresh token; the presented one is retired.'),
          400: json('TokenError', 'RFC 6749 §5.2: `invalid_grant` for an unknown, expired, revoked or reused refresh token.'),
          413: useResponse('PayloadTooLarge'),
          500: useResponse('ServerError'),
          503: useResponse('TemporarilyUnavailable'),
        },
      },
    },
    '/v1/ssf/{id}/events': {
      post: {
        operationId: 'pushSecurityEvent', tags: ['security events'], summary: 'RFC 8935: a transmitter pushes one Security Event Token', security: SSF_PUSH,
        description: 'SPEC §7. `202` for every valid SET, duplicates, unknown events and unknown subjects included, once what it revokes is durable. '
          + 'A SET revokes the user\'s tokens issued before its event (max(iat, event_timestamp)), never those issued after.',
        parameters: [streamPath],
        requestBody: { required: true, content: { 'application/secevent+jwt': { schema: { type: 'string', description: 'One compact JWS SET (RFC 8417).' } } } },
        responses: {
          202: { description: 'Accepted. Empty body.', headers: { 'Cache-Control': ref('headers', 'CacheControl') } },
          400: json('SetError', 'The SET is refused; `err` is an RFC 8935 code.'),
          401: json('PushUnauthorized', 'The stream has a push secret and the bearer is missing or wrong: always this same answer.', {
            'WWW-Authenticate': ref('headers', 'PushChallenge'),
          }),
          404: useResponse('NotFound'),
          413: json('PayloadTooLarge', `The body is over ${MAX_SET_BYTES} bytes.`),
          500: useResponse('ServerError'),
          503: json('PushUnavailable', 'A Durable Object or the transmitter\'s keys out of reach, or (bounded mode) a revocation stored but not yet on the feed: nothing was marked seen, retry the SET.', {
            'Retry-After': ref('headers', 'RetryAfter'),
          }),
        },
      },
    },
    '/v1/admin/ssf/streams': {
      get: {
        operationId: 'listStreams', tags: ['security events'], summary: 'Every Shared Signals stream', security: ADMIN,
        responses: { 200: json('SsfStreamList', 'SSF_STREAMS, then the streams created here.'), ...adminErrors(false) },
      },
      post: {
        operationId: 'createStream', tags: ['security events'], summary: 'Create a stream: managed (at the transmitter\'s API) or manual', security: ADMIN,
        requestBody: jsonBody('SsfStreamBody', true),
        responses: {
          201: json('SsfStreamCreated', 'Created; give a manual stream\'s push endpoint (and secret) to its transmitter.'),
          ...adminErrors(true),
          502: useResponse('TransmitterError'),
        },
      },
    },
    '/v1/admin/ssf/streams/{id}': {
      get: {
        operationId: 'streamStatus', tags: ['security events'], summary: 'A stream and its status', security: ADMIN,
        parameters: [streamPath, {
          name: 'X-Transmitter-Token', in: 'header', required: false, schema: { type: 'string' },
          description: 'Managed streams: also ask the transmitter\'s status endpoint. Never stored.',
        }],
        responses: { 200: json('SsfStreamStatus', 'The stream, verification and transmitter status.'), ...adminErrors(false), 404: useResponse('StreamNotFound'), 502: useResponse('TransmitterError') },
      },
      delete: {
        operationId: 'deleteStream', tags: ['security events'], summary: 'Delete a stream created here (a managed one at its transmitter first)', security: ADMIN,
        parameters: [streamPath],
        requestBody: jsonBody('SsfTransmitterBody', false, 'Managed streams: `transmitterToken`.'),
        responses: { 200: json('SsfStreamDeleted', 'Deleted; its pushes now get 404.'), ...adminErrors(true), 404: useResponse('StreamNotFound'), 502: useResponse('TransmitterError') },
      },
    },
    '/v1/admin/ssf/streams/{id}/verify': {
      post: {
        operationId: 'verifyStream', tags: ['security events'], summary: 'SSF verification: a random state the next verification SET must carry', security: ADMIN,
        parameters: [streamPath],
        requestBody: jsonBody('SsfTransmitterBody', false, 'Managed streams: `transmitterToken`, to ask the transmitter.'),
        responses: { 200: json('SsfVerification', 'The state; asked of the transmitter when it has a verification endpoint.'), ...adminErrors(true), 404: useResponse('StreamNotFound'), 502: useResponse('TransmitterError') },
      },
    },
    '/v1/admin/ssf/streams/{id}/poll': {
      post: {
        operationId: 'pollStream', tags: ['security events'], summary: 'RFC 8936: poll the transmitter now (pending acks go out) and re-arm the stream\'s alarm', security: ADMIN,
        parameters: [streamPath],
        responses: { 200: json('SsfPollStatus', 'The poll status after this poll.'), ...adminErrors(false), 404: useResponse('StreamNotFound') },
      },
    },
    '/v1/admin/ssf/streams/{id}/audit': {
      get: {
        operationId: 'streamAudit', tags: ['security events'], summary: 'Every SET the stream received and what each event did', security: ADMIN,
        parameters: [streamPath, ...queryParameters(StreamAuditQuery)],
        responses: { 200: json('AuditPage', 'One page of `ssf_event` entries, newest first.'), ...adminErrors(false), 404: useResponse('StreamNotFound') },
      },
    },
    '/.well-known/jwks.json': {
      get: {
        operationId: 'jwks', tags: ['token service'], summary: 'The token service\'s public keys', security: PUBLIC,
        responses: {
          200: { description: 'JWK Set.', content: { 'application/json': { schema: ref('schemas', 'Jwks') } } },
          400: useResponse('NotConfigured'),
          500: useResponse('ServerError'),
        },
      },
    },
    '/.well-known/oauth-authorization-server': {
      get: {
        operationId: 'authorizationServerMetadata', tags: ['token service'], summary: 'RFC 8414 metadata', security: PUBLIC,
        responses: {
          200: { description: 'Metadata.', content: { 'application/json': { schema: ref('schemas', 'AuthorizationServerMetadata') } } },
          400: useResponse('NotConfigured'),
          500: useResponse('ServerError'),
        },
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'killswitch',
      version,
      summary: 'Edge JWT verification with real revocation.',
      description: 'Verifies JWTs and revokes them: one token, a user, or everything. Reason codes: '
        + `${REASONS.join(', ')}. Every answer carries \`Cache-Control: no-store\` (except the public .well-known and this document).`,
    },
    tags: [
      { name: 'verify' }, { name: 'revocation' }, { name: 'admin' }, { name: 'security events' }, { name: 'token service' }, { name: 'meta' },
    ],
    paths,
    components: {
      schemas,
      responses,
      headers,
      securitySchemes: {
        adminBearer: { type: 'http', scheme: 'bearer', description: 'One of ADMIN_API_KEYS.' },
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The end-user token being verified.' },
        ssfPush: { type: 'http', scheme: 'bearer', description: 'A Shared Signals stream\'s push secret (RFC 8935 §2.1), when it has one.' },
      },
    },
  };
}
