/**
 * The request schemas of every route that takes input (SPEC §4.2, §4.3, §6): the one source
 * for validating requests and for the OpenAPI document (src/openapi/document.ts), so the two
 * cannot drift. zod's "mini" build: the same zod 4 schemas and `toJSONSchema`, in half the
 * bundle of the chainable build. The verify hot path never touches these.
 *
 * Every field carries its own message, so a 400 names the field and says what it must be,
 * and never echoes the value (which may be a token or a key).
 */
import * as z from 'zod/mini';
import { STREAM_ID } from '../config/ssf-streams';
import { AUDIT_ACTIONS, AUDIT_PAGE_MAX } from '../revocation/audit-log';
import { MAX_TOKEN_BYTES } from '../verify/compact-jws';
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
  z.string(must(REASON_RULE)).check(
    z.maxLength(MAX_REASON_CHARS, must(REASON_RULE)),
    z.regex(/\S/, must(REASON_RULE)),
    z.describe(description),
  );

const NUMERIC_DATE_RULE = 'a NumericDate (integer seconds since the epoch)';
const numericDate = (description: string) =>
  z.int(must(NUMERIC_DATE_RULE)).check(z.minimum(0, must(NUMERIC_DATE_RULE)), z.describe(description));

const required = (description: string) =>
  z.string({ error: 'is required' }).check(z.minLength(1, { error: 'is required' }), z.describe(description));

/** The `sub` of /v1/admin/users/{sub} (and of ?sub=). */
export const SubParam = id('The user: a token\'s `sub`, percent-encoded in the path.');

/** POST /v1/admin/users/{sub}/revoke (SPEC §4.2); an empty body is `{}`. */
export const UserRevokeBody = z.object({
  reason: z.optional(reason('Why, for the audit trail.')),
});

const bodySub = () => id('The user: a token\'s `sub`, exactly (any `sub` works here, `.` and `..` included).');

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
  jti: id('The token\'s `jti`.'),
  sub: id('The token\'s `sub` (the user whose Durable Object stores the entry).'),
  exp: numericDate('The token\'s `exp`: the entry is kept until then (plus the clock tolerance).'),
  iss: z.optional(id('The token\'s `iss`; without it, the `jti` is revoked for every issuer.')),
  reason: z.optional(reason('Why, for the audit trail.')),
});

/** POST /v1/admin/revoke-all: a reason is required for this one. */
export const RevokeAllBody = z.object({
  reason: reason('Why, for the audit trail (required).'),
});

/** POST /v1/logout; an empty body is `{}`. */
export const LogoutBody = z.object({
  everywhere: z.optional(z.boolean(must('a boolean')).check(
    z.describe('true: revoke every token of the bearer\'s user, not only the presented one.'),
  )),
});

/** POST /v1/sessions (SPEC §6). Reserved claims and the size limit depend on configuration: checked by the route. */
export const SessionBody = z.object({
  sub: id('The user the session is for.'),
  scope: z.optional(z.string(must(`a string of at most ${MAX_SCOPE_CHARS} characters`)).check(
    z.maxLength(MAX_SCOPE_CHARS, must(`a string of at most ${MAX_SCOPE_CHARS} characters`)),
    z.describe('The `scope` claim of the access tokens, kept across refreshes.'),
  )),
  claims: z.optional(z.record(z.string(), z.unknown(), must('a JSON object')).check(z.describe(
    'Extra claims for the access tokens. May not set iss, sub, aud, exp, nbf, iat, jti, sid, scope, cnf, client_id or the version claim; at most 4 KiB as JSON.',
  ))),
});

/** POST /v1/revoke: RFC 7009 §2.1 form. */
export const RevokeForm = z.object({
  token: required('The access token (a JWT) or refresh token to revoke.'),
  token_type_hint: z.optional(z.string().check(z.describe(
    '`access_token` or `refresh_token`. Advisory: the token\'s shape decides (RFC 7009 §2.1).',
  ))),
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
const transmitterToken = z.optional(z.string(must(TOKEN_RULE)).check(
  z.minLength(1, must(TOKEN_RULE)), z.maxLength(MAX_URL_CHARS * 4, must(TOKEN_RULE)),
  z.describe('The bearer of the transmitter\'s management API. Used for this call only, never stored.'),
));

/**
 * POST /v1/admin/ssf/streams (SPEC §7). With `transmitter`: a managed stream, created at the
 * transmitter's management API. Without: a manual one (Google's `stream:update`), whose
 * `issuer`, `jwksUri` and `audience` the operator gives. The rest is an SSF_STREAMS entry's.
 */
export const SsfStreamBody = z.object({
  transmitter: z.optional(url('The transmitter\'s issuer: discovery reads {origin}/.well-known/ssf-configuration{path}.')),
  transmitterToken,
  issuer: z.optional(id('Manual streams: the SETs\' `iss`.')),
  jwksUri: z.optional(url('Manual streams: the transmitter\'s JWKS.')),
  audience: z.optional(id('Manual streams: the `aud` the transmitter puts in SETs (unique per stream).')),
  algorithms: z.optional(z.array(z.string(), must('an array of JWS algorithm names')).check(z.describe('Default ["RS256"].'))),
  subjects: z.optional(z.record(z.string(), z.unknown(), must('a JSON object')).check(
    z.describe('{"iss_sub": {"<SET subject iss>": {"issuer": "<trusted token issuer>", "claim": "sub"}}, "email": false}'),
  )),
  events: z.optional(z.record(z.string(), z.unknown(), must('a JSON object')).check(
    z.describe('Per event type URI: "revoke_user" or "audit", over the defaults.'),
  )),
  acceptMissingTyp: z.optional(z.boolean(must('a boolean')).check(z.describe('Accept SETs without the JWS `typ` (a present typ must be secevent+jwt).'))),
  pushSecret: z.optional(z.boolean(must('a boolean')).check(z.describe('Manual streams: false for a signature-only stream (Google). Default true.'))),
  pushBaseUrl: z.optional(url('The origin transmitters reach killswitch on, when not the one this call came in on.')),
  poll: z.optional(z.record(z.string(), z.unknown(), must('a JSON object')).check(
    z.describe('Manual streams, RFC 8936 poll delivery: {"endpoint": "https://…", "token": "<the transmitter\'s poll bearer>", "maxEvents"?: 1–64 (16), "intervalSeconds"?: 1–300 (10)}. The token is kept, never shown.'),
  )),
  eventsRequested: z.optional(z.array(z.string(), must('an array of event type URIs')).check(z.describe('Managed streams: what to ask the transmitter for.'))),
});

/** POST /v1/admin/ssf/streams/{id}/verify and DELETE /v1/admin/ssf/streams/{id}; an empty body is `{}`. */
export const SsfTransmitterBody = z.object({ transmitterToken });

/** A stream id in a path. */
export const StreamIdParam = z.string(must('a stream id (1 to 64 of A-Z a-z 0-9 _ -)')).check(
  z.regex(STREAM_ID, must('a stream id (1 to 64 of A-Z a-z 0-9 _ -)')),
  z.describe('The stream\'s id, as in its push endpoint /v1/ssf/{id}/events.'),
);

const LIMIT_RULE = `an integer from 1 to ${AUDIT_PAGE_MAX}`;
/** GET /v1/admin/audit query. */
export const AuditQuery = z.object({
  sub: z.optional(id('The user whose trail to list; without it, the global (revoke-all) trail.')),
  limit: z._default(
    z.pipe(
      z.pipe(z.string(must(LIMIT_RULE)).check(z.regex(/^\d{1,6}$/, must(LIMIT_RULE))), z.transform(Number)),
      z.int(must(LIMIT_RULE)).check(z.minimum(1, must(LIMIT_RULE)), z.maximum(AUDIT_PAGE_MAX, must(LIMIT_RULE))),
    ),
    AUDIT_PAGE_DEFAULT,
  ).check(z.describe('Events per page.')),
  cursor: z.optional(z.string({ error: 'is not a cursor this server gave out' }).check(
    z.regex(/^\d{1,15}$/, { error: 'is not a cursor this server gave out' }),
    z.describe('The `cursor` of the previous page, for the next (older) one.'),
  )),
  action: z.optional(z.enum(AUDIT_ACTIONS, must(`one of ${AUDIT_ACTIONS.join(', ')}`)).check(
    z.describe('Only events of this kind.'),
  )),
});

/** GET /v1/admin/ssf/streams/{id}/audit: the stream's trail of every SET it received. */
export const StreamAuditQuery = z.omit(AuditQuery, { sub: true });

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
