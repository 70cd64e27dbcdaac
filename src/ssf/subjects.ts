/**
 * Subject identifiers of a SET (RFC 9493, SSF 1.0 §3) → the users (user ids: the value of the
 * mapped issuer's userClaim, `sub` unless configured) killswitch revokes.
 * Transmitters differ: SSF puts the subject in the SET's `sub_id`, CAEP drafts in the event's
 * `subject`; Google spells `format` as `subject_type` (`iss-sub`); Okta sends a complex
 * subject (`{"user": {...}, "session": {...}}`) without `"format": "complex"`.
 */

export interface SubjectMapping {
  /** SET subject `iss` → the trusted token issuer whose tokens carry the same id in its userClaim. */
  readonly issSub: ReadonlyMap<string, string>;
  readonly email: boolean;
}

/** A user to act on: the user id (what revocation state is keyed by), and the token issuer it was mapped to (null for email). */
export interface MappedUser {
  readonly sub: string;
  readonly tokenIssuer: string | null;
}

export interface ResolvedSubject {
  readonly users: readonly MappedUser[];
  /** A `jwt_id` subject (RFC 9493 §3.2.4) for a trusted token issuer: the token to deny. */
  readonly token: { readonly iss: string; readonly jti: string } | undefined;
  /** What the audit trail shows: format and identifier, or why nothing mapped. */
  readonly label: string;
}

type Identifier = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Identifier => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Members a complex subject may have (SSF 1.0 §3.2); `user` is the one that names a user. */
const COMPLEX_MEMBERS = ['user', 'session', 'device', 'application', 'tenant', 'org_unit', 'group'];

function formatOf(id: Identifier): string | undefined {
  const format = str(id.format) ?? str(id.subject_type);
  if (format !== undefined) return format.replace(/-/g, '_');
  return COMPLEX_MEMBERS.some((m) => isObject(id[m])) ? 'complex' : undefined;
}

/** The subject of one event: the SET's `sub_id` first, else the event's own `subject`. */
export function subjectOf(subId: unknown, payload: Identifier): Identifier | undefined {
  if (isObject(subId)) return subId;
  return isObject(payload.subject) ? payload.subject : undefined;
}

function mapOne(id: Identifier, mapping: SubjectMapping, depth: number): { users: MappedUser[]; label: string } {
  const format = formatOf(id);
  switch (format) {
    case 'iss_sub': {
      const iss = str(id.iss);
      const sub = str(id.sub);
      if (iss === undefined || sub === undefined) return { users: [], label: 'iss_sub without iss or sub' };
      const tokenIssuer = mapping.issSub.get(iss);
      const label = `iss_sub ${iss} ${sub}`;
      return tokenIssuer === undefined ? { users: [], label: `${label} (iss not mapped)` } : { users: [{ sub, tokenIssuer }], label };
    }
    case 'email': {
      const email = str(id.email);
      if (email === undefined) return { users: [], label: 'email without an address' };
      return mapping.email
        ? { users: [{ sub: email, tokenIssuer: null }], label: `email ${email}` }
        : { users: [], label: 'email (email subjects are off)' };
    }
    case 'aliases': {
      if (depth > 0 || !Array.isArray(id.identifiers)) return { users: [], label: 'aliases without identifiers' };
      const members = id.identifiers
        .filter(isObject)
        .slice(0, 16)
        .map((member) => mapOne(member, mapping, depth + 1));
      return { users: members.flatMap((m) => m.users), label: `aliases [${members.map((m) => m.label).join('; ')}]` };
    }
    case 'complex': {
      if (depth > 1 || !isObject(id.user)) return { users: [], label: 'complex subject without a user' };
      return mapOne(id.user, mapping, depth + 1);
    }
    case 'opaque':
      return { users: [], label: 'opaque (stream verification only)' };
    default:
      return { users: [], label: `${format ?? 'no format'} (not mapped)` };
  }
}

/** A `jwt_id` identifier in the subject (itself, or a complex subject's member) for a trusted issuer. */
function tokenOf(id: Identifier, mapping: SubjectMapping): ResolvedSubject['token'] {
  const candidates = [id, ...Object.values(id).filter(isObject)];
  const found = candidates.find((c) => formatOf(c) === 'jwt_id');
  const iss = str(found?.iss);
  const jti = str(found?.jti);
  const trusted = new Set(mapping.issSub.values());
  return iss !== undefined && jti !== undefined && trusted.has(iss) ? { iss, jti } : undefined;
}

/**
 * The users a subject names, and the token it names (if any). Nothing that cannot be mapped
 * is guessed: an unmapped subject acts on nobody and is audited as such.
 */
export function resolveSubject(subject: Identifier | undefined, eventSubject: unknown, mapping: SubjectMapping): ResolvedSubject {
  if (subject === undefined) return { users: [], token: undefined, label: 'no subject' };
  const { users, label } = mapOne(subject, mapping, 0);
  // token-claims-change may name the user in sub_id and the token in the event's subject.
  const token = tokenOf(subject, mapping) ?? (isObject(eventSubject) ? tokenOf(eventSubject, mapping) : undefined);
  return { users, token, label };
}
