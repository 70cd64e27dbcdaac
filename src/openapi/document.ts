/**
 * The OpenAPI 3.1 document of every route of the app, served at GET /openapi.json. Every
 * request and response body is a zod schema of src/routes/schemas.ts, the very one the route
 * validates its input with or types its answer with, turned into JSON Schema by
 * `z.toJSONSchema`; reason codes come from REASONS, error codes from ERROR_CODES. What is
 * written here is the operations: paths, statuses, headers and prose.
 * test/routes-drift.test.ts checks the operations against the app's routes, and
 * test/openapi.test.ts checks real answers of every route against the document.
 *
 * Built lazily, once per isolate, on the first GET /openapi.json: nothing here runs on the
 * verify path.
 */
import * as z from 'zod/mini';
import { version } from '../../package.json';
import { AUDIT_PAGE_MAX } from '../revocation/audit-log';
import { MAX_BODY_BYTES } from '../http/body';
import * as schemas from '../routes/schemas';
import { MAX_SET_BYTES } from '../ssf/receive';
import { REASONS } from '../verify/reasons';

type Json = Record<string, unknown>;

/** A zod schema as a JSON Schema (2020-12, the dialect of OpenAPI 3.1), without `$schema`. */
function jsonSchema(schema: z.ZodMiniType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Json;
  return rest;
}

const ref = (kind: 'schemas' | 'responses' | 'headers' | 'parameters', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** Request bodies and forms, rendered as what they accept (io: input). */
const REQUEST_SCHEMAS = [
  'UserRevokeBody',
  'UserRevokeBySubBody',
  'UserLookupBody',
  'TokenRevokeBody',
  'RevokeAllBody',
  'LogoutBody',
  'SessionBody',
  'RevokeForm',
  'IntrospectForm',
  'RefreshForm',
  'SsfStreamBody',
  'SsfTransmitterBody',
] as const satisfies readonly (keyof typeof schemas)[];

/** A route of any method (`app.all`, /v1/verify): OpenAPI has no "any", so one operation per method. */
export const ANY_METHOD = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** The document, as a JSON string: built on the first call, then the same string. */
let cached: string | undefined;
export function openApiJson(): string {
  cached ??= JSON.stringify(buildDocument());
  return cached;
}

const json = (schema: string | Json, description: string, extraHeaders: Record<string, Json> = {}) => ({
  description,
  headers: { 'Cache-Control': ref('headers', 'CacheControl'), ...extraHeaders },
  content: { 'application/json': { schema: typeof schema === 'string' ? ref('schemas', schema) : schema } },
});
const retry = { 'Retry-After': ref('headers', 'RetryAfter') };
const WRITE_UNAVAILABLE =
  'A Durable Object (the single writer) could not be reached: nothing was acknowledged. ' +
  'Or, with REVOCATION_MODE=bounded, the writer stored the revocation but the feed every location reads did not take it ' +
  'within ~2 s: `error_description` says it is stored and will propagate (the writer keeps appending it). ' +
  'Either way, repeating the call after Retry-After is safe.';

const header = (description: string, required: boolean, schema: Json = { type: 'string' }) => ({ description, required, schema });
const ENCODED =
  ': `%`, characters outside printable ASCII and outer spaces percent-encoded (UTF-8); `decodeURIComponent` gives the claim back.';

/** Response headers, by component name. */
function headerComponents() {
  return {
    CacheControl: header('Always `no-store`: answers are about credentials.', true, { type: 'string', const: 'no-store' }),
    WWWAuthenticate: header(
      'RFC 6750 §3: `Bearer` for a missing token, else `Bearer error="invalid_token", error_description="<reason>"`.',
      true,
      {
        type: 'string',
        pattern: '^Bearer( error="invalid_token", error_description="[a-z_]+")?$',
      },
    ),
    AdminChallenge: header('The admin realm.', true, { type: 'string', const: 'Bearer realm="killswitch-admin"' }),
    FeedChallenge: header('The feed realm.', true, { type: 'string', const: 'Bearer realm="killswitch-feed"' }),
    PushChallenge: header('The push realm.', true, { type: 'string', const: 'Bearer realm="killswitch-ssf"' }),
    RetryAfter: header('Seconds to wait before retrying.', true, { type: 'string', pattern: '^\\d+$' }),
    IdempotentReplayed: header(
      "`true` when this answer is the first call's, replayed for a retry with the same `Idempotency-Key` (audited as `revoke_user_replay`).",
      false,
      { type: 'string', const: 'true' },
    ),
    XAuthSubject: header(`The \`sub\` claim${ENCODED}`, true),
    XAuthIssuer: header(`The \`iss\` claim${ENCODED}`, true),
    XAuthTokenId: header(`The \`jti\` claim, when the token has one${ENCODED}`, false),
    XAuthScope: header(`The \`scope\` claim, when the token has one${ENCODED}`, false),
    XAuthUser: header(`The user id (the value of the issuer's \`userClaim\`, \`sub\` by default); always sent${ENCODED}`, true),
    XAuthExpires: header('The `exp` claim (NumericDate).', true, { type: 'string', pattern: '^\\d+$' }),
  };
}

/** Shared responses, by component name. */
function responseComponents() {
  return {
    Refusal: json('Refusal', 'The token is missing or refused; `reason` says why (docs/reference.md §3).', {
      'WWW-Authenticate': ref('headers', 'WWWAuthenticate'),
    }),
    Unavailable: json('Unavailable', 'Revocation state could not be read (FAIL_MODE=closed), or keys never fetched.', {
      'Retry-After': ref('headers', 'RetryAfter'),
    }),
    InvalidRequest: json('InvalidRequest', 'The request is malformed; `error_description` names the field.'),
    StrictNotAllowed: json(
      'StrictNotAllowed',
      '`?strict=1` without PUBLIC_STRICT=true and without an admin key in `Killswitch-Admin-Key`: a token holder may not turn checks into Durable Object reads.',
    ),
    PayloadTooLarge: json('PayloadTooLarge', `The body is over ${MAX_BODY_BYTES} bytes.`),
    AdminUnauthorized: json('AdminUnauthorized', 'No admin key, or not one of ADMIN_API_KEYS: always this same answer.', {
      'WWW-Authenticate': ref('headers', 'AdminChallenge'),
    }),
    FeedUnauthorized: json(
      'AdminUnauthorized',
      'No feed key, or not one of FEED_API_KEYS (an admin key included): always this same answer.',
      {
        'WWW-Authenticate': ref('headers', 'FeedChallenge'),
      },
    ),
    ServerError: json('ServerError', '`server_misconfigured`: a configuration mistake (named in the log); `internal_error`: a bug.'),
    TemporarilyUnavailable: json(
      'TemporarilyUnavailable',
      'A Durable Object (the single writer) could not be reached; nothing was acknowledged. Safe to repeat after Retry-After.',
      {
        'Retry-After': ref('headers', 'RetryAfter'),
      },
    ),
    NotFound: json('NotFound', "No such route (any path not in this document but the admin console's files, GET /admin/…)."),
    NotConfigured: json('NotConfigured', 'The token service is off: TOKEN_SIGNING_KEYS is not set.'),
    StreamNotFound: json('NotFoundDescribed', 'No stream with this id.'),
    IdempotencyKeyReused: json(
      'IdempotencyKeyReused',
      'This admin key already used this `Idempotency-Key` for this user with another body (within 24 h); nothing was changed. Use a new key.',
    ),
    WriteUnavailable: json('WriteUnavailable', WRITE_UNAVAILABLE, retry),
    TransmitterError: json(
      'TransmitterFailed',
      "The transmitter's API failed or answered something unusable; `error_description` says what. Nothing was stored.",
    ),
  };
}

const useResponse = (name: keyof ReturnType<typeof responseComponents>) => ref('responses', name);
const ADMIN = [{ adminBearer: [] }];
const FEED = [{ feedBearer: [] }];
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
/** `revokes`: the route stores a revocation, so its 503 may be bounded mode's "stored, will propagate". */
const adminErrors = (withBody: boolean, revokes = false) => ({
  ...(withBody ? { 400: useResponse('InvalidRequest'), 413: useResponse('PayloadTooLarge') } : { 400: useResponse('InvalidRequest') }),
  401: useResponse('AdminUnauthorized'),
  500: useResponse('ServerError'),
  503: useResponse(revokes ? 'WriteUnavailable' : 'TemporarilyUnavailable'),
});

/** /healthz, this document, /v1/verify and the RFC routes (revoke, logout, introspect). */
function verifyAndOAuthPaths() {
  const verifyOperation = (method: string, below: boolean) => ({
    operationId: `verify${below ? 'Below' : ''}${method[0]!.toUpperCase()}${method.slice(1)}`,
    tags: ['verify'],
    summary: 'Forward-auth: is this token genuine, unexpired and not revoked, right now?',
    description:
      'Any method, on /v1/verify and any path below it (Envoy ext_authz appends the original path). ' +
      'The token comes only from `Authorization: Bearer`. No request body is read.',
    security: BEARER,
    parameters: [
      {
        name: 'strict',
        in: 'query',
        required: false,
        description:
          '`1`: read the Durable Objects instead of KV or the mirror. Needs PUBLIC_STRICT=true or an admin key in `Killswitch-Admin-Key`; ignored on FORWARD_AUTH_HOSTS hosts.',
        schema: { type: 'string', enum: ['1'] },
      },
      ...(below
        ? [
            {
              name: 'path',
              in: 'path',
              required: true,
              description: 'The original request path; may contain `/`.',
              schema: { type: 'string' },
            },
          ]
        : []),
    ],
    responses: {
      200: json('VerifyActive', 'The token is valid: its claims, and X-Auth-* headers for the upstream.', {
        'X-Auth-Subject': ref('headers', 'XAuthSubject'),
        'X-Auth-Issuer': ref('headers', 'XAuthIssuer'),
        'X-Auth-Token-Id': ref('headers', 'XAuthTokenId'),
        'X-Auth-Scope': ref('headers', 'XAuthScope'),
        'X-Auth-User': ref('headers', 'XAuthUser'),
        'X-Auth-Expires': ref('headers', 'XAuthExpires'),
      }),
      401: useResponse('Refusal'),
      403: useResponse('StrictNotAllowed'),
      500: useResponse('ServerError'),
      503: useResponse('Unavailable'),
    },
  });
  const verifyPath = (below: boolean) => Object.fromEntries(ANY_METHOD.map((m) => [m, verifyOperation(m, below)]));

  return {
    '/healthz': {
      get: { operationId: 'health', tags: ['meta'], summary: 'Liveness', security: PUBLIC, responses: { 200: json('Health', 'Up.') } },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        tags: ['meta'],
        summary: 'This document',
        security: PUBLIC,
        responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: ref('schemas', 'OpenApiDocument') } } } },
      },
    },
    '/v1/verify': verifyPath(false),
    '/v1/verify/{path}': verifyPath(true),
    '/v1/revoke': {
      post: {
        operationId: 'revoke',
        tags: ['revocation'],
        summary: 'RFC 7009 token revocation',
        security: ADMIN,
        description:
          'Revokes an access token whose signature verifies (by `jti`, or a digest of its signing input), or a refresh token (its session). ' +
          'Answers 200 for any token, invalid or unknown ones included (RFC 7009 §2.2).',
        requestBody: formBody('RevokeForm'),
        responses: {
          200: { description: 'Revoked, or nothing to revoke. Empty body.', headers: { 'Cache-Control': ref('headers', 'CacheControl') } },
          ...adminErrors(true, true),
        },
      },
    },
    '/v1/logout': {
      post: {
        operationId: 'logout',
        tags: ['revocation'],
        summary: 'The bearer revokes its own token, or every token of its user',
        security: BEARER,
        requestBody: jsonBody('LogoutBody', false, 'Optional; an empty body is `{}`.'),
        responses: {
          200: json(
            'LogoutResult',
            '`token`: the presented token is revoked (and its session, for a token of the token service); `user`: every token of the user.',
          ),
          400: useResponse('InvalidRequest'),
          401: useResponse('Refusal'),
          413: useResponse('PayloadTooLarge'),
          500: useResponse('ServerError'),
          503: json(
            { anyOf: [ref('schemas', 'Unavailable'), ref('schemas', 'WriteUnavailable')] },
            'The token\'s revocation state could not be read (`reason: "unavailable"`), or its revocation could not be stored: as WriteUnavailable.',
            retry,
          ),
        },
      },
    },
    '/v1/introspect': {
      post: {
        operationId: 'introspect',
        tags: ['revocation'],
        summary: 'RFC 7662 introspection, always from the Durable Objects',
        security: ADMIN,
        requestBody: formBody('IntrospectForm'),
        responses: {
          200: json('Introspection', 'The token\'s claims, or exactly `{"active":false}` for anything invalid, expired or revoked.'),
          ...adminErrors(true),
        },
      },
    },
  };
}

/** The admin, token-service and Shared Signals routes. */
function adminPaths() {
  const subPath = { name: 'sub', in: 'path', required: true, schema: jsonSchema(schemas.SubParam, 'input') };
  const streamPath = { name: 'id', in: 'path', required: true, schema: jsonSchema(schemas.StreamIdParam, 'input') };
  const queryParameters = (schema: z.ZodMiniType) =>
    Object.entries((jsonSchema(schema, 'output') as { properties: Record<string, Json> }).properties).map(([name, property]) => {
      const { description, ...rest } = property;
      return { name, in: 'query', required: false, ...(description === undefined ? {} : { description }), schema: rest };
    });

  const auditParameters = queryParameters(schemas.AuditQuery);
  const namespaceParameters = queryParameters(schemas.NamespaceQuery);
  const idempotencyKey = {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
    description:
      "A retry with the same key (within 24 h) by the same admin key, for the same user and body, answers the first call's result (with `Idempotent-Replayed: true`) instead of bumping the version again: retry a 503 with it. The same key with another body is a 422.",
  };
  const userRevokeResponses = {
    200: json('UserSnapshot', 'The new version and revoked-before.', { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') }),
    422: useResponse('IdempotencyKeyReused'),
    ...adminErrors(true, true),
  };

  return {
    '/v1/admin/users/revoke': {
      post: {
        operationId: 'revokeUserBySub',
        tags: ['admin'],
        summary: 'Revoke every token of a user issued until now (user in the body)',
        security: ADMIN,
        description:
          'The same as `/v1/admin/users/{sub}/revoke`, for any `sub` a token can carry: runtimes normalize `.`/`..` path segments away (even percent-encoded), and long ones outgrow URL limits.',
        parameters: [idempotencyKey, ...namespaceParameters],
        requestBody: jsonBody('UserRevokeBySubBody', true),
        responses: userRevokeResponses,
      },
    },
    '/v1/admin/users/lookup': {
      post: {
        operationId: 'userStateBySub',
        tags: ['admin'],
        summary: "A user's revocation state (user in the body)",
        security: ADMIN,
        description: 'The same as `GET /v1/admin/users/{sub}`, for any `sub` a token can carry.',
        parameters: namespaceParameters,
        requestBody: jsonBody('UserLookupBody', true),
        responses: { 200: json('UserState', 'Version, revoked-before and the revoked tokens not yet expired.'), ...adminErrors(true) },
      },
    },
    '/v1/admin/users/{sub}/revoke': {
      post: {
        operationId: 'revokeUser',
        tags: ['admin'],
        summary: 'Revoke every token of a user issued until now',
        security: ADMIN,
        parameters: [subPath, ...namespaceParameters, idempotencyKey],
        requestBody: jsonBody('UserRevokeBody', false, 'Optional; an empty body is `{}`.'),
        responses: userRevokeResponses,
      },
    },
    '/v1/admin/users/{sub}': {
      get: {
        operationId: 'userState',
        tags: ['admin'],
        summary: "A user's revocation state",
        security: ADMIN,
        parameters: [subPath, ...namespaceParameters],
        responses: {
          200: json('UserState', 'Version, revoked-before, the revoked tokens not yet expired and the sessions.'),
          ...adminErrors(false),
        },
      },
    },
    '/v1/admin/tokens/revoke': {
      post: {
        operationId: 'revokeTokenById',
        tags: ['admin'],
        summary: 'Revoke a token by id, without the token',
        security: ADMIN,
        parameters: namespaceParameters,
        requestBody: jsonBody('TokenRevokeBody', true),
        responses: {
          200: json(
            'TokenRevoked',
            '`revoked: true`: stored by the user\'s Durable Object; `revoked: false, reason: "expired"`: the token has expired already (nothing stored).',
          ),
          ...adminErrors(true, true),
        },
      },
    },
    '/v1/admin/revoke-all': {
      post: {
        operationId: 'revokeAll',
        tags: ['admin'],
        summary: 'Revoke every token of every user issued until now',
        security: ADMIN,
        requestBody: jsonBody('RevokeAllBody', true),
        responses: { 200: json('RevokeAllResult', 'The global revoked-before.'), ...adminErrors(true, true) },
      },
    },
    '/v1/admin/audit': {
      get: {
        operationId: 'audit',
        tags: ['admin'],
        summary: 'Audit events, newest first',
        security: ADMIN,
        description: `Pages of at most ${AUDIT_PAGE_MAX} events; without \`sub\`, the global (revoke-all) trail.`,
        parameters: auditParameters,
        responses: { 200: json('AuditPage', 'One page of events.'), ...adminErrors(false) },
      },
    },
    '/v1/admin/stats': {
      get: {
        operationId: 'stats',
        tags: ['admin'],
        summary: 'Request counts, latency and key status of this isolate',
        security: ADMIN,
        responses: {
          200: json(
            'Stats',
            "Counts by route × outcome:reason and a latency histogram since this isolate started; the revocation promise; the trusted issuers' key status.",
          ),
          401: useResponse('AdminUnauthorized'),
          500: useResponse('ServerError'),
        },
      },
    },
    '/v1/sessions': {
      post: {
        operationId: 'startSession',
        tags: ['token service'],
        summary: 'A login: a short-lived access token and a rotating refresh token',
        security: ADMIN,
        requestBody: jsonBody('SessionBody', true),
        responses: {
          200: json('TokenResponse', "The new session's tokens."),
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
        operationId: 'refresh',
        tags: ['token service'],
        summary: 'RFC 6749 §6 refresh grant, rotating',
        security: PUBLIC,
        description:
          'A public client: the refresh token is the credential. A refresh token used twice revokes its whole session (RFC 9700 §4.14).',
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
        operationId: 'pushSecurityEvent',
        tags: ['security events'],
        summary: 'RFC 8935: a transmitter pushes one Security Event Token',
        security: SSF_PUSH,
        description:
          'docs/reference.md §7. `202` for every valid SET, duplicates, unknown events and unknown subjects included, once what it revokes is durable. ' +
          "A SET revokes the user's tokens issued before its event (max(iat, event_timestamp)), never those issued after.",
        parameters: [streamPath],
        requestBody: {
          required: true,
          content: { 'application/secevent+jwt': { schema: { type: 'string', description: 'One compact JWS SET (RFC 8417).' } } },
        },
        responses: {
          202: { description: 'Accepted. Empty body.', headers: { 'Cache-Control': ref('headers', 'CacheControl') } },
          400: json('SetRefused', 'The SET is refused; `err` is an RFC 8935 code.'),
          401: json('PushUnauthorized', 'The stream has a push secret and the bearer is missing or wrong: always this same answer.', {
            'WWW-Authenticate': ref('headers', 'PushChallenge'),
          }),
          404: useResponse('NotFound'),
          413: json('PayloadTooLarge', `The body is over ${MAX_SET_BYTES} bytes.`),
          500: useResponse('ServerError'),
          503: json(
            'WriteUnavailable',
            "A Durable Object or the transmitter's keys out of reach, or (bounded mode) a revocation stored but not yet on the feed: nothing was marked seen, retry the SET.",
            retry,
          ),
        },
      },
    },
    '/v1/admin/ssf/streams': {
      get: {
        operationId: 'listStreams',
        tags: ['security events'],
        summary: 'Every Shared Signals stream',
        security: ADMIN,
        responses: { 200: json('SsfStreamList', 'SSF_STREAMS, then the streams created here.'), ...adminErrors(false) },
      },
      post: {
        operationId: 'createStream',
        tags: ['security events'],
        summary: "Create a stream: managed (at the transmitter's API) or manual",
        security: ADMIN,
        requestBody: jsonBody('SsfStreamBody', true),
        responses: {
          201: json('SsfStreamCreated', "Created; give a manual stream's push endpoint (and secret) to its transmitter."),
          ...adminErrors(true),
          502: useResponse('TransmitterError'),
        },
      },
    },
    '/v1/admin/ssf/streams/{id}': {
      get: {
        operationId: 'streamStatus',
        tags: ['security events'],
        summary: 'A stream and its status',
        security: ADMIN,
        parameters: [
          streamPath,
          {
            name: 'X-Transmitter-Token',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description: "Managed streams: also ask the transmitter's status endpoint. Never stored.",
          },
        ],
        responses: {
          200: json('SsfStreamStatus', 'The stream, verification and transmitter status.'),
          ...adminErrors(false),
          404: useResponse('StreamNotFound'),
          502: useResponse('TransmitterError'),
        },
      },
      delete: {
        operationId: 'deleteStream',
        tags: ['security events'],
        summary: 'Delete a stream created here (a managed one at its transmitter first)',
        security: ADMIN,
        parameters: [streamPath],
        requestBody: jsonBody('SsfTransmitterBody', false, 'Managed streams: `transmitterToken`.'),
        responses: {
          200: json('SsfStreamDeleted', 'Deleted; its pushes now get 404.'),
          ...adminErrors(true),
          404: useResponse('StreamNotFound'),
          502: useResponse('TransmitterError'),
        },
      },
    },
    '/v1/admin/ssf/streams/{id}/verify': {
      post: {
        operationId: 'verifyStream',
        tags: ['security events'],
        summary: 'SSF verification: a random state the next verification SET must carry',
        security: ADMIN,
        parameters: [streamPath],
        requestBody: jsonBody('SsfTransmitterBody', false, 'Managed streams: `transmitterToken`, to ask the transmitter.'),
        responses: {
          200: json('SsfVerification', 'The state; asked of the transmitter when it has a verification endpoint.'),
          ...adminErrors(true),
          404: useResponse('StreamNotFound'),
          502: useResponse('TransmitterError'),
        },
      },
    },
    '/v1/admin/ssf/streams/{id}/poll': {
      post: {
        operationId: 'pollStream',
        tags: ['security events'],
        summary: "RFC 8936: poll the transmitter now (pending acks go out) and re-arm the stream's alarm",
        security: ADMIN,
        parameters: [streamPath],
        responses: {
          200: json('SsfPollStatus', 'The poll status after this poll.'),
          ...adminErrors(false),
          404: useResponse('StreamNotFound'),
        },
      },
    },
    '/v1/admin/ssf/streams/{id}/audit': {
      get: {
        operationId: 'streamAudit',
        tags: ['security events'],
        summary: 'Every SET the stream received and what each event did',
        security: ADMIN,
        parameters: [streamPath, ...queryParameters(schemas.StreamAuditQuery)],
        responses: {
          200: json('AuditPage', 'One page of `ssf_event` entries, newest first.'),
          ...adminErrors(false),
          404: useResponse('StreamNotFound'),
        },
      },
    },
    '/.well-known/jwks.json': {
      get: {
        operationId: 'jwks',
        tags: ['token service'],
        summary: "The token service's public keys",
        security: PUBLIC,
        responses: {
          200: { description: 'JWK Set.', content: { 'application/json': { schema: ref('schemas', 'Jwks') } } },
          400: useResponse('NotConfigured'),
          500: useResponse('ServerError'),
        },
      },
    },
    '/.well-known/oauth-authorization-server': {
      get: {
        operationId: 'authorizationServerMetadata',
        tags: ['token service'],
        summary: 'RFC 8414 metadata',
        security: PUBLIC,
        responses: {
          200: { description: 'Metadata.', content: { 'application/json': { schema: ref('schemas', 'AuthorizationServerMetadata') } } },
          400: useResponse('NotConfigured'),
          500: useResponse('ServerError'),
        },
      },
    },
  };
}

/** docs/reference.md §9: what mirrors outside the edge read. */
function feedPaths() {
  const feedErrors = { 401: useResponse('FeedUnauthorized'), 500: useResponse('ServerError') };
  const { description, ...after } = (jsonSchema(schemas.FeedQuery, 'output') as { properties: Record<string, Json> }).properties.after!;
  return {
    '/v1/feed': {
      get: {
        operationId: 'feed',
        tags: ['feed'],
        summary: "The feed after a sequence number, with the edge's stamp (for mirrors at origins)",
        security: FEED,
        description:
          "What bounded mode's mirrors read: the log after `after`. Answered from this location's cache within " +
          'half the bound (REVOCATION_MAX_STALENESS_MS / 2) of the feed read it stamps. A mirror starts from GET /v1/feed/snapshot, then asks from its `seq`.',
        parameters: [{ name: 'after', in: 'query', required: true, description, schema: after }],
        responses: {
          200: json('FeedPage', 'The entries after `after`.'),
          400: useResponse('InvalidRequest'),
          410: json('SnapshotRequired', '`after` is behind the floor (those entries were pruned): start again from GET /v1/feed/snapshot.'),
          ...feedErrors,
          503: useResponse('TemporarilyUnavailable'),
        },
      },
    },
    '/v1/feed/snapshot': {
      get: {
        operationId: 'feedSnapshot',
        tags: ['feed'],
        summary: 'The binary snapshot of the active revocations a cold mirror loads first',
        security: FEED,
        responses: {
          200: {
            description:
              'src/revocation/feed-snapshot.ts: a header of six float64 (format, seq, writtenAt, globalRevokedBefore, users, tokens), then uint32 rows.',
            content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
          },
          204: { description: 'No snapshot written yet: start from seq 0.' },
          ...feedErrors,
        },
      },
    },
  };
}

export function buildDocument(): Json {
  const bodies: Record<string, Json> = {};
  for (const name of REQUEST_SCHEMAS) bodies[name] = jsonSchema(schemas[name], 'input');
  // Response bodies, rendered as what killswitch sends (io: output: no extra members unless loose).
  for (const [name, schema] of Object.entries(schemas.responseSchemas())) bodies[name] = jsonSchema(schema, 'output');

  const paths = { ...verifyAndOAuthPaths(), ...adminPaths(), ...feedPaths() };

  return {
    openapi: '3.1.0',
    info: {
      title: 'killswitch',
      version,
      summary: 'Edge JWT verification with real revocation.',
      description:
        'Verifies JWTs and revokes them: one token, a user, or everything. Reason codes: ' +
        `${REASONS.join(', ')}. Every answer carries \`Cache-Control: no-store\` (except the public .well-known and this document).`,
    },
    tags: [
      { name: 'verify' },
      { name: 'revocation' },
      { name: 'admin' },
      { name: 'security events' },
      { name: 'token service' },
      { name: 'feed' },
      { name: 'meta' },
    ],
    paths,
    components: {
      schemas: bodies,
      responses: responseComponents(),
      headers: headerComponents(),
      securitySchemes: {
        adminBearer: { type: 'http', scheme: 'bearer', description: 'One of ADMIN_API_KEYS.' },
        feedBearer: { type: 'http', scheme: 'bearer', description: 'One of FEED_API_KEYS (never an admin key).' },
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The end-user token being verified.' },
        ssfPush: { type: 'http', scheme: 'bearer', description: "A Shared Signals stream's push secret (RFC 8935 §2.1), when it has one." },
      },
    },
  };
}
