/**
 * What each security event does (docs/security-events.md has this table for operators).
 * CAEP 1.0, RISC 1.0 and SSF 1.0 event types are URIs; a stream may override the action of
 * any revoking or audited type (SSF_STREAMS `events`), never of the stream-control types.
 */
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const OAUTH = 'https://schemas.openid.net/secevent/oauth/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';

export const EVENT = {
  sessionRevoked: `${CAEP}session-revoked`,
  credentialChange: `${CAEP}credential-change`,
  tokenClaimsChange: `${CAEP}token-claims-change`,
  assuranceLevelChange: `${CAEP}assurance-level-change`,
  accountDisabled: `${RISC}account-disabled`,
  accountEnabled: `${RISC}account-enabled`,
  accountPurged: `${RISC}account-purged`,
  credentialCompromise: `${RISC}credential-compromise`,
  sessionsRevoked: `${RISC}sessions-revoked`,
  tokensRevoked: `${OAUTH}tokens-revoked`,
  verification: `${SSF}verification`,
  /** Google's RISC transmitter sends its verification under the RISC namespace. */
  riscVerification: `${RISC}verification`,
  streamUpdated: `${SSF}stream-updated`,
} as const;

/** What killswitch asks a managed stream's transmitter for (SSF always delivers the control events). */
export const EVENTS_REQUESTED: readonly string[] = [
  EVENT.sessionRevoked,
  EVENT.credentialChange,
  EVENT.tokenClaimsChange,
  EVENT.assuranceLevelChange,
  EVENT.accountDisabled,
  EVENT.accountEnabled,
  EVENT.accountPurged,
  EVENT.credentialCompromise,
  EVENT.sessionsRevoked,
  EVENT.tokensRevoked,
];

/** What a stream may configure for an event type. */
export type ConfiguredAction = 'revoke_user' | 'audit';

/** What killswitch does with one event of a SET. */
export type EventAction = ConfiguredAction | 'deny_token' | 'verification' | 'stream_updated';

/** Event types that always revoke the subject's user (unless a stream says `audit`). */
const REVOKING: ReadonlySet<string> = new Set([
  EVENT.sessionRevoked,
  EVENT.accountDisabled,
  EVENT.accountPurged,
  EVENT.credentialCompromise,
  EVENT.sessionsRevoked,
  EVENT.tokensRevoked,
]);

/** Stream control, handled per SSF 1.0 §8: not configurable. */
const CONTROL: ReadonlyMap<string, EventAction> = new Map([
  [EVENT.verification, 'verification'],
  [EVENT.riscVerification, 'verification'],
  [EVENT.streamUpdated, 'stream_updated'],
]);

export const isControlEvent = (type: string) => CONTROL.has(type);

/** CAEP credential-change `change_type`s that invalidate what was issued with the old credential. */
const REVOKING_CREDENTIAL_CHANGES: ReadonlySet<unknown> = new Set(['update', 'revoke', 'delete']);

/**
 * The action for one event. `overrides` (the stream's `events`) win over the defaults;
 * `hasTokenId` says whether a token-claims-change names a token we can deny.
 * `account-enabled` is audited only: an enabled account never un-revokes anything.
 */
export function actionFor(
  type: string,
  payload: Readonly<Record<string, unknown>>,
  overrides: ReadonlyMap<string, ConfiguredAction>,
  hasTokenId: boolean,
): EventAction {
  const control = CONTROL.get(type);
  if (control !== undefined) return control;
  const override = overrides.get(type);
  if (override !== undefined) return override;
  if (REVOKING.has(type)) return 'revoke_user';
  switch (type) {
    case EVENT.credentialChange:
      return REVOKING_CREDENTIAL_CHANGES.has(payload.change_type) ? 'revoke_user' : 'audit';
    case EVENT.assuranceLevelChange:
      return payload.change_direction === 'decrease' ? 'revoke_user' : 'audit';
    case EVENT.tokenClaimsChange:
      return hasTokenId ? 'deny_token' : 'audit';
    default:
      return 'audit';
  }
}

/** The last path segment of an event type: what the audit trail and logs show. */
export function shortName(type: string): string {
  return type.slice(type.lastIndexOf('/') + 1) || type;
}

/**
 * The instant the event happened, in seconds. CAEP's `event_timestamp` is seconds, but Okta
 * sends milliseconds: a value past year 5000 in seconds can only be milliseconds.
 */
export function eventInstant(payload: Readonly<Record<string, unknown>>): number | undefined {
  const at = payload.event_timestamp;
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) return undefined;
  return Math.floor(at >= 1e11 ? at / 1000 : at);
}
