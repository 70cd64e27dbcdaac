import { DurableObject } from 'cloudflare:workers';
import { getConfig } from '../config/config';
import type { PollDelivery, SsfStreamConfig } from '../config/ssf-streams';
import { logEvent } from '../log/logger';
import { AuditLog, type AuditEvent, type AuditPage } from '../revocation/audit-log';
import { PollError, pollRound, type SetErrs } from './poll';
import { findStream, forgetStoredStreams } from './streams';
import { nowSeconds } from '../clock';

/** RFC 8935 leaves dedupe to the receiver; docs/reference.md §7 asks for at least 7 days. */
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

/** RFC 8936 poll delivery as the stream's alarm runs it. */
export interface PollStatus {
  readonly polling: boolean;
  /** Consecutive failed polls; the delay doubles with each (POLL_BACKOFF_MAX_SECONDS at most). */
  readonly failures: number;
  readonly lastPollAt: number | null;
  readonly lastError: string | null;
  /** SETs processed or refused whose ack/setErrs the next poll sends. */
  readonly pendingAcks: number;
  readonly nextPollAt: number | null;
}

/** A failing transmitter is retried at intervalSeconds × 2^failures, never less often than this. */
export const POLL_BACKOFF_MAX_SECONDS = 15 * 60;
/** The backoff base while the stream itself cannot be read (configuration, registry out of reach). */
const POLL_BACKOFF_MIN_SECONDS = 10;
/** Requests one alarm may make while SETs keep coming: acks go out at once, the rest next alarm. */
const POLL_ROUNDS_PER_ALARM = 4;

export type VerificationOutcome = 'verified' | 'state_mismatch' | 'unsolicited';

type StateRow = {
  verification_state: string | null;
  verified_at: number | null;
  verification_problem: string | null;
  transmitter_status: string | null;
  last_event_at: number | null;
};

/**
 * docs/reference.md §7's stream state, one class in two roles (one binding): the instance named
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
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_poll (
      id INTEGER PRIMARY KEY CHECK (id = 1), stream_id TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
      last_poll_at INTEGER, last_error TEXT)`);
    this.sql.exec('CREATE TABLE IF NOT EXISTS ssf_poll_ack (jti TEXT PRIMARY KEY, err TEXT, description TEXT)');
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

  /**
   * Stores a stream unless its id or its audience is another stored stream's. The check and the
   * insert run with no await between them in the one registry object: two concurrent creates of
   * one audience cannot both succeed (a SET's audience names exactly one stream).
   */
  addStream(id: string, recordJson: string, audience: string): 'added' | 'id_taken' | 'audience_taken' {
    const rows = this.sql.exec<{ id: string; record: string }>('SELECT id, record FROM ssf_streams').toArray();
    if (rows.some((row) => row.id === id)) return 'id_taken';
    if (rows.some((row) => (JSON.parse(row.record) as { audience?: unknown }).audience === audience)) return 'audience_taken';
    this.sql.exec('INSERT INTO ssf_streams (id, record, created_at) VALUES (?, ?, ?)', id, recordJson, nowSeconds());
    return 'added';
  }

  removeStream(id: string): boolean {
    return this.sql.exec('DELETE FROM ssf_streams WHERE id = ?', id).rowsWritten > 0;
  }

  // --- stream role ---

  /** Whether this (iss, jti) was received within the dedupe window. */
  seen(iss: string, jti: string): boolean {
    return (
      this.sql
        .exec('SELECT 1 FROM ssf_seen WHERE iss = ? AND jti = ? AND seen_at >= ?', iss, jti, nowSeconds() - SSF_DEDUPE_SECONDS)
        .toArray().length > 0
    );
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

  // --- stream role: RFC 8936 poll delivery ---

  /**
   * Polling of this stream starts (or goes on): the alarm is armed, `firstInSeconds` from now,
   * if it is not. Called when a
   * stream is created with `poll`, by the first request an isolate serves for SSF_STREAMS, and
   * by the admin API. The alarm stops itself once the stream is gone or no longer polled.
   */
  async startPolling(streamId: string, firstInSeconds: number): Promise<void> {
    this.sql.exec(
      'INSERT INTO ssf_poll (id, stream_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET stream_id = excluded.stream_id',
      streamId,
    );
    // A stream just created may be missing from this isolate's cache of stored streams.
    forgetStoredStreams(getConfig(this.env));
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + firstInSeconds * 1000);
  }

  /** Polls now (the admin API's "poll now"), then re-arms as the alarm would. */
  async pollNow(streamId: string): Promise<PollStatus> {
    this.sql.exec(
      'INSERT INTO ssf_poll (id, stream_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET stream_id = excluded.stream_id',
      streamId,
    );
    await this.pollCycle();
    return this.pollStatus();
  }

  override async alarm(): Promise<void> {
    await this.pollCycle();
  }

  private polling: Promise<void> | undefined;

  /** One poll cycle at a time: an admin's "poll now" waits for the alarm's, and runs after it. */
  private async pollCycle(): Promise<void> {
    while (this.polling !== undefined) await this.polling;
    this.polling = this.pollAndRearm().finally(() => (this.polling = undefined));
    await this.polling;
  }

  private async pollAndRearm(): Promise<void> {
    const row = this.sql.exec<{ stream_id: string }>('SELECT stream_id FROM ssf_poll').toArray()[0];
    if (row === undefined) return;
    let interval = POLL_BACKOFF_MIN_SECONDS;
    let delay: number;
    try {
      const config = getConfig(this.env);
      const stream = await findStream(config, this.env, row.stream_id);
      // Deleted, or no longer polled: nothing to wake up for.
      if (stream?.poll === undefined) return this.stopPolling();
      const polled = stream as SsfStreamConfig & { poll: PollDelivery };
      interval = polled.poll.intervalSeconds;
      let more = true;
      for (let round = 0; round < POLL_ROUNDS_PER_ALARM && more; round++) {
        const sent = this.settled();
        const result = await pollRound(polled, config, this.env, sent);
        // The request succeeded: what it carried is acknowledged; what it brought waits for the next.
        this.sql.exec('DELETE FROM ssf_poll_ack');
        for (const jti of result.ack) this.sql.exec('INSERT OR REPLACE INTO ssf_poll_ack (jti) VALUES (?)', jti);
        for (const [jti, e] of Object.entries(result.setErrs)) {
          this.sql.exec('INSERT OR REPLACE INTO ssf_poll_ack (jti, err, description) VALUES (?, ?, ?)', jti, e.err, e.description);
        }
        this.sql.exec('UPDATE ssf_poll SET last_poll_at = ?', nowSeconds());
        if (result.retried > 0) throw new PollError(`${result.retried} SETs could not be processed; the transmitter redelivers them`);
        this.sql.exec('UPDATE ssf_poll SET failures = 0, last_error = NULL');
        more = result.moreAvailable || result.ack.length + Object.keys(result.setErrs).length > 0;
      }
      // Budget spent with SETs still coming or acks unsent: soon, not at the interval.
      delay = more ? 1 : interval;
    } catch (error) {
      // Never thrown out of the alarm: the runtime would give up after a few retries.
      const failures = (this.sql.exec<{ failures: number }>('SELECT failures FROM ssf_poll').toArray()[0]?.failures ?? 0) + 1;
      const message = error instanceof PollError ? error.message : 'internal error';
      this.sql.exec('UPDATE ssf_poll SET failures = ?, last_error = ?', failures, message.slice(0, 200));
      delay = Math.min(interval * 2 ** Math.min(failures, 20), POLL_BACKOFF_MAX_SECONDS);
      logEvent('ssf_poll_failed', { stream: row.stream_id, failures, error: message.slice(0, 200) });
    }
    await this.ctx.storage.setAlarm(Date.now() + delay * 1000);
  }

  /** The stream was deleted: no alarm, no pending acks. */
  async stopPolling(): Promise<void> {
    this.sql.exec('DELETE FROM ssf_poll');
    this.sql.exec('DELETE FROM ssf_poll_ack');
    await this.ctx.storage.deleteAlarm();
  }

  /** What the next poll acknowledges and refuses. */
  private settled(): { ack: string[]; setErrs: SetErrs } {
    const rows = this.sql
      .exec<{ jti: string; err: string | null; description: string | null }>('SELECT jti, err, description FROM ssf_poll_ack')
      .toArray();
    const setErrs: SetErrs = {};
    for (const r of rows) if (r.err !== null) setErrs[r.jti] = { err: r.err as SetErrs[string]['err'], description: r.description ?? '' };
    return { ack: rows.filter((r) => r.err === null).map((r) => r.jti), setErrs };
  }

  async pollStatus(): Promise<PollStatus> {
    const row = this.sql
      .exec<{ failures: number; last_poll_at: number | null; last_error: string | null }>(
        'SELECT failures, last_poll_at, last_error FROM ssf_poll',
      )
      .toArray()[0];
    const alarm = await this.ctx.storage.getAlarm();
    return {
      polling: row !== undefined,
      failures: row?.failures ?? 0,
      lastPollAt: row?.last_poll_at ?? null,
      lastError: row?.last_error ?? null,
      pendingAcks: this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM ssf_poll_ack').one().n,
      nextPollAt: alarm === null ? null : Math.ceil(alarm / 1000),
    };
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
