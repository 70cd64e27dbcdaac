import { logEvent } from '../log/logger';
import { nowSeconds } from '../clock';

/** KV refuses expirations closer than 60 s from now. */
export const KV_MIN_TTL_SECONDS = 60;
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 300_000;

/** Where an outbox delivers a queued value: KV (kvSink), or bounded mode's feed (feedSink). Rejects when it did not land. */
export type OutboxSink = (key: string, value: string, expiration: number | undefined) => Promise<void>;

/** Puts to the KV replica; an expiration is never closer than KV allows. */
export function kvSink(kv: () => KVNamespace): OutboxSink {
  return async (key, value, expiration) => {
    const options = expiration === undefined ? undefined : { expiration: Math.max(expiration, nowSeconds() + KV_MIN_TTL_SECONDS) };
    await kv().put(key, value, options);
  };
}

/**
 * The write-through from a Durable Object to the KV replica (and, with a second table, to
 * bounded mode's feed: src/feed/revocation-feed.ts). A change is queued in the DO's
 * SQLite in the same synchronous step that commits it, so it is as durable as the change;
 * `flush()` then puts it to KV. A put that fails stays queued and the DO alarm retries it
 * with backoff until it lands: no acknowledged revocation is lost. The alarm is armed before
 * the puts start, so a DO that dies mid-flush (evicted, redeployed, a put that never answers)
 * still retries: the owner re-arms or clears it once the flush is over.
 *
 * Flushes run one at a time and each sends the newest value of every queued key, so an
 * older value can never overwrite a newer one in KV. Callers that arrive while a flush runs
 * share the next one, which takes their rows (queued before they called): it answers whether
 * those rows landed, not whether the queue is empty, so a change queued meanwhile by another
 * caller does not turn this caller's delivered change into a failure (issue 18, break 6).
 */
export class KvOutbox {
  private tail: Promise<unknown> = Promise.resolve();
  private next: Promise<boolean> | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sink: OutboxSink,
    private readonly table = 'kv_outbox',
    /** The log event of a delivery that failed. */
    private readonly failureEvent = 'kv_write_failed',
  ) {
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      key TEXT PRIMARY KEY, value TEXT NOT NULL, expiration INTEGER,
      seq INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0)`);
  }

  /** Queues `value` for `key` (replacing a queued older value). Call inside the commit. */
  enqueue(key: string, value: unknown, expiration?: number): void {
    this.storage.sql.exec(
      `INSERT INTO ${this.table} (key, value, expiration) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration,
         seq = ${this.table}.seq + 1, attempts = 0`,
      key,
      JSON.stringify(value),
      expiration ?? null,
    );
  }

  /** Sends what is queued; true when every row this flush took landed. */
  flush(): Promise<boolean> {
    if (this.next !== undefined) return this.next;
    const run = this.tail.then(() => {
      this.next = undefined;
      return this.flushNow();
    });
    this.next = run;
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** When the alarm should retry, or undefined when nothing is queued. */
  retryAt(now = Date.now()): number | undefined {
    const row = this.storage.sql.exec<{ attempts: number | null }>(`SELECT MAX(attempts) AS attempts FROM ${this.table}`).one();
    if (row.attempts === null) return undefined;
    return now + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, row.attempts - 1));
  }

  /** The retry alarm, set before a flush unless an earlier alarm is already due. */
  private async armRetry(): Promise<void> {
    const at = this.retryAt();
    if (at === undefined) return;
    const armed = await this.storage.getAlarm();
    if (armed === null || armed > at) await this.storage.setAlarm(at);
  }

  private async flushNow(): Promise<boolean> {
    await this.armRetry();
    type Row = { key: string; value: string; expiration: number | null; seq: number };
    const rows = this.storage.sql.exec<Row>(`SELECT key, value, expiration, seq FROM ${this.table}`).toArray();
    const landed = await Promise.all(
      rows.map(async (row) => {
        try {
          await this.sink(row.key, row.value, row.expiration ?? undefined);
          this.storage.sql.exec(`DELETE FROM ${this.table} WHERE key = ? AND seq = ?`, row.key, row.seq);
          return true;
        } catch (error) {
          this.storage.sql.exec(`UPDATE ${this.table} SET attempts = attempts + 1 WHERE key = ?`, row.key);
          logEvent(this.failureEvent, { error: error instanceof Error ? error.message : 'unknown' });
          return false;
        }
      }),
    );
    return landed.every(Boolean);
  }
}
