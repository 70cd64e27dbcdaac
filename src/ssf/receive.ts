import type { Config } from '../config/config';
import type { SsfStreamConfig } from '../config/ssf-streams';
import type { AsymmetricAlgorithm } from '../keys/algorithms';
import type { AuditEvent } from '../revocation/audit-log';
import type { RevocationBindings } from '../revocation/revocation-check';
import { atWriter, revokeIssuedBefore, revokeIssuerToken, revokeTokenById } from '../revocation/revoker';
import { ssfStreamObjectName } from '../revocation/storage-keys';
import { parseCompactJws, type CompactJws } from '../verify/compact-jws';
import { signatureValid } from '../verify/verifier';
import { actionFor, eventInstant, shortName, type EventAction } from './events';
import type { SsfBindings } from './streams';
import { resolveSubject, subjectOf, type MappedUser } from './subjects';
import { nowSeconds } from '../clock';

/** docs/reference.md §4.2/§7: a SET is a request body, so the body limit is its limit. */
export const MAX_SET_BYTES = 16 * 1024;
/** SSF puts one event in a SET; a few are tolerated, not an amplifier of Durable Object writes. */
export const MAX_EVENTS_PER_SET = 8;
const MAX_USERS_PER_SET = 32;
const MAX_AUDIT_REASON_CHARS = 256;

/** RFC 8935 §2.4 error codes. */
export const SET_ERROR_CODES = [
  'invalid_request',
  'invalid_key',
  'invalid_issuer',
  'invalid_audience',
  'authentication_failed',
  'access_denied',
] as const;
export type SetErrorCode = (typeof SET_ERROR_CODES)[number];

/** A SET refused: `400 {"err": code, "description"}` on the wire (RFC 8935 §2.3). */
export class SetError extends Error {
  constructor(
    readonly code: SetErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
    this.name = 'SetError';
  }
}

/** The SET's transmitter keys cannot be fetched right now: the transmitter should retry. */
export class SetKeysUnavailable extends Error {}

export interface EventOutcome {
  readonly type: string;
  readonly action: EventAction | 'unmapped';
  readonly subs: readonly string[];
}

export interface Receipt {
  readonly jti: string;
  readonly duplicate: boolean;
  readonly events: readonly EventOutcome[];
}

type Events = Readonly<Record<string, Readonly<Record<string, unknown>>>>;
type SetClaims = CompactJws['claims'] & { readonly iss: string; readonly jti: string; readonly iat: number; readonly events: Events };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 8417 §2.3: `secevent+jwt`, with or without the `application/` prefix (RFC 7515 §4.1.9). */
function typOk(typ: unknown, required: boolean): boolean {
  if (typ === undefined) return !required;
  return typeof typ === 'string' && /^(application\/)?secevent\+jwt$/i.test(typ);
}

/** Signature first, then who sent it and to whom, then the SET's own claims (RFC 8417 §2.2). */
async function authenticSet(body: string, stream: SsfStreamConfig, config: Config, now: number): Promise<SetClaims> {
  const jws = parseCompactJws(body, MAX_SET_BYTES);
  if (jws === undefined) throw new SetError('invalid_request', 'the body is not one compact JWS');
  const { alg, kid, typ } = jws.header;
  if (!stream.algorithms.has(alg as AsymmetricAlgorithm))
    throw new SetError('invalid_request', `alg ${JSON.stringify(alg)} is not accepted on this stream`);
  const algorithm = alg as AsymmetricAlgorithm;
  if (!typOk(typ, stream.requireTyp)) throw new SetError('invalid_request', 'typ must be "secevent+jwt"');

  const found = await stream.keys.lookup(algorithm, kid);
  if ('error' in found) {
    if (found.error === 'unavailable') throw new SetKeysUnavailable("the transmitter's keys cannot be fetched");
    throw new SetError('invalid_key', 'no key of the transmitter matches kid and alg');
  }
  if (!(await signatureValid(jws, found.key, algorithm))) throw new SetError('authentication_failed', 'the signature does not verify');

  const claims = jws.claims;
  if (claims.iss !== stream.issuer) throw new SetError('invalid_issuer', "iss is not this stream's transmitter");
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!audiences.includes(stream.audience)) throw new SetError('invalid_audience', 'aud does not name this receiver');
  if (claims.jti === undefined) throw new SetError('invalid_request', 'jti is required');
  if (claims.iat === undefined) throw new SetError('invalid_request', 'iat is required');
  if (claims.iat > now + config.clockToleranceSeconds) throw new SetError('invalid_request', 'iat is in the future');
  const events = claims.events;
  if (!isObject(events) || Object.keys(events).length === 0 || !Object.values(events).every(isObject)) {
    throw new SetError('invalid_request', 'events must be a non-empty object of event objects');
  }
  if (Object.keys(events).length > MAX_EVENTS_PER_SET) throw new SetError('invalid_request', `more than ${MAX_EVENTS_PER_SET} events`);
  if (claims.sub_id !== undefined && !isObject(claims.sub_id)) throw new SetError('invalid_request', 'sub_id must be an object');
  return claims as SetClaims;
}

interface Planned {
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly action: EventAction;
  readonly users: readonly MappedUser[];
  readonly token: { readonly iss: string; readonly jti: string } | undefined;
  readonly label: string;
}

/**
 * SSF 1.0 §8.1.4–5: a stream control event names its stream in an opaque subject. One that
 * names another stream of the transmitter was not meant for this endpoint: access_denied.
 */
function checkControlSubject(subject: Readonly<Record<string, unknown>> | undefined, stream: SsfStreamConfig): void {
  const streamId = stream.transmitter?.streamId;
  if (streamId === undefined || subject?.format !== 'opaque' || subject.id === undefined) return;
  if (subject.id !== streamId) throw new SetError('access_denied', 'the event is for another stream');
}

function plan(claims: SetClaims, stream: SsfStreamConfig): Planned[] {
  const planned = Object.entries(claims.events).map(([type, payload]): Planned => {
    const subject = subjectOf(claims.sub_id, payload);
    const resolved = resolveSubject(subject, payload.subject, stream);
    const action = actionFor(type, payload, stream.actions, resolved.token !== undefined);
    if (action === 'verification' || action === 'stream_updated') checkControlSubject(subject, stream);
    return { type, payload, action, ...resolved };
  });
  if (planned.reduce((n, p) => n + p.users.length, 0) > MAX_USERS_PER_SET) {
    throw new SetError('invalid_request', `more than ${MAX_USERS_PER_SET} subjects`);
  }
  return planned;
}

/**
 * How long a token a SET names by `jti` is denied: the latest such a token can expire (issued up
 * to the tolerance ahead of our clock, living MAX_TOKEN_LIFETIME_SECONDS), and the entry stays a
 * tolerance past that (forgetAt), as the verifier does. Undefined without that bound.
 */
function denyWindow(config: Config, now: number): { exp: number; forgetAt: number } | undefined {
  const lifetime = config.maxTokenLifetimeSeconds;
  if (lifetime === undefined) return undefined;
  const exp = now + config.clockToleranceSeconds + lifetime;
  return { exp, forgetAt: exp + config.clockToleranceSeconds };
}

const bounded = (text: string) => (text.length > MAX_AUDIT_REASON_CHARS ? `${text.slice(0, MAX_AUDIT_REASON_CHARS - 1)}…` : text);

/**
 * Carries out one event; returns what the stream's audit trail records. Revocations go
 * through the user's Durable Object and are durable when this returns (in bounded mode, on the
 * feed too: otherwise a 503, and the SET is not marked seen, so the transmitter's retry is applied).
 */
async function apply(
  event: Planned,
  claims: SetClaims,
  stream: SsfStreamConfig,
  config: Config,
  env: RevocationBindings & SsfBindings,
  now: number,
): Promise<{ outcome: EventOutcome; audit: AuditEvent[] }> {
  const actor = `ssf:${stream.id}`;
  const name = shortName(event.type);
  const entry = (sub: string | null, taken: string, label = event.label): AuditEvent => ({
    at: now,
    action: 'ssf_event',
    sub,
    jti: claims.jti,
    actor,
    reason: bounded(`${name} ${label}: ${taken}`),
  });
  const state = env.SSF_STREAM.getByName(ssfStreamObjectName(stream.id));

  if (event.action === 'verification') {
    const requested = typeof event.payload.state === 'string' ? event.payload.state : undefined;
    const outcome = await atWriter(() => state.verification(requested));
    return { outcome: { type: event.type, action: 'verification', subs: [] }, audit: [entry(null, outcome, 'stream')] };
  }
  if (event.action === 'stream_updated') {
    const status = typeof event.payload.status === 'string' ? event.payload.status.slice(0, 32) : 'unknown';
    await atWriter(() => state.transmitterStatus(status));
    return { outcome: { type: event.type, action: 'stream_updated', subs: [] }, audit: [entry(null, `status ${status}`, 'stream')] };
  }
  const window = denyWindow(config, now);
  // A token named by (iss, jti) and no user (token-claims-change, tokens-revoked): denied by its
  // issuer and jti, an entry every check looks up. Without MAX_TOKEN_LIFETIME_SECONDS there is no
  // user to revoke instead: audited as unmapped.
  const namesToken = event.action === 'deny_token' || event.action === 'revoke_user';
  if (event.users.length === 0 && namesToken && event.token !== undefined && window !== undefined) {
    const { iss, jti } = event.token;
    await revokeIssuerToken(env, config, { iss, tokenId: jti, ...window, actor, reason: bounded(`${name} (${event.label})`) });
    return { outcome: { type: event.type, action: 'deny_token', subs: [] }, audit: [entry(null, `denied token ${jti} of ${iss}`)] };
  }
  if (event.users.length === 0) {
    return { outcome: { type: event.type, action: 'unmapped', subs: [] }, audit: [entry(null, `${event.action}, no user mapped`)] };
  }
  // A user is (namespace, id): the namespace of the token issuer the subject maps to, so a
  // stream acts only on its own tenant's users (email subjects: the shared namespace).
  const targets = new Map<string, { sub: string; namespace: string | undefined }>(); // aliases may name one user twice
  for (const { sub, tokenIssuer } of event.users) {
    const namespace = tokenIssuer === null ? undefined : config.issuers.get(tokenIssuer)?.userNamespace;
    targets.set(JSON.stringify([namespace ?? null, sub]), { sub, namespace });
  }
  const users = [...targets.values()];
  const subs = users.map((u) => u.sub);
  if (event.action === 'audit') {
    return { outcome: { type: event.type, action: 'audit', subs }, audit: subs.map((sub) => entry(sub, 'audited only')) };
  }
  // A denied token is remembered until the longest a token may live; without that bound
  // (MAX_TOKEN_LIFETIME_SECONDS unset) the user is revoked instead: over-revoking is the safe side.
  if (event.action === 'deny_token' && event.token !== undefined && window !== undefined) {
    const { iss, jti } = event.token;
    await Promise.all(
      users.map(({ sub, namespace }) =>
        revokeTokenById(env, config, {
          sub,
          namespace,
          iss,
          tokenId: jti,
          ...window,
          actor,
          reason: bounded(`${name} (${event.label})`),
        }),
      ),
    );
    return { outcome: { type: event.type, action: 'deny_token', subs }, audit: subs.map((sub) => entry(sub, `denied token ${jti}`)) };
  }
  const instant = Math.max(claims.iat, eventInstant(event.payload) ?? claims.iat);
  const results = await Promise.all(
    users.map(({ sub, namespace }) =>
      revokeIssuedBefore(env, config, { sub, namespace, instant, actor, reason: bounded(`${name} (${event.label})`) }),
    ),
  );
  return {
    outcome: { type: event.type, action: 'revoke_user', subs },
    audit: results.map((r) => entry(r.sub, r.moved ? `revoked tokens issued before ${r.revokedBefore}` : 'already revoked by then')),
  };
}

/**
 * RFC 8935 push, after the stream and its push secret were checked: validates the SET (in
 * docs/reference.md §7's order), drops a duplicate (iss, jti), carries out its events and audits them.
 * Returns once every resulting revocation is acknowledged as an admin one is (durable; in
 * bounded mode also on the feed); a SetError is a 400, anything else
 * (a Durable Object out of reach) a 5xx the transmitter retries.
 */
export async function receiveSet(
  body: string,
  stream: SsfStreamConfig,
  config: Config,
  env: RevocationBindings & SsfBindings,
): Promise<Receipt> {
  const now = nowSeconds();
  const claims = await authenticSet(body, stream, config, now);
  const state = env.SSF_STREAM.getByName(ssfStreamObjectName(stream.id));
  if (await atWriter(() => state.seen(claims.iss, claims.jti))) return { jti: claims.jti, duplicate: true, events: [] };
  const planned = plan(claims, stream);
  const applied = await Promise.all(planned.map((event) => apply(event, claims, stream, config, env, now)));
  await atWriter(() => state.received({ iss: claims.iss, jti: claims.jti, events: applied.flatMap((a) => a.audit) }));
  return { jti: claims.jti, duplicate: false, events: applied.map((a) => a.outcome) };
}
