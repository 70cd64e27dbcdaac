import { DurableObject } from 'cloudflare:workers';
import { AuditLog, type AuditEvent, type AuditPage } from '../revocation/audit-log';

/** RFC 8935 leaves dedupe to the receiver; SPEC §7 asks for at least 7 days. */
export const SSF_DEDUPE_SECONDS = 7 * 24 * 3600;

export interface StreamStatus {
  /** When a verification SET carrying the state we asked for arrived; null: never. */
  readonly verifiedAt: number | null;
  /** A verification was requested and its SET has not arrived yet. */
  readonly verificationPending: boolean;
  /** The last verification SET that did not match (wrong or missing state), and when. */
  readonly verificationProblem: string | null;
  /** What the transmitter last said in a stream-updated event: enabled, paused or disabled. */
  readonly transmitterStatus: string | null;
  readonly lastEventAt: number | null;
}

export type VerificationOutcome = 'verified' | 'state_mismatch' | 'unsolicited';

type StateRow = {
  verification_state: string | null; verified_at: number | null; verification_problem: string | null;
  transmitter_status: string | null; last_event_at: number | null;
};

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * SPEC §7's stream state, one class in two roles (one binding): the instance named
 * SSF_REGISTRY_OBJECT_NAME stores the streams created through the admin API; the instance
 * of each stream (ssfStreamObjectName) keeps its (iss, jti) dedupe window, its verification
 * and transmitter status, and the audit trail of every SET it received. No SET is stored.
 */
export class SsfStream extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly audit: AuditLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS ssf_streams (id TEXT PRIMARY KEY, record TEXT NOT NULL, created_at INTEGER NOT NULL)');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_seen (
      iss TEXT NOT NULL, jti TEXT NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (iss, jti))`);
    this.sql.exec('CREATE INDEX IF NOT EXISTS ssf_seen_at ON ssf_seen (seen_at)');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_state (
      id INTEGER PRIMARY KEY CHECK (id = 1), verification_state TEXT, verified_at INTEGER,
      verification_problem TEXT, transmitter_status TEXT, last_event_at INTEGER)`);
    this.sql.exec('INSERT OR IGNORE INTO ssf_state (id) VALUES (1)');
    this.audit = new AuditLog(this.sql);
  }

  // --- registry role ---

  /** The stored streams, each as its JSON text (RPC carries no `unknown`). */
  listStreams(): string[] {
    return this.sql
      .exec<{ record: string }>('SELECT record FROM ssf_streams ORDER BY created_at, id')
      .toArray()
      .map((row) => row.record);
  }

  /** False when the id is taken. */
  addStream(id: string, recordJson: string): boolean {
    const taken = this.sql.exec('SELECT 1 FROM ssf_streams WHERE id = ?', id).toArray().length > 0;
    if (taken) return false;
    this.sql.exec('INSERT INTO ssf_streams (id, record, created_at) VALUES (?, ?, ?)', id, recordJson, nowSeconds());
    return true;
  }

  removeStream(id: string): boolean {
    return this.sql.exec('DELETE FROM ssf_streams WHERE id = ?', id).rowsWritten > 0;
  }

  // --- stream role ---

  /** Whether this (iss, jti) was received within the dedupe window. */
  seen(iss: string, jti: string): boolean {
    return this.sql.exec('SELECT 1 FROM ssf_seen WHERE iss = ? AND jti = ? AND seen_at >= ?', iss, jti, nowSeconds() - SSF_DEDUPE_SECONDS)
      .toArray().length > 0;
  }

  /**
   * A SET was handled: remember its (iss, jti) and audit its events. Called after the
   * revocations it caused are durable, so a failure here only makes a retry apply them again
   * (which the time rule makes harmless).
   */
  received(input: { iss: string; jti: string; events: readonly AuditEvent[] }): void {
    const now = nowSeconds();
    this.sql.exec('INSERT OR REPLACE INTO ssf_seen (iss, jti, seen_at) VALUES (?, ?, ?)', input.iss, input.jti, now);
    this.sql.exec('DELETE FROM ssf_seen WHERE seen_at < ?', now - SSF_DEDUPE_SECONDS);
    this.sql.exec('UPDATE ssf_state SET last_event_at = ?', now);
    for (const event of input.events) this.audit.append(event);
  }

  /** An admin asked the transmitter for a verification SET carrying `state`. */
  expectVerification(state: string): void {
    this.sql.exec('UPDATE ssf_state SET verification_state = ?', state);
  }

  /** A verification SET arrived (SSF 1.0 §8.1.4.2): did it carry the state we asked for? */
  verification(state: string | undefined): VerificationOutcome {
    const expected = this.row().verification_state;
    const now = nowSeconds();
    if (expected !== null && state === expected) {
      this.sql.exec('UPDATE ssf_state SET verification_state = NULL, verified_at = ?, verification_problem = NULL', now);
      return 'verified';
    }
    if (expected === null && state === undefined) return 'unsolicited';
    const problem = state === undefined ? 'verification without a state' : 'verification with a wrong state';
    this.sql.exec('UPDATE ssf_state SET verification_problem = ?', `${problem} at ${now}`);
    return 'state_mismatch';
  }

  /** SSF 1.0 §8.1.5: the transmitter changed the stream's status. */
  transmitterStatus(status: string): void {
    this.sql.exec('UPDATE ssf_state SET transmitter_status = ?', status);
  }

  status(): StreamStatus {
    const row = this.row();
    return {
      verifiedAt: row.verified_at,
      verificationPending: row.verification_state !== null,
      verificationProblem: row.verification_problem,
      transmitterStatus: row.transmitter_status,
      lastEventAt: row.last_event_at,
    };
  }

  auditPage(limit: number, cursor?: string): AuditPage {
    return this.audit.page(limit, cursor);
  }

  private row(): StateRow {
    return this.sql.exec<StateRow>('SELECT * FROM ssf_state').one();
  }
}
