/**
 * A Shared Signals transmitter, test side: SETs signed with jose-imported keys (signRaw) the
 * way Okta and Google shape them, pushed to killswitch's receiver (reference §7). The transmitters'
 * JWKS and management API live on the loopback server of test/global-setup.ts.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import { app } from '../../src/app';
import { ADMIN_KEY, BASE, SSF, SSF_OKTA_SECRET, ssfStreams, type KeyName } from './fixtures';
import { now, signRaw } from './tokens';

/** The test bindings plus SSF_STREAMS: one object, so its configuration is parsed once. */
export const ssfEnv = { ...env, SSF_STREAMS: JSON.stringify(ssfStreams(inject('jwksPort'))), SSF_OKTA_SECRET } as unknown as Env;

/** The worker (its fetch handler) with SSF_STREAMS configured; `bindings` replaces some of them. */
export function worker(url: string, init: RequestInit = {}, bindings: Record<string, unknown> = {}): Promise<Response> {
  const target = Object.keys(bindings).length === 0 ? ssfEnv : ({ ...ssfEnv, ...bindings } as unknown as Env);
  return app.fetch(new Request(url, init), target, createExecutionContext()) as Promise<Response>;
}
/** An admin call (the admin key, `json` as the body) through `worker`. */
export function ssfAdmin(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${ADMIN_KEY}`);
  const body = init.json === undefined ? init.body : JSON.stringify(init.json);
  return worker(`${BASE}${path}`, { ...init, headers, body });
}

export const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
export const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
export const SSF_EVENT = 'https://schemas.openid.net/secevent/ssf/event-type/';

export interface SetOptions {
  readonly header?: Record<string, unknown>;
  readonly key?: KeyName;
}

/** A SET: `claims` over iss/aud/iat/jti of the Okta test stream; `undefined` removes a claim. */
export async function signSet(claims: Record<string, unknown>, options: SetOptions = {}): Promise<string> {
  const header = Object.fromEntries(
    Object.entries({ alg: 'RS256', kid: 'rs256-1', typ: 'secevent+jwt', ...options.header }).filter(([, v]) => v !== undefined),
  );
  const payload = Object.fromEntries(
    Object.entries({
      iss: SSF.okta.issuer,
      aud: SSF.okta.audience,
      iat: now(),
      jti: crypto.randomUUID(),
      ...claims,
    }).filter(([, v]) => v !== undefined),
  );
  return signRaw(JSON.stringify(header), JSON.stringify(payload), options.key ?? 'rs256-1');
}

/** Okta's shape: `sub_id` iss_sub for the user, `event_timestamp` in milliseconds. */
export function oktaSet(event: string, sub: string, payload: Record<string, unknown> = {}, claims: Record<string, unknown> = {}) {
  return signSet({
    sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub },
    events: { [`${CAEP}${event}`]: { event_timestamp: Date.now(), initiating_entity: 'admin', ...payload } },
    ...claims,
  });
}

/** Google's RISC shape: the subject inside the event, `subject_type` "iss-sub", no `typ`. */
export function googleSet(eventUri: string, sub: string, payload: Record<string, unknown> = {}) {
  return signSet(
    {
      iss: SSF.google.issuer,
      aud: SSF.google.audience,
      events: { [eventUri]: { subject: { subject_type: 'iss-sub', iss: SSF.google.issuer, sub }, ...payload } },
    },
    { header: { typ: undefined } },
  );
}

export interface PushOptions {
  readonly secret?: string | null;
  readonly contentType?: string;
}

/** POST /v1/ssf/{stream}/events, with the Okta stream's push secret unless told otherwise. */
export function push(stream: string, set: BodyInit, options: PushOptions = {}): Promise<Response> {
  const headers = new Headers({ 'Content-Type': options.contentType ?? 'application/secevent+jwt' });
  const secret = options.secret === undefined ? SSF_OKTA_SECRET : options.secret;
  if (secret !== null) headers.set('Authorization', `Bearer ${secret}`);
  return worker(`${BASE}/v1/ssf/${stream}/events`, { method: 'POST', headers, body: set });
}
